//! Account services shared by the pages and the CLI: sign-up, sign-in with throttling, operator
//! accounts with one-time passwords, password changes. No HTTP here; SQL lives in `ledger_store::accounts`.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ledger_store::accounts::{self, Account, NewAccount, Role};
use ledger_store::{PgPool, StoreError};
use rand::RngCore;
use uuid::Uuid;

use crate::Throttle;
use crate::password;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("Enter an email address such as name@example.com.")]
    InvalidEmail,
    #[error("{0}")]
    WeakPassword(String),
    #[error("An account with this email already exists. Sign in instead.")]
    EmailTaken,
    #[error("The email or password is not right.")]
    WrongCredentials,
    #[error("The current password is not right.")]
    WrongCurrentPassword,
    #[error("Too many failed sign-ins. Wait a few minutes, then try again.")]
    Throttled,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The email as stored: trimmed; checked for one `@` with text either side and no spaces.
pub fn normalise_email(raw: &str) -> Result<String, AccountError> {
    let email = raw.trim();
    let ok = (3..=254).contains(&email.chars().count())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'));
    if ok { Ok(email.to_owned()) } else { Err(AccountError::InvalidEmail) }
}

/// A random URL-safe token of 32 bytes (session ids, CSRF tokens, one-time passwords).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new merchant account.
pub async fn sign_up(pool: &PgPool, email: &str, password: &str) -> Result<Account, AccountError> {
    let email = normalise_email(email)?;
    password::check_new(password).map_err(AccountError::WeakPassword)?;
    let hash = password::hash(password.to_owned()).await.map_err(AccountError::Hashing)?;
    create(pool, &email, &hash, Role::Merchant, false).await
}

async fn create(
    pool: &PgPool,
    email: &str,
    hash: &str,
    role: Role,
    must_change: bool,
) -> Result<Account, AccountError> {
    let new = NewAccount { email, password_hash: hash, role, must_change_password: must_change };
    accounts::create(pool, &new).await.map_err(|e| match e {
        StoreError::Conflict(_) => AccountError::EmailTaken,
        e => AccountError::Store(e),
    })
}

/// An operator account with a one-time password (returned once, to print) that must be changed at the
/// first sign-in.
pub async fn create_operator(pool: &PgPool, email: &str) -> Result<(Account, String), AccountError> {
    let email = normalise_email(email)?;
    let one_time = random_token();
    let hash = password::hash(one_time.clone()).await.map_err(AccountError::Hashing)?;
    let account = create(pool, &email, &hash, Role::Operator, true).await?;
    Ok((account, one_time))
}

/// Checks a sign-in: refused with `Throttled` (before the password is even checked) once the email or
/// the client address has too many recent failures; a failure is counted against both.
pub async fn sign_in(
    pool: &PgPool,
    throttle: &Throttle,
    email: &str,
    password: &str,
    client_ip: &str,
) -> Result<Account, AccountError> {
    let email = email.trim();
    let failures = accounts::recent_failures(pool, email, client_ip, throttle.window).await?;
    if failures.by_email >= throttle.per_account || failures.by_ip >= throttle.per_ip {
        tracing::warn!(client_ip, by_email = failures.by_email, by_ip = failures.by_ip, "sign-in throttled");
        return Err(AccountError::Throttled);
    }
    let found = accounts::credentials(pool, email).await?;
    let phc = found.as_ref().map(|c| c.password_hash.clone());
    if password::verify(password.to_owned(), phc).await
        && let Some(found) = found
    {
        accounts::clear_failures(pool, email).await?;
        return Ok(found.account);
    }
    accounts::record_failure(pool, email, client_ip).await?;
    Err(AccountError::WrongCredentials)
}

/// Replaces `account`'s password after checking the current one; other sessions end.
pub async fn change_password(
    pool: &PgPool,
    account: Uuid,
    current: &str,
    new: &str,
    keep_session: &[u8],
) -> Result<(), AccountError> {
    let phc = accounts::password_hash(pool, account).await?;
    if !password::verify(current.to_owned(), phc).await {
        return Err(AccountError::WrongCurrentPassword);
    }
    password::check_new(new).map_err(AccountError::WeakPassword)?;
    if new == current {
        return Err(AccountError::WeakPassword("Choose a password different from the current one.".into()));
    }
    let hash = password::hash(new.to_owned()).await.map_err(AccountError::Hashing)?;
    accounts::set_password(pool, account, &hash, Some(keep_session)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked() {
        assert_eq!(normalise_email("  Ann@Shop.example ").unwrap(), "Ann@Shop.example");
        for bad in ["", "ann", "ann@", "@shop.example", "ann@shop", "a nn@shop.example", "a@b@c.example"] {
            assert!(normalise_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}

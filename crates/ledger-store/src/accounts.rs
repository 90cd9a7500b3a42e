//! Dashboard accounts (merchants and operators), their browser sessions (stored as token hashes), and
//! the failed sign-ins that throttling counts.
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;
use crate::error::on_constraint;

/// What an account may do: merchants see the stores they own; operators see every tenant and the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Merchant,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merchant => "merchant",
            Self::Operator => "operator",
        }
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
}

/// An account with its password hash, for checking a sign-in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub account: Account,
    /// PHC string (argon2id).
    pub password_hash: String,
}

macro_rules! account_columns {
    () => {
        "id, email, role, must_change_password, created_at"
    };
}

/// A new account to store.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub must_change_password: bool,
}

/// Creates an account; `Conflict` when the email (compared case-insensitively) is taken.
pub async fn create(pool: &PgPool, new: &NewAccount<'_>) -> Result<Account, StoreError> {
    sqlx::query_as::<_, Account>(concat!(
        "INSERT INTO accounts (id, email, password_hash, role, must_change_password) VALUES ($1, $2, $3, $4, $5)
         RETURNING ",
        account_columns!()
    ))
    .bind(Uuid::new_v4())
    .bind(new.email)
    .bind(new.password_hash)
    .bind(new.role)
    .bind(new.must_change_password)
    .fetch_one(pool)
    .await
    .map_err(|e| on_constraint(e, "accounts_email_key", StoreError::Conflict("an account with this email exists")))
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(concat!("SELECT ", account_columns!(), " FROM accounts WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(concat!("SELECT ", account_columns!(), " FROM accounts WHERE lower(email) = lower($1)"))
        .bind(email)
        .fetch_optional(pool)
        .await?)
}

/// The account and its hash, for a sign-in.
pub async fn credentials(pool: &PgPool, email: &str) -> Result<Option<Credentials>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        account_columns!(),
        ", password_hash FROM accounts WHERE lower(email) = lower($1)"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await?)
}

/// The current hash of `id`, for re-checking a password before changing it.
pub async fn password_hash(pool: &PgPool, id: Uuid) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1").bind(id).fetch_optional(pool).await?)
}

/// Replaces the password and clears the must-change flag; every other session of the account ends.
pub async fn set_password(
    pool: &PgPool,
    id: Uuid,
    password_hash: &str,
    keep_session: Option<&[u8]>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE accounts SET password_hash = $2, must_change_password = false WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM web_sessions WHERE account_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)")
        .bind(id)
        .bind(keep_session)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A signed-in session as the pages see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    #[sqlx(flatten)]
    pub account: Account,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts a session for `account` (expired ones of every account are swept at the same time).
pub async fn create_session(
    pool: &PgPool,
    token_hash: &[u8],
    account: Uuid,
    csrf_token: &str,
    ttl: Duration,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM web_sessions WHERE expires_at < now()").execute(pool).await?;
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, account_id, csrf_token, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
    )
    .bind(token_hash)
    .bind(account)
    .bind(csrf_token)
    .bind(ttl.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// The live session whose token hashes to `token_hash`.
pub async fn session(pool: &PgPool, token_hash: &[u8]) -> Result<Option<Session>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.email, a.role, a.must_change_password, a.created_at, s.csrf_token, s.expires_at
           FROM web_sessions s JOIN accounts a ON a.id = s.account_id
          WHERE s.token_hash = $1 AND s.expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?)
}

pub async fn delete_session(pool: &PgPool, token_hash: &[u8]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
    Ok(())
}

/// Failed sign-ins within `window`, for the email and for the client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub by_email: i64,
    pub by_ip: i64,
}

pub async fn recent_failures(
    pool: &PgPool,
    email: &str,
    client_ip: &str,
    window: Duration,
) -> Result<Failures, StoreError> {
    let (by_email, by_ip): (i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM sign_in_failures
             WHERE lower(email) = lower($1) AND at > now() - make_interval(secs => $3)),
           (SELECT count(*) FROM sign_in_failures
             WHERE client_ip = $2 AND at > now() - make_interval(secs => $3))",
    )
    .bind(email)
    .bind(client_ip)
    .bind(window.as_secs_f64())
    .fetch_one(pool)
    .await?;
    Ok(Failures { by_email, by_ip })
}

/// Counts a failed sign-in (rows older than a day are swept at the same time).
pub async fn record_failure(pool: &PgPool, email: &str, client_ip: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sign_in_failures WHERE at < now() - interval '1 day'").execute(pool).await?;
    sqlx::query("INSERT INTO sign_in_failures (email, client_ip) VALUES ($1, $2)")
        .bind(email)
        .bind(client_ip)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets the failures of `email` after a successful sign-in (the address's stay counted).
pub async fn clear_failures(pool: &PgPool, email: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sign_in_failures WHERE lower(email) = lower($1)").bind(email).execute(pool).await?;
    Ok(())
}

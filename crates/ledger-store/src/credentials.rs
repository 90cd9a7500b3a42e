//! A binding's OAuth credentials (`binding_credentials`), encrypted under the keyring: save, load,
//! delete, and the per-binding refresh lock with its compare-and-set write.
//!
//! Each token is sealed on its own (fresh nonce, key id inside) with the binding and the token's role
//! as associated data, so a ciphertext moved to another row or column does not decrypt. `generation`
//! names one token pair: every save bumps it, so a process can tell that another one refreshed first.
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::crypto::CryptoError;
use crate::{Keyring, StoreError};

/// A token pair as we keep it (expiry instants computed from the lifetimes Sage sent).
pub struct StoredTokens {
    pub access_token: SecretString,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: SecretString,
    pub refresh_expires_at: DateTime<Utc>,
    pub scope: Option<String>,
    pub requested_by_id: Option<String>,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The stored pair of a binding, decrypted, with its generation.
#[derive(Debug)]
pub struct Credentials {
    pub binding_id: Uuid,
    pub tokens: StoredTokens,
    pub generation: i64,
    /// When this pair was issued (the save or refresh that wrote it).
    pub refreshed_at: DateTime<Utc>,
}

impl Credentials {
    /// How long the access token was issued for (its expiry minus its issue).
    pub fn access_lifetime(&self) -> chrono::Duration {
        self.tokens.access_expires_at - self.refreshed_at
    }
}

/// Associated data of a sealed token: the binding and the token's role.
pub fn context(binding_id: Uuid, role: &str) -> String {
    format!("binding:{binding_id}:{role}")
}

#[derive(sqlx::FromRow)]
struct Row {
    binding_id: Uuid,
    access_token_enc: Vec<u8>,
    access_expires_at: DateTime<Utc>,
    refresh_token_enc: Vec<u8>,
    refresh_expires_at: DateTime<Utc>,
    generation: i64,
    scope: Option<String>,
    requested_by_id: Option<String>,
    refreshed_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "binding_id, access_token_enc, access_expires_at, refresh_token_enc, refresh_expires_at, generation, scope,
         requested_by_id, refreshed_at"
    };
}

fn open(keyring: &Keyring, binding_id: Uuid, role: &str, blob: &[u8]) -> Result<SecretString, StoreError> {
    let plain = keyring.decrypt(blob, &context(binding_id, role))?;
    let text = String::from_utf8(plain).map_err(|_| CryptoError::Malformed)?;
    Ok(SecretString::from(text))
}

fn seal(keyring: &Keyring, binding_id: Uuid, role: &str, secret: &SecretString) -> Vec<u8> {
    keyring.encrypt(secret.expose_secret().as_bytes(), &context(binding_id, role))
}

impl Row {
    fn decrypt(self, keyring: &Keyring) -> Result<Credentials, StoreError> {
        Ok(Credentials {
            binding_id: self.binding_id,
            tokens: StoredTokens {
                access_token: open(keyring, self.binding_id, "access_token", &self.access_token_enc)?,
                access_expires_at: self.access_expires_at,
                refresh_token: open(keyring, self.binding_id, "refresh_token", &self.refresh_token_enc)?,
                refresh_expires_at: self.refresh_expires_at,
                scope: self.scope,
                requested_by_id: self.requested_by_id,
            },
            generation: self.generation,
            refreshed_at: self.refreshed_at,
        })
    }
}

/// Stores a binding's pair (a connect or reconnect), replacing any previous one; returns the new
/// generation (1 for a first save, the old one plus one after).
pub async fn save(
    conn: &mut PgConnection,
    keyring: &Keyring,
    binding_id: Uuid,
    tokens: &StoredTokens,
) -> Result<i64, StoreError> {
    let generation = sqlx::query_scalar(
        "INSERT INTO binding_credentials
            (binding_id, access_token_enc, access_expires_at, refresh_token_enc, refresh_expires_at, scope,
             requested_by_id, refreshed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp())
         ON CONFLICT (binding_id) DO UPDATE
            SET access_token_enc = EXCLUDED.access_token_enc, access_expires_at = EXCLUDED.access_expires_at,
                refresh_token_enc = EXCLUDED.refresh_token_enc, refresh_expires_at = EXCLUDED.refresh_expires_at,
                scope = EXCLUDED.scope, requested_by_id = EXCLUDED.requested_by_id, refreshed_at = clock_timestamp(),
                generation = binding_credentials.generation + 1
         RETURNING generation",
    )
    .bind(binding_id)
    .bind(seal(keyring, binding_id, "access_token", &tokens.access_token))
    .bind(tokens.access_expires_at)
    .bind(seal(keyring, binding_id, "refresh_token", &tokens.refresh_token))
    .bind(tokens.refresh_expires_at)
    .bind(&tokens.scope)
    .bind(&tokens.requested_by_id)
    .fetch_one(conn)
    .await?;
    Ok(generation)
}

/// The binding's current pair, if it has one.
pub async fn load(pool: &PgPool, keyring: &Keyring, binding_id: Uuid) -> Result<Option<Credentials>, StoreError> {
    let row =
        sqlx::query_as::<_, Row>(concat!("SELECT ", columns!(), " FROM binding_credentials WHERE binding_id = $1"))
            .bind(binding_id)
            .fetch_optional(pool)
            .await?;
    row.map(|r| r.decrypt(keyring)).transpose()
}

/// The generation of the binding's pair without decrypting anything (`None`: no pair stored).
pub async fn generation(pool: &PgPool, binding_id: Uuid) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT generation FROM binding_credentials WHERE binding_id = $1")
        .bind(binding_id)
        .fetch_optional(pool)
        .await?)
}

/// Forgets the binding's tokens (disconnect). Returns whether there were any.
pub async fn delete(conn: &mut PgConnection, binding_id: Uuid) -> Result<bool, StoreError> {
    let done =
        sqlx::query("DELETE FROM binding_credentials WHERE binding_id = $1").bind(binding_id).execute(conn).await?;
    Ok(done.rows_affected() == 1)
}

/// The refresh lock of one binding: its credentials row locked (`FOR UPDATE`) in a transaction that
/// lives only across the token call. Dropping it without [`RefreshLock::commit`] rolls back and frees
/// the row, as does a crash of the process holding it.
pub struct RefreshLock {
    tx: Transaction<'static, Postgres>,
    current: Credentials,
}

impl fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshLock").field("current", &self.current).finish_non_exhaustive()
    }
}

/// Takes the refresh lock of `binding_id`, waiting at most `wait` for another holder, and re-reads the
/// pair under it. `Ok(None)`: the binding has no credentials (disconnected meanwhile).
pub async fn lock_for_refresh(
    pool: &PgPool,
    keyring: &Keyring,
    binding_id: Uuid,
    wait: Duration,
) -> Result<Option<RefreshLock>, StoreError> {
    let mut tx = pool.begin().await?;
    // A holder that hangs must not park every other process for long: waiters give up and retry.
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(format!("{}ms", wait.as_millis().max(1)))
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query_as::<_, Row>(concat!(
        "SELECT ",
        columns!(),
        " FROM binding_credentials WHERE binding_id = $1 FOR UPDATE"
    ))
    .bind(binding_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(lock_error)?;
    let Some(row) = row else {
        tx.rollback().await.ok();
        return Ok(None);
    };
    Ok(Some(RefreshLock { current: row.decrypt(keyring)?, tx }))
}

/// `lock_not_available` (another process held the lock past the wait) is a temporary condition.
fn lock_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("55P03") => StoreError::Unavailable(e),
        _ => e.into(),
    }
}

impl RefreshLock {
    /// The pair as stored when the lock was taken (another process may have refreshed before).
    pub fn current(&self) -> &Credentials {
        &self.current
    }

    /// Writes the rotated pair and commits, freeing the lock; returns the new generation. Only after
    /// this returns may the new access token be used: the old refresh token is dead at Sage already.
    pub async fn commit(mut self, keyring: &Keyring, tokens: &StoredTokens) -> Result<i64, StoreError> {
        let id = self.current.binding_id;
        let generation: Option<i64> = sqlx::query_scalar(
            "UPDATE binding_credentials
                SET access_token_enc = $3, access_expires_at = $4, refresh_token_enc = $5, refresh_expires_at = $6,
                    scope = COALESCE($7, scope), requested_by_id = COALESCE($8, requested_by_id), refreshed_at = clock_timestamp(),
                    generation = generation + 1
              WHERE binding_id = $1 AND generation = $2
              RETURNING generation",
        )
        .bind(id)
        .bind(self.current.generation)
        .bind(seal(keyring, id, "access_token", &tokens.access_token))
        .bind(tokens.access_expires_at)
        .bind(seal(keyring, id, "refresh_token", &tokens.refresh_token))
        .bind(tokens.refresh_expires_at)
        .bind(&tokens.scope)
        .bind(&tokens.requested_by_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        // Under the row lock the generation cannot have moved; a miss means the row was deleted.
        let generation = generation.ok_or(StoreError::NotFound("binding credentials"))?;
        self.tx.commit().await?;
        Ok(generation)
    }

    /// Gives the lock back without writing (nothing to do, or the token call failed).
    pub async fn release(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// Bindings whose refresh token expires before `before` and that are still active: the idle ones a
/// background loop refreshes so they never reach Sage's 31-day limit. Oldest first, at most `limit`.
pub async fn idle_before(
    pool: &PgPool,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(ledger_domain::TenantId, Uuid)>, StoreError> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT b.tenant_id, c.binding_id FROM binding_credentials c JOIN bindings b ON b.id = c.binding_id
          WHERE c.refresh_expires_at < $1 AND b.status = 'active'
          ORDER BY c.refresh_expires_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(t, b)| (ledger_domain::TenantId(t), b)).collect())
}

/// Why custody takes a binding out of use (the binding's status afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Sage refused the refresh token read under the lock (`invalid_grant`): only a reconnect helps.
    ReconnectRequired,
    /// Sage says the subscription lapsed (401 with `MSE`).
    Suspended,
}

impl Unusable {
    pub fn status(self) -> &'static str {
        match self {
            Self::ReconnectRequired => "reconnect_required",
            Self::Suspended => "suspended",
        }
    }
}

/// Moves an `active` binding of `tenant` to `to`, with the reason shown to merchants and operators.
/// A binding in any other status (disconnected meanwhile, say) is left alone; returns whether it moved.
pub async fn mark_unusable(
    pool: &PgPool,
    tenant: ledger_domain::TenantId,
    binding_id: Uuid,
    to: Unusable,
    reason: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE bindings SET status = $3, status_reason = $4, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
    )
    .bind(tenant.0)
    .bind(binding_id)
    .bind(to.status())
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The status of the tenant's binding (`None`: no such binding for this tenant).
pub async fn binding_status(
    pool: &PgPool,
    tenant: ledger_domain::TenantId,
    binding_id: Uuid,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT status FROM bindings WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(binding_id)
        .fetch_optional(pool)
        .await?)
}

//! Tenants: one per paired Magento install, holding its encrypted api_key (and, while a pairing is
//! unconfirmed, the new key beside it) and its binding and connection status.
use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Keyring, StoreError};

/// Whether the binding accepts webhooks (`tenants.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    /// Disconnected from either side: webhooks answer 401 and nothing is sent to the store.
    Revoked,
}

/// Whether the ledger's calls to the store work (`tenants.magento_connection_status`), as the admin
/// tile shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Paired, not yet confirmed by a ping or a delivered callback.
    Pending,
    Active,
    /// The store answered 401 to the ledger's token: the store holds another key.
    TokenRevoked,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
        }
    }
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::TokenRevoked => "token_revoked",
        }
    }
}

impl std::fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub status: TenantStatus,
    pub key_version: i32,
    /// The version of a key sent to the store by a pairing not yet confirmed (see [`stage_key`]).
    pub pending_key_version: Option<i32>,
    pub magento_base_url: Option<String>,
    pub magento_connection_status: ConnectionStatus,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Set while an operator has paused the tenant's sync (events are still accepted).
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
}

impl Tenant {
    pub fn tenant_id(&self) -> TenantId {
        TenantId(self.id)
    }

    pub fn is_active(&self) -> bool {
        self.status == TenantStatus::Active
    }
}

/// The columns of [`Tenant`], as a literal so every query stays a static string.
macro_rules! tenant_columns {
    () => {
        "id, name, status, key_version, pending_key_version, magento_base_url, magento_connection_status, \
         created_at, revoked_at, paused_at, paused_reason"
    };
}

pub(crate) fn context(id: TenantId) -> String {
    format!("tenant:{id}:api_key")
}

/// Creates an active tenant whose api_key is stored encrypted.
pub async fn create(
    pool: &PgPool,
    keyring: &Keyring,
    id: TenantId,
    name: &str,
    api_key: &SecretString,
) -> Result<Tenant, StoreError> {
    let enc = keyring.encrypt(api_key.expose_secret().as_bytes(), &context(id));
    sqlx::query_as::<_, Tenant>(concat!(
        "INSERT INTO tenants (id, name, api_key_enc) VALUES ($1, $2, $3) RETURNING ",
        tenant_columns!()
    ))
    .bind(id.0)
    .bind(name)
    .bind(enc)
    .fetch_one(pool)
    .await
    .map_err(|e| crate::error::on_constraint(e, "tenants_pkey", StoreError::Conflict("tenant already exists")))
}

pub async fn get(pool: &PgPool, id: TenantId) -> Result<Option<Tenant>, StoreError> {
    Ok(sqlx::query_as::<_, Tenant>(concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?)
}

pub async fn list(pool: &PgPool) -> Result<Vec<Tenant>, StoreError> {
    Ok(sqlx::query_as::<_, Tenant>(concat!("SELECT ", tenant_columns!(), " FROM tenants ORDER BY created_at, id"))
        .fetch_all(pool)
        .await?)
}

/// What a request needs to verify a tenant's tokens.
#[derive(Debug)]
pub struct TenantSecret {
    pub api_key: SecretString,
    pub key_version: i32,
    pub active: bool,
    /// A key sent to the store by an unconfirmed pairing; tokens signed with it are accepted too.
    pub pending: Option<PendingKey>,
}

#[derive(Debug)]
pub struct PendingKey {
    pub api_key: SecretString,
    pub key_version: i32,
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    api_key_enc: Vec<u8>,
    key_version: i32,
    status: TenantStatus,
    pending_api_key_enc: Option<Vec<u8>>,
    pending_key_version: Option<i32>,
}

pub async fn secret(pool: &PgPool, keyring: &Keyring, id: TenantId) -> Result<Option<TenantSecret>, StoreError> {
    let row: Option<SecretRow> = sqlx::query_as(
        "SELECT api_key_enc, key_version, status, pending_api_key_enc, pending_key_version FROM tenants WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let pending = match (row.pending_api_key_enc, row.pending_key_version) {
        (Some(enc), Some(key_version)) => Some(PendingKey { api_key: decrypt(keyring, id, &enc)?, key_version }),
        _ => None,
    };
    Ok(Some(TenantSecret {
        api_key: decrypt(keyring, id, &row.api_key_enc)?,
        key_version: row.key_version,
        active: row.status == TenantStatus::Active,
        pending,
    }))
}

fn decrypt(keyring: &Keyring, id: TenantId, enc: &[u8]) -> Result<SecretString, StoreError> {
    let plain = keyring.decrypt(enc, &context(id))?;
    let api_key = String::from_utf8(plain).map_err(|_| crate::crypto::CryptoError::Malformed)?;
    Ok(SecretString::from(api_key))
}

/// Revokes the binding: later webhooks answer 401 and nothing more is sent to the store, so its
/// undelivered callbacks are cancelled in the same transaction (and an unconfirmed pairing's key is
/// dropped). Returns false when the tenant does
/// not exist.
pub async fn revoke(pool: &PgPool, id: TenantId) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE tenants SET status = 'revoked', revoked_at = COALESCE(revoked_at, now()), pending_api_key_enc = NULL,
                pending_key_version = NULL, updated_at = now()
          WHERE id = $1",
    )
    .bind(id.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    crate::callbacks::cancel_for_tenant(&mut tx, id, "cancelled: the store's binding was revoked").await?;
    tx.commit().await?;
    Ok(true)
}

/// Finds the tenant paired with the store at `magento_base_url` (for re-pairing).
pub async fn find_by_magento_url(pool: &PgPool, magento_base_url: &str) -> Result<Option<Tenant>, StoreError> {
    Ok(sqlx::query_as::<_, Tenant>(concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE magento_base_url = $1"))
        .bind(magento_base_url)
        .fetch_optional(pool)
        .await?)
}

/// A key saved before it is sent to a store (see [`stage_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StagedKey {
    pub tenant: TenantId,
    pub key_version: i32,
    /// True when the pairing created the tenant: the key is its only key; false when it is a new
    /// key beside the current one (re-pairing).
    pub fresh: bool,
}

/// Saves a pairing's new key *before* it is sent to the store, so whatever happens after the store
/// accepts it (a lost answer, a failed write) the ledger knows the key the store signs with. A new
/// tenant is created with it as its key (connection `pending`); an existing one keeps its current key
/// and holds the new one as pending until [`promote_key`]. Both keys verify meanwhile.
pub async fn stage_key(
    pool: &PgPool,
    keyring: &Keyring,
    id: TenantId,
    name: &str,
    magento_base_url: &str,
    api_key: &SecretString,
) -> Result<StagedKey, StoreError> {
    let enc = keyring.encrypt(api_key.expose_secret().as_bytes(), &context(id));
    let (key_version, fresh): (i32, bool) = sqlx::query_as(
        "INSERT INTO tenants (id, name, api_key_enc, magento_base_url)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE
            SET pending_api_key_enc = EXCLUDED.api_key_enc, pending_key_version = tenants.key_version + 1,
                updated_at = now()
         RETURNING COALESCE(pending_key_version, key_version), pending_key_version IS NULL",
    )
    .bind(id.0)
    .bind(name)
    .bind(enc)
    .bind(magento_base_url)
    .fetch_one(pool)
    .await
    .map_err(|e| {
        crate::error::on_constraint(
            e,
            "tenants_magento_base_url",
            StoreError::Conflict("another tenant is paired with this store"),
        )
    })?;
    Ok(StagedKey { tenant: id, key_version, fresh })
}

/// Forgets a staged key the store certainly refused. A tenant the pairing created is deleted unless
/// something arrived for it meanwhile. Returns whether anything changed.
pub async fn discard_staged_key(pool: &PgPool, staged: StagedKey) -> Result<bool, StoreError> {
    let done = if staged.fresh {
        sqlx::query(
            "DELETE FROM tenants t
              WHERE t.id = $1 AND t.key_version = $2 AND t.pending_key_version IS NULL
                AND NOT EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = t.id)
                AND NOT EXISTS (SELECT 1 FROM callbacks c WHERE c.tenant_id = t.id)",
        )
        .bind(staged.tenant.0)
        .bind(staged.key_version)
        .execute(pool)
        .await?
    } else {
        sqlx::query(
            "UPDATE tenants SET pending_api_key_enc = NULL, pending_key_version = NULL, updated_at = now()
              WHERE id = $1 AND pending_key_version = $2",
        )
        .bind(staged.tenant.0)
        .bind(staged.key_version)
        .execute(pool)
        .await?
    };
    Ok(done.rows_affected() == 1)
}

/// Makes pending key `key_version` the tenant's key once the store has shown it holds it (a ping
/// answered or a token verified with it): the old key stops verifying, a revoked binding is active
/// again, and the connection takes `connection`. False when that key is no longer pending (already
/// promoted, or replaced by a newer pairing).
pub async fn promote_key(
    pool: &PgPool,
    id: TenantId,
    key_version: i32,
    connection: ConnectionStatus,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE tenants
            SET api_key_enc = pending_api_key_enc, key_version = pending_key_version,
                pending_api_key_enc = NULL, pending_key_version = NULL,
                status = 'active', revoked_at = NULL, magento_connection_status = $3, updated_at = now()
          WHERE id = $1 AND pending_key_version = $2",
    )
    .bind(id.0)
    .bind(key_version)
    .bind(connection)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `pending` → `active` after a ping or a delivered callback, `token_revoked` when Magento answers 401.
pub async fn set_connection_status(pool: &PgPool, id: TenantId, status: ConnectionStatus) -> Result<(), StoreError> {
    sqlx::query("UPDATE tenants SET magento_connection_status = $2, updated_at = now() WHERE id = $1")
        .bind(id.0)
        .bind(status)
        .execute(pool)
        .await?;
    Ok(())
}

/// Pauses (`Some(reason)`) or resumes (`None`) the tenant's sync. Returns the tenant as it is now, or
/// `None` when there is no such tenant. Pausing a paused tenant keeps its first pause time.
pub async fn set_paused(pool: &PgPool, id: TenantId, reason: Option<&str>) -> Result<Option<Tenant>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "UPDATE tenants
            SET paused_at = CASE WHEN $2::text IS NULL THEN NULL ELSE COALESCE(paused_at, now()) END,
                paused_reason = $2, updated_at = now()
          WHERE id = $1
         RETURNING ",
        tenant_columns!()
    ))
    .bind(id.0)
    .bind(reason)
    .fetch_optional(pool)
    .await?)
}

/// The tenants (stores) owned by the dashboard account `merchant`, oldest first.
pub async fn list_for_merchant(pool: &PgPool, merchant: Uuid) -> Result<Vec<Tenant>, StoreError> {
    Ok(sqlx::query_as::<_, Tenant>(concat!(
        "SELECT ",
        tenant_columns!(),
        " FROM tenants WHERE merchant_id = $1 ORDER BY created_at, id"
    ))
    .bind(merchant)
    .fetch_all(pool)
    .await?)
}

/// The dashboard account owning `id`, if any (`None` also for an unknown tenant).
pub async fn merchant_of(pool: &PgPool, id: TenantId) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar::<_, Option<Uuid>>("SELECT merchant_id FROM tenants WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .flatten())
}

/// Gives tenant `id` to the dashboard account `merchant`; false when no such tenant.
pub async fn assign_merchant(pool: &PgPool, id: TenantId, merchant: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE tenants SET merchant_id = $2 WHERE id = $1")
        .bind(id.0)
        .bind(merchant)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives tenant `id` to `merchant` unless another account owns it; true when `merchant` owns it after.
pub async fn claim_for_merchant(pool: &PgPool, id: TenantId, merchant: Uuid) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE tenants SET merchant_id = $2 WHERE id = $1 AND (merchant_id IS NULL OR merchant_id = $2)")
            .bind(id.0)
            .bind(merchant)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The origin allowed to frame the tenant's embedded log, when one is set (see [`set_embed_origin`]).
pub async fn embed_origin(pool: &PgPool, id: TenantId) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar::<_, Option<String>>("SELECT embed_origin FROM tenants WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .flatten())
}

/// Sets (or, with `None`, clears) the origin allowed to frame the tenant's embedded log.
pub async fn set_embed_origin(pool: &PgPool, id: TenantId, origin: Option<&str>) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE tenants SET embed_origin = $2 WHERE id = $1").bind(id.0).bind(origin).execute(pool).await?;
    Ok(done.rows_affected() == 1)
}

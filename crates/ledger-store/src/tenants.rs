//! Tenants: one per paired Magento install, holding its encrypted api_key and connection status.
use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Keyring, StoreError};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub key_version: i32,
    pub magento_base_url: Option<String>,
    pub magento_connection_status: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Tenant {
    pub fn tenant_id(&self) -> TenantId {
        TenantId(self.id)
    }

    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// The columns of [`Tenant`], as a literal so every query stays a static string.
macro_rules! tenant_columns {
    () => {
        "id, name, status, key_version, magento_base_url, magento_connection_status, created_at, revoked_at"
    };
}

fn context(id: TenantId) -> String {
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
}

pub async fn secret(pool: &PgPool, keyring: &Keyring, id: TenantId) -> Result<Option<TenantSecret>, StoreError> {
    let row: Option<(Vec<u8>, i32, String)> =
        sqlx::query_as("SELECT api_key_enc, key_version, status FROM tenants WHERE id = $1")
            .bind(id.0)
            .fetch_optional(pool)
            .await?;
    let Some((enc, key_version, status)) = row else { return Ok(None) };
    let plain = keyring.decrypt(&enc, &context(id))?;
    let api_key = String::from_utf8(plain).map_err(|_| crate::crypto::CryptoError::Malformed)?;
    Ok(Some(TenantSecret { api_key: SecretString::from(api_key), key_version, active: status == "active" }))
}

/// Revokes the binding: later webhooks answer 401 and nothing more is sent to the store.
/// Returns false when the tenant does not exist.
pub async fn revoke(pool: &PgPool, id: TenantId) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE tenants SET status = 'revoked', revoked_at = COALESCE(revoked_at, now()), updated_at = now() WHERE id = $1",
    )
    .bind(id.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Finds the tenant paired with the store at `magento_base_url` (for re-pairing).
pub async fn find_by_magento_url(pool: &PgPool, magento_base_url: &str) -> Result<Option<Tenant>, StoreError> {
    Ok(sqlx::query_as::<_, Tenant>(concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE magento_base_url = $1"))
        .bind(magento_base_url)
        .fetch_optional(pool)
        .await?)
}

/// Records a successful pairing: a new tenant, or a new api_key for an existing one (key rotation,
/// which also reactivates a revoked binding). The connection is `pending` until the store answers a ping.
pub async fn record_pairing(
    pool: &PgPool,
    keyring: &Keyring,
    id: TenantId,
    name: &str,
    magento_base_url: &str,
    api_key: &SecretString,
) -> Result<Tenant, StoreError> {
    let enc = keyring.encrypt(api_key.expose_secret().as_bytes(), &context(id));
    sqlx::query_as::<_, Tenant>(concat!(
        "INSERT INTO tenants (id, name, api_key_enc, magento_base_url)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE
            SET api_key_enc = EXCLUDED.api_key_enc, key_version = tenants.key_version + 1,
                magento_base_url = EXCLUDED.magento_base_url, status = 'active', revoked_at = NULL,
                magento_connection_status = 'pending', updated_at = now()
         RETURNING ",
        tenant_columns!()
    ))
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
    })
}

/// `pending` → `active` after a ping, `token_revoked` when Magento answers 401.
pub async fn set_connection_status(pool: &PgPool, id: TenantId, status: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE tenants SET magento_connection_status = $2, updated_at = now() WHERE id = $1")
        .bind(id.0)
        .bind(status)
        .execute(pool)
        .await?;
    Ok(())
}

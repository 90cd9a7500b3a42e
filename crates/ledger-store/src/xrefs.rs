//! Cross-references per binding: the Sage record the ledger made for a Magento thing, so a later run
//! updates it (or pays, credits, allocates against it) instead of creating another.
use chrono::{DateTime, Utc};
use ledger_domain::{TenantId, XrefKind};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

/// Names one cross-reference: `magento_key` is an entity id, `guest:<hash>` or `b2c`; `currency` is ''
/// where the Sage record does not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrefKey<'a> {
    pub binding_id: Uuid,
    pub kind: XrefKind,
    pub magento_key: &'a str,
    pub currency: &'a str,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct Xref {
    pub kind: XrefKind,
    pub magento_key: String,
    pub currency: String,
    pub sage_id: String,
    pub sage_reference: Option<String>,
    pub detail: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn get(pool: &PgPool, tenant: TenantId, key: XrefKey<'_>) -> Result<Option<Xref>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT kind, magento_key, currency, sage_id, sage_reference, detail, created_at, updated_at
           FROM sage_xrefs
          WHERE tenant_id = $1 AND binding_id = $2 AND kind = $3 AND magento_key = $4 AND currency = $5",
    )
    .bind(tenant)
    .bind(key.binding_id)
    .bind(key.kind)
    .bind(key.magento_key)
    .bind(key.currency)
    .fetch_optional(pool)
    .await?)
}

/// Records (or moves) a cross-reference. Two runs that made the same record (by the same idempotency
/// id) write the same row; the later one's detail wins.
pub async fn put(
    pool: &PgPool,
    tenant: TenantId,
    key: XrefKey<'_>,
    sage_id: &str,
    sage_reference: Option<&str>,
    detail: &Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sage_xrefs (binding_id, tenant_id, kind, magento_key, currency, sage_id, sage_reference, detail)
         SELECT $2, $1, $3, $4, $5, $6, $7, $8 FROM bindings WHERE id = $2 AND tenant_id = $1
         ON CONFLICT (binding_id, kind, magento_key, currency) DO UPDATE
            SET sage_id = EXCLUDED.sage_id, sage_reference = EXCLUDED.sage_reference, detail = EXCLUDED.detail,
                updated_at = now()",
    )
    .bind(tenant)
    .bind(key.binding_id)
    .bind(key.kind)
    .bind(key.magento_key)
    .bind(key.currency)
    .bind(sage_id)
    .bind(sage_reference)
    .bind(detail)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every cross-reference of a binding (operators, tests).
pub async fn list(pool: &PgPool, tenant: TenantId, binding_id: Uuid) -> Result<Vec<Xref>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT kind, magento_key, currency, sage_id, sage_reference, detail, created_at, updated_at
           FROM sage_xrefs WHERE tenant_id = $1 AND binding_id = $2
          ORDER BY kind, magento_key, currency",
    )
    .bind(tenant)
    .bind(binding_id)
    .fetch_all(pool)
    .await?)
}

/// The cross-references of any of `kinds` for any of `keys` (the SKUs of a document's lines, say).
pub async fn find_many(
    pool: &PgPool,
    tenant: TenantId,
    binding_id: Uuid,
    kinds: &[XrefKind],
    keys: &[String],
) -> Result<Vec<Xref>, StoreError> {
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    Ok(sqlx::query_as(
        "SELECT kind, magento_key, currency, sage_id, sage_reference, detail, created_at, updated_at
           FROM sage_xrefs
          WHERE tenant_id = $1 AND binding_id = $2 AND kind = ANY($3) AND magento_key = ANY($4)",
    )
    .bind(tenant)
    .bind(binding_id)
    .bind(&kinds)
    .bind(keys)
    .fetch_all(pool)
    .await?)
}

//! Sync-state callbacks: written in the outcome's transaction, claimed in order per (entity, provider)
//! under a lease (one in flight per tenant), and marked delivered, retried, dead-lettered or cancelled.
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::{CallbackErrorCode, CallbackState, EventName, SyncReport, SyncStatus, TenantId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::StoreError;
use crate::tenants::ConnectionStatus;

/// The event a callback reports on: its entity type comes from the event name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallbackEntity {
    pub tenant_id: TenantId,
    pub event_id: Uuid,
    pub name: EventName,
    pub magento_entity_id: i64,
}

/// Records the callback for a terminal outcome of `entity`'s event for `provider` (the key Magento's
/// sync-state rows use), on the caller's transaction.
pub(crate) async fn enqueue(
    conn: &mut PgConnection,
    entity: &CallbackEntity,
    provider: &str,
    status: SyncStatus,
    report: &SyncReport,
    error_code: Option<CallbackErrorCode>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO callbacks (tenant_id, event_id, entity_type, magento_entity_id, sync_status,
                                provider_entity_id, provider_reference, skip_reason, error_code, provider)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entity.tenant_id)
    .bind(entity.event_id)
    .bind(entity.name.entity_type())
    .bind(entity.magento_entity_id)
    .bind(status)
    .bind(clip(&report.provider_entity_id))
    .bind(clip(&report.provider_reference))
    .bind(clip(&report.skip_reason))
    .bind(error_code)
    .bind(provider)
    .execute(conn)
    .await?;
    Ok(())
}

/// Magento stores these in 64-character columns.
fn clip(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.chars().take(64).collect())
}

/// A claimed callback with what delivering it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallbackJob {
    pub id: i64,
    pub tenant_id: TenantId,
    pub lease_token: i64,
    pub attempt: i32,
    pub entity_type: String,
    pub magento_entity_id: i64,
    pub provider: String,
    pub sync_status: SyncStatus,
    pub provider_entity_id: Option<String>,
    pub provider_reference: Option<String>,
    pub skip_reason: Option<String>,
    pub error_code: Option<String>,
    pub magento_base_url: String,
    /// The tenant's key version and connection status when claimed (cache key; skip no-op updates).
    pub key_version: i32,
    pub magento_connection_status: ConnectionStatus,
}

/// Claims up to `limit` due callbacks, at most one per tenant, skipping tenants with a delivery in
/// flight (any process's live lease): each store gets its callbacks one at a time, in order, so a
/// store that hangs holds one delivery slot, never the others' chips. A callback also waits while an
/// earlier one for the same entity and provider is undelivered, so Magento never sees an older status
/// after a newer one. Bindings that are revoked or not paired are skipped: nothing is sent to their
/// stores.
pub async fn claim_due(pool: &PgPool, limit: i64, lease: Duration) -> Result<Vec<CallbackJob>, StoreError> {
    // One index probe per store (its oldest due callback whose entity has nothing older undelivered),
    // not a pass over every due row: a store with a backlog of thousands must not slow every claim.
    // MATERIALIZED pins that shape: with the statistics of a table that grew fast (a backlog arriving
    // before autovacuum analyses it), the planner inlined the picks and re-ran each store's probe for
    // every due row, turning a 1 ms claim into 1.2 s with 2,000 callbacks queued.
    Ok(sqlx::query_as(
        "WITH picks AS MATERIALIZED (
             SELECT pick.id, pick.next_attempt_at FROM tenants t
              CROSS JOIN LATERAL (
                  SELECT c.id, c.next_attempt_at FROM callbacks c
                   WHERE c.tenant_id = t.id AND c.state IN ('pending', 'delivering')
                     AND ((c.state = 'pending' AND c.next_attempt_at <= now())
                       OR (c.state = 'delivering' AND c.lease_expires_at < now()))
                     AND NOT EXISTS (
                         SELECT 1 FROM callbacks o
                          WHERE o.tenant_id = c.tenant_id AND o.entity_type = c.entity_type
                            AND o.magento_entity_id = c.magento_entity_id AND o.provider = c.provider
                            AND o.id < c.id AND o.state IN ('pending', 'delivering'))
                   ORDER BY c.next_attempt_at, c.id
                   LIMIT 1) pick
              WHERE t.status = 'active' AND t.magento_base_url IS NOT NULL
                AND NOT EXISTS (
                    SELECT 1 FROM callbacks d
                     WHERE d.tenant_id = t.id AND d.state = 'delivering' AND d.lease_expires_at >= now())
         ), next AS (
             SELECT c.id FROM callbacks c JOIN picks USING (id)
              WHERE (c.state = 'pending' AND c.next_attempt_at <= now())
                 OR (c.state = 'delivering' AND c.lease_expires_at < now())
              ORDER BY c.next_attempt_at, c.id
              LIMIT $1
              FOR UPDATE OF c SKIP LOCKED
         )
         UPDATE callbacks c
            SET state = 'delivering', attempt = c.attempt + 1, lease_token = c.lease_token + 1,
                lease_expires_at = now() + make_interval(secs => $2)
           FROM next, tenants t
          WHERE c.id = next.id AND t.id = c.tenant_id
         RETURNING c.id, c.tenant_id, c.lease_token, c.attempt, c.entity_type, c.magento_entity_id, c.provider,
                   c.sync_status, c.provider_entity_id, c.provider_reference, c.skip_reason, c.error_code,
                   t.magento_base_url, t.key_version, t.magento_connection_status",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await?)
}

/// Ends the tenant's undelivered callbacks as `cancelled` with `reason` (its binding was revoked, so
/// nothing more is sent to its store), on the caller's transaction. Returns how many ended.
pub(crate) async fn cancel_for_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
    reason: &str,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE callbacks SET state = $2, lease_expires_at = NULL, last_error = $3
          WHERE tenant_id = $1 AND state IN ('pending', 'delivering')",
    )
    .bind(tenant)
    .bind(CallbackState::Cancelled)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Retry { delay: Duration, error: String },
    DeadLettered { error: String },
}

/// Records how delivering `id` under `lease_token` went; false when the lease was lost meanwhile.
pub async fn record(pool: &PgPool, id: i64, lease_token: i64, delivery: &Delivery) -> Result<bool, StoreError> {
    let (state, delay, error) = match delivery {
        Delivery::Delivered => (CallbackState::Delivered, None, None),
        Delivery::Retry { delay, error } => (CallbackState::Pending, Some(delay.as_secs_f64()), Some(error.as_str())),
        Delivery::DeadLettered { error } => (CallbackState::DeadLettered, None, Some(error.as_str())),
    };
    let done = sqlx::query(
        "UPDATE callbacks
            SET state = $3, lease_expires_at = NULL, last_error = COALESCE($5, last_error),
                delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
                next_attempt_at = CASE WHEN $4::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $4) END
          WHERE id = $1 AND lease_token = $2 AND state = 'delivering'",
    )
    .bind(id)
    .bind(lease_token)
    .bind(state)
    .bind(delay)
    .bind(error.map(|e| e.chars().take(2000).collect::<String>()))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct CallbackRow {
    pub id: i64,
    pub entity_type: String,
    pub magento_entity_id: i64,
    pub sync_status: SyncStatus,
    pub provider_entity_id: Option<String>,
    pub state: CallbackState,
    pub attempt: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

pub async fn list_for_tenant(pool: &PgPool, tenant: TenantId) -> Result<Vec<CallbackRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, entity_type, magento_entity_id, sync_status, provider_entity_id, state, attempt, last_error,
                created_at, delivered_at
           FROM callbacks WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?)
}

//! Read models for health: the Magento tile counts per tenant, and worker heartbeats.
use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use sqlx::PgPool;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TileCounts {
    /// Runs not finished yet (waiting, retrying or running).
    pub pending_count: i64,
    /// Runs that ended failed or dead-lettered in the last 24 hours.
    pub failed_24h: i64,
    /// When the latest run finished.
    pub last_run_at: Option<DateTime<Utc>>,
}

pub async fn tile_counts(pool: &PgPool, tenant: TenantId) -> Result<TileCounts, StoreError> {
    Ok(sqlx::query_as(
        "SELECT
             (SELECT count(*) FROM events WHERE tenant_id = $1 AND state IN ('pending', 'running')) AS pending_count,
             (SELECT count(*) FROM events WHERE tenant_id = $1 AND state IN ('failed', 'dead_lettered')
                                            AND finished_at > now() - interval '24 hours') AS failed_24h,
             (SELECT max(finished_at) FROM events WHERE tenant_id = $1) AS last_run_at",
    )
    .bind(tenant.0)
    .fetch_one(pool)
    .await?)
}

/// What the tile shows of the tenant's Sage binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileBinding {
    pub status: crate::bindings::BindingStatus,
    pub region: Option<String>,
}

/// The tenant's Sage binding as the tile shows it; `None` when it never started connecting.
pub async fn tile_binding(pool: &PgPool, tenant: TenantId) -> Result<Option<TileBinding>, StoreError> {
    Ok(crate::bindings::sage(pool, tenant).await?.map(|b| TileBinding { status: b.status, region: b.region }))
}

pub async fn heartbeat(pool: &PgPool, worker_id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO worker_heartbeats (worker_id) VALUES ($1)
         ON CONFLICT (worker_id) DO UPDATE SET last_seen = now()",
    )
    .bind(worker_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes `worker_id`'s heartbeat when it stops, so the triggers it fetched count as abandoned now.
pub async fn forget_worker(pool: &PgPool, worker_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM worker_heartbeats WHERE worker_id = $1").bind(worker_id).execute(pool).await?;
    Ok(())
}

/// Seconds since `worker_id` last beat, if it ever did.
pub async fn heartbeat_age(pool: &PgPool, worker_id: &str) -> Result<Option<f64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - last_seen)::float8 FROM worker_heartbeats WHERE worker_id = $1",
    )
    .bind(worker_id)
    .fetch_optional(pool)
    .await?)
}

pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

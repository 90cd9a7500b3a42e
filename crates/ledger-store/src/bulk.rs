//! Bulk actions from the dashboard as background jobs: created with the runs they act on, claimed a
//! batch at a time under a lease by any worker process, their progress kept for the progress bar.
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use uuid::Uuid;

use crate::{PgPool, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BulkAction {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub account_id: Option<Uuid>,
    pub actor_email: String,
    pub operator: bool,
    pub action: String,
    pub filters: String,
    pub total: i32,
    pub done: i32,
    pub refused: i32,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Who asked and what for.
pub struct NewBulk<'a> {
    pub tenant: TenantId,
    pub account: Uuid,
    pub actor_email: &'a str,
    pub operator: bool,
    pub filters: &'a str,
    pub event_ids: &'a [Uuid],
}

/// Queues a bulk requeue of `event_ids`; returns its id.
pub async fn create_requeue(pool: &PgPool, new: &NewBulk<'_>) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO bulk_actions (id, tenant_id, account_id, actor_email, operator, action, filters, event_ids, total)
         VALUES ($1, $2, $3, $4, $5, 'requeue', $6, $7, $8)",
    )
    .bind(id)
    .bind(new.tenant)
    .bind(new.account)
    .bind(new.actor_email)
    .bind(new.operator)
    .bind(new.filters)
    .bind(new.event_ids)
    .bind(i32::try_from(new.event_ids.len()).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(id)
}

/// One bulk action of `tenant`.
pub async fn get(pool: &PgPool, tenant: TenantId, id: Uuid) -> Result<Option<BulkAction>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, tenant_id, account_id, actor_email, operator, action, filters, total, done, refused, state,
                created_at, finished_at
           FROM bulk_actions WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(tenant)
    .fetch_optional(pool)
    .await?)
}

/// A running job's next batch: claims the oldest running job whose lease is free, for `lease`, and
/// returns it with its next `batch` event ids (those after what it has done).
pub async fn claim_batch(
    pool: &PgPool,
    batch: i32,
    lease: Duration,
) -> Result<Option<(BulkAction, Vec<Uuid>)>, StoreError> {
    let claimed: Option<(Uuid, Vec<Uuid>)> = sqlx::query_as(
        "WITH job AS (
             SELECT id FROM bulk_actions
              WHERE state = 'running' AND (claimed_until IS NULL OR claimed_until < now())
              ORDER BY created_at LIMIT 1
              FOR UPDATE SKIP LOCKED
         )
         UPDATE bulk_actions b SET claimed_until = now() + make_interval(secs => $2)
           FROM job WHERE b.id = job.id
         RETURNING b.id, b.event_ids[b.done + b.refused + 1 : b.done + b.refused + $1]",
    )
    .bind(batch)
    .bind(lease.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    let Some((id, ids)) = claimed else { return Ok(None) };
    let job: BulkAction = sqlx::query_as(
        "SELECT id, tenant_id, account_id, actor_email, operator, action, filters, total, done, refused, state,
                created_at, finished_at
           FROM bulk_actions WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(Some((job, ids)))
}

/// Records a batch's outcome, releases the lease, and finishes the job when nothing is left. Returns
/// whether it finished.
pub async fn record_batch(pool: &PgPool, id: Uuid, done: i32, refused: i32) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE bulk_actions
            SET done = done + $2, refused = refused + $3, claimed_until = NULL,
                state = CASE WHEN done + $2 + refused + $3 >= total THEN 'finished' ELSE state END,
                finished_at = CASE WHEN done + $2 + refused + $3 >= total THEN now() END
          WHERE id = $1
         RETURNING state = 'finished'",
    )
    .bind(id)
    .bind(done)
    .bind(refused)
    .fetch_one(pool)
    .await?)
}

//! Bulk actions from the dashboard and the console as background jobs: created with the runs they act
//! on, claimed a batch at a time under a lease by any worker process, their progress kept for the
//! progress bar. A job belongs to one tenant (a merchant's, or an operator's from that tenant's log) or,
//! started from the console's failures page, to no tenant (operator scope across tenants).
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::{EventState, TenantId};
use uuid::Uuid;

use crate::{PgPool, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BulkAction {
    pub id: Uuid,
    /// `None` for an operator's job across tenants.
    pub tenant_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub actor_email: String,
    pub operator: bool,
    /// `requeue` or `discard`.
    pub action: String,
    pub filters: String,
    /// The discard reason every run gets.
    pub reason: Option<String>,
    /// The states the runs matched in (empty: any the action accepts).
    pub from_states: Vec<String>,
    pub total: i32,
    pub done: i32,
    pub refused: i32,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl BulkAction {
    /// The states a run must still be in to be acted on; unparsable ones (none are written) are dropped.
    pub fn states(&self) -> Vec<EventState> {
        self.from_states.iter().filter_map(|s| s.parse().ok()).collect()
    }
}

/// What a job does to each run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkKind<'a> {
    Requeue,
    Discard { reason: &'a str },
}

/// Who asked, in what scope, and what for.
pub struct NewBulk<'a> {
    /// `None`: an operator's job across tenants.
    pub tenant: Option<TenantId>,
    pub account: Uuid,
    pub actor_email: &'a str,
    pub operator: bool,
    pub kind: BulkKind<'a>,
    pub filters: &'a str,
    pub from_states: &'a [EventState],
    pub event_ids: &'a [Uuid],
}

macro_rules! bulk_columns {
    () => {
        "id, tenant_id, account_id, actor_email, operator, action, filters, reason, from_states, total, done,
         refused, state, created_at, finished_at"
    };
}

/// Queues a bulk action on `event_ids`; returns its id.
pub async fn create(pool: &PgPool, new: &NewBulk<'_>) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    let (action, reason) = match new.kind {
        BulkKind::Requeue => ("requeue", None),
        BulkKind::Discard { reason } => ("discard", Some(reason)),
    };
    let states: Vec<&str> = new.from_states.iter().map(|s| s.as_str()).collect();
    sqlx::query(
        "INSERT INTO bulk_actions (id, tenant_id, account_id, actor_email, operator, action, filters, reason,
                                   from_states, event_ids, total)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(new.tenant)
    .bind(new.account)
    .bind(new.actor_email)
    .bind(new.operator)
    .bind(action)
    .bind(new.filters)
    .bind(reason)
    .bind(&states)
    .bind(new.event_ids)
    .bind(i32::try_from(new.event_ids.len()).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(id)
}

/// One bulk action of `tenant`.
pub async fn get(pool: &PgPool, tenant: TenantId, id: Uuid) -> Result<Option<BulkAction>, StoreError> {
    Ok(sqlx::query_as(concat!("SELECT ", bulk_columns!(), " FROM bulk_actions WHERE id = $1 AND tenant_id = $2"))
        .bind(id)
        .bind(tenant)
        .fetch_optional(pool)
        .await?)
}

/// One bulk action of any scope (operators see every job).
pub async fn get_any(pool: &PgPool, id: Uuid) -> Result<Option<BulkAction>, StoreError> {
    Ok(sqlx::query_as(concat!("SELECT ", bulk_columns!(), " FROM bulk_actions WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// The newest operator jobs across tenants, at most `limit`.
pub async fn recent_operator_jobs(pool: &PgPool, limit: i64) -> Result<Vec<BulkAction>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        bulk_columns!(),
        " FROM bulk_actions WHERE tenant_id IS NULL ORDER BY created_at DESC, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Those of `ids` (runs of `tenant`) that are still their event's current run: a run a newer one
/// replaced (`dedup_key` NULL) is history, and bulk actions leave it out of their count.
pub async fn current_runs(pool: &PgPool, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
    let current: std::collections::HashSet<Uuid> =
        sqlx::query_scalar("SELECT id FROM events WHERE tenant_id = $1 AND id = ANY($2) AND dedup_key IS NOT NULL")
            .bind(tenant)
            .bind(ids)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    Ok(ids.iter().copied().filter(|id| current.contains(id)).collect())
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
    let job: BulkAction = sqlx::query_as(concat!("SELECT ", bulk_columns!(), " FROM bulk_actions WHERE id = $1"))
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

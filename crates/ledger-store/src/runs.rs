//! The worker side of an event row: claim under a lease with a fencing token, record the outcome by
//! compare-and-set, and re-push triggers for due rows that lost theirs.
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::{ErrorClass, EventState};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;
use crate::events::{push, push_many, trigger};

/// A successful claim: the worker holds the event until `lease_expires_at`, and only with `lease_token`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claim {
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    pub event_name: String,
    pub magento_entity_id: i64,
    pub payload: Value,
    pub attempt: i32,
    pub lease_token: i64,
    pub lease_expires_at: DateTime<Utc>,
}

/// Claims `event_id` if it is due, or if its previous holder's lease ran out.
pub async fn claim(pool: &PgPool, event_id: Uuid, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
    let lease_secs = lease.as_secs_f64();
    let claim: Option<Claim> = sqlx::query_as(
        "WITH claimed AS (
             UPDATE events
                SET state = 'running', attempt = attempt + 1, lease_token = lease_token + 1,
                    lease_expires_at = now() + make_interval(secs => $3), leased_by = $2, updated_at = now()
              WHERE id = $1
                AND ((state = 'pending' AND next_attempt_at <= now())
                  OR (state = 'running' AND lease_expires_at < now()))
             RETURNING id, tenant_id, event_name, magento_entity_id, payload, attempt, lease_token, lease_expires_at
         ), audit AS (
             INSERT INTO event_attempts (event_id, lease_token, attempt, worker)
             SELECT id, lease_token, attempt, $2 FROM claimed
         )
         SELECT id AS event_id, tenant_id, event_name, magento_entity_id, payload, attempt, lease_token, lease_expires_at
           FROM claimed",
    )
    .bind(event_id)
    .bind(worker)
    .bind(lease_secs)
    .fetch_optional(pool)
    .await?;
    Ok(claim)
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A terminal success state (`received`, `synced` or `skipped`); `synced` and `skipped` are reported
    /// to Magento with what `sync` says.
    Done { state: EventState, detail: Option<String>, sync: SyncReport },
    /// Try again after `delay`.
    Retry { class: ErrorClass, error: String, delay: Duration },
    /// A terminal failure (`failed` or `dead_lettered`).
    Fail { state: EventState, class: ErrorClass, error: String },
}

/// What Magento's sync-state callback carries besides the status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub provider_entity_id: Option<String>,
    pub provider_reference: Option<String>,
    pub skip_reason: Option<String>,
}

impl Outcome {
    /// Processed, with nothing synced (no Sage mapping configured): no callback.
    pub fn received(detail: impl Into<String>) -> Self {
        Self::Done { state: EventState::Received, detail: Some(detail.into()), sync: SyncReport::default() }
    }

    pub fn synced(provider_entity_id: impl Into<String>, provider_reference: Option<String>) -> Self {
        let sync =
            SyncReport { provider_entity_id: Some(provider_entity_id.into()), provider_reference, skip_reason: None };
        Self::Done { state: EventState::Synced, detail: None, sync }
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let sync = SyncReport { skip_reason: Some(reason.clone()), ..SyncReport::default() };
        Self::Done { state: EventState::Skipped, detail: Some(reason), sync }
    }

    /// The sync-state callback this outcome produces: (status, report, error_code).
    fn callback(&self) -> Option<(&'static str, SyncReport, Option<&'static str>)> {
        match self {
            Self::Done { state: EventState::Synced, sync, .. } => Some(("synced", sync.clone(), None)),
            Self::Done { state: EventState::Skipped, sync, .. } => Some(("skipped", sync.clone(), None)),
            Self::Done { .. } | Self::Retry { .. } => None,
            Self::Fail { class, .. } => Some(("failed", SyncReport::default(), Some(callback_error_code(*class)))),
        }
    }

    fn state(&self) -> EventState {
        match self {
            Self::Done { state, .. } | Self::Fail { state, .. } => *state,
            Self::Retry { .. } => EventState::Pending,
        }
    }

    fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::Done { .. } => None,
            Self::Retry { class, .. } | Self::Fail { class, .. } => Some(*class),
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Self::Done { detail, .. } => detail.as_deref(),
            Self::Retry { error, .. } | Self::Fail { error, .. } => Some(error),
        }
    }
}

/// Records `outcome` if `lease_token` still holds the event. Returns false for a stale worker, whose
/// outcome is dropped. A retry pushes its delayed trigger in the same transaction.
pub async fn finish(pool: &PgPool, event_id: Uuid, lease_token: i64, outcome: &Outcome) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let (delay, task) = match outcome {
        Outcome::Retry { delay, .. } => {
            let (task, id) = trigger(event_id, Some(*delay))?;
            (Some(*delay), Some((task, id)))
        }
        _ => (None, None),
    };
    let delay_secs = delay.map(|d| d.as_secs_f64());
    let state = outcome.state();
    let updated = sqlx::query(
        "UPDATE events
            SET state = $3, lease_expires_at = NULL, leased_by = NULL, updated_at = now(),
                last_error_class = $4, last_error = $5,
                finished_at = CASE WHEN $3 IN ('pending', 'running') THEN NULL ELSE now() END,
                next_attempt_at = CASE WHEN $6::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $6) END,
                task_id = COALESCE($7, task_id),
                task_pushed_at = CASE WHEN $6::float8 IS NULL THEN task_pushed_at ELSE now() + make_interval(secs => $6) END
          WHERE id = $1 AND lease_token = $2 AND state = 'running'",
    )
    .bind(event_id)
    .bind(lease_token)
    .bind(state.as_str())
    .bind(outcome.class().map(ErrorClass::as_str))
    .bind(outcome.class().and(outcome.detail()))
    .bind(delay_secs)
    .bind(task.as_ref().map(|(_, id)| id.as_str()))
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "UPDATE event_attempts SET finished_at = now(), outcome = $3, error_class = $4, detail = $5
          WHERE event_id = $1 AND lease_token = $2",
    )
    .bind(event_id)
    .bind(lease_token)
    .bind(state.as_str())
    .bind(outcome.class().map(ErrorClass::as_str))
    .bind(outcome.detail().map(|d| d.chars().take(2000).collect::<String>()))
    .execute(&mut *tx)
    .await?;
    if let Some((task, _)) = task {
        push(&mut tx, task).await?;
    }
    if let Some((status, report, error_code)) = outcome.callback() {
        crate::callbacks::enqueue(&mut tx, event_id, status, &report, error_code).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The module's error classes (spec §5.3) for our outbound error classes.
fn callback_error_code(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Transient => "provider",
        ErrorClass::RateLimited => "rate_limited",
        ErrorClass::Auth | ErrorClass::Permission | ErrorClass::Subscription => "auth",
        ErrorClass::Validation => "validation",
        ErrorClass::NotFound => "not_found",
        ErrorClass::Internal => "internal",
    }
}

/// Re-pushes triggers for rows that need one: due and pending with no live apalis task (a lost task,
/// a crash between claim and push), or running under a lease that ran out (a dead worker) and not
/// re-pushed since. Returns how many were pushed.
pub async fn reconcile(pool: &PgPool, limit: i64) -> Result<usize, StoreError> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT e.id FROM events e
          WHERE ((e.state = 'pending' AND e.next_attempt_at <= now() AND e.task_pushed_at <= now()
                  AND NOT EXISTS (SELECT 1 FROM apalis.jobs j
                                   WHERE j.id = e.task_id AND j.status IN ('Pending', 'Queued', 'Running')))
              OR (e.state = 'running' AND e.lease_expires_at < now() AND e.task_pushed_at < e.lease_expires_at))
          ORDER BY e.next_attempt_at
          LIMIT $1
          FOR UPDATE OF e SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut tasks = Vec::with_capacity(ids.len());
    for id in &ids {
        let (task, task_id) = trigger(*id, None)?;
        sqlx::query("UPDATE events SET task_id = $2, task_pushed_at = now() WHERE id = $1")
            .bind(id)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        tasks.push(task);
    }
    if !tasks.is_empty() {
        push_many(&mut tx, tasks).await?;
    }
    tx.commit().await?;
    Ok(ids.len())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Attempt {
    pub lease_token: i64,
    pub attempt: i32,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub error_class: Option<String>,
    pub detail: Option<String>,
}

/// The audit trail of one event, oldest claim first.
pub async fn attempts(
    pool: &PgPool,
    tenant: ledger_domain::TenantId,
    event_id: Uuid,
) -> Result<Vec<Attempt>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT a.lease_token, a.attempt, a.worker, a.started_at, a.finished_at, a.outcome, a.error_class, a.detail
           FROM event_attempts a JOIN events e ON e.id = a.event_id
          WHERE e.tenant_id = $1 AND a.event_id = $2
          ORDER BY a.lease_token",
    )
    .bind(tenant.0)
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

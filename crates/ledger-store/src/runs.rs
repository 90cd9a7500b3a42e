//! The worker side of an event row: claim under a lease with a fencing token (one running run per
//! entity), record the outcome by compare-and-set, and re-push triggers for due rows that lost theirs.
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::{
    CallbackErrorCode, ClaimedEvent, Envelope, EnvelopeError, ErrorClass, EventName, EventState, ParkReason,
    RunFailure, RunOutcome, SyncReport, SyncStatus, TenantId,
};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::StoreError;
use crate::callbacks::{self, CallbackEntity};
use crate::events::{fair_priority_of, push, push_many, trigger};
use crate::{bindings, provider_outcomes};

/// The index that lets one run per entity be `running` at a time.
const ONE_RUNNING_PER_ENTITY: &str = "events_one_running_per_entity";

/// A successful claim: the worker holds the event until `lease_expires_at`, and only with `lease_token`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claim {
    pub event_id: Uuid,
    pub tenant_id: TenantId,
    pub event_name: EventName,
    pub magento_entity_id: i64,
    pub payload: Value,
    pub attempt: i32,
    pub lease_token: i64,
    pub lease_expires_at: DateTime<Utc>,
}

impl Claim {
    /// The claimed event in domain types; the stored envelope is validated again on the way out.
    pub fn event(&self) -> Result<ClaimedEvent, EnvelopeError> {
        let body = serde_json::to_vec(&self.payload).map_err(|e| EnvelopeError::Json(e.to_string()))?;
        Ok(ClaimedEvent {
            event_id: self.event_id,
            tenant_id: self.tenant_id,
            name: self.event_name,
            envelope: Envelope::parse(self.event_name, &body)?,
            attempt: self.attempt,
            lease_token: self.lease_token,
        })
    }
}

/// Claims `event_id` if it is due, or if its previous holder's lease ran out, unless another run of
/// the same entity is running (the event then waits; that run's finish triggers it again).
/// No limit on a tenant's share of the runs in flight (tests of other rules).
pub async fn claim(pool: &PgPool, event_id: Uuid, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
    claim_within_share(pool, event_id, worker, lease, UNLIMITED_SHARE).await
}

/// No tenant share: every due run may be claimed.
pub const UNLIMITED_SHARE: i64 = i64::MAX;

/// [`claim`], declined while the event's tenant already has `tenant_share` runs in flight (across
/// every process): the event is then marked as waiting for its tenant's share, and the finish of one
/// of the tenant's runs hands it a trigger ([`finish`]), so a tenant with a backlog holds at most its
/// share of the workers and every other tenant's events find one free. The count is read without a
/// lock: two claims at once may pass one over the share, never more than the claims racing.
pub async fn claim_within_share(
    pool: &PgPool,
    event_id: Uuid,
    worker: &str,
    lease: Duration,
    tenant_share: i64,
) -> Result<Option<Claim>, StoreError> {
    // A decline for the share marks the event in the same statement, from the same count: marked by a
    // separate statement, a run finishing in between left it neither claimed nor waiting (its trigger
    // spent, nobody to wake it but the reconciler).
    for _ in 0..2 {
        if let Some(claim) = claim_or_mark(pool, event_id, worker, lease, tenant_share).await? {
            return Ok(Some(claim));
        }
        if tenant_share == UNLIMITED_SHARE {
            return Ok(None);
        }
        // Marked while the tenant's runs were finishing: a finish that looked for waiting events before
        // the mark committed handed its place to nobody. A place free now is taken at once.
        let free: bool = sqlx::query_scalar(
            "SELECT e.waiting_for_share
                    AND (SELECT count(*) FROM events r
                          WHERE r.tenant_id = e.tenant_id AND r.state = 'running' AND r.lease_expires_at > now()) < $2
               FROM events e WHERE e.id = $1",
        )
        .bind(event_id)
        .bind(tenant_share)
        .fetch_optional(pool)
        .await?
        .unwrap_or(false);
        if !free {
            return Ok(None);
        }
    }
    Ok(None)
}

/// One claim: the event is claimed, or, declined for its tenant's share, marked `waiting_for_share`.
async fn claim_or_mark(
    pool: &PgPool,
    event_id: Uuid,
    worker: &str,
    lease: Duration,
    tenant_share: i64,
) -> Result<Option<Claim>, StoreError> {
    let claimed = sqlx::query_as(
        "WITH busy AS (
             SELECT count(*) AS n FROM events r
              WHERE r.tenant_id = (SELECT tenant_id FROM events WHERE id = $1)
                AND r.state = 'running' AND r.lease_expires_at > now() AND r.id <> $1
         ), claimed AS (
             UPDATE events e
                SET state = 'running', attempt = attempt + 1, lease_token = lease_token + 1, parked_reason = NULL,
                    lease_expires_at = now() + make_interval(secs => $3), leased_by = $2, updated_at = now(),
                    waiting_for_share = false
              WHERE id = $1
                AND ((state = 'pending' AND next_attempt_at <= now())
                  OR (state = 'running' AND lease_expires_at < now()))
                AND NOT EXISTS (SELECT 1 FROM events o
                                 WHERE o.tenant_id = e.tenant_id AND o.entity_type = e.entity_type
                                   AND o.magento_entity_id = e.magento_entity_id AND o.state = 'running'
                                   AND o.id <> e.id)
                AND (SELECT n FROM busy) < $4
             RETURNING id, tenant_id, event_name, magento_entity_id, payload, attempt, lease_token, lease_expires_at
         ), marked AS (
             UPDATE events e SET waiting_for_share = true
              WHERE id = $1 AND state = 'pending' AND next_attempt_at <= now() AND NOT waiting_for_share
                AND (SELECT n FROM busy) >= $4
             RETURNING id
         ), audit AS (
             INSERT INTO event_attempts (event_id, lease_token, attempt, worker)
             SELECT id, lease_token, attempt, $2 FROM claimed
         )
         SELECT id AS event_id, tenant_id, event_name, magento_entity_id, payload, attempt, lease_token, lease_expires_at
           FROM claimed",
    )
    .bind(event_id)
    .bind(worker)
    .bind(lease.as_secs_f64())
    .bind(tenant_share)
    .fetch_optional(pool)
    .await;
    match claimed {
        Ok(claim) => Ok(claim),
        // A sibling was claimed concurrently (both saw none running): it runs, this one waits.
        Err(sqlx::Error::Database(d)) if d.constraint() == Some(ONE_RUNNING_PER_ENTITY) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// How a run ended, as the worker decided it: the processor's outcome, or its failure with the
/// worker's retry decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A terminal success: `received`, or `synced`/`skipped`, which are reported to Magento.
    Done(RunOutcome),
    /// Try again after `delay`.
    Retry { failure: RunFailure, delay: Duration },
    /// Set aside until `delay` has passed, without spending an attempt (the provider's subscription
    /// lapsed: nothing the event did wrong, and the merchant's renewal may take days).
    Park { reason: ParkReason, failure: RunFailure, delay: Duration },
    /// A terminal failure: `failed` (not retryable) or `dead_lettered` (attempts exhausted).
    Fail { state: EventState, failure: RunFailure },
}

impl Outcome {
    /// The sync-state callback this outcome produces.
    fn callback(&self) -> Option<(SyncStatus, SyncReport, Option<CallbackErrorCode>)> {
        match self {
            Self::Done(RunOutcome::Synced(report)) => Some((SyncStatus::Synced, report.clone(), None)),
            Self::Done(RunOutcome::Skipped { reason, provider_entity_id, provider_reference }) => {
                let report = SyncReport {
                    skip_reason: Some(reason.clone()),
                    provider_entity_id: provider_entity_id.clone(),
                    provider_reference: provider_reference.clone(),
                };
                Some((SyncStatus::Skipped, report, None))
            }
            Self::Done(RunOutcome::Received { .. }) | Self::Retry { .. } | Self::Park { .. } => None,
            Self::Fail { failure, .. } => {
                Some((SyncStatus::Failed, SyncReport::default(), Some(CallbackErrorCode::from(failure.class))))
            }
        }
    }

    pub fn state(&self) -> EventState {
        match self {
            Self::Done(RunOutcome::Synced(_)) => EventState::Synced,
            Self::Done(RunOutcome::Skipped { .. }) => EventState::Skipped,
            Self::Done(RunOutcome::Received { .. }) => EventState::Received,
            Self::Fail { state, .. } => *state,
            Self::Retry { .. } | Self::Park { .. } => EventState::Pending,
        }
    }

    fn failure(&self) -> Option<&RunFailure> {
        match self {
            Self::Done(_) => None,
            Self::Retry { failure, .. } | Self::Park { failure, .. } | Self::Fail { failure, .. } => Some(failure),
        }
    }

    /// What the audit trail says about the run.
    fn detail(&self) -> Option<String> {
        let detail = match self {
            Self::Done(RunOutcome::Received { detail }) => detail.as_str(),
            Self::Done(RunOutcome::Skipped { reason, .. }) => reason.as_str(),
            Self::Done(RunOutcome::Synced(_)) => return None,
            Self::Retry { failure, .. } | Self::Park { failure, .. } | Self::Fail { failure, .. } => {
                failure.message.as_str()
            }
        };
        Some(detail.chars().take(2000).collect())
    }
}

/// What a finished run's row says about its entity.
#[derive(Debug, sqlx::FromRow)]
struct FinishedRow {
    tenant_id: TenantId,
    event_name: EventName,
    magento_entity_id: i64,
}

/// Records `outcome` if `lease_token` still holds the event. Returns false for a stale worker, whose
/// outcome is dropped. In the same transaction: a retry or a park pushes its delayed trigger (a park
/// gives the claim's attempt back), a synced, skipped
/// or failed run writes its callback, and due runs of the same entity that waited for this one get
/// triggers.
pub async fn finish(pool: &PgPool, event_id: Uuid, lease_token: i64, outcome: &Outcome) -> Result<bool, StoreError> {
    Ok(finish_handing_on(pool, event_id, lease_token, outcome, false).await?.recorded)
}

/// What [`finish_handing_on`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// False for a stale worker, whose outcome was dropped.
    pub recorded: bool,
    /// The tenant's event that waited for its share and got the place this run freed, handed to the
    /// caller without a trigger: the caller runs it next, or gives it one with [`hand_back`].
    pub handed_on: Option<Uuid>,
}

/// [`finish`]; with `hand_on`, the place the run frees in its tenant's share goes to the caller (the
/// worker that ran it runs the next waiting event at once, instead of a trigger waiting for a fetch).
pub async fn finish_handing_on(
    pool: &PgPool,
    event_id: Uuid,
    lease_token: i64,
    outcome: &Outcome,
    hand_on: bool,
) -> Result<Finished, StoreError> {
    let mut tx = pool.begin().await?;
    let retry = match outcome {
        Outcome::Retry { delay, .. } | Outcome::Park { delay, .. } => {
            let priority = fair_priority_of(&mut tx, event_id).await?;
            Some((*delay, trigger(event_id, Some(*delay), priority)?))
        }
        _ => None,
    };
    let parked = match outcome {
        Outcome::Park { reason, .. } => Some(*reason),
        _ => None,
    };
    let report = match outcome {
        Outcome::Done(RunOutcome::Synced(report)) => Some(report),
        _ => None,
    };
    let delay_secs = retry.as_ref().map(|(d, _)| d.as_secs_f64());
    let failure = outcome.failure();
    let http_status = failure.and_then(|f| f.detail.http_status).map(i32::from);
    let provider_detail = failure
        .filter(|f| !f.detail.is_empty())
        .map(|f| serde_json::to_value(&f.detail))
        .transpose()
        .map_err(|_| StoreError::Conflict("provider detail not serialisable"))?;
    let finished: Option<FinishedRow> = sqlx::query_as(
        "UPDATE events
            SET state = $3, lease_expires_at = NULL, leased_by = NULL, updated_at = now(),
                attempt = CASE WHEN $10::text IS NOT NULL THEN attempt - 1 ELSE attempt END,
                parked_reason = $10, sage_id = COALESCE($11, sage_id), sage_reference = COALESCE($12, sage_reference),
                last_error_class = $4, last_error = $5, last_http_status = $6, last_error_detail = $7,
                finished_at = CASE WHEN $3 IN ('pending', 'running') THEN NULL ELSE now() END,
                next_attempt_at = CASE WHEN $8::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $8) END,
                task_id = COALESCE($9, task_id),
                task_pushed_at = CASE WHEN $8::float8 IS NULL THEN task_pushed_at ELSE now() + make_interval(secs => $8) END
          WHERE id = $1 AND lease_token = $2 AND state = 'running'
         RETURNING tenant_id, event_name, magento_entity_id",
    )
    .bind(event_id)
    .bind(lease_token)
    .bind(outcome.state())
    .bind(failure.map(|f| f.class))
    .bind(failure.map(|f| f.message.chars().take(2000).collect::<String>()))
    .bind(http_status)
    .bind(&provider_detail)
    .bind(delay_secs)
    .bind(retry.as_ref().map(|(_, (_, id))| id.as_str()))
    .bind(parked)
    .bind(report.and_then(|r| r.provider_entity_id.as_deref()))
    .bind(report.and_then(|r| r.provider_reference.as_deref()))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(finished) = finished else {
        tx.rollback().await?;
        return Ok(Finished { recorded: false, handed_on: None });
    };
    sqlx::query(
        "UPDATE event_attempts
            SET finished_at = now(), outcome = $3, error_class = $4, detail = $5, http_status = $6, provider_detail = $7
          WHERE event_id = $1 AND lease_token = $2",
    )
    .bind(event_id)
    .bind(lease_token)
    .bind(outcome.state())
    .bind(failure.map(|f| f.class))
    .bind(outcome.detail())
    .bind(http_status)
    .bind(&provider_detail)
    .execute(&mut *tx)
    .await?;
    if let Some((_, (task, _))) = retry {
        push(&mut tx, task).await?;
    }
    let entity = CallbackEntity {
        tenant_id: finished.tenant_id,
        event_id,
        name: finished.event_name,
        magento_entity_id: finished.magento_entity_id,
    };
    let terminal = outcome.state().is_terminal();
    match provider_outcomes::take_for_report(&mut tx, event_id, lease_token, terminal).await? {
        // The event fanned out: each provider's chip gets what its binding made of it (a binding that
        // synced is reported even while another one retries; it runs again as a no-op).
        Some(per_provider) => {
            for o in per_provider {
                callbacks::enqueue(&mut tx, &entity, &o.provider, o.status, &o.report, o.error_code).await?;
            }
        }
        None => {
            if let Some((status, report, error_code)) = outcome.callback() {
                callbacks::enqueue(&mut tx, &entity, bindings::SAGE, status, &report, error_code).await?;
            }
        }
    }
    trigger_waiting_siblings(&mut tx, event_id, &finished).await?;
    let handed_on = wake_waiting_for_share(&mut tx, finished.tenant_id, !hand_on).await?;
    if finished.event_name.entity_type() == "invoice" && outcome.state() != EventState::Pending {
        wake_awaiting_prior(&mut tx, finished.tenant_id).await?;
    }
    tx.commit().await?;
    Ok(Finished { recorded: true, handed_on: handed_on.filter(|_| hand_on) })
}

/// Gives event `event_id`, handed on by [`finish_handing_on`], the trigger its caller will not use.
pub async fn hand_back(pool: &PgPool, event_id: Uuid) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    repush(&mut tx, &[event_id]).await?;
    tx.commit().await?;
    Ok(())
}

/// Hands back a run its worker stopped at shutdown, if `lease_token` still holds it: pending and due
/// now, its attempt given back (the run did nothing wrong), with a fresh trigger for any live worker.
/// The claim's audit row says so. Returns false when the lease had already passed to another worker.
pub async fn release(pool: &PgPool, event_id: Uuid, lease_token: i64) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let released: Option<Uuid> = sqlx::query_scalar(
        "UPDATE events
            SET state = 'pending', attempt = attempt - 1, lease_expires_at = NULL, leased_by = NULL,
                next_attempt_at = now(), updated_at = now()
          WHERE id = $1 AND lease_token = $2 AND state = 'running'
         RETURNING id",
    )
    .bind(event_id)
    .bind(lease_token)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = released else {
        tx.rollback().await?;
        return Ok(false);
    };
    sqlx::query(
        "UPDATE event_attempts SET finished_at = now(), outcome = 'pending', detail = $3
          WHERE event_id = $1 AND lease_token = $2",
    )
    .bind(event_id)
    .bind(lease_token)
    .bind("handed back: the worker shut down before the run finished")
    .execute(&mut *tx)
    .await?;
    repush(&mut tx, &[id]).await?;
    tx.commit().await?;
    Ok(true)
}

/// Whether an event of `tenant`'s `entity_type` `magento_entity_id` received before `event_id` is still
/// unfinished (pending, parked or running): a credit memo waits for its invoice's events this way.
pub async fn earlier_unfinished(
    pool: &PgPool,
    tenant: TenantId,
    event_id: Uuid,
    entity_type: &str,
    magento_entity_id: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (
            SELECT 1 FROM events o, events me
             WHERE me.id = $2 AND o.tenant_id = $1 AND o.entity_type = $3 AND o.magento_entity_id = $4
               AND o.state IN ('pending', 'running') AND (o.received_at, o.id) < (me.received_at, me.id))",
    )
    .bind(tenant)
    .bind(event_id)
    .bind(entity_type)
    .bind(magento_entity_id)
    .fetch_one(pool)
    .await?)
}

/// Wakes `tenant`'s events parked until an earlier event finished (they look again, and park again if
/// another earlier one is still unfinished).
async fn wake_awaiting_prior(conn: &mut PgConnection, tenant: TenantId) -> Result<usize, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE events SET next_attempt_at = now(), updated_at = now()
          WHERE id IN (SELECT id FROM events
                        WHERE tenant_id = $1 AND state = 'pending' AND parked_reason = 'awaiting_prior'
                        ORDER BY received_at
                        FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?;
    repush(conn, &ids).await?;
    Ok(ids.len())
}

/// The finished run freed a place in its tenant's share: the tenant's oldest event declined for the
/// share gets it, with a trigger when `push` (else the caller runs it; the reconciler fills any place
/// left over, see [`reconcile_within_share`]).
async fn wake_waiting_for_share(
    conn: &mut PgConnection,
    tenant: TenantId,
    push: bool,
) -> Result<Option<Uuid>, StoreError> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE events SET waiting_for_share = false, updated_at = now()
          WHERE id = (SELECT id FROM events
                       WHERE tenant_id = $1 AND waiting_for_share AND state = 'pending'
                       ORDER BY received_at
                       LIMIT 1
                       FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?;
    if push && let Some(id) = id {
        repush(conn, &[id]).await?;
    }
    Ok(id)
}

/// Pushes triggers for due runs of the finished run's entity: they found it running and gave up their
/// trigger, so without this they would wait for the reconciler.
async fn trigger_waiting_siblings(
    conn: &mut PgConnection,
    event_id: Uuid,
    finished: &FinishedRow,
) -> Result<usize, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM events
          WHERE tenant_id = $1 AND entity_type = $2 AND magento_entity_id = $3 AND state = 'pending'
            AND next_attempt_at <= now() AND id <> $4
          ORDER BY received_at
          FOR UPDATE SKIP LOCKED",
    )
    .bind(finished.tenant_id)
    .bind(finished.event_name.entity_type())
    .bind(finished.magento_entity_id)
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await?;
    repush(conn, &ids).await?;
    Ok(ids.len())
}

/// Gives each of `ids` a fresh trigger and records it on the row.
async fn repush(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), StoreError> {
    let mut tasks = Vec::with_capacity(ids.len());
    for id in ids {
        let priority = fair_priority_of(conn, *id).await?;
        let (task, task_id) = trigger(*id, None, priority)?;
        sqlx::query("UPDATE events SET task_id = $2, task_pushed_at = now() WHERE id = $1")
            .bind(id)
            .bind(task_id)
            .execute(&mut *conn)
            .await?;
        tasks.push(task);
    }
    if !tasks.is_empty() {
        push_many(conn, tasks).await?;
    }
    Ok(())
}

/// How long a due trigger may stay unfetched before the reconciler gives its event a fresh one.
const OVERDUE: Duration = Duration::from_secs(2);

/// Re-pushes triggers for rows that need one, returning how many were pushed:
/// - due and pending with no live trigger: lost, consumed by a claim that found a sibling running,
///   fetched by a worker that died before claiming (a fetched trigger is alive only while the worker
///   holding it beats within `heartbeat_stale`; apalis itself would wait minutes), or overdue by
///   [`OVERDUE`] while no run is in flight (apalis's workers wake on inserts, not when a delayed
///   trigger comes due; while runs are in flight they keep fetching);
/// - running under a lease that ran out (a dead worker), not re-pushed since.
///
/// Pending rows whose entity has a run in progress are left alone: that run's finish triggers them.
pub async fn reconcile(pool: &PgPool, limit: i64, heartbeat_stale: Duration) -> Result<usize, StoreError> {
    reconcile_within_share(pool, limit, heartbeat_stale, UNLIMITED_SHARE).await
}

/// [`reconcile`], and events declined for their tenant's share get triggers where the tenant has places
/// free (`tenant_share` minus its runs in flight) that no finish handed on: a finish hands on one place,
/// so places a declined or dead run left stay free until here.
pub async fn reconcile_within_share(
    pool: &PgPool,
    limit: i64,
    heartbeat_stale: Duration,
    tenant_share: i64,
) -> Result<usize, StoreError> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT e.id FROM events e
          WHERE ((e.state = 'pending' AND e.next_attempt_at <= now() AND e.task_pushed_at <= now()
                  AND NOT e.waiting_for_share
                  AND NOT EXISTS (
                      SELECT 1 FROM apalis.jobs j
                       WHERE j.id = e.task_id
                         -- A pending trigger is alive until it is overdue in an idle queue: apalis
                         -- wakes its workers on inserts only, so a delayed trigger that came due in a
                         -- quiet queue is never fetched unless something else is pushed. While runs are
                         -- in flight the workers keep fetching, and a trigger waiting behind a backlog
                         -- is only waiting its turn (re-pushing those held 500 rows locked every 5 s).
                         AND ((j.status = 'Pending' AND (j.run_at > now() - make_interval(secs => $3)
                                                         OR EXISTS (SELECT 1 FROM events r
                                                                     WHERE r.state = 'running'
                                                                       AND r.lease_expires_at > now())))
                              OR (j.status IN ('Queued', 'Running')
                                  AND EXISTS (SELECT 1 FROM worker_heartbeats h
                                               WHERE h.worker_id = j.lock_by
                                                 AND h.last_seen > now() - make_interval(secs => $2)))))
                  AND NOT EXISTS (
                      SELECT 1 FROM events o
                       WHERE o.tenant_id = e.tenant_id AND o.entity_type = e.entity_type
                         AND o.magento_entity_id = e.magento_entity_id AND o.state = 'running'))
              OR (e.state = 'running' AND e.lease_expires_at < now() AND e.task_pushed_at < e.lease_expires_at))
          ORDER BY e.next_attempt_at
          LIMIT $1
          FOR UPDATE OF e SKIP LOCKED",
    )
    .bind(limit)
    .bind(heartbeat_stale.as_secs_f64())
    .bind(OVERDUE.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    let sharing: Vec<Uuid> = sqlx::query_scalar(
        "WITH free AS (
             SELECT t.tenant_id,
                    $1 - (SELECT count(*) FROM events r
                           WHERE r.tenant_id = t.tenant_id AND r.state = 'running' AND r.lease_expires_at > now())
                        AS places
               FROM (SELECT DISTINCT tenant_id FROM events WHERE waiting_for_share AND state = 'pending') t
         ), picked AS (
             SELECT w.id FROM free f
              CROSS JOIN LATERAL (SELECT id FROM events w
                                   WHERE w.tenant_id = f.tenant_id AND w.waiting_for_share AND w.state = 'pending'
                                   ORDER BY w.received_at
                                   LIMIT GREATEST(f.places, 0)) w
              LIMIT $2
         )
         UPDATE events e SET waiting_for_share = false, updated_at = now()
           FROM picked WHERE e.id = picked.id AND e.waiting_for_share
         RETURNING e.id",
    )
    .bind(tenant_share)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    repush(&mut tx, &ids).await?;
    repush(&mut tx, &sharing).await?;
    tx.commit().await?;
    Ok(ids.len() + sharing.len())
}

/// Wakes `tenant`'s work parked for one of `reasons` (its cause cleared: a connect, a resume): each
/// such event is due now and gets a fresh trigger. Returns how many were woken.
pub async fn wake_parked(pool: &PgPool, tenant: TenantId, reasons: &[ParkReason]) -> Result<usize, StoreError> {
    let reasons: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE events SET next_attempt_at = now(), updated_at = now()
          WHERE id IN (SELECT id FROM events
                        WHERE tenant_id = $1 AND state = 'pending' AND parked_reason = ANY($2)
                        ORDER BY received_at
                        FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(tenant)
    .bind(&reasons)
    .fetch_all(&mut *tx)
    .await?;
    repush(&mut tx, &ids).await?;
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
    pub outcome: Option<EventState>,
    pub error_class: Option<ErrorClass>,
    pub detail: Option<String>,
    pub http_status: Option<i32>,
    pub provider_detail: Option<Value>,
}

/// The audit trail of one event, oldest claim first.
pub async fn attempts(pool: &PgPool, tenant: TenantId, event_id: Uuid) -> Result<Vec<Attempt>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT a.lease_token, a.attempt, a.worker, a.started_at, a.finished_at, a.outcome, a.error_class, a.detail,
                a.http_status, a.provider_detail
           FROM event_attempts a JOIN events e ON e.id = a.event_id
          WHERE e.tenant_id = $1 AND a.event_id = $2
          ORDER BY a.lease_token",
    )
    .bind(tenant)
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

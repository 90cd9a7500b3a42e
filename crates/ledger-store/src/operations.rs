//! Operator views and actions on event runs: a filtered listing paged by keyset, the parts of one
//! run's audit trail the attempt rows lack (snapshots, payload), requeue as a new linked run, discard.
use chrono::{DateTime, Utc};
use ledger_domain::{ErrorClass, EventName, EventState, ParkReason, TenantId};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;
use crate::events::{fair_priority, push, trigger};

/// What a listing keeps. Empty `states`/`events` mean any; `from` is inclusive, `to` exclusive.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub states: Vec<EventState>,
    pub events: Vec<EventName>,
    /// An increment id (compared case-insensitively) or, with `magento_id`, a Magento entity id.
    pub q: Option<String>,
    pub magento_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Rows strictly after this (received_at, id) in the listing's order.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// One run as operators see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventSummary {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub rerun_of: Option<Uuid>,
    pub event_name: EventName,
    pub magento_entity_id: i64,
    /// From the event's payload, else from the latest attempt's snapshot.
    pub increment_id: Option<String>,
    pub state: EventState,
    pub parked_reason: Option<ParkReason>,
    pub discard_reason: Option<String>,
    pub attempt: i32,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub sage_id: Option<String>,
    pub sage_reference: Option<String>,
    pub last_error_class: Option<ErrorClass>,
    pub last_error: Option<String>,
    pub last_http_status: Option<i32>,
    pub last_error_detail: Option<Value>,
}

/// The select list of [`EventSummary`] over `events e`, as a literal so queries stay static strings.
macro_rules! summary_columns {
    () => {
        "e.id, e.tenant_id, e.rerun_of, e.event_name, e.magento_entity_id,
         COALESCE(e.payload->'payload'->>'increment_id',
                  (SELECT a.snapshot->>'increment_id' FROM event_attempts a
                    WHERE a.event_id = e.id AND a.snapshot IS NOT NULL
                    ORDER BY a.lease_token DESC LIMIT 1)) AS increment_id,
         e.state, e.parked_reason, e.discard_reason, e.attempt, e.received_at, e.finished_at, e.sage_id,
         e.sage_reference, e.last_error_class, e.last_error, e.last_http_status, e.last_error_detail"
    };
}

/// `tenant`'s runs matching `filter`, newest first (received_at, then id, both descending), at most
/// `filter.limit`. Planned for its parameters each time (an unnamed statement): the optional filters
/// then fold away and the keyset bound and a single state become index conditions.
pub async fn list(pool: &PgPool, tenant: TenantId, filter: &ListFilter) -> Result<Vec<EventSummary>, StoreError> {
    let (one_state, states): (Option<&str>, Vec<&str>) = match filter.states.as_slice() {
        [one] => (Some(one.as_str()), Vec::new()),
        many => (None, many.iter().map(|s| s.as_str()).collect()),
    };
    let events: Vec<&str> = filter.events.iter().map(|e| e.as_str()).collect();
    let (after_at, after_id) = filter.after.unzip();
    Ok(sqlx::query_as(concat!(
        "SELECT * FROM (SELECT ",
        summary_columns!(),
        " FROM events e
          WHERE e.tenant_id = $1
            AND ($11::text IS NULL OR e.state = $11)
            AND (cardinality($2::text[]) = 0 OR e.state = ANY($2))
            AND (cardinality($3::text[]) = 0 OR e.event_name = ANY($3))
            AND ($6::timestamptz IS NULL OR e.received_at >= $6)
            AND ($7::timestamptz IS NULL OR e.received_at < $7)
            AND ($8::timestamptz IS NULL OR (e.received_at, e.id) < ($8, $9))
            -- What the search can match, in indexable terms (migration 20261205100002); the outer
            -- condition decides, with the snapshot's increment id for runs whose payload has none.
            AND ($4::text IS NULL OR e.magento_entity_id = $5
                 OR lower(e.payload->'payload'->>'increment_id') = lower($4)
                 OR (e.payload->'payload'->>'increment_id') IS NULL)
         ) x
          WHERE $4::text IS NULL OR x.magento_entity_id = $5 OR lower(x.increment_id) = lower($4)
          ORDER BY x.received_at DESC, x.id DESC
          LIMIT $10"
    ))
    .persistent(false)
    .bind(tenant)
    .bind(&states)
    .bind(&events)
    .bind(filter.q.as_deref())
    .bind(filter.magento_id)
    .bind(filter.from)
    .bind(filter.to)
    .bind(after_at)
    .bind(after_id)
    .bind(filter.limit)
    .bind(one_state)
    .fetch_all(pool)
    .await?)
}

/// The tenant a run belongs to (operators address runs by id alone).
pub async fn tenant_of(pool: &PgPool, event_id: Uuid) -> Result<Option<TenantId>, StoreError> {
    Ok(sqlx::query_scalar("SELECT tenant_id FROM events WHERE id = $1").bind(event_id).fetch_optional(pool).await?)
}

pub async fn summary(pool: &PgPool, tenant: TenantId, event_id: Uuid) -> Result<Option<EventSummary>, StoreError> {
    Ok(sqlx::query_as(concat!("SELECT ", summary_columns!(), " FROM events e WHERE e.tenant_id = $1 AND e.id = $2"))
        .bind(tenant)
        .bind(event_id)
        .fetch_optional(pool)
        .await?)
}

/// The envelope the module sent, as stored.
pub async fn payload(pool: &PgPool, tenant: TenantId, event_id: Uuid) -> Result<Option<Value>, StoreError> {
    Ok(sqlx::query_scalar("SELECT payload FROM events WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(event_id)
        .fetch_optional(pool)
        .await?)
}

/// The Magento snapshot each attempt started from, by the attempt's lease token (attempts that fetched
/// nothing are left out).
pub async fn snapshots(pool: &PgPool, tenant: TenantId, event_id: Uuid) -> Result<Vec<(i64, Value)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT a.lease_token, a.snapshot FROM event_attempts a JOIN events e ON e.id = a.event_id
          WHERE e.tenant_id = $1 AND a.event_id = $2 AND a.snapshot IS NOT NULL
          ORDER BY a.lease_token",
    )
    .bind(tenant)
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

/// How a requeue went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeued {
    /// The new run, linked to the old one by `rerun_of`, with its trigger pushed.
    Queued(Uuid),
    NotFound,
    /// Only failed, dead-lettered and discarded runs are requeued.
    NotRequeueable(EventState),
    /// A newer run of the same idempotency key exists (requeue that one instead).
    Superseded(Option<Uuid>),
}

/// The states a run may be requeued from.
pub const REQUEUEABLE: [EventState; 3] = [EventState::Failed, EventState::DeadLettered, EventState::Discarded];

/// Starts a new run of `event_id` from the same envelope: the new row takes over the idempotency key
/// (duplicates from the store then answer with it, as after an ingest rerun), and its trigger is
/// pushed in the same transaction.
pub async fn requeue(pool: &PgPool, tenant: TenantId, event_id: Uuid) -> Result<Requeued, StoreError> {
    requeue_from(pool, tenant, event_id, &REQUEUEABLE).await
}

/// [`requeue`], but only from the states in `allowed` (a bulk job's: the states its runs matched in,
/// so a run that moved on since the count is refused rather than forced). `allowed` is narrowed to
/// [`REQUEUEABLE`]; empty means all of those.
pub async fn requeue_from(
    pool: &PgPool,
    tenant: TenantId,
    event_id: Uuid,
    allowed: &[EventState],
) -> Result<Requeued, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<(EventState, String, Option<String>)> = sqlx::query_as(
        "SELECT state, idempotency_key, dedup_key FROM events WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant)
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((state, key, dedup)) = row else { return Ok(Requeued::NotFound) };
    if !REQUEUEABLE.contains(&state) || !(allowed.is_empty() || allowed.contains(&state)) {
        return Ok(Requeued::NotRequeueable(state));
    }
    if dedup.is_none() {
        let newer: Option<Uuid> = sqlx::query_scalar("SELECT id FROM events WHERE tenant_id = $1 AND dedup_key = $2")
            .bind(tenant)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
        return Ok(Requeued::Superseded(newer));
    }
    sqlx::query("UPDATE events SET dedup_key = NULL, updated_at = now() WHERE id = $1")
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    let id = Uuid::new_v4();
    // The same fair share as an ingested event: a bulk requeue is the tenant's backlog, not everyone's.
    let priority = fair_priority(&mut tx, tenant).await?;
    let (task, task_id) = trigger(id, None, priority)?;
    sqlx::query(
        "INSERT INTO events (id, tenant_id, idempotency_key, dedup_key, rerun_of, event_name, entity_type,
                             magento_entity_id, website_id, store_id, occurred_at, payload, task_id)
         SELECT $1, tenant_id, idempotency_key, idempotency_key, id, event_name, entity_type,
                magento_entity_id, website_id, store_id, occurred_at, payload, $3
           FROM events WHERE id = $2",
    )
    .bind(id)
    .bind(event_id)
    .bind(&task_id)
    .execute(&mut *tx)
    .await?;
    push(&mut tx, task).await?;
    tx.commit().await?;
    Ok(Requeued::Queued(id))
}

/// How a discard went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discarded {
    Done,
    NotFound,
    /// Only pending (parked or not), failed and dead-lettered runs are discarded; never a running one.
    NotDiscardable(EventState),
    /// A newer run of the event replaced this one (refused only where the caller asked for current runs).
    Superseded,
}

/// The states a run may be discarded from.
pub const DISCARDABLE: [EventState; 3] = [EventState::Pending, EventState::Failed, EventState::DeadLettered];

/// Sets `event_id` aside for good with `reason` (1..=500 characters, checked by the caller and the
/// schema). No callback is written; a trigger still queued finds the row not pending and does nothing.
pub async fn discard(pool: &PgPool, tenant: TenantId, event_id: Uuid, reason: &str) -> Result<Discarded, StoreError> {
    discard_from(pool, tenant, event_id, reason, &DISCARDABLE, false).await
}

/// [`discard`], but only from the states in `allowed` (narrowed to [`DISCARDABLE`]; empty means all of
/// those) and, with `current_only`, only while no newer run replaced it: a bulk job's guard, so a run
/// that moved on since the count is refused rather than forced.
pub async fn discard_from(
    pool: &PgPool,
    tenant: TenantId,
    event_id: Uuid,
    reason: &str,
    allowed: &[EventState],
    current_only: bool,
) -> Result<Discarded, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<(EventState, bool)> =
        sqlx::query_as("SELECT state, dedup_key IS NULL FROM events WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant)
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((state, superseded)) = row else { return Ok(Discarded::NotFound) };
    if !DISCARDABLE.contains(&state) || !(allowed.is_empty() || allowed.contains(&state)) {
        return Ok(Discarded::NotDiscardable(state));
    }
    if current_only && superseded {
        return Ok(Discarded::Superseded);
    }
    sqlx::query(
        "UPDATE events
            SET state = 'discarded', discard_reason = $3, parked_reason = NULL, finished_at = now(),
                lease_expires_at = NULL, leased_by = NULL, updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(event_id)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Discarded::Done)
}

//! Ingest: the jti, the event row and its apalis trigger, written in one transaction, with per-tenant
//! idempotency over a window.
use std::time::Duration;

use apalis_codec::json::JsonCodec;
use apalis_core::backend::codec::Codec;
use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::task_id::TaskId;
use apalis_postgres::PgTask;
use chrono::{DateTime, Utc};
use ledger_domain::{Envelope, ErrorClass, EventName, EventState, IdempotencyKey, TenantId};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{EVENT_QUEUE, StoreError};

/// The arguments of the apalis trigger task: just which event row to look at.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventTask {
    pub event_id: Uuid,
}

/// A verified token's single-use claim, consumed inside the ingest transaction.
#[derive(Debug, Clone)]
pub struct TokenUse {
    pub jti: String,
    pub expires_at: DateTime<Utc>,
    /// The key version the token was verified with (the current or the pending one); a rotated key
    /// makes the token stale.
    pub key_version: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// A new event run.
    New(Uuid),
    /// A duplicate of a pending or finished run: nothing written but the jti.
    Duplicate(Uuid),
    /// A duplicate of a failed or dead-lettered run (or of one older than the window): a new run.
    Rerun { id: Uuid, previous: Uuid },
}

impl Accepted {
    pub fn sync_run_id(self) -> Uuid {
        match self {
            Self::New(id) | Self::Duplicate(id) | Self::Rerun { id, .. } => id,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The jti was seen before, or the tenant is unknown, revoked or re-keyed since the token was checked.
    #[error("token rejected")]
    TokenRejected,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for IngestError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

pub struct NewEvent<'a> {
    pub tenant_id: TenantId,
    pub key: &'a IdempotencyKey,
    pub name: EventName,
    pub envelope: &'a Envelope,
}

/// Consumes `token` and records the event, all or nothing.
pub async fn ingest(
    pool: &PgPool,
    token: &TokenUse,
    event: &NewEvent<'_>,
    window: Duration,
) -> Result<Accepted, IngestError> {
    let mut tx = pool.begin().await?;
    if !consume_jti(&mut tx, event.tenant_id, token, true).await? {
        return Err(IngestError::TokenRejected);
    }
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let priority = fair_priority(&mut tx, event.tenant_id).await?;
    // Three rounds are enough: a round only repeats when a concurrent rerun replaced the row we found.
    for _ in 0..3 {
        let id = Uuid::new_v4();
        let (task, task_id) = trigger(id, None, priority)?;
        if insert_event(&mut tx, id, &task_id, event, None).await? {
            push(&mut tx, task).await?;
            tx.commit().await?;
            return Ok(Accepted::New(id));
        }
        let existing: Option<(Uuid, EventState, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, state, received_at FROM events WHERE tenant_id = $1 AND dedup_key = $2 FOR UPDATE",
        )
        .bind(event.tenant_id)
        .bind(event.key.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((previous, state, received_at)) = existing else { continue };
        if !state.allows_rerun() && received_at > Utc::now() - window {
            tx.commit().await?;
            return Ok(Accepted::Duplicate(previous));
        }
        sqlx::query("UPDATE events SET dedup_key = NULL, updated_at = now() WHERE id = $1")
            .bind(previous)
            .execute(&mut *tx)
            .await?;
        let id = Uuid::new_v4();
        let (task, task_id) = trigger(id, None, priority)?;
        if insert_event(&mut tx, id, &task_id, event, Some(previous)).await? {
            push(&mut tx, task).await?;
            tx.commit().await?;
            return Ok(Accepted::Rerun { id, previous });
        }
    }
    Err(StoreError::Conflict("idempotency key kept changing under concurrent reruns").into())
}

/// Records the jti unless it was used before; refuses when the tenant's key changed since the token
/// was verified, and (with `require_active`) when the binding is revoked.
async fn consume_jti(
    conn: &mut PgConnection,
    tenant: TenantId,
    token: &TokenUse,
    require_active: bool,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO jwt_replay (tenant_id, jti, expires_at)
         SELECT $1, $2, $3 FROM tenants
          WHERE id = $1 AND (key_version = $4 OR pending_key_version = $4)
            -- A pending key proves a pairing after any revoke (revoking drops pending keys).
            AND (status = 'active' OR NOT $5 OR pending_key_version = $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(&token.jti)
    .bind(token.expires_at)
    .bind(token.key_version)
    .bind(require_active)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Consumes a token outside ingest (health tile and disconnect, which revoked bindings may still call).
pub async fn consume_token(
    pool: &PgPool,
    tenant: TenantId,
    token: &TokenUse,
    require_active: bool,
) -> Result<bool, StoreError> {
    let mut conn = pool.acquire().await?;
    consume_jti(&mut conn, tenant, token, require_active).await
}

async fn insert_event(
    conn: &mut PgConnection,
    id: Uuid,
    task_id: &str,
    e: &NewEvent<'_>,
    rerun_of: Option<Uuid>,
) -> Result<bool, StoreError> {
    let payload = serde_json::to_value(e.envelope).map_err(|_| StoreError::Conflict("envelope not serialisable"))?;
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO events (id, tenant_id, idempotency_key, dedup_key, rerun_of, event_name, entity_type,
                             magento_entity_id, website_id, store_id, occurred_at, payload, task_id)
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (tenant_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
         RETURNING id",
    )
    .bind(id)
    .bind(e.tenant_id)
    .bind(e.key.as_str())
    .bind(rerun_of)
    .bind(e.name)
    .bind(e.name.entity_type())
    .bind(i64::try_from(e.envelope.magento_entity_id).unwrap_or(i64::MAX))
    .bind(i64::try_from(e.envelope.website_id).unwrap_or(i64::MAX))
    .bind(i64::try_from(e.envelope.store_id).unwrap_or(i64::MAX))
    .bind(e.envelope.occurred_at)
    .bind(payload)
    .bind(task_id)
    .fetch_optional(conn)
    .await?;
    Ok(inserted.is_some())
}

/// Builds the apalis trigger for `event_id` (arguments in the worker's codec, one attempt: retries
/// are ours) and returns it with its task id, which the event row records.
/// `priority` is [`fair_priority`]'s: apalis fetches the highest first, then the oldest.
pub fn trigger(event_id: Uuid, delay: Option<Duration>, priority: usize) -> Result<(PgTask, String), StoreError> {
    let args = <JsonCodec<Vec<u8>> as Codec<EventTask>>::encode(&JsonCodec::default(), &EventTask { event_id })
        .map_err(|e| StoreError::Queue(e.to_string()))?;
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
    let task_id = TaskId::from(ulid::Ulid::from_parts(now_ms, rand::random::<u128>()));
    let id = task_id.to_string();
    let mut builder = TaskBuilder::new(args).task_id(task_id).max_attempts(1).priority(priority);
    if let Some(d) = delay {
        builder = builder.run_after(d);
    }
    Ok((builder.build(), id))
}

/// How much of a tenant's waiting work the scheduler looks at: a tenant with this many events waiting
/// gets the lowest priority, one with none the highest.
pub const FAIRNESS_WINDOW: i64 = 1000;

/// The priority of a new trigger for `tenant`'s work: the fewer events the tenant has waiting, the
/// higher. Apalis fetches by priority before age, so a tenant with a backlog of thousands cannot hold
/// back another tenant's next event (it waits behind at most the other tenants' small queues), while
/// each tenant's own events still run oldest first among equals.
pub async fn fair_priority(conn: &mut PgConnection, tenant: TenantId) -> Result<usize, StoreError> {
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE tenant_id = $1 AND state IN ('pending', 'running') LIMIT $2) w",
    )
    .bind(tenant)
    .bind(FAIRNESS_WINDOW)
    .fetch_one(conn)
    .await?;
    Ok(usize::try_from(FAIRNESS_WINDOW - waiting).unwrap_or(0))
}

/// [`fair_priority`] for the tenant of `event_id`.
pub async fn fair_priority_of(conn: &mut PgConnection, event_id: Uuid) -> Result<usize, StoreError> {
    let tenant: Option<TenantId> = sqlx::query_scalar("SELECT tenant_id FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(&mut *conn)
        .await?;
    match tenant {
        Some(t) => fair_priority(conn, t).await,
        None => Ok(0),
    }
}

/// Pushes triggers on the caller's connection or transaction.
pub async fn push(conn: &mut PgConnection, task: PgTask) -> Result<(), StoreError> {
    push_many(conn, vec![task]).await
}

pub async fn push_many(conn: &mut PgConnection, tasks: Vec<PgTask>) -> Result<(), StoreError> {
    apalis_postgres::queries::push_tasks(conn, EVENT_QUEUE, tasks).await.map_err(|e| StoreError::Queue(e.to_string()))
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct EventRow {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub idempotency_key: String,
    pub rerun_of: Option<Uuid>,
    pub event_name: EventName,
    pub magento_entity_id: i64,
    pub state: EventState,
    pub attempt: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_token: i64,
    pub last_error_class: Option<ErrorClass>,
    pub last_error: Option<String>,
    pub last_http_status: Option<i32>,
    pub last_error_detail: Option<serde_json::Value>,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The columns of [`EventRow`], as a literal so every query stays a static string.
macro_rules! event_columns {
    () => {
        "id, tenant_id, idempotency_key, rerun_of, event_name, magento_entity_id, state, attempt, next_attempt_at, \
         lease_token, last_error_class, last_error, last_http_status, last_error_detail, received_at, finished_at"
    };
}

pub async fn get(pool: &PgPool, tenant: TenantId, id: Uuid) -> Result<Option<EventRow>, StoreError> {
    Ok(sqlx::query_as(concat!("SELECT ", event_columns!(), " FROM events WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub async fn list_for_tenant(pool: &PgPool, tenant: TenantId, limit: i64) -> Result<Vec<EventRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE tenant_id = $1 ORDER BY received_at DESC, id LIMIT $2"
    ))
    .bind(tenant)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

//! Read models of the dashboard and the operator console: per-store counts, every tenant at a glance,
//! failures across tenants grouped by error class and Sage `$dataCode`, and the operator audit log.
use chrono::{DateTime, Utc};
use ledger_domain::{EventState, TenantId};
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

/// One tenant as the dashboard and the console list it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoreRow {
    pub tenant_id: TenantId,
    pub name: String,
    /// `active` or `revoked`.
    pub status: String,
    pub magento_base_url: Option<String>,
    pub magento_connection_status: String,
    pub merchant_email: Option<String>,
    /// The Sage binding's status and tier, when a connect ever started.
    pub binding_status: Option<String>,
    pub tier: Option<String>,
    pub business_name: Option<String>,
    /// Runs waiting, retrying or running.
    pub pending: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// Runs that ended failed or dead-lettered in the last 24 hours.
    pub failed_24h: i64,
    /// Every failed or dead-lettered run, however old.
    pub failed: i64,
}

macro_rules! store_row_select {
    () => {
        "SELECT t.id AS tenant_id, t.name, t.status, t.magento_base_url, t.magento_connection_status,
                a.email AS merchant_email, b.status AS binding_status, b.tier, b.business_name,
                (SELECT count(*) FROM events e WHERE e.tenant_id = t.id AND e.state IN ('pending', 'running'))
                  AS pending,
                (SELECT min(e.received_at) FROM events e
                  WHERE e.tenant_id = t.id AND e.state IN ('pending', 'running')) AS oldest_pending_at,
                (SELECT count(*) FROM events e WHERE e.tenant_id = t.id AND e.state IN ('failed', 'dead_lettered')
                    AND e.finished_at > now() - interval '24 hours') AS failed_24h,
                (SELECT count(*) FROM events e WHERE e.tenant_id = t.id AND e.state IN ('failed', 'dead_lettered'))
                  AS failed
           FROM tenants t
           LEFT JOIN accounts a ON a.id = t.merchant_id
           LEFT JOIN bindings b ON b.tenant_id = t.id AND b.provider = 'sage_accounting'"
    };
}

/// The stores of `merchant`, oldest first.
pub async fn merchant_stores(pool: &PgPool, merchant: Uuid) -> Result<Vec<StoreRow>, StoreError> {
    Ok(sqlx::query_as(concat!(store_row_select!(), " WHERE t.merchant_id = $1 ORDER BY t.created_at, t.id"))
        .bind(merchant)
        .fetch_all(pool)
        .await?)
}

/// Every tenant whose name, store URL or owner's email contains `search` (all when empty), oldest first.
pub async fn all_stores(pool: &PgPool, search: &str) -> Result<Vec<StoreRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        store_row_select!(),
        " WHERE $1 = '' OR strpos(lower(t.name), lower($1)) > 0
             OR strpos(lower(coalesce(t.magento_base_url, '')), lower($1)) > 0
             OR strpos(lower(coalesce(a.email, '')), lower($1)) > 0
             OR t.id::text = lower($1)
          ORDER BY t.created_at, t.id"
    ))
    .bind(search)
    .fetch_all(pool)
    .await?)
}

/// Sage calls each tenant's runs made since midnight UTC (tenants without any are absent).
pub async fn sage_calls_today(pool: &PgPool) -> Result<std::collections::HashMap<TenantId, i64>, StoreError> {
    let rows: Vec<(TenantId, i64)> = sqlx::query_as(
        "SELECT e.tenant_id, count(*) FROM sage_calls c JOIN events e ON e.id = c.event_id
          WHERE c.started_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
          GROUP BY e.tenant_id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Failed and dead-lettered runs of every tenant sharing an error class and Sage `$dataCode`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FailureGroup {
    pub error_class: Option<String>,
    pub data_code: Option<String>,
    pub count: i64,
    pub tenants: i64,
    pub latest_at: Option<DateTime<Utc>>,
    /// The message of the newest run in the group, as an example.
    pub example: Option<String>,
}

pub async fn failure_groups(pool: &PgPool) -> Result<Vec<FailureGroup>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT last_error_class AS error_class, last_error_detail->'sage'->>'data_code' AS data_code,
                count(*) AS count, count(DISTINCT tenant_id) AS tenants, max(finished_at) AS latest_at,
                (array_agg(last_error ORDER BY finished_at DESC NULLS LAST))[1] AS example
           FROM events
          WHERE state IN ('failed', 'dead_lettered')
          GROUP BY 1, 2
          ORDER BY count(*) DESC, 1, 2",
    )
    .fetch_all(pool)
    .await?)
}

/// One failed or dead-lettered run in a group.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FailedRun {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub event_name: String,
    pub magento_entity_id: i64,
    pub state: String,
    pub last_error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The console's filter over failed and dead-lettered runs: one group (error class and `$dataCode`,
/// `None` matching runs without one), optionally one tenant, and the states (empty: both).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureFilter {
    pub class: Option<String>,
    pub data_code: Option<String>,
    pub tenant: Option<TenantId>,
    pub states: Vec<EventState>,
}

impl FailureFilter {
    /// The states as the queries bind them: failed and dead-lettered unless narrowed.
    fn state_names(&self) -> Vec<&'static str> {
        let wanted: Vec<&'static str> = self
            .states
            .iter()
            .filter(|s| matches!(s, EventState::Failed | EventState::DeadLettered))
            .map(|s| s.as_str())
            .collect();
        if wanted.is_empty() { vec!["failed", "dead_lettered"] } else { wanted }
    }
}

/// The runs a filter matches, as a literal so queries stay static strings; binds $1 states, $2 class,
/// $3 `$dataCode`, $4 tenant.
macro_rules! failure_where {
    () => {
        " FROM events e JOIN tenants t ON t.id = e.tenant_id
          WHERE e.state = ANY($1)
            AND e.last_error_class IS NOT DISTINCT FROM $2
            AND e.last_error_detail->'sage'->>'data_code' IS NOT DISTINCT FROM $3
            AND ($4::uuid IS NULL OR e.tenant_id = $4)"
    };
}

/// The newest runs `filter` matches, at most `limit` (runs a newer one replaced included: this is
/// what failed).
pub async fn failures_in_group(
    pool: &PgPool,
    filter: &FailureFilter,
    limit: i64,
) -> Result<Vec<FailedRun>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT e.id, e.tenant_id, t.name AS tenant_name, e.event_name, e.magento_entity_id, e.state,
                e.last_error, e.finished_at",
        failure_where!(),
        " ORDER BY e.finished_at DESC NULLS LAST, e.id LIMIT $5"
    ))
    .bind(filter.state_names())
    .bind(filter.class.as_deref())
    .bind(filter.data_code.as_deref())
    .bind(filter.tenant)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// One run a bulk action from the console would act on.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MatchedRun {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub tenant_name: String,
}

/// Every run `filter` matches that is still its event's current run (one a newer run replaced is
/// history: requeuing or discarding it would be refused), by tenant then oldest first.
pub async fn matching_failures(pool: &PgPool, filter: &FailureFilter) -> Result<Vec<MatchedRun>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT e.id, e.tenant_id, t.name AS tenant_name",
        failure_where!(),
        " AND e.dedup_key IS NOT NULL ORDER BY t.name, e.tenant_id, e.finished_at NULLS LAST, e.id"
    ))
    .bind(filter.state_names())
    .bind(filter.class.as_deref())
    .bind(filter.data_code.as_deref())
    .bind(filter.tenant)
    .fetch_all(pool)
    .await?)
}

/// The tenants with failed or dead-lettered runs in a group (for the console's tenant choice).
pub async fn group_tenants(
    pool: &PgPool,
    class: Option<&str>,
    data_code: Option<&str>,
) -> Result<Vec<(TenantId, String)>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT DISTINCT e.tenant_id, t.name",
        failure_where!(),
        " ORDER BY t.name, e.tenant_id"
    ))
    .bind(vec!["failed", "dead_lettered"])
    .bind(class)
    .bind(data_code)
    .bind(None::<TenantId>)
    .fetch_all(pool)
    .await?)
}

/// One operator action, as written and as the console lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEntry {
    pub actor_email: String,
    pub action: String,
    pub target: String,
    pub affected: i32,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// Writes an operator action.
pub async fn record_action(
    pool: &PgPool,
    account: Uuid,
    actor_email: &str,
    action: &str,
    target: &str,
    affected: i32,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO operator_audit (account_id, actor_email, action, target, affected, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account)
    .bind(actor_email)
    .bind(action)
    .bind(target)
    .bind(affected)
    .bind(detail)
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest operator actions, at most `limit`.
pub async fn recent_actions(pool: &PgPool, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT actor_email, action, target, affected, detail, at FROM operator_audit ORDER BY at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

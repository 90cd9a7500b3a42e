//! A tenant's data as a whole, for offboarding: export everything it owns (never a secret), erase one
//! person's data from the stored payloads and audit bodies, and delete the tenant with all it owns.
use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{PgPool, StoreError};

/// The tenant row and its bindings and cross-references, as JSON (secrets and key material left out).
pub async fn export_head(pool: &PgPool, tenant: TenantId) -> Result<Option<Value>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT jsonb_build_object(
                    'tenant', to_jsonb(t) - 'api_key_enc' - 'pending_api_key_enc' - 'pending_key_version',
                    'bindings', COALESCE((SELECT jsonb_agg(to_jsonb(b) ORDER BY b.created_at) FROM bindings b
                                           WHERE b.tenant_id = t.id), '[]'::jsonb),
                    'sage_xrefs', COALESCE((SELECT jsonb_agg(to_jsonb(x) ORDER BY x.created_at, x.kind, x.magento_key)
                                             FROM sage_xrefs x WHERE x.tenant_id = t.id), '[]'::jsonb))
           FROM tenants t WHERE t.id = $1",
    )
    .bind(tenant)
    .fetch_optional(pool)
    .await?)
}

/// Where the next page of [`export_events`] starts.
pub type EventCursor = (DateTime<Utc>, Uuid);

/// Up to `limit` of the tenant's runs after `after` (oldest first), each with its attempts (Magento
/// snapshots), Sage calls and callbacks; and the cursor of the last one.
pub async fn export_events(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<EventCursor>,
    limit: i64,
) -> Result<(Vec<Value>, Option<EventCursor>), StoreError> {
    let rows: Vec<(DateTime<Utc>, Uuid, Value)> = sqlx::query_as(
        "SELECT e.received_at, e.id, jsonb_build_object(
                    'event', to_jsonb(e) - 'task_id' - 'task_pushed_at' - 'lease_token' - 'lease_expires_at' - 'leased_by',
                    'attempts', COALESCE((SELECT jsonb_agg(to_jsonb(a) - 'event_id' ORDER BY a.lease_token)
                                           FROM event_attempts a WHERE a.event_id = e.id), '[]'::jsonb),
                    'sage_calls', COALESCE((SELECT jsonb_agg(to_jsonb(c) - 'event_id' ORDER BY c.lease_token, c.seq)
                                             FROM sage_calls c WHERE c.event_id = e.id), '[]'::jsonb),
                    'callbacks', COALESCE((SELECT jsonb_agg(to_jsonb(k) - 'tenant_id' - 'event_id' - 'lease_token'
                                                            - 'lease_expires_at' ORDER BY k.id)
                                            FROM callbacks k WHERE k.event_id = e.id), '[]'::jsonb))
           FROM events e
          WHERE e.tenant_id = $1 AND ($2::timestamptz IS NULL OR (e.received_at, e.id) > ($2, $3))
          ORDER BY e.received_at, e.id
          LIMIT $4",
    )
    .bind(tenant)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let next = rows.last().map(|r| (r.0, r.1));
    Ok((rows.into_iter().map(|r| r.2).collect(), next))
}

/// What an erasure found (and, unless it was a dry run, replaced).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub payloads: u64,
    pub snapshots: u64,
    pub sage_call_bodies: u64,
}

/// The JSON that replaces an erased body.
fn erased_marker(at: DateTime<Utc>) -> Value {
    serde_json::json!({ "erased": "personal data erased on request", "at": at })
}

/// Replaces every stored body of `tenant` that holds `needle` (an email address or a name; compared
/// case-insensitively) with a marker: event payloads, the Magento snapshots of attempts, and the
/// request and response bodies of Sage calls. Rows, states, outcomes and Sage ids stay, so the audit
/// trail still says what happened, not to whom. With `dry_run`, only counts.
pub async fn erase_personal_data(
    pool: &PgPool,
    tenant: TenantId,
    needle: &str,
    at: DateTime<Utc>,
    dry_run: bool,
) -> Result<Erased, StoreError> {
    let needle = needle.trim().to_lowercase();
    if needle.len() < 3 {
        return Err(StoreError::Conflict("the value to erase must be at least 3 characters"));
    }
    let marker = erased_marker(at);
    let mut tx = pool.begin().await?;
    let (payloads, snapshots, calls): (i64, i64, i64) = sqlx::query_as(
        "WITH p AS (
             UPDATE events SET payload = $3
              WHERE tenant_id = $1 AND strpos(lower(payload::text), $2) > 0 AND NOT $4
             RETURNING 1
         ), s AS (
             UPDATE event_attempts a SET snapshot = $3
               FROM events e
              WHERE e.id = a.event_id AND e.tenant_id = $1 AND strpos(lower(a.snapshot::text), $2) > 0 AND NOT $4
             RETURNING 1
         ), c AS (
             UPDATE sage_calls c SET request_body = CASE WHEN strpos(lower(c.request_body::text), $2) > 0
                                                           THEN $3 ELSE c.request_body END,
                                    response_body = CASE WHEN strpos(lower(c.response_body::text), $2) > 0
                                                           THEN $3 ELSE c.response_body END
               FROM events e
              WHERE e.id = c.event_id AND e.tenant_id = $1 AND NOT $4
                AND (strpos(lower(c.request_body::text), $2) > 0 OR strpos(lower(c.response_body::text), $2) > 0)
             RETURNING 1
         )
         SELECT CASE WHEN $4 THEN (SELECT count(*) FROM events
                                    WHERE tenant_id = $1 AND strpos(lower(payload::text), $2) > 0)
                     ELSE (SELECT count(*) FROM p) END,
                CASE WHEN $4 THEN (SELECT count(*) FROM event_attempts a JOIN events e ON e.id = a.event_id
                                    WHERE e.tenant_id = $1 AND strpos(lower(a.snapshot::text), $2) > 0)
                     ELSE (SELECT count(*) FROM s) END,
                CASE WHEN $4 THEN (SELECT count(*) FROM sage_calls c JOIN events e ON e.id = c.event_id
                                    WHERE e.tenant_id = $1 AND (strpos(lower(c.request_body::text), $2) > 0
                                                                OR strpos(lower(c.response_body::text), $2) > 0))
                     ELSE (SELECT count(*) FROM c) END",
    )
    .bind(tenant)
    .bind(&needle)
    .bind(&marker)
    .bind(dry_run)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let n = |v: i64| u64::try_from(v).unwrap_or_default();
    Ok(Erased { payloads: n(payloads), snapshots: n(snapshots), sage_call_bodies: n(calls) })
}

/// What deleting a tenant removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deleted {
    pub events: u64,
    pub callbacks: u64,
    pub sage_xrefs: u64,
    pub bindings: u64,
    pub triggers: u64,
}

/// Deletes `tenant` and everything it owns, in one transaction: its queued triggers, callbacks, runs
/// (with their attempts and Sage calls), cross-references, bindings (with their stored tokens), JWT
/// ids and OAuth states. `None` when there is no such tenant. The operator audit keeps its rows.
pub async fn delete_tenant(pool: &PgPool, tenant: TenantId) -> Result<Option<Deleted>, StoreError> {
    let mut tx = pool.begin().await?;
    // Locks the tenant first: a webhook accepted meanwhile either committed before (and is deleted
    // here) or waits and then finds no tenant.
    let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(tenant)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    let count = |r: sqlx::postgres::PgQueryResult| r.rows_affected();
    let triggers = count(
        sqlx::query(
            "DELETE FROM apalis.jobs WHERE id IN (SELECT task_id FROM events WHERE tenant_id = $1 AND task_id IS NOT NULL)",
        )
        .bind(tenant)
        .execute(&mut *tx)
        .await?,
    );
    let callbacks =
        count(sqlx::query("DELETE FROM callbacks WHERE tenant_id = $1").bind(tenant).execute(&mut *tx).await?);
    let events = count(sqlx::query("DELETE FROM events WHERE tenant_id = $1").bind(tenant).execute(&mut *tx).await?);
    let sage_xrefs =
        count(sqlx::query("DELETE FROM sage_xrefs WHERE tenant_id = $1").bind(tenant).execute(&mut *tx).await?);
    let bindings =
        count(sqlx::query("DELETE FROM bindings WHERE tenant_id = $1").bind(tenant).execute(&mut *tx).await?);
    sqlx::query("DELETE FROM tenants WHERE id = $1").bind(tenant).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Some(Deleted { events, callbacks, sage_xrefs, bindings, triggers }))
}

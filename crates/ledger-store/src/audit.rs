//! The audit trail of a run beyond its attempt row: the Magento snapshot it started from and every Sage
//! call it made, with bodies (headers, and so tokens, are never kept).
use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

/// One Sage call as the client recorded it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct SageCall {
    pub started_at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub x_request_id: Option<String>,
    pub request_body: Option<Value>,
    pub response_body: Option<Value>,
    /// Why no answer came (timeout, connection refused), when none did.
    pub error: Option<String>,
}

/// Keeps the canonical entity the attempt `lease_token` of `event_id` started from.
pub async fn record_snapshot(
    pool: &PgPool,
    event_id: Uuid,
    lease_token: i64,
    snapshot: &Value,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE event_attempts SET snapshot = $3 WHERE event_id = $1 AND lease_token = $2")
        .bind(event_id)
        .bind(lease_token)
        .bind(snapshot)
        .execute(pool)
        .await?;
    Ok(())
}

/// Appends the Sage calls an attempt made, in order, after the ones already recorded for it.
pub async fn record_calls(
    pool: &PgPool,
    event_id: Uuid,
    lease_token: i64,
    calls: &[SageCall],
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let first: i32 =
        sqlx::query_scalar("SELECT COALESCE(max(seq), 0) + 1 FROM sage_calls WHERE event_id = $1 AND lease_token = $2")
            .bind(event_id)
            .bind(lease_token)
            .fetch_one(&mut *tx)
            .await?;
    for (seq, call) in (first..).zip(calls) {
        sqlx::query(
            "INSERT INTO sage_calls (event_id, lease_token, seq, started_at, method, path, status, latency_ms,
                                     x_request_id, request_body, response_body, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(event_id)
        .bind(lease_token)
        .bind(seq)
        .bind(call.started_at)
        .bind(&call.method)
        .bind(&call.path)
        .bind(call.status)
        .bind(call.latency_ms)
        .bind(&call.x_request_id)
        .bind(&call.request_body)
        .bind(&call.response_body)
        .bind(&call.error)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The Sage calls of one event's attempts, oldest first, with the attempt's lease token.
pub async fn calls(pool: &PgPool, tenant: TenantId, event_id: Uuid) -> Result<Vec<(i64, SageCall)>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        lease_token: i64,
        #[sqlx(flatten)]
        call: SageCall,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.lease_token, c.started_at, c.method, c.path, c.status, c.latency_ms, c.x_request_id,
                c.request_body, c.response_body, c.error
           FROM sage_calls c JOIN events e ON e.id = c.event_id
          WHERE e.tenant_id = $1 AND c.event_id = $2
          ORDER BY c.lease_token, c.seq",
    )
    .bind(tenant)
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.lease_token, r.call)).collect())
}

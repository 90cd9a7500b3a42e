//! Operator JSON for event runs: `GET /api/v1/tenants/{tenant_id}/events` (filtered, keyset paged),
//! `GET /api/v1/events/{event_id}` (with the audit trail), `POST …/requeue` and `POST …/discard`.
//! The work is `ledger_sync::operations`, shared with `ledger events`.
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use ledger_domain::TenantId;
use ledger_sync::operations::{self, EventDetail, EventItem, EventPage, ListParams, OpsError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ingest::require_json;
use crate::operator::Operator;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant_id}/events", get(list))
        .route("/api/v1/events/{event_id}", get(show))
        .route("/api/v1/events/{event_id}/requeue", post(requeue))
        .route("/api/v1/events/{event_id}/discard", post(discard))
}

impl From<OpsError> for ApiError {
    fn from(e: OpsError) -> Self {
        let status = match &e {
            OpsError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            OpsError::UnknownTenant | OpsError::NotFound => StatusCode::NOT_FOUND,
            OpsError::InvalidFilter(_) => StatusCode::BAD_REQUEST,
            OpsError::NotRequeueable(_) | OpsError::Superseded(_) | OpsError::NotDiscardable(_) => StatusCode::CONFLICT,
            OpsError::InvalidReason => StatusCode::UNPROCESSABLE_ENTITY,
        };
        match e {
            OpsError::Store(s) => s.into(),
            e => ApiError::Coded { status, code: e.code(), detail: e.to_string() },
        }
    }
}

/// Ids in paths that do not parse name nothing that exists: 404, like an unknown one.
fn event_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw).map_err(|_| OpsError::NotFound.into())
}

/// `GET /api/v1/tenants/{tenant_id}/events?state=&event=&q=&from=&to=&limit=&cursor=`.
pub async fn list(
    _: Operator,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let tenant: TenantId = tenant.parse().map_err(|_| ApiError::from(OpsError::UnknownTenant))?;
    let Query(params) = query.map_err(|e| OpsError::InvalidFilter(e.body_text()))?;
    Ok(Json(operations::list(&state.pool, tenant, &params).await?))
}

/// `GET /api/v1/events/{event_id}`.
pub async fn show(
    _: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventDetail>, ApiError> {
    Ok(Json(operations::show(&state.pool, event_id(&id)?).await?))
}

/// `202` answer of a requeue.
#[derive(Debug, Serialize)]
pub struct RequeueAccepted {
    pub sync_run_id: Uuid,
}

/// `POST /api/v1/events/{event_id}/requeue`.
pub async fn requeue(
    _: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RequeueAccepted>), ApiError> {
    let sync_run_id = operations::requeue(&state.pool, event_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(RequeueAccepted { sync_run_id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscardBody {
    reason: String,
}

/// `POST /api/v1/events/{event_id}/discard {"reason"}`: 400 for a body that is not JSON, 422 for JSON
/// without a usable reason.
pub async fn discard(
    _: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<EventItem>, ApiError> {
    let id = event_id(&id)?;
    require_json(&headers)?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
    let body: DiscardBody = serde_json::from_value(value).map_err(|e| ApiError::Coded {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: OpsError::InvalidReason.code(),
        detail: format!("expected {{\"reason\"}}: {e}"),
    })?;
    Ok(Json(operations::discard(&state.pool, id, &body.reason).await?))
}

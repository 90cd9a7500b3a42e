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
use crate::problem::Problem;
use crate::{ApiError, AppState};
use utoipa::ToSchema;

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
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant_id}/events",
    tag = "events",
    summary = "A tenant's event runs, newest first",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)"),
        ("state" = Option<String>, Query, description = "Comma-separated states"),
        ("event" = Option<String>, Query, description = "Comma-separated event names"),
        ("q" = Option<String>, Query, description = "An increment id or a Magento entity id"),
        ("from" = Option<String>, Query, description = "Received at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "Received before (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "1-200, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page: `{\"items\": [run], \"next_cursor\"}` (see docs/operations.md)", body = Object),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`invalid_filter`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/events/{event_id}",
    tag = "events",
    summary = "One run with its attempts, snapshots, Sage calls and diff",
    params(("event_id" = Uuid, Path, description = "The event run")),
    responses(
        (status = 200, description = "The run (see docs/operations.md)", body = Object),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_event`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn show(
    _: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventDetail>, ApiError> {
    Ok(Json(operations::show(&state.pool, event_id(&id)?).await?))
}

/// `202` answer of a requeue.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequeueAccepted {
    pub sync_run_id: Uuid,
}

/// `POST /api/v1/events/{event_id}/requeue`.
#[utoipa::path(
    post,
    path = "/api/v1/events/{event_id}/requeue",
    tag = "events",
    summary = "Run a failed, dead-lettered or discarded run again",
    params(("event_id" = Uuid, Path, description = "The event run")),
    responses(
        (status = 202, description = "The new run", body = RequeueAccepted),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_event`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_requeueable` (its state) or `superseded` (an older run of a requeued event)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn requeue(
    _: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RequeueAccepted>), ApiError> {
    let sync_run_id = operations::requeue(&state.pool, event_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(RequeueAccepted { sync_run_id })))
}

/// Why the run is set aside (1-500 characters), kept in the audit trail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscardBody {
    reason: String,
}

/// `POST /api/v1/events/{event_id}/discard {"reason"}`: 400 for a body that is not JSON, 422 for JSON
/// without a usable reason.
#[utoipa::path(
    post,
    path = "/api/v1/events/{event_id}/discard",
    tag = "events",
    summary = "Set a pending, failed or dead-lettered run aside",
    params(("event_id" = Uuid, Path, description = "The event run")),
    request_body(content = DiscardBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The run, `discarded`", body = Object),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not JSON (`bad-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_event`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_discardable`: running or finished", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_reason`: 1-500 characters", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
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

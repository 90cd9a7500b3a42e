//! `POST /webhooks/magento/{tenant_id}/{event}`: verify, validate, then one transaction writes the jti,
//! the event run and its apalis trigger. Answers 202 `{"sync_run_id"}`; duplicates answer 200 with the
//! original id (never 409); a duplicate of a failed or dead-lettered run starts a new run.
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_domain::{Envelope, EventName, IdempotencyKey};
use ledger_store::events::{self, Accepted, IngestError, NewEvent};
use serde::Serialize;
use uuid::Uuid;

use crate::magento::MagentoTenant;
use crate::problem::Problem;
use crate::{ApiError, AppState};

/// Refuses webhooks with 503 once the process shuts down, before any verification work: the module
/// keeps the event and retries it (a 4xx would dead-letter it).
pub async fn intake_open(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.intake.is_open() { next.run(request).await } else { ApiError::ShuttingDown.into_response() }
}

/// `202` (or `200` for a duplicate): the run that handles the event; the module's sync CLI shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncRun {
    pub sync_run_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/webhooks/magento/{tenant_id}/{event}",
    tag = "magento",
    summary = "Receive one signed event from the Magento module",
    description = "Verifies the HS256 JWT, validates the envelope and, in one transaction, consumes the `jti`, \
        stores the event and queues its run. Never 409 nor 429: the module dead-letters every 4xx, so \
        overload and shutdown answer 503.",
    params(
        ("tenant_id" = Uuid, Path, description = "The tenant the store was paired as"),
        ("event" = String, Path, description = "`invoice.created`, `invoice.paid`, `creditmemo.created`, `customer.upserted` or `product.upserted`"),
        ("Idempotency-Key" = String, Header, description = "The module's key for this event; a repeat answers the original run"),
    ),
    request_body(content = Object, description = "The event envelope (spec §2.2)", content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted: a new run (or a rerun of a failed one)", body = SyncRun),
        (status = 200, description = "A duplicate: the original run; `Idempotent-Replayed: true`", body = SyncRun),
        (status = 400, description = "Missing or bad `Idempotency-Key`, or an invalid envelope (`bad-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad, expired, replayed or revoked JWT (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown event name (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than `server.max_body_bytes` (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy, database unavailable (`unavailable`) or shutting down (`shutting-down`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("magento_jwt" = [])),
)]
pub async fn receive(
    State(state): State<AppState>,
    verified: MagentoTenant,
    Path((_, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::Span::current();
    if !verified.active {
        return Err(ApiError::Unauthorized("this store's binding was revoked; pair it again"));
    }
    let name: EventName = event.parse().map_err(|_| ApiError::NotFound(UNKNOWN_EVENT))?;
    require_json(&headers)?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(state.config.max_body_bytes),
        _ => ApiError::BadRequest("could not read the request body".into()),
    })?;
    if body.len() > state.config.max_body_bytes {
        return Err(ApiError::PayloadTooLarge(state.config.max_body_bytes));
    }
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::BadRequest("missing Idempotency-Key header".into()))?
        .to_str()
        .map_err(|_| ApiError::BadRequest("Idempotency-Key must be printable ASCII".into()))
        .and_then(|k| IdempotencyKey::parse(k).map_err(|e| ApiError::BadRequest(e.to_string())))?;
    let envelope =
        Envelope::parse(name, &body).map_err(|e| ApiError::BadRequest(format!("invalid event body: {e}")))?;
    let new = NewEvent { tenant_id: verified.tenant, key: &key, name, envelope: &envelope };
    let accepted = match events::ingest(&state.pool, &verified.token, &new, state.config.idempotency_window).await {
        Ok(a) => a,
        Err(IngestError::TokenRejected) => {
            state.forget_keys(verified.tenant);
            return Err(ApiError::Unauthorized("token already used, or the binding is no longer active"));
        }
        Err(IngestError::Store(e)) => return Err(e.into()),
    };
    let id = accepted.sync_run_id();
    span.record("event_id", tracing::field::display(id));
    let status = match accepted {
        Accepted::Duplicate(_) => StatusCode::OK,
        Accepted::New(_) | Accepted::Rerun { .. } => StatusCode::ACCEPTED,
    };
    tracing::info!(event = %name, key = %key, outcome = ?accepted, "event accepted");
    let mut response = (status, Json(SyncRun { sync_run_id: id })).into_response();
    if matches!(accepted, Accepted::Duplicate(_)) {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

const UNKNOWN_EVENT: &str =
    "unknown event; expected invoice.created, invoice.paid, creditmemo.created, customer.upserted or product.upserted";

/// Bodies must be declared JSON (`application/json`, any parameters, any case).
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if ok { Ok(()) } else { Err(ApiError::UnsupportedMediaType) }
}

//! The sync policy routes: `GET`/`PUT /api/v1/tenants/{tenant_id}/sage/policy` (operator bearer). A
//! document that does not validate, or names ids the Sage business lacks, is a 422 listing each field.
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use ledger_domain::TenantId;
use ledger_domain::policy::FieldError;
use ledger_sync::engine::{PolicyError, SyncEngine};
use serde::Serialize;
use serde_json::Value;

use crate::operator::Operator;
use crate::problem::Problem;
use crate::{ApiError, AppState};
use utoipa::ToSchema;

/// A refused policy: the problem+json fields plus one entry per field.
#[derive(Serialize, ToSchema)]
#[schema(as = PolicyProblem)]
pub struct PolicyProblem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    code: &'static str,
    /// One entry per refused field: `{"field", "message"}` (only for `invalid_policy`).
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    #[schema(value_type = Vec<Object>)]
    errors: &'a [FieldError],
}

fn engine(state: &AppState) -> Result<&SyncEngine, ApiError> {
    state.engine.as_deref().ok_or(ApiError::NotFound("the sync policy is not offered by this process"))
}

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("no such tenant"))
}

fn problem(e: PolicyError) -> Response {
    let status = match &e {
        PolicyError::NoBinding => StatusCode::NOT_FOUND,
        PolicyError::NotActive => StatusCode::CONFLICT,
        PolicyError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PolicyError::Sage(_) => StatusCode::BAD_GATEWAY,
        PolicyError::Store(_) => return ApiError::internal(e).into_response(),
    };
    let errors = match &e {
        PolicyError::Invalid(list) => list.as_slice(),
        _ => &[],
    };
    let body = PolicyProblem {
        kind: format!("/problems/{}", e.code()),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail: e.to_string(),
        code: e.code(),
        errors,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    response
}

/// `GET …/sage/policy` → the stored policy document.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant_id}/sage/policy",
    tag = "policy",
    summary = "The binding's sync policy",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    responses(
        (status = 200, description = "The policy document (see docs/sync-engine.md)", body = Object),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`sage_not_connected`: no Sage binding; unknown tenant or the sync engine not offered here (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn read(
    _: Operator,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = tenant_id(&tenant)?;
    Ok(match engine(&state)?.policy(tenant).await {
        Ok(policy) => Json(policy).into_response(),
        Err(e) => problem(e),
    })
}

/// `PUT …/sage/policy` with the whole document → the saved (canonical) document.
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant_id}/sage/policy",
    tag = "policy",
    summary = "Replace the binding's sync policy",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    request_body(content = Object, description = "The whole policy document", content_type = "application/json"),
    responses(
        (status = 200, description = "The saved, canonical document", body = Object),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not a JSON document (`bad-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`sage_not_connected`, or unknown tenant (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sage_not_active`: the binding is not active", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_policy`: one entry per field in `errors`", body = PolicyProblem, content_type = "application/problem+json"),
        (status = 502, description = "`sage_unavailable`: the Sage ids could not be checked", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn save(
    _: Operator,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let tenant = tenant_id(&tenant)?;
    let Json(document) = body.map_err(|e| ApiError::BadRequest(format!("expected a JSON policy document: {e}")))?;
    Ok(match engine(&state)?.save_policy(tenant, &document).await {
        Ok(saved) => Json(saved).into_response(),
        Err(e) => problem(e),
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/tenants/{tenant_id}/sage/policy", get(read).put(save))
}

//! The Sage connect routes: operators start a connect, list and pick the business, disconnect and read
//! the binding under `/api/v1/tenants/{tenant_id}/sage/…`; Sage redirects the merchant's browser to
//! `/oauth/sage/callback`, answered as a short page (browsers) or JSON; a connect started from the
//! dashboard completes only in the browser session that started it, and returns there.
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use ledger_domain::{SageBusinessId, TenantId};
use ledger_store::bindings::{Binding, BusinessChoice};
use ledger_sync::sage::connect::{CallbackParams, ConnectError, Connected, SageConnect};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::operator::Operator;
use crate::{ApiError, AppState};

fn service(state: &AppState) -> Result<&Arc<SageConnect>, ApiError> {
    state.sage.as_ref().ok_or(ApiError::NotFound("Sage connect is not enabled in this process"))
}

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("no such tenant"))
}

fn status_of(e: &ConnectError) -> StatusCode {
    match e {
        ConnectError::UnknownTenant | ConnectError::NotConnected | ConnectError::UnknownBusiness(_) => {
            StatusCode::NOT_FOUND
        }
        ConnectError::TenantRevoked | ConnectError::BusinessInactive(_) => StatusCode::CONFLICT,
        ConnectError::Denied { .. } => StatusCode::FORBIDDEN,
        ConnectError::MissingCode | ConnectError::StateUnknown | ConnectError::CodeRejected(_) => {
            StatusCode::BAD_REQUEST
        }
        ConnectError::StateUsed => StatusCode::CONFLICT,
        ConnectError::StateNotYours => StatusCode::FORBIDDEN,
        ConnectError::StateExpired => StatusCode::GONE,
        ConnectError::Sage(_) => StatusCode::BAD_GATEWAY,
        ConnectError::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        ConnectError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A connect failure as problem+json; store failures go through `ApiError` (503 or an opaque 500).
fn problem(e: ConnectError) -> Response {
    if let ConnectError::Store(s) = e {
        return ApiError::from(s).into_response();
    }
    let status = status_of(&e);
    let body = json!({
        "type": format!("/problems/{}", e.code()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": e.to_string(),
        "code": e.code(),
    });
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    response
}

/// The binding as operators see it.
fn binding_view(b: &Binding) -> Value {
    json!({
        "tenant_id": b.tenant_id,
        "binding_id": b.id,
        "provider": b.provider,
        "status": b.status,
        "status_reason": b.status_reason,
        "business_id": b.business_id,
        "business_name": b.business_name,
        "tier": b.tier,
        "region": b.region,
        "base_currency": b.base_currency,
    })
}

fn businesses_view(list: &[BusinessChoice]) -> Value {
    Value::Array(list.iter().map(|b| json!({ "id": b.id, "name": b.name, "tier": b.tier })).collect())
}

/// `POST /api/v1/tenants/{tenant_id}/sage/connect` → `{"authorize_url"}`.
pub async fn connect(_: Operator, State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    let run = async {
        let tenant = tenant_id(&tenant)?;
        Ok::<_, ApiError>(service(&state)?.start(tenant).await)
    };
    match run.await {
        Ok(Ok(url)) => Json(json!({ "authorize_url": url.as_str() })).into_response(),
        Ok(Err(e)) => problem(e),
        Err(e) => e.into_response(),
    }
}

/// `GET /oauth/sage/callback?code&state[&error]`: where Sage sends the merchant back.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let sage = match service(&state) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let html = wants_html(&headers);
    let session = session_hash(&headers);
    match sage.complete_from(&params, session.as_deref()).await {
        // Started from the dashboard: back to the store's Sage page (the business picker when needed).
        Ok(done) if done.from_dashboard => {
            Redirect::to(&format!("/stores/{}/sage", done.binding.tenant_id)).into_response()
        }
        Ok(done) if html => page(StatusCode::OK, "Sage is connected", &success_text(&done)),
        Ok(done) => {
            let mut body = binding_view(&done.binding);
            if done.needs_business_choice() {
                body["businesses"] = businesses_view(&done.businesses);
            }
            Json(body).into_response()
        }
        Err(e @ ConnectError::Store(_)) => problem(e),
        Err(e) if html => page(status_of(&e), "Sage was not connected", &e.to_string()),
        Err(e) => problem(e),
    }
}

/// The dashboard's session cookie (set by `ledger-web`): a connect started there is bound to it.
pub const SESSION_COOKIE: &str = "ledger_session";

/// The SHA-256 of the dashboard session token the request carries, if any.
pub fn session_hash(headers: &HeaderMap) -> Option<Vec<u8>> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())?;
    Some(Sha256::digest(token.as_bytes()).to_vec())
}

fn success_text(done: &Connected) -> String {
    match (&done.binding.business_name, done.needs_business_choice()) {
        (Some(name), false) => {
            format!("The ledger now syncs to the Sage business \u{201c}{name}\u{201d}. You can close this page.")
        }
        _ => format!(
            "Sage authorised the ledger for {} businesses; your operator will choose which one to sync to.",
            done.businesses.len()
        ),
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{x}</p></body></html>",
        t = esc(title),
        x = esc(text)
    );
    (status, Html(body)).into_response()
}

/// `GET /api/v1/tenants/{tenant_id}/sage/businesses` → `[{"id","name","tier"}]`.
pub async fn businesses(_: Operator, State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    let run = async {
        let tenant = tenant_id(&tenant)?;
        Ok::<_, ApiError>(service(&state)?.businesses(tenant).await)
    };
    match run.await {
        Ok(Ok(list)) => Json(businesses_view(&list)).into_response(),
        Ok(Err(e)) => problem(e),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickBody {
    business_id: String,
}

/// `PUT /api/v1/tenants/{tenant_id}/sage/business {"business_id"}`: binds one of the offered businesses.
pub async fn pick(
    _: Operator,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Result<Json<PickBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let run = async {
        let tenant = tenant_id(&tenant)?;
        let Json(body) = body.map_err(|e| ApiError::BadRequest(format!("expected {{\"business_id\"}}: {e}")))?;
        let business =
            SageBusinessId::parse(&body.business_id).map_err(|e| ApiError::BadRequest(format!("business_id: {e}")))?;
        Ok::<_, ApiError>(service(&state)?.pick(tenant, &business).await)
    };
    match run.await {
        Ok(Ok(binding)) => Json(binding_view(&binding)).into_response(),
        Ok(Err(e)) => problem(e),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/tenants/{tenant_id}/sage/disconnect`: revoke at Sage, delete the tokens.
pub async fn disconnect(_: Operator, State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    let run = async {
        let tenant = tenant_id(&tenant)?;
        Ok::<_, ApiError>(service(&state)?.disconnect(tenant).await)
    };
    match run.await {
        Ok(Ok((binding, revoked))) => {
            let mut body = binding_view(&binding);
            body["revoked_at_sage"] = json!(revoked);
            Json(body).into_response()
        }
        Ok(Err(e)) => problem(e),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v1/tenants/{tenant_id}/sage`: the binding (status, reason, business, tier, region).
pub async fn binding(
    _: Operator,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = tenant_id(&tenant)?;
    let found =
        ledger_store::bindings::sage(&state.pool, tenant).await?.ok_or(ApiError::NotFound("no Sage binding"))?;
    Ok(Json(binding_view(&found)).into_response())
}

/// The Sage routes, merged into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant_id}/sage", get(binding))
        .route("/api/v1/tenants/{tenant_id}/sage/connect", post(connect))
        .route("/api/v1/tenants/{tenant_id}/sage/businesses", get(businesses))
        .route("/api/v1/tenants/{tenant_id}/sage/business", put(pick))
        .route("/api/v1/tenants/{tenant_id}/sage/disconnect", post(disconnect))
        .route("/oauth/sage/callback", get(callback))
}

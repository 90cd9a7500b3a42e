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
use ledger_domain::{BindingStatus, Currency, SageBusinessId, TenantId, Tier};
use ledger_store::bindings::{Binding, BusinessChoice};
use ledger_sync::sage::connect::{CallbackParams, ConnectError, Connected, SageConnect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::operator::Operator;
use crate::problem::Problem;
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

/// The Sage binding as operators see it.
// Fields stay in alphabetical order: the answer is byte-identical to the `json!` map it replaced.
#[derive(Debug, Serialize, ToSchema)]
pub struct SageBinding {
    /// ISO 4217 code of the business's base currency.
    #[schema(value_type = Option<String>, example = "GBP")]
    pub base_currency: Option<Currency>,
    pub binding_id: Uuid,
    #[schema(value_type = Option<String>)]
    pub business_id: Option<SageBusinessId>,
    pub business_name: Option<String>,
    /// Only in the callback's JSON answer when several businesses are offered: pick one with
    /// `PUT …/sage/business`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub businesses: Option<Vec<SageBusiness>>,
    /// `sage`.
    pub provider: String,
    pub region: Option<String>,
    /// Only in the disconnect answer: whether Sage confirmed the refresh token's revocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at_sage: Option<bool>,
    /// `connecting`, `active`, `reconnect_required`, `suspended` or `disconnected`.
    #[schema(value_type = String, example = "active")]
    pub status: BindingStatus,
    /// Why the binding is in its status (e.g. Sage's `invalid_grant` message).
    pub status_reason: Option<String>,
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The Sage subscription tier (`start`, `standard` or `plus`).
    #[schema(value_type = Option<String>)]
    pub tier: Option<Tier>,
}

impl SageBinding {
    fn of(b: &Binding) -> Self {
        Self {
            base_currency: b.base_currency,
            binding_id: b.id,
            business_id: b.business_id.clone(),
            business_name: b.business_name.clone(),
            businesses: None,
            provider: b.provider.clone(),
            region: b.region.clone(),
            revoked_at_sage: None,
            status: b.status,
            status_reason: b.status_reason.clone(),
            tenant_id: b.tenant_id,
            tier: b.tier,
        }
    }
}

/// A Sage business offered at the last connect.
#[derive(Debug, Serialize, ToSchema)]
pub struct SageBusiness {
    #[schema(value_type = String)]
    pub id: SageBusinessId,
    pub name: String,
    #[schema(value_type = Option<String>)]
    pub tier: Option<Tier>,
}

fn businesses_view(list: &[BusinessChoice]) -> Vec<SageBusiness> {
    list.iter().map(|b| SageBusiness { id: b.id.clone(), name: b.name.clone(), tier: b.tier }).collect()
}

/// The answer of a connect: where to send the merchant.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeUrl {
    /// Sage's authorization page (authorization code with PKCE S256; `state` expires in 10 minutes).
    pub authorize_url: String,
}

/// `POST /api/v1/tenants/{tenant_id}/sage/connect` → `{"authorize_url"}`.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant_id}/sage/connect",
    tag = "sage",
    summary = "Start connecting the tenant to Sage",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    responses(
        (status = 200, description = "Send the merchant to `authorize_url`", body = AuthorizeUrl),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown tenant (`not-found`), or Sage connect is not enabled in this process", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`tenant_revoked`: the store's binding is revoked", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`sage_not_configured`: no Sage client credentials", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn connect(_: Operator, State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    let run = async {
        let tenant = tenant_id(&tenant)?;
        Ok::<_, ApiError>(service(&state)?.start(tenant).await)
    };
    match run.await {
        Ok(Ok(url)) => Json(AuthorizeUrl { authorize_url: url.as_str().to_owned() }).into_response(),
        Ok(Err(e)) => problem(e),
        Err(e) => e.into_response(),
    }
}

/// `GET /oauth/sage/callback?code&state[&error]`: where Sage sends the merchant back.
#[utoipa::path(
    get,
    path = "/oauth/sage/callback",
    tag = "sage",
    summary = "Sage's OAuth redirect back to the ledger",
    description = "Browsers (`Accept: text/html`) get a short page with the same status instead of JSON; a \
        connect started from the dashboard redirects (303) to the store's Sage page.",
    params(
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The single-use state the connect created"),
        ("error" = Option<String>, Query, description = "Sage's refusal (e.g. `access_denied`)"),
    ),
    responses(
        (status = 200, description = "The binding (`active`, or `connecting` with `businesses` to choose from)", body = SageBinding),
        (status = 303, description = "Started from the dashboard: back to `/stores/{tenant_id}/sage`"),
        (status = 400, description = "`missing_code`, `state_unknown` or `code_rejected`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`sage_authorization_denied` or `state_session_mismatch`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant`, or Sage connect is not enabled (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`state_used` or `tenant_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`state_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`sage_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
)]
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
            let mut body = SageBinding::of(&done.binding);
            if done.needs_business_choice() {
                body.businesses = Some(businesses_view(&done.businesses));
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
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant_id}/sage/businesses",
    tag = "sage",
    summary = "The businesses offered at the last connect",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    responses(
        (status = 200, description = "The businesses", body = Vec<SageBusiness>),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown tenant (`not-found`), or Sage connect is not enabled in this process", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant` or `not_connected`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
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

/// The business to bind, one of `GET …/sage/businesses`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickBody {
    business_id: String,
}

/// `PUT /api/v1/tenants/{tenant_id}/sage/business {"business_id"}`: binds one of the offered businesses.
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant_id}/sage/business",
    tag = "sage",
    summary = "Bind one of the offered businesses",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    request_body = PickBody,
    responses(
        (status = 200, description = "The binding, `active`", body = SageBinding),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown tenant (`not-found`), or Sage connect is not enabled in this process", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not `{\"business_id\"}` (`bad-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_business`, `not_connected`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`business_inactive` or `tenant_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
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
        Ok(Ok(binding)) => Json(SageBinding::of(&binding)).into_response(),
        Ok(Err(e)) => problem(e),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/tenants/{tenant_id}/sage/disconnect`: revoke at Sage, delete the tokens.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant_id}/sage/disconnect",
    tag = "sage",
    summary = "Disconnect Sage: revoke at Sage, delete the tokens",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    responses(
        (status = 200, description = "The binding, `disconnected`, with `revoked_at_sage`", body = SageBinding),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown tenant (`not-found`), or Sage connect is not enabled in this process", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_connected`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn disconnect(_: Operator, State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    let run = async {
        let tenant = tenant_id(&tenant)?;
        Ok::<_, ApiError>(service(&state)?.disconnect(tenant).await)
    };
    match run.await {
        Ok(Ok((binding, revoked))) => {
            let mut body = SageBinding::of(&binding);
            body.revoked_at_sage = Some(revoked);
            Json(body).into_response()
        }
        Ok(Err(e)) => problem(e),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v1/tenants/{tenant_id}/sage`: the binding (status, reason, business, tier, region).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant_id}/sage",
    tag = "sage",
    summary = "The tenant's Sage binding",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    responses(
        (status = 200, description = "The binding", body = SageBinding),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown tenant (`not-found`), or Sage connect is not enabled in this process", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn binding(
    _: Operator,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = tenant_id(&tenant)?;
    let found =
        ledger_store::bindings::sage(&state.pool, tenant).await?.ok_or(ApiError::NotFound("no Sage binding"))?;
    Ok(Json(SageBinding::of(&found)).into_response())
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

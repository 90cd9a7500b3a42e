//! The module's other calls: the admin health tile (`GET /v1/tile/health`) and the Disconnect notice
//! (`POST /v1/tenant/disconnect`). Both authenticate with the tenant's token; a revoked binding may
//! still call them, and the tile then reports it revoked.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use ledger_store::{events, health, tenants};
use serde_json::{Value, json};

use crate::{ApiError, AppState, auth};

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<auth::VerifiedMagento, ApiError> {
    let verified = auth::verify(state, headers, None).await?;
    tracing::Span::current().record("tenant_id", tracing::field::display(verified.tenant));
    if !events::consume_token(&state.pool, verified.tenant, &verified.token, false).await? {
        return Err(ApiError::Unauthorized("token already used"));
    }
    Ok(verified)
}

pub async fn tile_health(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let verified = authenticate(&state, &headers).await?;
    let tenant = tenants::get(&state.pool, verified.tenant).await?.ok_or(ApiError::Unauthorized("unknown tenant"))?;
    let counts = health::tile_counts(&state.pool, verified.tenant).await?;
    Ok(Json(json!({
        "tenant": { "magento_connection_status": tenant.magento_connection_status },
        "binding": { "status": if tenant.is_active() { "active" } else { "revoked" } },
        "sync": {
            "last_run_at": counts.last_run_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "pending_count": counts.pending_count,
            "failed_24h": counts.failed_24h,
        },
    })))
}

pub async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let verified = authenticate(&state, &headers).await?;
    // The module sends `{}`; anything that is not a JSON object is refused, nothing changed.
    if !body.is_empty() && !matches!(serde_json::from_slice::<Value>(&body), Ok(Value::Object(_))) {
        return Err(ApiError::BadRequest("body must be a JSON object".into()));
    }
    tenants::revoke(&state.pool, verified.tenant).await?;
    state.forget_keys(verified.tenant);
    tracing::info!(tenant_id = %verified.tenant, "binding revoked by the store");
    Ok(StatusCode::NO_CONTENT)
}

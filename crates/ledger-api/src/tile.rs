//! The module's other calls: the admin health tile (`GET /v1/tile/health`) and the Disconnect notice
//! (`POST /v1/tenant/disconnect`). Both authenticate with the tenant's token; a revoked binding may
//! still call them, and the tile then reports it revoked. The tile's `binding` is the Sage binding.
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
    let sage = health::tile_binding(&state.pool, verified.tenant).await?;
    Ok(Json(json!({
        "tenant": { "magento_connection_status": tenant.magento_connection_status },
        "binding": tile_binding(tenant.is_active(), sage.as_ref()),
        "sync": {
            "last_run_at": counts.last_run_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "pending_count": counts.pending_count,
            "failed_24h": counts.failed_24h,
        },
    })))
}

/// `binding.status`: `revoked` when the store's binding to the ledger is revoked, else the Sage binding's
/// status, else `not_connected`; `binding.region` from the Sage binding, omitted when unknown.
fn tile_binding(tenant_active: bool, sage: Option<&health::TileBinding>) -> Value {
    let status = match sage {
        _ if !tenant_active => "revoked",
        Some(b) => b.status.as_str(),
        None => "not_connected",
    };
    let mut binding = json!({ "status": status });
    if let Some(region) = sage.and_then(|b| b.region.as_deref()) {
        binding["region"] = json!(region);
    }
    binding
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

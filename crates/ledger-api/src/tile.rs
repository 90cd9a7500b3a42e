//! The module's other calls: the admin health tile (`GET /v1/tile/health`) and the Disconnect notice
//! (`POST /v1/tenant/disconnect`). Both authenticate with the tenant's token; a revoked binding may
//! still call them, and the tile then reports it revoked.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use ledger_store::tenants::ConnectionStatus;
use ledger_store::{health, tenants};
use serde::Serialize;
use serde_json::Value;

use crate::magento::MagentoTenant;
use crate::{ApiError, AppState};

/// What the module's admin tile reads (spec §1.6); every field is optional to the module.
#[derive(Debug, Serialize)]
pub struct TileHealth {
    pub tenant: TileTenant,
    pub binding: TileBinding,
    pub sync: TileSync,
}

#[derive(Debug, Serialize)]
pub struct TileTenant {
    /// `active`, `pending` or `token_revoked`.
    pub magento_connection_status: ConnectionStatus,
}

#[derive(Debug, Serialize)]
pub struct TileBinding {
    /// `revoked` when the store's binding to the ledger is revoked, else the Sage binding's status,
    /// else `not_connected`.
    pub status: String,
    /// The Sage binding's region, omitted when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TileSync {
    /// RFC 3339, second precision, UTC.
    pub last_run_at: Option<String>,
    pub pending_count: i64,
    pub failed_24h: i64,
}

pub async fn tile_health(State(state): State<AppState>, magento: MagentoTenant) -> Result<Json<TileHealth>, ApiError> {
    magento.consume(&state).await?;
    let tenant = tenants::get(&state.pool, magento.tenant).await?.ok_or(ApiError::Unauthorized("unknown tenant"))?;
    let counts = health::tile_counts(&state.pool, magento.tenant).await?;
    let sage = health::tile_binding(&state.pool, magento.tenant).await?;
    Ok(Json(TileHealth {
        tenant: TileTenant { magento_connection_status: tenant.magento_connection_status },
        binding: tile_binding(tenant.is_active(), sage.as_ref()),
        sync: TileSync {
            last_run_at: counts.last_run_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            pending_count: counts.pending_count,
            failed_24h: counts.failed_24h,
        },
    }))
}

fn tile_binding(tenant_active: bool, sage: Option<&health::TileBinding>) -> TileBinding {
    let status = match sage {
        _ if !tenant_active => "revoked",
        Some(b) => b.status.as_str(),
        None => "not_connected",
    };
    TileBinding { status: status.to_owned(), region: sage.and_then(|b| b.region.clone()) }
}

pub async fn disconnect(
    State(state): State<AppState>,
    magento: MagentoTenant,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    magento.consume(&state).await?;
    // The module sends `{}`; anything that is not a JSON object is refused, nothing changed.
    if !body.is_empty() && !matches!(serde_json::from_slice::<Value>(&body), Ok(Value::Object(_))) {
        return Err(ApiError::BadRequest("body must be a JSON object".into()));
    }
    tenants::revoke(&state.pool, magento.tenant).await?;
    state.forget_keys(magento.tenant);
    tracing::info!(tenant_id = %magento.tenant, "binding revoked by the store");
    Ok(StatusCode::NO_CONTENT)
}

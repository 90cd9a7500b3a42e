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
use crate::problem::Problem;
use crate::{ApiError, AppState};
use utoipa::ToSchema;

/// What the module's admin tile reads (spec §1.6); every field is optional to the module.
#[derive(Debug, Serialize, ToSchema)]
pub struct TileHealth {
    pub tenant: TileTenant,
    pub binding: TileBinding,
    pub sync: TileSync,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TileTenant {
    /// `active`, `pending` or `token_revoked`.
    #[schema(value_type = String, example = "active")]
    pub magento_connection_status: ConnectionStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TileBinding {
    /// `revoked` when the store's binding to the ledger is revoked, else the Sage binding's status,
    /// else `not_connected`.
    pub status: String,
    /// The Sage binding's region, omitted when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TileSync {
    /// RFC 3339, second precision, UTC.
    pub last_run_at: Option<String>,
    pub pending_count: i64,
    pub failed_24h: i64,
}

#[utoipa::path(
    get,
    path = "/v1/tile/health",
    tag = "magento",
    summary = "What the module's admin tile shows",
    responses(
        (status = 200, description = "The tile", body = TileHealth),
        (status = 401, description = "Bad, expired, replayed or revoked JWT (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("magento_jwt" = [])),
)]
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

#[utoipa::path(
    post,
    path = "/v1/tenant/disconnect",
    tag = "magento",
    summary = "The module's Disconnect button: revoke the binding",
    request_body(content = Object, description = "`{}` (or no body)", content_type = "application/json"),
    responses(
        (status = 204, description = "Revoked; later webhooks answer 401"),
        (status = 400, description = "Not a JSON object (`bad-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad, expired, replayed or revoked JWT (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("magento_jwt" = [])),
)]
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

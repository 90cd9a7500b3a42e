//! Operator routes for store bindings: pair a store with its pairing code (`POST /api/v1/stores/pair`)
//! and disconnect one from the ledger side (`POST /api/v1/stores/{tenant_id}/disconnect`; nothing is
//! sent to Magento, whose later webhooks then answer 401).
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use ledger_domain::TenantId;
use ledger_magento::PairError;
use ledger_store::tenants;
use ledger_store::tenants::ConnectionStatus;
use ledger_sync::pairing::{self, PairingError};
use serde::{Deserialize, Serialize};

use crate::ingest::require_json;
use crate::operator::Operator;
use crate::problem::Problem;
use crate::{ApiError, AppState};
use utoipa::ToSchema;

/// The pairing code the store's admin shows, and the store's base URL.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairBody {
    pairing_code: String,
    magento_base_url: String,
}

/// `201` answer of a pairing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paired {
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The store's connection status (`active` once the first ping answered, else `pending`).
    #[schema(value_type = String, example = "active")]
    pub status: ConnectionStatus,
    /// Whether an existing binding of the same store got a new key.
    pub rotated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/stores/pair",
    tag = "stores",
    summary = "Pair a store with its pairing code",
    request_body(content = PairBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Paired", body = Paired),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not `{\"pairing_code\", \"magento_base_url\"}` (`bad-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "What the merchant typed: `invalid_store_url`, `pairing_code_missing`, `ledger_url_not_https`, `pairing_code_rejected`, `pair_bad_request`, `store_url_refused`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "What the store answered: `store_unreachable`, `store_no_answer`, `store_tls_error`, `store_redirects`, `not_a_byte8_store`, `byte8_module_missing`, `store_error`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn pair(
    _: Operator,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Paired>), ApiError> {
    require_json(&headers)?;
    let body: PairBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"pairing_code\", \"magento_base_url\"}}: {e}")))?;
    let input = pairing::PairInput {
        ledger_base_url: ledger_base_url(&state, &headers),
        allow_http: state.outbound.allow_http,
        pairing_code: body.pairing_code,
        magento_base_url: body.magento_base_url,
    };
    // Run to the end even if the operator's connection drops: once the store may hold the new key,
    // recording what happened must not be cut short.
    let task_state = state.clone();
    let result = tokio::spawn(async move {
        let s = &task_state;
        pairing::pair_store(&s.pool, &s.keyring, &s.outbound.clients, input).await
    })
    .await
    .map_err(|e| ApiError::Internal(Box::new(e)))?;
    match result {
        Ok(paired) => {
            state.forget_keys(paired.tenant_id);
            let out = Paired {
                tenant_id: paired.tenant_id,
                status: paired.status,
                rotated: paired.rotated,
                warning: paired.warning.map(|w| format!("paired, but {w}")),
            };
            Ok((StatusCode::CREATED, Json(out)))
        }
        Err(PairingError::Store(e)) => Err(e.into()),
        Err(e) => Err(pairing_problem(&e)),
    }
}

/// A failed pairing: 422 for what the merchant typed, 502 for what the store answered; the stable
/// `code` is also sent beside `type`.
fn pairing_problem(e: &PairingError) -> ApiError {
    let status = match e {
        PairingError::InvalidUrl | PairingError::EmptyCode | PairingError::CleartextLedgerUrl(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        PairingError::Pair(PairError::CodeRejected { .. } | PairError::BadRequest { .. } | PairError::Refused(_)) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        PairingError::PublicUrl | PairingError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        PairingError::Pair(_) | PairingError::Unconfirmed(_) => StatusCode::BAD_GATEWAY,
    };
    ApiError::Coded { status, code: e.code(), detail: e.to_string() }
}

#[utoipa::path(
    post,
    path = "/api/v1/stores/{tenant_id}/disconnect",
    tag = "stores",
    summary = "Revoke a store's binding from the ledger side",
    params(("tenant_id" = Uuid, Path, description = "The tenant (one Magento store)")),
    responses(
        (status = 204, description = "Revoked; the store's later webhooks answer 401"),
        (status = 401, description = "Missing or wrong operator bearer (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`internal`), logged with the request id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or the database is unavailable (`unavailable`); `Retry-After: 5`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])),
)]
pub async fn disconnect(
    _: Operator,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant: TenantId = tenant.parse().map_err(|_| ApiError::NotFound("no such tenant"))?;
    if !tenants::revoke(&state.pool, tenant).await? {
        return Err(ApiError::NotFound("no such tenant"));
    }
    state.forget_keys(tenant);
    tracing::info!(tenant_id = %tenant, "binding revoked by an operator");
    Ok(StatusCode::NO_CONTENT)
}

/// The URL Magento will call: `server.public_url`, else the scheme and host this request came in on
/// (honouring `X-Forwarded-Proto`/`X-Forwarded-Host` from a TLS-terminating proxy), else the bound address.
pub fn ledger_base_url(state: &AppState, headers: &HeaderMap) -> String {
    derive_base_url(state.outbound.public_url.as_deref(), &state.outbound.bind_url, headers)
}

fn derive_base_url(public_url: Option<&str>, bind_url: &str, headers: &HeaderMap) -> String {
    if let Some(url) = public_url {
        return url.to_owned();
    }
    let get = |name: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
    };
    let host = get("x-forwarded-host").or_else(|| get("host")).filter(|h| !h.is_empty());
    match host {
        Some(host) => {
            let proto =
                get("x-forwarded-proto").filter(|p| p == "https" || p == "http").unwrap_or_else(|| "http".into());
            format!("{proto}://{host}")
        }
        None => bind_url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_url_magento_calls() {
        let bind = "http://127.0.0.1:8080";
        assert_eq!(
            derive_base_url(Some("https://ledger.example"), bind, &headers(&[("host", "x")])),
            "https://ledger.example"
        );
        assert_eq!(derive_base_url(None, bind, &headers(&[])), bind);
        assert_eq!(
            derive_base_url(None, bind, &headers(&[("host", "ledger.internal:8080")])),
            "http://ledger.internal:8080"
        );
        let proxied = headers(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "ledger.example"),
        ]);
        assert_eq!(derive_base_url(None, bind, &proxied), "https://ledger.example");
        let odd = headers(&[("host", "ledger.example"), ("x-forwarded-proto", "gopher")]);
        assert_eq!(
            derive_base_url(None, bind, &odd),
            "http://ledger.example",
            "only http or https is taken from the proxy"
        );
    }
}

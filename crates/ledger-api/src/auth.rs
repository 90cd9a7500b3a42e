//! Verification of the JWTs the Magento module signs (spec §2.3). Signature and claims are checked in
//! memory; the single use of `jti` is recorded by the caller (inside the ingest transaction).
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use ledger_magento::{JwtError, OutboundClaims, verify_outbound};
use ledger_store::events::TokenUse;
use ledger_store::tenants::{self, ConnectionStatus};

use crate::state::CachedKeys;
use crate::{ApiError, AppState};

/// A Magento request whose token verified for `tenant`.
#[derive(Debug)]
pub struct VerifiedMagento {
    pub tenant: TenantId,
    pub token: TokenUse,
    /// Whether the binding is active (revoked bindings may still read the tile and disconnect).
    pub active: bool,
}

const UNAUTHORIZED: ApiError = ApiError::Unauthorized("invalid or expired token");

/// Verifies the bearer token. `path_tenant` is the tenant named by the URL, which the token's `sub` must
/// equal; without one (tile, disconnect) the tenant is the token's `sub`.
pub async fn verify(
    state: &AppState,
    headers: &HeaderMap,
    path_tenant: Option<&str>,
) -> Result<VerifiedMagento, ApiError> {
    let token = bearer(headers)?;
    let tenant_str = match path_tenant {
        Some(t) => t.to_owned(),
        None => unverified_subject(token).ok_or(UNAUTHORIZED)?,
    };
    let tenant: TenantId = tenant_str.parse().map_err(|_| ApiError::Unauthorized("unknown tenant"))?;
    let now = state.clock.now().timestamp();
    let skew = i64::try_from(state.config.jwt_skew.as_secs()).unwrap_or(5);
    let mut keys = state.tenant_keys(tenant, false).await?.ok_or(ApiError::Unauthorized("unknown tenant"))?;
    let (claims, key_version) = match verify_either(token, &keys, &tenant_str, now, skew) {
        Ok(verified) => verified,
        // The key may have been rotated (re-pairing, possibly through another process) since it was
        // cached: reload once and retry, so a rotation never costs the store a dead-lettered event.
        Err(JwtError::Signature) => {
            keys = state.tenant_keys(tenant, true).await?.ok_or(ApiError::Unauthorized("unknown tenant"))?;
            verify_either(token, &keys, &tenant_str, now, skew).map_err(reject)?
        }
        Err(e) => return Err(reject(e)),
    };
    // A pending key proves a pairing after any revoke (revoking drops pending keys).
    let active = keys.active || key_version != keys.key_version;
    if key_version != keys.key_version {
        promote(state, tenant, key_version).await;
    }
    let expires_at = DateTime::<Utc>::from_timestamp(claims.exp + skew, 0).ok_or(UNAUTHORIZED)?;
    Ok(VerifiedMagento { tenant, token: TokenUse { jti: claims.jti, expires_at, key_version }, active })
}

/// Verifies with the tenant's key, then with the key of an unconfirmed pairing; returns the claims
/// and the version of the key that verified.
fn verify_either(
    token: &str,
    keys: &CachedKeys,
    tenant: &str,
    now: i64,
    skew: i64,
) -> Result<(OutboundClaims, i32), JwtError> {
    match verify_outbound(token, &keys.keys.outbound, tenant, now, skew) {
        Err(JwtError::Signature) => match &keys.pending {
            Some((pending, version)) => Ok((verify_outbound(token, &pending.outbound, tenant, now, skew)?, *version)),
            None => Err(JwtError::Signature),
        },
        other => other.map(|claims| (claims, keys.key_version)),
    }
}

/// A token signed with a pairing's pending key proves the store holds it: it becomes the tenant's key.
/// A failure to record that costs nothing (both keys keep verifying, the next token tries again).
async fn promote(state: &AppState, tenant: TenantId, key_version: i32) {
    state.forget_keys(tenant);
    match tenants::promote_key(&state.pool, tenant, key_version, ConnectionStatus::Pending).await {
        Ok(true) => tracing::info!(tenant_id = %tenant, key_version, "the store's first token confirmed its new key"),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(tenant_id = %tenant, error = %e, "could not promote the confirmed key; both keys still verify");
        }
    }
}

fn reject(e: JwtError) -> ApiError {
    tracing::info!(reason = %e, "rejected a Magento token");
    match e {
        JwtError::Subject => ApiError::Unauthorized("token is for another tenant"),
        JwtError::Expired | JwtError::NotYetValid => ApiError::Unauthorized("token expired or not yet valid"),
        _ => UNAUTHORIZED,
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized("missing Authorization: Bearer token"))?
        .to_str()
        .map_err(|_| UNAUTHORIZED)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::Unauthorized("missing Authorization: Bearer token")),
    }
}

/// The `sub` claim before verification, only to pick the key to verify with.
fn unverified_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = B64.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("sub")?.as_str().map(str::to_owned)
}

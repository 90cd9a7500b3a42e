//! The `MagentoTenant` extractor: the request's bearer token verified as one the Magento module minted
//! (spec §2.3) for the tenant the URL names, or for the token's `sub` on routes without one. Signature
//! and claims are checked in memory against cached keys; the single use of `jti` is recorded by the
//! handler (inside the ingest transaction, or by [`MagentoTenant::consume`]).
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use ledger_magento::{JwtError, OutboundClaims, verify_outbound};
use ledger_store::events::{self, TokenUse};
use ledger_store::tenants::{self, ConnectionStatus};

use crate::keys::{CachedKeys, Reload};
use crate::{ApiError, AppState};

/// A Magento request whose token verified for `tenant`.
#[derive(Debug)]
pub struct MagentoTenant {
    pub tenant: TenantId,
    pub token: TokenUse,
    /// Whether the binding is active (revoked bindings may still read the tile and disconnect).
    pub active: bool,
}

const UNAUTHORIZED: ApiError = ApiError::Unauthorized("invalid or expired token");
const UNKNOWN_TENANT: ApiError = ApiError::Unauthorized("unknown tenant");

impl FromRequestParts<AppState> for MagentoTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let path_tenant = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|p| p.iter().find(|(k, _)| *k == "tenant_id").map(|(_, v)| v.to_owned()));
        let token = bearer(&parts.headers)?;
        let sub = ledger_magento::peek(token).and_then(|p| p.sub);
        // The URL's tenant when it names one (the token's `sub` must then equal it), else the `sub`.
        let named = match path_tenant {
            Some(t) => t,
            None => sub.ok_or(UNAUTHORIZED)?,
        };
        let tenant: TenantId = named.parse().map_err(|_| UNKNOWN_TENANT)?;
        // Only the parsed id is logged: the raw segment is attacker-chosen text.
        tracing::Span::current().record("tenant_id", tracing::field::display(tenant));
        verify(state, token, tenant, &named).await
    }
}

impl MagentoTenant {
    /// Records the token's single use outside ingest (tile, disconnect: revoked bindings may call).
    pub async fn consume(&self, state: &AppState) -> Result<(), ApiError> {
        if events::consume_token(&state.pool, self.tenant, &self.token, false).await? {
            Ok(())
        } else {
            Err(ApiError::Unauthorized("token already used"))
        }
    }
}

async fn verify(state: &AppState, token: &str, tenant: TenantId, named: &str) -> Result<MagentoTenant, ApiError> {
    let now = state.clock.now().timestamp();
    let skew = i64::try_from(state.config.jwt_skew.as_secs()).unwrap_or(5);
    let keys = state.keys.get(&state.pool, &state.keyring, tenant).await?.ok_or(UNKNOWN_TENANT)?;
    let (claims, keys, key_version) = match verify_either(token, &keys, named, now, skew) {
        Ok((claims, version)) => (claims, keys, version),
        // The key may have been rotated (re-pairing, possibly through another process) since it was
        // cached: reload, so a rotation never costs the store a dead-lettered event; but at most once
        // per tenant per interval, so bad tokens cannot turn into database load. A rotation that lands
        // within the interval after a flood's reload is still refused until the interval ends.
        Err(JwtError::Signature) => match state.keys.reload(&state.pool, &state.keyring, tenant).await? {
            Reload::Loaded(Some(keys)) => {
                let (claims, version) = verify_either(token, &keys, named, now, skew).map_err(reject)?;
                (claims, keys, version)
            }
            Reload::Loaded(None) => return Err(UNKNOWN_TENANT),
            Reload::Throttled => return Err(reject(JwtError::Signature)),
        },
        Err(e) => return Err(reject(e)),
    };
    // A pending key proves a pairing after any revoke (revoking drops pending keys).
    let active = keys.active || key_version != keys.key_version;
    if key_version != keys.key_version {
        promote(state, tenant, key_version).await;
    }
    let expires_at =
        claims.exp.checked_add(skew).and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)).ok_or(UNAUTHORIZED)?;
    Ok(MagentoTenant { tenant, token: TokenUse { jti: claims.jti, expires_at, key_version }, active })
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

//! Connect flows in progress: the OAuth `state` (stored as its SHA-256 only), bound to a tenant (and, when
//! started from the dashboard, to the merchant's session), with its PKCE verifier encrypted; single use
//! (consumed atomically) and short-lived.
use std::time::Duration;

use ledger_domain::TenantId;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::CryptoError;
use crate::{Keyring, StoreError};

/// How long a connect may take from the authorize URL to the callback.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

fn hash(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

pub(crate) fn context(state_hash: &[u8]) -> String {
    format!("oauth_state:{}:pkce_verifier", hex::encode(state_hash))
}

/// A connect flow to record.
#[derive(Debug)]
pub struct NewState<'a> {
    pub tenant: TenantId,
    pub provider: &'a str,
    pub state: &'a SecretString,
    pub pkce_verifier: &'a SecretString,
    pub redirect_uri: &'a str,
    /// Expiry from now (database time).
    pub ttl: Duration,
    /// The SHA-256 of the dashboard session that started the flow; the callback must come with it.
    pub session_hash: Option<&'a [u8]>,
}

/// Records a new flow.
pub async fn insert(pool: &PgPool, keyring: &Keyring, new: &NewState<'_>) -> Result<(), StoreError> {
    let state_hash = hash(new.state.expose_secret());
    let enc = keyring.encrypt(new.pkce_verifier.expose_secret().as_bytes(), &context(&state_hash));
    // Flows abandoned long ago go at the same time; a day keeps replays of recent ones recognisable.
    sqlx::query("DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'").execute(pool).await?;
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, tenant_id, provider, pkce_verifier_enc, redirect_uri, expires_at,
                                   session_hash)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7)",
    )
    .bind(&state_hash)
    .bind(new.tenant.0)
    .bind(new.provider)
    .bind(enc)
    .bind(new.redirect_uri)
    .bind(new.ttl.as_secs_f64())
    .bind(new.session_hash)
    .execute(pool)
    .await
    .map_err(|e| crate::error::on_constraint(e, "oauth_states_pkey", StoreError::Conflict("state already in use")))?;
    Ok(())
}

/// A consumed flow: whose it was and what the token exchange needs.
#[derive(Debug)]
pub struct ConsumedState {
    pub tenant: TenantId,
    pub provider: String,
    pub pkce_verifier: SecretString,
    pub redirect_uri: String,
    /// The dashboard session the flow is bound to, if it was started from the dashboard.
    pub session_hash: Option<Vec<u8>>,
}

/// The outcome of presenting a `state`.
#[derive(Debug)]
pub enum Consumed {
    /// First use, in time: the flow may complete.
    Valid(ConsumedState),
    /// Never issued (or purged long ago).
    Unknown,
    /// Already used: a replay.
    Used,
    Expired,
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Uuid,
    provider: String,
    pkce_verifier_enc: Vec<u8>,
    redirect_uri: String,
    session_hash: Option<Vec<u8>>,
}

/// Uses `state` up: one statement marks it used only if unused and unexpired, so of two concurrent
/// callbacks exactly one gets `Valid`.
pub async fn consume(pool: &PgPool, keyring: &Keyring, state: &str) -> Result<Consumed, StoreError> {
    let state_hash = hash(state);
    let row = sqlx::query_as::<_, Row>(
        "UPDATE oauth_states SET used_at = now()
          WHERE state_hash = $1 AND used_at IS NULL AND expires_at > now()
      RETURNING tenant_id, provider, pkce_verifier_enc, redirect_uri, session_hash",
    )
    .bind(&state_hash)
    .fetch_optional(pool)
    .await?;
    if let Some(r) = row {
        let plain = keyring.decrypt(&r.pkce_verifier_enc, &context(&state_hash))?;
        let verifier = String::from_utf8(plain).map_err(|_| CryptoError::Malformed)?;
        return Ok(Consumed::Valid(ConsumedState {
            tenant: TenantId(r.tenant_id),
            provider: r.provider,
            pkce_verifier: SecretString::from(verifier),
            redirect_uri: r.redirect_uri,
            session_hash: r.session_hash,
        }));
    }
    let seen: Option<(bool,)> = sqlx::query_as("SELECT used_at IS NOT NULL FROM oauth_states WHERE state_hash = $1")
        .bind(&state_hash)
        .fetch_optional(pool)
        .await?;
    Ok(match seen {
        None => Consumed::Unknown,
        Some((true,)) => Consumed::Used,
        Some((false,)) => Consumed::Expired,
    })
}

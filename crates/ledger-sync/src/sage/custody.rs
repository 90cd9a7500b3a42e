//! Token custody: each binding's access token served from a per-process cache and refreshed ahead of
//! expiry, once per lifetime across every process (Postgres row lock, re-read, compare-and-set commit).
//!
//! The refresh protocol, for one binding:
//! 1. A task whose cached token is due takes the binding's in-process mutex (siblings wait and reuse
//!    its result), then re-reads the stored pair: another process may have refreshed already.
//! 2. Still due: it locks the credentials row (`FOR UPDATE`, bounded wait) and re-reads under the lock.
//!    A moved `generation` means another process won; its pair is used and nothing is called.
//! 3. Otherwise it calls `/token` holding only that lock, writes the rotated pair and commits, and only
//!    then hands out the new access token. `invalid_grant` at this point is real: the binding becomes
//!    `reconnect_required`.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::TenantId;
use ledger_sage::auth::AccessTokens;
use ledger_sage::{OAuthClient, OAuthError, TokenError, TokenSet};
use ledger_store::credentials::{self, Credentials, StoredTokens, Unusable};
use ledger_store::{Keyring, PgPool, StoreError};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::hooks;

/// How custody times its refreshes.
#[derive(Debug, Clone)]
pub struct CustodyConfig {
    /// Refresh this long before the access token expires (`sage.refresh_ahead_secs`), capped at a fifth
    /// of the token's lifetime so short-lived tokens are still refreshed once per lifetime.
    pub refresh_ahead: Duration,
    /// How long a process waits for another one's refresh lock before giving up for now.
    pub lock_wait: Duration,
}

impl Default for CustodyConfig {
    fn default() -> Self {
        Self { refresh_ahead: Duration::from_secs(60), lock_wait: Duration::from_secs(20) }
    }
}

impl CustodyConfig {
    /// When a token issued at `issued` and expiring at `expires` should be replaced.
    pub fn refresh_at(&self, issued: DateTime<Utc>, expires: DateTime<Utc>) -> DateTime<Utc> {
        let lifetime = (expires - issued).max(chrono::Duration::zero());
        let ahead = chrono::Duration::from_std(self.refresh_ahead).unwrap_or(chrono::Duration::MAX).min(lifetime / 5);
        expires - ahead
    }
}

/// A decrypted access token held in memory, keyed by binding, valid for one generation.
struct Cached {
    generation: i64,
    access: SecretString,
    expires_at: DateTime<Utc>,
    refresh_at: DateTime<Utc>,
}

/// Token custody for every binding of this process. Build one per process and share it.
pub struct Custody {
    pool: PgPool,
    keyring: Arc<Keyring>,
    oauth: OAuthClient,
    config: CustodyConfig,
    cache: Mutex<HashMap<Uuid, Cached>>,
    flights: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    refreshes: AtomicU64,
}

impl std::fmt::Debug for Custody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Custody").field("config", &self.config).finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> TokenError {
    TokenError::Unavailable(e.to_string())
}

impl Custody {
    pub fn new(pool: PgPool, keyring: Arc<Keyring>, oauth: OAuthClient, config: CustodyConfig) -> Arc<Self> {
        Arc::new(Self {
            pool,
            keyring,
            oauth,
            config,
            cache: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            refreshes: AtomicU64::new(0),
        })
    }

    /// The [`AccessTokens`] of one binding, for the Sage client.
    pub fn tokens(self: &Arc<Self>, tenant: TenantId, binding_id: Uuid) -> BindingTokens {
        BindingTokens { custody: self.clone(), tenant, binding_id }
    }

    /// Refresh calls this process made at Sage (for benchmarks and tests).
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The cached access token of `binding_id` and its expiry, if one is cached.
    pub fn cached_expiry(&self, binding_id: Uuid) -> Option<DateTime<Utc>> {
        self.cache.lock().ok()?.get(&binding_id).map(|c| c.expires_at)
    }

    fn fresh(&self, binding_id: Uuid) -> Option<SecretString> {
        let cache = self.cache.lock().ok()?;
        let c = cache.get(&binding_id)?;
        (Utc::now() < c.refresh_at).then(|| c.access.clone())
    }

    fn remember(&self, creds: &Credentials) -> SecretString {
        let access = creds.tokens.access_token.clone();
        let entry = Cached {
            generation: creds.generation,
            access: access.clone(),
            expires_at: creds.tokens.access_expires_at,
            refresh_at: self.config.refresh_at(creds.refreshed_at, creds.tokens.access_expires_at),
        };
        if let Ok(mut cache) = self.cache.lock() {
            // Never replace a newer generation with an older one read by a slower task.
            if cache.get(&creds.binding_id).is_none_or(|c| c.generation <= creds.generation) {
                cache.insert(creds.binding_id, entry);
            }
        }
        access
    }

    fn forget(&self, binding_id: Uuid) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&binding_id);
        }
    }

    fn flight(&self, binding_id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        flights.entry(binding_id).or_default().clone()
    }

    /// A usable access token for the binding: from memory when not yet due, else refreshed.
    pub async fn access_token(&self, tenant: TenantId, binding_id: Uuid) -> Result<SecretString, TokenError> {
        if let Some(token) = self.fresh(binding_id) {
            return Ok(token);
        }
        let flight = self.flight(binding_id);
        let _one_at_a_time = flight.lock().await;
        if let Some(token) = self.fresh(binding_id) {
            return Ok(token);
        }
        let creds = self.load_active(tenant, binding_id).await?;
        if Utc::now() < self.config.refresh_at(creds.refreshed_at, creds.tokens.access_expires_at) {
            return Ok(self.remember(&creds));
        }
        self.refresh_locked(tenant, creds, false).await
    }

    /// Sage answered 401 to `rejected`: refresh once, unless the generation already moved past it.
    pub async fn after_unauthorized(
        &self,
        tenant: TenantId,
        binding_id: Uuid,
        rejected: &SecretString,
    ) -> Result<SecretString, TokenError> {
        let flight = self.flight(binding_id);
        let _one_at_a_time = flight.lock().await;
        let creds = self.load_active(tenant, binding_id).await?;
        if creds.tokens.access_token.expose_secret() != rejected.expose_secret() {
            return Ok(self.remember(&creds));
        }
        self.refresh_locked(tenant, creds, true).await
    }

    /// The stored pair of an active binding, or why there is none to use.
    async fn load_active(&self, tenant: TenantId, binding_id: Uuid) -> Result<Credentials, TokenError> {
        let status = credentials::binding_status(&self.pool, tenant, binding_id).await.map_err(unavailable)?;
        match status.as_deref() {
            Some("active") => {}
            Some("reconnect_required") => {
                self.forget(binding_id);
                return Err(TokenError::ReconnectRequired("the binding needs reconnecting".into()));
            }
            Some(other) => {
                self.forget(binding_id);
                return Err(TokenError::NotActive(other.to_owned()));
            }
            None => return Err(TokenError::NotActive("no such binding".into())),
        }
        credentials::load(&self.pool, &self.keyring, binding_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| TokenError::NotActive("no stored credentials".into()))
    }

    /// Steps 2 and 3 of the protocol. `force`: refresh even when not due (after a 401), unless the
    /// generation moved since `seen` was read.
    async fn refresh_locked(
        &self,
        tenant: TenantId,
        seen: Credentials,
        force: bool,
    ) -> Result<SecretString, TokenError> {
        let binding_id = seen.binding_id;
        let lock =
            match credentials::lock_for_refresh(&self.pool, &self.keyring, binding_id, self.config.lock_wait).await {
                Ok(Some(lock)) => lock,
                Ok(None) => {
                    self.forget(binding_id);
                    return Err(TokenError::NotActive("no stored credentials".into()));
                }
                Err(e) => return still_valid(&seen.tokens.access_token, seen.tokens.access_expires_at, e),
            };
        let current = lock.current();
        let due = Utc::now() >= self.config.refresh_at(current.refreshed_at, current.tokens.access_expires_at);
        if current.generation != seen.generation || !(due || force) {
            // Another process refreshed while we waited (or nothing is due): use its pair.
            let token = self.remember(current);
            lock.release().await.ok();
            return Ok(token);
        }
        hooks::pause("before_token");
        let answer = self.oauth.refresh(&current.tokens.refresh_token).await;
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let outcome = match &answer {
            Ok(_) => "ok",
            Err(OAuthError::InvalidGrant(_)) => "invalid_grant",
            Err(_) => "error",
        };
        metrics::counter!("ledger_token_refreshes_total", "outcome" => outcome).increment(1);
        match answer {
            Ok(set) => {
                let stored = stored_tokens(&set, Utc::now());
                hooks::pause("before_commit");
                let generation = match lock.commit(&self.keyring, &stored).await {
                    Ok(g) => g,
                    Err(e) => {
                        // Sage has rotated; the new pair is lost with this transaction (docs/sage-connection.md).
                        tracing::error!(%binding_id, error = %e, "Sage issued a new token pair that could not be stored");
                        self.forget(binding_id);
                        return Err(unavailable(e));
                    }
                };
                hooks::pause("after_commit");
                tracing::debug!(%binding_id, generation, "refreshed the Sage access token");
                let creds = Credentials { binding_id, tokens: stored, generation, refreshed_at: Utc::now() };
                Ok(self.remember(&creds))
            }
            Err(OAuthError::InvalidGrant(reason)) => {
                lock.release().await.ok();
                self.forget(binding_id);
                tracing::warn!(%binding_id, %tenant, reason = %reason, "Sage refused the refresh token: reconnect required");
                let why = format!("Sage refused the refresh token (invalid_grant): {reason}");
                credentials::mark_unusable(&self.pool, tenant, binding_id, Unusable::ReconnectRequired, &why)
                    .await
                    .map_err(unavailable)?;
                Err(TokenError::ReconnectRequired(why))
            }
            Err(e) => {
                let (access, expires) = (current.tokens.access_token.clone(), current.tokens.access_expires_at);
                lock.release().await.ok();
                tracing::warn!(%binding_id, error = %e, "refreshing the Sage access token failed");
                if force { Err(unavailable(e)) } else { still_valid(&access, expires, e) }
            }
        }
    }

    /// Sage answered 401 with `MSE` (subscription lapsed): the binding becomes `suspended`.
    pub async fn subscription_lapsed(
        &self,
        tenant: TenantId,
        binding_id: Uuid,
        message: &str,
    ) -> Result<(), StoreError> {
        self.forget(binding_id);
        let why = format!("Sage says the subscription lapsed: {message}");
        credentials::mark_unusable(&self.pool, tenant, binding_id, Unusable::Suspended, &why).await?;
        tracing::warn!(%binding_id, %tenant, "Sage subscription lapsed: binding suspended");
        Ok(())
    }

    /// Refreshes every active binding whose refresh token expires within `margin` (idle ones: a
    /// binding in use is refreshed every few minutes anyway). Returns how many were refreshed.
    pub async fn refresh_idle(&self, margin: chrono::Duration) -> Result<usize, StoreError> {
        let due = credentials::idle_before(&self.pool, Utc::now() + margin, 100).await?;
        let mut done = 0;
        for (tenant, binding_id) in due {
            match self.refresh_now(tenant, binding_id).await {
                Ok(()) => done += 1,
                Err(e) => tracing::warn!(%binding_id, %tenant, error = %e, "idle refresh failed"),
            }
        }
        Ok(done)
    }

    /// Refreshes a binding whether or not its access token is due (the idle refresher: keeps the
    /// refresh token inside Sage's 31 days).
    pub async fn refresh_now(&self, tenant: TenantId, binding_id: Uuid) -> Result<(), TokenError> {
        let flight = self.flight(binding_id);
        let _one_at_a_time = flight.lock().await;
        let creds = self.load_active(tenant, binding_id).await?;
        self.refresh_locked(tenant, creds, true).await.map(|_| ())
    }
}

/// A refresh could not happen now: the old access token serves while it has not expired.
fn still_valid(
    access: &SecretString,
    expires: DateTime<Utc>,
    why: impl std::fmt::Display,
) -> Result<SecretString, TokenError> {
    if Utc::now() + chrono::Duration::seconds(1) < expires { Ok(access.clone()) } else { Err(unavailable(why)) }
}

/// A token answer as stored: lifetimes turned into instants from `now` (the moment it arrived).
pub fn stored_tokens(set: &TokenSet, now: DateTime<Utc>) -> StoredTokens {
    let span = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    StoredTokens {
        access_token: set.access_token.clone(),
        access_expires_at: now + span(set.access_expires_in),
        refresh_token: set.refresh_token.clone(),
        refresh_expires_at: now + span(set.refresh_expires_in),
        scope: set.scope.clone(),
        requested_by_id: set.requested_by_id.clone(),
    }
}

/// One binding's tokens, as the Sage client sees them.
#[derive(Clone)]
pub struct BindingTokens {
    custody: Arc<Custody>,
    tenant: TenantId,
    binding_id: Uuid,
}

impl std::fmt::Debug for BindingTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BindingTokens").field("tenant", &self.tenant).field("binding_id", &self.binding_id).finish()
    }
}

impl BindingTokens {
    pub fn binding_id(&self) -> Uuid {
        self.binding_id
    }
}

type TokenFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<SecretString, TokenError>> + Send + 'a>>;

impl AccessTokens for BindingTokens {
    fn access_token(&self) -> TokenFuture<'_> {
        Box::pin(self.custody.access_token(self.tenant, self.binding_id))
    }

    fn after_unauthorized<'a>(&'a self, rejected: &'a SecretString) -> TokenFuture<'a> {
        Box::pin(self.custody.after_unauthorized(self.tenant, self.binding_id, rejected))
    }
}

//! Shared state of the API: the pool, the keyring, a cache of derived tenant keys, settings, the clock.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ledger_domain::{SharedClock, TenantId};
use ledger_magento::TenantKeys;
use ledger_store::{Keyring, PgPool, StoreError, tenants};
use ledger_sync::MagentoClients;
use ledger_sync::sage::connect::SageConnect;
use secrecy::SecretString;

#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Clock difference tolerated on Magento's tokens.
    pub jwt_skew: Duration,
    /// How long an `Idempotency-Key` answers duplicates with the original run.
    pub idempotency_window: Duration,
    /// Largest accepted webhook body.
    pub max_body_bytes: usize,
    /// Requests handled at once before the API sheds load with 503.
    pub max_in_flight: usize,
    /// Per-request deadline.
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            jwt_skew: Duration::from_secs(5),
            idempotency_window: Duration::from_secs(30 * 24 * 3600),
            max_body_bytes: 64 * 1024,
            max_in_flight: 512,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What `/health/ready` checks besides the database.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    /// The worker whose heartbeat must be fresh (processes running the worker role).
    pub worker_id: Option<String>,
    pub max_heartbeat_age: Duration,
}

/// How the ledger talks to stores and who may administer it.
#[derive(Clone)]
pub struct Outbound {
    /// Per-tenant Magento clients over the SSRF-guarded HTTP client.
    pub clients: MagentoClients,
    /// `server.public_url`, when configured; otherwise derived from the request (X-Forwarded-Proto/Host).
    pub public_url: Option<String>,
    /// The bound address, the last resort for the URL Magento calls.
    pub bind_url: String,
    /// A plain-http URL may be sent to stores when pairing (`outbound.allow_http` or `dev.simulators`);
    /// otherwise pairing requires https.
    pub allow_http: bool,
    /// Operator bearer tokens (`admin.tokens`).
    pub admin_tokens: Arc<Vec<SecretString>>,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub config: Arc<ApiConfig>,
    pub clock: SharedClock,
    pub readiness: Arc<Readiness>,
    pub outbound: Outbound,
    /// The Sage connect service; `None` in processes that do not offer the connect routes.
    pub sage: Option<Arc<SageConnect>>,
    keys: Arc<KeyCache>,
}

impl AppState {
    pub fn new(
        pool: PgPool,
        keyring: Arc<Keyring>,
        config: ApiConfig,
        clock: SharedClock,
        readiness: Readiness,
        outbound: Outbound,
    ) -> Self {
        Self {
            pool,
            keyring,
            config: Arc::new(config),
            clock,
            readiness: Arc::new(readiness),
            outbound,
            sage: None,
            keys: Arc::new(KeyCache::default()),
        }
    }

    /// Offers the Sage connect routes through `sage`.
    pub fn with_sage(mut self, sage: Arc<SageConnect>) -> Self {
        self.sage = Some(sage);
        self
    }

    /// The tenant's derived keys, from cache when fresh. `refresh` forces a reload (after a failed
    /// verification, in case the key was rotated since it was cached).
    pub async fn tenant_keys(&self, tenant: TenantId, refresh: bool) -> Result<Option<CachedKeys>, StoreError> {
        if !refresh && let Some(hit) = self.keys.get(tenant) {
            return Ok(Some(hit));
        }
        let Some(secret) = tenants::secret(&self.pool, &self.keyring, tenant).await? else {
            self.keys.forget(tenant);
            return Ok(None);
        };
        let derive = |key: &SecretString| Arc::new(TenantKeys::derive(secrecy::ExposeSecret::expose_secret(key)));
        let keys = CachedKeys {
            keys: derive(&secret.api_key),
            key_version: secret.key_version,
            pending: secret.pending.map(|p| (derive(&p.api_key), p.key_version)),
            active: secret.active,
            fetched: Instant::now(),
        };
        self.keys.put(tenant, keys.clone());
        Ok(Some(keys))
    }

    pub fn forget_keys(&self, tenant: TenantId) {
        self.keys.forget(tenant);
    }
}

#[derive(Clone, Debug)]
pub struct CachedKeys {
    pub keys: Arc<TenantKeys>,
    pub key_version: i32,
    /// The keys of an unconfirmed pairing and their version: tokens signed with them verify too.
    pub pending: Option<(Arc<TenantKeys>, i32)>,
    pub active: bool,
    fetched: Instant,
}

/// Derived keys are cheap to cache and safe to serve stale: the ingest transaction re-checks the key
/// version and the binding status, so a revoked or re-keyed tenant is refused whatever the cache says.
#[derive(Default)]
struct KeyCache {
    map: RwLock<HashMap<TenantId, CachedKeys>>,
}

const KEY_TTL: Duration = Duration::from_secs(60);

impl KeyCache {
    fn get(&self, tenant: TenantId) -> Option<CachedKeys> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(&tenant).filter(|k| k.fetched.elapsed() < KEY_TTL).cloned()
    }

    fn put(&self, tenant: TenantId, keys: CachedKeys) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(tenant, keys);
    }

    fn forget(&self, tenant: TenantId) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).remove(&tenant);
    }
}

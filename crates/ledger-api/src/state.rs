//! Shared state of the API: the pool, the keyring, the tenant key cache, settings, the clock.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ledger_domain::{SharedClock, TenantId};
use ledger_store::{Keyring, PgPool};
use ledger_sync::MagentoClients;
use ledger_sync::engine::SyncEngine;
use ledger_sync::sage::connect::SageConnect;

use crate::keys::{KeyCache, KeyCacheSettings};
use crate::operator::OperatorTokens;

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
    /// How tenant keys are cached and reloaded.
    pub key_cache: KeyCacheSettings,
    /// Who may call the operator routes (`admin.tokens`).
    pub operator_tokens: OperatorTokens,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            jwt_skew: Duration::from_secs(5),
            idempotency_window: Duration::from_secs(30 * 24 * 3600),
            max_body_bytes: 64 * 1024,
            max_in_flight: 512,
            request_timeout: Duration::from_secs(10),
            key_cache: KeyCacheSettings::default(),
            operator_tokens: OperatorTokens::default(),
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

/// Whether the process takes new webhooks. Closed when it starts shutting down: webhooks then answer
/// 503 (the module retries later, through another process or this one restarted) and `/health/ready`
/// answers 503, while everything else keeps serving until the listener closes.
#[derive(Debug, Default)]
pub struct Intake {
    closed: AtomicBool,
}

impl Intake {
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }
}

/// How the ledger talks to stores.
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
    /// The sync engine, for the policy routes; `None` where they are not offered.
    pub engine: Option<Arc<SyncEngine>>,
    /// Derived tenant keys; cheap to cache and safe to serve stale: the ingest transaction re-checks the
    /// key version and the binding status, so a revoked or re-keyed tenant is refused whatever it says.
    pub keys: Arc<KeyCache>,
    /// Closed at shutdown.
    pub intake: Arc<Intake>,
    /// Renders `/metrics`; `None` where no recorder is installed.
    pub metrics: Option<crate::MetricsRender>,
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
        let keys = Arc::new(KeyCache::new(config.key_cache.clone()));
        Self {
            pool,
            keyring,
            config: Arc::new(config),
            clock,
            readiness: Arc::new(readiness),
            outbound,
            sage: None,
            engine: None,
            keys,
            intake: Arc::new(Intake::default()),
            metrics: None,
        }
    }

    /// Serves `/metrics` through `render`.
    pub fn with_metrics(mut self, render: crate::MetricsRender) -> Self {
        self.metrics = Some(render);
        self
    }

    /// Offers the Sage connect routes through `sage`.
    pub fn with_sage(mut self, sage: Arc<SageConnect>) -> Self {
        self.sage = Some(sage);
        self
    }

    /// Offers the sync-policy routes through `engine`.
    pub fn with_engine(mut self, engine: Arc<SyncEngine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Drops the cached keys of `tenant` (after pairing, revocation or a refused token).
    pub fn forget_keys(&self, tenant: TenantId) {
        self.keys.forget(tenant);
    }
}

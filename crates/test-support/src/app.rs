//! `TestApp`: the API on 127.0.0.1:0 (real HTTP) and, optionally, the worker pool, over a `TestDb`.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ledger_api::{ApiConfig, AppState, OperatorTokens, Outbound, Readiness};
use ledger_domain::{RetryPolicy, SharedClock, TenantId};
use ledger_magento::{ApiKey, TenantKeys, mint_outbound};
use ledger_magento::{GuardedHttp, OutboundPolicy, TokioResolver};
use ledger_sage::oauth::{OAuthClient, OAuthConfig};
use ledger_sage::{SageConfig, SageHttp};
use ledger_store::{Keyring, tenants};
use ledger_sync::engine::{AccountingProvider, SyncEngine};
use ledger_sync::sage::connect::SageConnect;
use ledger_sync::sage::{BudgetConfig, Custody, CustodyConfig, PgCallGate};
use ledger_sync::{CallbackConfig, MagentoClients};
use ledger_worker::{EventProcessor, ReceiveOnly, WorkerConfig};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::TestDb;

pub struct TestAppOptions {
    pub worker: bool,
    pub api: ApiConfig,
    /// The ledger's clock (JWT times, token checks).
    pub clock: SharedClock,
    pub lease: Duration,
    /// What a claimed event becomes; the Sage mapping stands here in production.
    pub processor: Arc<dyn EventProcessor>,
    /// How event runs are retried.
    pub retry: RetryPolicy,
    pub callbacks: CallbackConfig,
    /// `outbound.allow_http`: pairing may send the store a plain-http ledger URL (tests run on loopback).
    pub allow_http: bool,
    /// `server.public_url`; `None` is the app's own `http://127.0.0.1:PORT`.
    pub public_url: Option<String>,
    /// The deadline of every call to a store.
    pub outbound_timeout: Duration,
    /// A sage-sim base URL: offer the Sage connect routes against it (its default client credentials).
    pub sage: Option<String>,
    /// Run the real sync engine (against `sage`) instead of `processor`.
    pub engine: bool,
    /// More routes served beside the API (the dashboard: `ledger_web::router`), built from the state.
    pub extra_routes: Option<ExtraRoutes>,
    /// The engine's Sage rate budgets (its `PgCallGate`).
    pub budget: BudgetConfig,
    /// Accounting providers besides Sage that the engine fans events out to (tests of the fan-out).
    pub providers: Vec<Arc<dyn AccountingProvider>>,
    /// Runs one tenant may have in flight (`worker.tenant_share`).
    pub tenant_share: i64,
    /// How often the worker's reconciler runs (a test may leave it out of the picture).
    pub reconcile_interval: Duration,
}

/// Builds routes to merge into the API's router from its state.
pub type ExtraRoutes = Arc<dyn Fn(AppState) -> axum::Router + Send + Sync>;

impl Default for TestAppOptions {
    fn default() -> Self {
        Self {
            worker: false,
            api: ApiConfig::default(),
            clock: ledger_domain::clock::system_clock(),
            lease: Duration::from_secs(30),
            processor: Arc::new(ReceiveOnly),
            retry: RetryPolicy::events(),
            callbacks: CallbackConfig {
                poll_interval: Duration::from_millis(50),
                retry: RetryPolicy {
                    base: Duration::from_millis(200),
                    cap: Duration::from_millis(800),
                    ..RetryPolicy::callbacks()
                },
                ..CallbackConfig::default()
            },
            allow_http: true,
            public_url: None,
            outbound_timeout: Duration::from_secs(5),
            sage: None,
            engine: false,
            extra_routes: None,
            budget: BudgetConfig::default(),
            providers: Vec::new(),
            tenant_share: 4,
            reconcile_interval: Duration::from_millis(200),
        }
    }
}

/// The operator token every `TestApp` accepts.
pub const OPERATOR_TOKEN: &str = "test-operator-token";

pub struct TestApp {
    pub db: TestDb,
    pub addr: SocketAddr,
    pub base_url: String,
    pub keyring: Arc<Keyring>,
    /// The keyring's one key (id `t1`), for `ledger` processes on the same database:
    /// `LEDGER_CRYPTO__KEYS__T1`.
    pub secret_key: secrecy::SecretString,
    pub state: AppState,
    pub http: reqwest::Client,
    /// The sync engine the worker runs, when `TestAppOptions::engine` asked for it.
    pub engine: Option<SyncEngine>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A tenant created for a test, with its clear api_key.
#[derive(Clone, Debug)]
pub struct TestTenant {
    pub id: TenantId,
    pub api_key: ApiKey,
}

impl TestTenant {
    pub fn keys(&self) -> TenantKeys {
        self.api_key.derive()
    }

    /// A token as the Magento module mints it, issued now.
    pub fn token(&self) -> String {
        self.token_at(chrono::Utc::now().timestamp())
    }

    pub fn token_at(&self, iat: i64) -> String {
        mint_outbound(&self.keys().outbound, &self.id.to_string(), iat, &uuid::Uuid::new_v4().to_string())
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestAppOptions::default()).await
    }

    pub async fn spawn_with(opts: TestAppOptions) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDb::new().await;
        let secret_key = Keyring::generate_key();
        let keys = BTreeMap::from([("t1".to_owned(), secret_key.clone())]);
        let keyring = Arc::new(Keyring::new(&keys, None).expect("test keyring"));
        let shutdown = CancellationToken::new();
        let worker_id = format!("test-worker-{}", uuid::Uuid::new_v4().simple());
        let readiness =
            Readiness { worker_id: opts.worker.then(|| worker_id.clone()), max_heartbeat_age: Duration::from_secs(30) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Tests talk to simulators on loopback over plain http; production refuses both.
        let policy = OutboundPolicy {
            allow_http: true,
            allow_cidrs: vec!["127.0.0.0/8".parse().expect("cidr")],
            timeout: opts.outbound_timeout,
            ..OutboundPolicy::default()
        };
        let http = GuardedHttp::new(policy, Arc::new(TokioResolver)).expect("guarded http");
        let clients = MagentoClients::new(db.pool.clone(), keyring.clone(), http, opts.clock.clone());
        let outbound = Outbound {
            clients: clients.clone(),
            public_url: Some(opts.public_url.unwrap_or_else(|| format!("http://{addr}"))),
            bind_url: format!("http://{addr}"),
            allow_http: opts.allow_http,
        };
        let api = ApiConfig {
            operator_tokens: OperatorTokens::new(vec![SecretString::from(OPERATOR_TOKEN)]).expect("operator token"),
            ..opts.api
        };
        let mut state = AppState::new(db.pool.clone(), keyring.clone(), api, opts.clock, readiness, outbound);
        if let Some(base) = &opts.sage {
            state = state.with_sage(Arc::new(sage_connect(&db.pool, keyring.clone(), base, &format!("http://{addr}"))));
        }
        let engine = match (&opts.sage, opts.engine) {
            (Some(base), true) => {
                let (oauth, http) = sim_oauth(base, &format!("http://{addr}"));
                let custody = Custody::new(db.pool.clone(), keyring.clone(), oauth, CustodyConfig::default());
                let api = url::Url::parse(&format!("{base}/v3.1")).expect("sim api url");
                let sage = SageHttp::with_client(http, &SageConfig::new(api));
                // Every engine test runs through the Postgres-backed rate budgets, as `serve` does.
                let gate = PgCallGate::new(db.pool.clone(), opts.budget.clone(), ledger_domain::clock::system_clock());
                let engine = SyncEngine::new(db.pool.clone(), clients.clone(), sage, custody, Arc::new(gate));
                Some(opts.providers.iter().cloned().fold(engine, SyncEngine::with_provider))
            }
            (None, true) => panic!("the sync engine needs a sage-sim (TestAppOptions::sage)"),
            (_, false) => None,
        };
        if let Some(engine) = &engine {
            state = state.with_engine(Arc::new(engine.clone()));
        }
        let mut app = ledger_api::router(state.clone());
        if let Some(extra) = &opts.extra_routes {
            app = app.merge(extra(state.clone()));
        }
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let stop = shutdown.clone();
        let mut tasks = vec![tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await;
        })];
        if opts.worker {
            let config = WorkerConfig {
                lease: opts.lease,
                reconcile_interval: opts.reconcile_interval,
                tenant_share: opts.tenant_share,
                heartbeat_interval: Duration::from_millis(500),
                concurrency: 4,
                retry: opts.retry,
                callbacks: opts.callbacks,
                ..WorkerConfig::new(worker_id)
            };
            let processor = match &engine {
                Some(engine) => Arc::new(engine.clone()) as Arc<dyn EventProcessor>,
                None => opts.processor,
            };
            let (pool, stop) = (db.pool.clone(), shutdown.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = ledger_worker::run(pool, config, processor, clients, stop).await {
                    tracing::error!(error = %e, "test worker stopped");
                }
            }));
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Self { db, addr, base_url: format!("http://{addr}"), keyring, secret_key, state, http, engine, shutdown, tasks }
    }

    pub async fn create_tenant(&self, name: &str) -> TestTenant {
        let api_key = ApiKey::generate();
        let id = TenantId::new();
        tenants::create(&self.db.pool, &self.keyring, id, name, &SecretString::from(api_key.expose()))
            .await
            .expect("create tenant");
        TestTenant { id, api_key }
    }

    /// Posts `body` as event `event` for `tenant` the way the module does, with a fresh token.
    pub async fn post_event(&self, tenant: &TestTenant, event: &str, key: &str, body: &str) -> reqwest::Response {
        self.post_event_with_token(&tenant.id.to_string(), event, key, body, &tenant.token()).await
    }

    pub async fn post_event_with_token(
        &self,
        path_tenant: &str,
        event: &str,
        key: &str,
        body: &str,
        token: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/webhooks/magento/{path_tenant}/{event}", self.base_url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_owned())
            .send()
            .await
            .expect("send")
    }

    /// Rows in `table` (events, jwt_replay, …) — for "nothing stored" assertions.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&self.db.pool).await.expect("count")
    }

    /// apalis tasks on the event queue.
    pub async fn task_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE job_type = $1")
            .bind(ledger_store::EVENT_QUEUE)
            .fetch_one(&self.db.pool)
            .await
            .expect("count tasks")
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A valid envelope for `entity`.
pub fn envelope(entity: u64) -> String {
    format!(
        r#"{{"magento_entity_id":{entity},"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{{"increment_id":"{entity:09}","paid":false}}}}"#
    )
}

impl TestApp {
    /// `GET /v1/tile/health` as the module's admin tile calls it, with a fresh token of `tenant`.
    pub async fn tile(&self, tenant: &TestTenant) -> reqwest::Response {
        self.http
            .get(format!("{}/v1/tile/health", self.base_url))
            .bearer_auth(tenant.token())
            .header("accept", "application/json")
            .send()
            .await
            .expect("send")
    }

    /// `POST /api/v1/stores/pair` as an operator.
    pub async fn pair(&self, code: &str, magento_base_url: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/stores/pair", self.base_url))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&serde_json::json!({ "pairing_code": code, "magento_base_url": magento_base_url }))
            .send()
            .await
            .expect("send")
    }
}

/// The Sage connect service against sage-sim at `sim_base`, for a ledger at `ledger_base`.
pub fn sage_connect(
    pool: &ledger_store::PgPool,
    keyring: Arc<Keyring>,
    sim_base: &str,
    ledger_base: &str,
) -> SageConnect {
    let (oauth, http) = sim_oauth(sim_base, ledger_base);
    let api = url::Url::parse(&format!("{sim_base}/v3.1")).expect("sim url");
    SageConnect::new(pool.clone(), keyring, oauth, api, http, format!("{ledger_base}/oauth/sage/callback"), true)
}

/// The OAuth client of sage-sim's default app, and the HTTP client under it.
pub fn sim_oauth(sim_base: &str, ledger_base: &str) -> (OAuthClient, reqwest::Client) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("sage http client");
    let url = |path: &str| url::Url::parse(&format!("{sim_base}{path}")).expect("sim url");
    let oauth = OAuthClient::new(
        OAuthConfig {
            authorize_url: url("/oauth2/auth/central"),
            token_url: url("/token"),
            revoke_url: url("/revoke"),
            client_id: "sage-sim".into(),
            client_secret: SecretString::from("sage-sim-secret"),
            redirect_uri: url::Url::parse(&format!("{ledger_base}/oauth/sage/callback")).expect("redirect url"),
        },
        http.clone(),
    );
    (oauth, http)
}

//! Test harness: sage-sim on port 0, a token from its OAuth flow, a client with a recording gate and a
//! refreshing token source, and small control-surface helpers.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger_domain::SageBusinessId;
use ledger_sage::{
    AccessTokens, CallGate, CallKind, CallLog, CallObserver, CallRecord, GatePermit, GateRefusal, SageBusiness,
    SageClient, SageConfig, SageHttp, TokenError,
};
use sage_sim::{RunningSim, SimConfig, spawn};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Counts admissions and keeps every 429 the client reported.
#[derive(Default)]
pub struct RecordingGate {
    pub admitted: AtomicUsize,
    pub admitted_unscoped: AtomicUsize,
    pub throttled: Mutex<Vec<(String, Option<Duration>)>>,
}

type GateFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl CallGate for RecordingGate {
    fn admit<'a>(&'a self, _: &'a SageBusinessId, _: CallKind) -> GateFuture<'a, Result<GatePermit, GateRefusal>> {
        self.admitted.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(GatePermit::free()) })
    }

    fn admit_unscoped(&self, _: CallKind) -> GateFuture<'_, Result<GatePermit, GateRefusal>> {
        self.admitted_unscoped.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(GatePermit::free()) })
    }

    fn throttled<'a>(&'a self, business: &'a SageBusinessId, retry_after: Option<Duration>) -> GateFuture<'a, ()> {
        self.throttled.lock().unwrap().push((business.to_string(), retry_after));
        Box::pin(async {})
    }
}

/// Tokens from the simulator's `/token`, refreshed (rotating) when the client reports a 401.
pub struct SimTokens {
    http: reqwest::Client,
    token_url: String,
    pair: Mutex<(SecretString, SecretString)>,
    pub refreshes: AtomicUsize,
}

impl AccessTokens for SimTokens {
    fn access_token(&self) -> GateFuture<'_, Result<SecretString, TokenError>> {
        let token = self.pair.lock().unwrap().0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn after_unauthorized<'a>(&'a self, _: &'a SecretString) -> GateFuture<'a, Result<SecretString, TokenError>> {
        Box::pin(async move {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            let refresh = self.pair.lock().unwrap().1.expose_secret().to_owned();
            let form = [
                ("client_id", "sage-sim"),
                ("client_secret", "sage-sim-secret"),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ];
            let resp = self.http.post(&self.token_url).form(&form).send().await.unwrap();
            let body: Value = resp.json().await.unwrap();
            let Some(access) = body["access_token"].as_str() else {
                return Err(TokenError::ReconnectRequired(body.to_string()));
            };
            let pair = (SecretString::from(access), SecretString::from(body["refresh_token"].as_str().unwrap()));
            *self.pair.lock().unwrap() = pair;
            Ok(SecretString::from(access))
        })
    }
}

pub struct Sim {
    /// Kept so the simulator lives as long as the harness.
    _sim: RunningSim,
    pub http: reqwest::Client,
    pub base: String,
    pub tokens: Arc<SimTokens>,
    pub gate: Arc<RecordingGate>,
    pub log: CallLog,
    pub conformance: Arc<Conformance>,
    pub client: SageClient,
    pub plus: SageBusinessId,
    pub standard: SageBusinessId,
    pub start: SageBusinessId,
}

pub fn sim_config() -> SimConfig {
    SimConfig { auto_approve: true, ..SimConfig::default() }
}

impl Sim {
    pub async fn start() -> Self {
        Self::with(sim_config(), Duration::from_secs(10)).await
    }

    pub async fn with(config: SimConfig, timeout: Duration) -> Self {
        let sim = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = sim.base_url();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let q = [("client_id", "sage-sim"), ("response_type", "code"), ("redirect_uri", REDIRECT), ("state", "s")];
        let resp = http.get(format!("{base}/oauth2/auth/central")).query(&q).send().await.unwrap();
        let loc = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        let code = loc.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
        let form = [
            ("client_id", "sage-sim"),
            ("client_secret", "sage-sim-secret"),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        let tok: Value = http.post(format!("{base}/token")).form(&form).send().await.unwrap().json().await.unwrap();
        let tokens = Arc::new(SimTokens {
            http: http.clone(),
            token_url: format!("{base}/token"),
            pair: Mutex::new((
                SecretString::from(tok["access_token"].as_str().unwrap()),
                SecretString::from(tok["refresh_token"].as_str().unwrap()),
            )),
            refreshes: AtomicUsize::new(0),
        });
        let state: Value = http.get(format!("{base}/_sim/state")).send().await.unwrap().json().await.unwrap();
        let by_tier = |t: &str| {
            let b = state["businesses"].as_array().unwrap().iter().find(|b| b["tier"] == t).unwrap();
            SageBusinessId::parse(b["id"].as_str().unwrap()).unwrap()
        };
        let mut config = SageConfig::new(format!("{base}/v3.1").parse().unwrap());
        config.timeout = timeout;
        let gate = Arc::new(RecordingGate::default());
        let conformance = Arc::new(Conformance::default());
        let log = conformance.log.clone();
        let client = SageClient::new(SageHttp::new(&config).unwrap(), tokens.clone(), gate.clone())
            .observed(conformance.clone());
        Self {
            plus: by_tier("Plus"),
            standard: by_tier("Standard"),
            start: by_tier("Start"),
            _sim: sim,
            http,
            base,
            tokens,
            gate,
            log,
            conformance,
            client,
        }
    }

    pub fn plus(&self) -> SageBusiness {
        self.client.business(self.plus.clone())
    }

    pub fn access_token(&self) -> String {
        self.tokens.pair.lock().unwrap().0.expose_secret().to_owned()
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}/_sim{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "control {path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    pub async fn faults(&self, profile: Value) {
        self.control(reqwest::Method::PUT, "/faults", Some(profile)).await;
    }

    pub async fn auth(&self, action: &str, business: Option<&SageBusinessId>) {
        let body = json!({"action": action, "business": business.map(|b| b.to_string())});
        self.control(reqwest::Method::POST, "/auth", Some(body)).await;
    }

    /// Every record of `kind` the simulator holds for `business`.
    pub async fn records(&self, business: &SageBusinessId, kind: &str) -> Vec<Value> {
        let v = self.control(reqwest::Method::GET, &format!("/records?business={business}&type={kind}"), None).await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// A test that sends a body Sage's schema refuses on purpose takes its violations here.
    pub fn expect_nonconformant(&self) -> Vec<String> {
        self.conformance.take()
    }

    pub async fn duplicates(&self) -> Value {
        self.control(reqwest::Method::GET, "/duplicates", None).await
    }
}

/// Records every call, and checks every request body the client sends against Sage's published schema
/// (`sage_sim::conformance`); a test that sends an invalid body on purpose says so first.
#[derive(Default)]
pub struct Conformance {
    pub log: CallLog,
    violations: Mutex<Vec<String>>,
}

impl CallObserver for Conformance {
    fn record(&self, call: CallRecord) {
        if let Some(body) = &call.request_body {
            let found = match sage_sim::conformance::check_request(&call.method, &call.path, body) {
                Ok(violations) => violations.iter().map(|v| format!("{} {}: {v}", call.method, call.path)).collect(),
                Err(e) => vec![format!("{} {}: {e}", call.method, call.path)],
            };
            self.violations.lock().unwrap().extend(found);
        }
        self.log.record(call);
    }
}

impl Conformance {
    /// The violations so far, leaving none.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.violations.lock().unwrap())
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let violations = self.conformance.take();
        if !std::thread::panicking() {
            assert!(violations.is_empty(), "request bodies outside Sage's schema: {violations:#?}");
        }
    }
}

//! One simulated store: its state behind a lock, pairing, inbound JWT auth with replay cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::config::{DEFAULT_BASE_URL, SimConfig};
use crate::error::MagentoError;
use crate::generate::generate;
use crate::jwt::{self, JwtError};
use crate::mirror::Mirror;
use crate::outbox::{Outbox, Status};
use crate::scenario::ScenarioState;

/// Provider key of the Sage module (mirror rows, observers).
pub const SAGE: &str = "sage_accounting";
/// Providers with a pair route: (provider key, config section).
pub const PROVIDERS: [(&str, &str); 3] =
    [(SAGE, "sage_accounting"), ("xero", "xero_accounting"), ("freeagent", "freeagent_accounting")];
/// Pairing-code lifetime in (unscaled) seconds; a code exactly this old is still accepted.
pub const PAIRING_TTL_S: f64 = 1_800.0;
const INVALID_CODE: &str = "Invalid or expired pairing code.";

/// The client config (`byte8/client/*`).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub tenant_id: Option<String>,
    pub api_key: Option<String>,
    pub base_url: String,
}

impl Credentials {
    /// (tenant, api_key, base) when paired.
    pub fn paired(&self) -> Option<(String, String, String)> {
        match (&self.tenant_id, &self.api_key) {
            (Some(t), Some(k)) => Some((t.clone(), k.clone(), self.base_url.clone())),
            _ => None,
        }
    }
}

/// A pending pairing code: only its SHA-256 is kept.
#[derive(Debug, Clone)]
pub struct PendingCode {
    pub hash: String,
    pub issued_at: DateTime<Utc>,
}

/// Everything the store's database and config would hold.
#[derive(Debug)]
pub struct StoreState {
    pub catalog: Catalog,
    pub rng: StdRng,
    pub pairing: HashMap<String, PendingCode>,
    pub creds: Credentials,
    pub outbox: Outbox,
    pub mirror: Mirror,
    jti: HashMap<[u8; 20], i64>,
    jti_swept_at: i64,
}

impl StoreState {
    fn fresh(seed: u64) -> Self {
        Self {
            catalog: generate(seed),
            rng: StdRng::seed_from_u64(seed ^ 0x5eed),
            pairing: HashMap::new(),
            creds: Credentials { tenant_id: None, api_key: None, base_url: DEFAULT_BASE_URL.to_owned() },
            outbox: Outbox::default(),
            mirror: Mirror::default(),
            jti: HashMap::new(),
            jti_swept_at: 0,
        }
    }
}

/// One store: state, settings and the shared outbound HTTP client.
#[derive(Debug)]
pub struct Store {
    number: usize,
    seed: u64,
    pub(crate) config: Arc<SimConfig>,
    state: Mutex<StoreState>,
    pub(crate) down: AtomicBool,
    pub(crate) drain_lock: tokio::sync::Mutex<()>,
    pub(crate) http: reqwest::Client,
    pub(crate) scenario: Mutex<ScenarioState>,
}

impl Store {
    /// A freshly seeded store.
    pub fn new(number: usize, seed: u64, config: Arc<SimConfig>, http: reqwest::Client) -> Self {
        Self {
            number,
            seed,
            config,
            state: Mutex::new(StoreState::fresh(seed)),
            down: AtomicBool::new(false),
            drain_lock: tokio::sync::Mutex::new(()),
            http,
            scenario: Mutex::new(ScenarioState::default()),
        }
    }

    /// Store number (1-based).
    pub fn number(&self) -> usize {
        self.number
    }

    /// The seed this store was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Locks the state (a poisoned lock is recovered: state stays usable after a panic).
    pub fn lock(&self) -> MutexGuard<'_, StoreState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Current time on the store's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    /// Whether down mode is on.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Turns down mode on or off.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }

    /// Back to the seed: entities, credentials, outbox, mirror and caches all reset.
    pub fn reset(&self) {
        *self.lock() = StoreState::fresh(self.seed);
        self.set_down(false);
    }

    /// What the admin "Generate pairing code" button does: 32 lowercase hex, hash kept.
    pub fn generate_pairing_code(&self, provider: &str) -> Result<String, MagentoError> {
        if !PROVIDERS.iter().any(|(p, _)| *p == provider) {
            return Err(MagentoError::new(StatusCode::BAD_REQUEST, format!("Unknown provider {provider}.")));
        }
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let code = hex::encode(bytes);
        let pending = PendingCode { hash: hex::encode(Sha256::digest(code.as_bytes())), issued_at: self.now() };
        self.lock().pairing.insert(provider.to_owned(), pending);
        Ok(code)
    }

    /// The anonymous pair call (spec 4.2).
    pub fn pair(&self, provider: &str, body: &Value) -> Result<(), MagentoError> {
        let fields = [
            ("pairing_code", "pairingCode"),
            ("tenant_id", "tenantId"),
            ("byte8_api_key", "byte8ApiKey"),
            ("ledger_base_url", "ledgerBaseUrl"),
        ];
        let mut values = Vec::with_capacity(4);
        for (snake, camel) in fields {
            let v = body.get(snake).or_else(|| body.get(camel));
            let s = match v {
                None | Some(Value::Null) => return Err(MagentoError::required(snake)),
                Some(Value::String(s)) => s.trim().to_owned(),
                Some(Value::Number(n)) => n.to_string(),
                Some(_) => {
                    return Err(MagentoError::new(
                        StatusCode::BAD_REQUEST,
                        format!("The \"{snake}\" value's type is invalid."),
                    ));
                }
            };
            values.push(s);
        }
        let [code, tenant, api_key, base] =
            <[String; 4]>::try_from(values).map_err(|_| MagentoError::required("pairing_code"))?;
        if [&code, &tenant, &api_key, &base].iter().any(|s| s.is_empty()) {
            return Err(MagentoError::new(
                StatusCode::BAD_REQUEST,
                "pairing_code, tenant_id, byte8_api_key and ledger_base_url are all required.",
            ));
        }
        let absolute = url::Url::parse(&base)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()));
        if !absolute {
            return Err(MagentoError::new(StatusCode::BAD_REQUEST, "ledger_base_url must be an absolute http(s) URL."));
        }
        let now = self.now();
        let scale = self.config.scale();
        let mut st = self.lock();
        let invalid = || MagentoError::new(StatusCode::UNAUTHORIZED, INVALID_CODE);
        let pending = st.pairing.get(provider).ok_or_else(invalid)?;
        let age_ms = (now - pending.issued_at).num_milliseconds().max(0) as f64;
        let scaled_age_s = (age_ms * scale / 1000.0).floor();
        let hash = hex::encode(Sha256::digest(code.as_bytes()));
        if scaled_age_s > PAIRING_TTL_S || !constant_eq(hash.as_bytes(), pending.hash.as_bytes()) {
            return Err(invalid());
        }
        st.pairing.remove(provider);
        st.creds = Credentials {
            tenant_id: Some(tenant),
            api_key: Some(api_key),
            base_url: base.trim_end_matches('/').to_owned(),
        };
        Ok(())
    }

    /// Verifies the request's ledger JWT (spec 2.2) and burns its `jti`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<(), JwtError> {
        if self.config.require_https {
            let https = headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"));
            if !https {
                return Err(JwtError::Missing);
            }
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(jwt::bearer)
            .ok_or(JwtError::Missing)?;
        let (tenant, key, _) = self.lock().creds.paired().ok_or(JwtError::NotPaired)?;
        let now = self.config.clock.unix();
        let verified = jwt::verify_inbound(token, &key, &tenant, now)?;
        let digest: [u8; 20] = Sha1::digest(verified.jti.as_bytes()).into();
        let mut st = self.lock();
        if st.jti_swept_at != now {
            st.jti.retain(|_, exp| *exp > now);
            st.jti_swept_at = now;
        }
        if st.jti.get(&digest).is_some_and(|exp| *exp > now) {
            return Err(JwtError::Replayed);
        }
        st.jti.insert(digest, verified.exp);
        Ok(())
    }

    /// The module's outbox rows, optionally filtered by status (`GET /_sim/outbox`).
    pub fn outbox_rows(&self, status: Option<Status>) -> Vec<crate::outbox::OutboxRow> {
        self.lock().outbox.rows(status)
    }

    /// The mirror table rows (`GET /_sim/sync-state`).
    pub fn sync_state_rows(&self) -> Vec<crate::mirror::MirrorRow> {
        self.lock().mirror.rows().to_vec()
    }

    /// `GET /_sim/state`.
    pub fn summary(&self) -> Value {
        let st = self.lock();
        json!({
            "store": self.number,
            "seed": self.seed,
            "paired": st.creds.paired().is_some(),
            "tenant_id": st.creds.tenant_id,
            "ledger_base_url": st.creds.base_url,
            "down": self.is_down(),
            "time_scale": self.config.scale(),
            "pending_pairing_codes": st.pairing.keys().collect::<Vec<_>>(),
            "counts": {
                "products": st.catalog.products.len(),
                "customers": st.catalog.customers.len(),
                "orders": st.catalog.orders.len(),
                "invoices": st.catalog.invoices.len(),
                "credit_memos": st.catalog.credit_memos.len(),
                "outbox_pending": st.outbox.count(Status::Pending),
                "outbox_succeeded": st.outbox.count(Status::Succeeded),
                "outbox_dead_lettered": st.outbox.count(Status::DeadLettered),
                "sync_state_rows": st.mirror.rows().len(),
            }
        })
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

//! Shared simulator state: the world of users and businesses, tokens, call log, faults and limits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::faults::FaultState;
use crate::model::{
    Allocation, BankAccount, Contact, Document, Item, LedgerAccount, Payment, StockMovement, Table, TaxRate, Tier,
};

/// A random 32-char lower-case hex id (Sage's GUID-without-hyphens style).
pub fn hex_id(rng: &mut impl Rng) -> String {
    format!("{:032x}", rng.r#gen::<u128>())
}

/// Lock a mutex, recovering from poisoning (a panicked handler must not wedge the simulator).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A stored idempotent response.
#[derive(Debug, Clone)]
pub struct IdemEntry {
    pub resource: &'static str,
    pub status: u16,
    pub body: Value,
    pub request: Value,
    pub stored_at: Instant,
}

/// One simulated business with all its data.
#[derive(Debug)]
pub struct Business {
    pub id: String,
    pub name: String,
    pub tier: Tier,
    pub multi_currency: bool,
    pub created_at: DateTime<Utc>,
    pub accounts_start_date: NaiveDate,
    pub lockdown_date: Option<NaiveDate>,
    pub tax_rates: Vec<TaxRate>,
    pub ledger_accounts: Vec<LedgerAccount>,
    pub bank_accounts: Vec<BankAccount>,
    pub currencies: Vec<(String, String)>,
    pub payment_methods: Vec<(String, String)>,
    /// Currency → `exchange_rate` in the configured direction.
    pub rates: Vec<(String, Decimal)>,
    pub invoice_prefix: String,
    pub credit_note_prefix: String,
    pub next_invoice: u64,
    pub next_credit_note: u64,
    pub contacts: Table<Contact>,
    pub invoices: Table<Document>,
    pub credit_notes: Table<Document>,
    pub payments: Table<Payment>,
    pub allocations: Table<Allocation>,
    pub products: Table<Item>,
    pub services: Table<Item>,
    pub stock_items: Table<Item>,
    pub stock_movements: Table<StockMovement>,
    /// `payment_on_account` id → payment id.
    pub poa_index: HashMap<String, String>,
    pub idempotency: HashMap<String, IdemEntry>,
    pub rng: StdRng,
    pub mse: bool,
    /// `None`: no role problem; `Some(areas)`: those areas denied (empty = every area).
    pub denied_areas: Option<Vec<String>>,
    /// Per-minute window for the optional per-business cap: (minute number, count).
    pub minute_window: (i64, u32),
}

impl Business {
    pub fn new_id(&mut self) -> String {
        hex_id(&mut self.rng)
    }
    pub fn tax_rate(&self, id: &str) -> Option<&TaxRate> {
        self.tax_rates.iter().find(|t| t.id == id)
    }
    pub fn ledger_account(&self, id: &str) -> Option<&LedgerAccount> {
        self.ledger_accounts.iter().find(|l| l.id == id)
    }
    pub fn bank_account(&self, id: &str) -> Option<&BankAccount> {
        self.bank_accounts.iter().find(|b| b.id == id)
    }
    pub fn has_currency(&self, id: &str) -> bool {
        self.currencies.iter().any(|(c, _)| c == id)
    }
    pub fn rate_for(&self, currency: &str) -> Option<Decimal> {
        self.rates.iter().find(|(c, _)| c == currency).map(|(_, r)| *r)
    }
    pub fn base_currency(&self) -> &'static str {
        "GBP"
    }
}

/// The Sage user the simulator signs in.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub uuid: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Businesses in order; the first is the lead.
    pub businesses: Vec<String>,
}

/// Users and businesses; replaced wholesale by `/_sim/reset`.
#[derive(Debug)]
pub struct World {
    pub user: User,
    pub businesses: HashMap<String, Arc<Mutex<Business>>>,
    pub order: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scope: String,
    pub challenge: Option<(String, String)>,
    pub expires: Instant,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub expires: Instant,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub expires: Instant,
    pub revoked: bool,
    /// When it was exchanged for a new pair (the grace window counts from here).
    pub rotated_at: Option<Instant>,
    /// Forced stale by `/_sim/auth` `stale_refresh`: rejected as if rotated, no grace.
    pub stale: bool,
}

#[derive(Debug, Default)]
pub struct AuthState {
    pub codes: HashMap<String, AuthCode>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
}

/// Per-app counters for the daily budget and concurrency cap, and the concurrency seen (`/_sim/concurrency`).
#[derive(Debug, Default)]
pub struct Limits {
    pub in_flight: AtomicUsize,
    /// The most requests ever in flight at once (since start or the last reset), refused ones included.
    pub peak: AtomicUsize,
    pub day: AtomicU64,
    pub day_count: AtomicU64,
    pub per_business: Mutex<HashMap<String, BusinessConcurrency>>,
}

/// Requests of one business in flight now and at most, all of them and creates (`POST` of a new record).
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct BusinessConcurrency {
    pub in_flight: usize,
    pub peak: usize,
    pub creates_in_flight: usize,
    pub creates_peak: usize,
}

impl Limits {
    /// Forgets the peaks (they restart from what is in flight now).
    pub fn reset_peaks(&self) {
        use std::sync::atomic::Ordering;
        self.peak.store(self.in_flight.load(Ordering::Acquire), Ordering::Release);
        for c in lock(&self.per_business).values_mut() {
            c.peak = c.in_flight;
            c.creates_peak = c.creates_in_flight;
        }
    }
}

/// Key of the call log: (method, route, status).
pub type CallKey = (String, String, u16);

/// Everything the server shares between requests.
#[derive(Debug)]
pub struct Sim {
    pub config: SimConfig,
    pub world: RwLock<World>,
    pub auth: Mutex<AuthState>,
    pub calls: Mutex<HashMap<CallKey, u64>>,
    pub faults: Mutex<FaultState>,
    pub limits: Limits,
    pub shutdown: CancellationToken,
}

impl Sim {
    pub fn new(config: SimConfig) -> Arc<Self> {
        let world = crate::seed::world(&config);
        let faults = FaultState::new(config.seed);
        Arc::new(Self {
            config,
            world: RwLock::new(world),
            auth: Mutex::new(AuthState::default()),
            calls: Mutex::new(HashMap::new()),
            faults: Mutex::new(faults),
            limits: Limits::default(),
            shutdown: CancellationToken::new(),
        })
    }

    /// Back to the seed: new world, no tokens, no calls, no faults.
    pub fn reset(&self) {
        let world = crate::seed::world(&self.config);
        *self.world.write().unwrap_or_else(std::sync::PoisonError::into_inner) = world;
        *lock(&self.auth) = AuthState::default();
        lock(&self.calls).clear();
        *lock(&self.faults) = FaultState::new(self.config.seed);
        self.limits.reset_peaks();
    }

    pub fn user(&self) -> User {
        self.world.read().unwrap_or_else(std::sync::PoisonError::into_inner).user.clone()
    }

    pub fn business(&self, id: &str) -> Option<Arc<Mutex<Business>>> {
        self.world.read().unwrap_or_else(std::sync::PoisonError::into_inner).businesses.get(id).cloned()
    }

    /// Run `f` with the business locked (never across an `.await`).
    pub fn with_business<T>(&self, id: &str, f: impl FnOnce(&mut Business) -> ApiResult<T>) -> ApiResult<T> {
        let biz = self.business(id).ok_or_else(ApiError::not_found)?;
        let mut guard = lock(&biz);
        f(&mut guard)
    }

    /// Every business, in seed order.
    pub fn businesses(&self) -> Vec<Arc<Mutex<Business>>> {
        let w = self.world.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        w.order.iter().filter_map(|id| w.businesses.get(id).cloned()).collect()
    }

    pub fn record_call(&self, method: &str, path: &str, status: u16) {
        *lock(&self.calls).entry((method.to_owned(), path.to_owned(), status)).or_insert(0) += 1;
    }
}

/// A seeded RNG for a sub-stream of the seed.
pub fn rng_for(seed: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(stream))
}

//! Scenario driver: realistic order flows at a chosen rate, fired through the same observers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::InvoiceState;
use crate::observers::EntityAction;
use crate::store::Store;
use crate::wire::iso_z;

/// `POST /_sim/scenario` body.
#[derive(Debug, Clone, Deserialize)]
pub struct ScenarioRequest {
    /// Actions per second.
    pub rate: f64,
    /// How long to run, in (real) seconds.
    pub duration_s: f64,
    /// Seed of the action mix (default: derived from the store seed).
    pub seed: Option<u64>,
}

/// Progress of the current (or last) scenario run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScenarioState {
    pub running: bool,
    pub rate: f64,
    pub duration_s: f64,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Actions performed so far.
    pub fired: u64,
    /// Actions the run will perform in total (rate × duration).
    pub planned: u64,
    /// Outbox rows the actions inserted.
    pub enqueued: u64,
    pub actions: BTreeMap<String, u64>,
    pub errors: u64,
    #[serde(skip)]
    run: u64,
    #[serde(skip)]
    handle: Option<tokio::task::AbortHandle>,
}

/// Picks the next realistic action given the store's current invoices.
fn pick(store: &Store, rng: &mut StdRng) -> EntityAction {
    let (open, paid, customers, products) = {
        let st = store.lock();
        let c = &st.catalog;
        let open: Vec<u64> = c.invoices.values().filter(|i| i.state == InvoiceState::Open).map(|i| i.id).collect();
        // Only invoices with something left to refund: Magento refuses a second full refund.
        let paid: Vec<u64> = c.invoices.keys().copied().filter(|&i| c.can_refund_invoice(i)).collect();
        let customers: Vec<u64> = c.customers.keys().copied().collect();
        let products: Vec<u64> = c.products.keys().copied().collect();
        (open, paid, customers, products)
    };
    let roll = rng.gen_range(0..100);
    let any = |v: &Vec<u64>, rng: &mut StdRng| (!v.is_empty()).then(|| v[rng.gen_range(0..v.len())]);
    match roll {
        35..=59 if !open.is_empty() => EntityAction::PayInvoice { invoice_id: any(&open, rng).unwrap_or(1) },
        60..=69 if !paid.is_empty() => {
            EntityAction::Refund { invoice_id: any(&paid, rng), order_id: None, adjustment_positive: None }
        }
        70..=84 => EntityAction::SaveCustomer {
            customer_id: if rng.gen_bool(0.5) { any(&customers, rng) } else { None },
            country: Some(["GB", "DE", "FR", "US", "AU"][rng.gen_range(0..5)].to_owned()),
            company: None,
            street: None,
            lastname: None,
        },
        85..=99 => EntityAction::SaveProduct {
            product_id: if rng.gen_bool(0.7) { any(&products, rng) } else { None },
            product_type: None,
            stock_qty: rng.gen_bool(0.5).then(|| rust_decimal::Decimal::from(rng.gen_range(0..100))),
        },
        _ => EntityAction::CreateInvoice {
            customer_id: None,
            guest: rng.gen_bool(0.25),
            market: Some(["uk", "eu", "world"][rng.gen_range(0..3)].to_owned()),
            email: None,
            paid: rng.gen_bool(0.3),
            free: false,
        },
    }
}

fn action_name(a: &EntityAction) -> &'static str {
    match a {
        EntityAction::CreateInvoice { .. } => "create_invoice",
        EntityAction::PayInvoice { .. } => "pay_invoice",
        EntityAction::Refund { .. } => "refund",
        EntityAction::SaveCustomer { .. } => "save_customer",
        EntityAction::SaveProduct { .. } => "save_product",
    }
}

fn enqueued_count(v: &Value) -> u64 {
    v.get("events")
        .and_then(Value::as_array)
        .map_or(0, |es| es.iter().filter(|e| e.get("enqueued") == Some(&Value::Bool(true))).count() as u64)
}

impl Store {
    /// Starts (or replaces) the scenario run.
    pub fn start_scenario(self: &Arc<Self>, req: ScenarioRequest) -> ScenarioState {
        let rate = if req.rate.is_finite() && req.rate > 0.0 { req.rate } else { 1.0 };
        let duration = if req.duration_s.is_finite() && req.duration_s > 0.0 { req.duration_s } else { 0.0 };
        let planned = (rate * duration).floor() as u64;
        let mut sc = self.scenario.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = sc.handle.take() {
            h.abort();
        }
        let run = sc.run + 1;
        *sc = ScenarioState {
            running: planned > 0,
            rate,
            duration_s: duration,
            started_at: Some(iso_z(self.now())),
            planned,
            run,
            ..ScenarioState::default()
        };
        let store = Arc::clone(self);
        let seed = req.seed.unwrap_or(self.seed() ^ run);
        let task = tokio::spawn(async move { store.run_scenario(run, rate, planned, seed).await });
        sc.handle = Some(task.abort_handle());
        sc.clone()
    }

    async fn run_scenario(self: Arc<Self>, run: u64, rate: f64, planned: u64, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let start = Instant::now();
        let mut fired = 0u64;
        while fired < planned {
            let due = ((start.elapsed().as_secs_f64() * rate).floor() as u64 + 1).min(planned);
            while fired < due {
                let action = pick(&self, &mut rng);
                let name = action_name(&action);
                let result = self.fire(action);
                fired += 1;
                let mut sc = self.scenario.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if sc.run != run {
                    return;
                }
                sc.fired = fired;
                *sc.actions.entry(name.to_owned()).or_default() += 1;
                match result {
                    Ok(v) => sc.enqueued += enqueued_count(&v),
                    Err(_) => sc.errors += 1,
                }
            }
            let next_at = Duration::from_secs_f64(fired as f64 / rate);
            let wait = next_at.saturating_sub(start.elapsed()).max(Duration::from_millis(1));
            tokio::time::sleep(wait).await;
        }
        let mut sc = self.scenario.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if sc.run == run {
            sc.running = false;
            sc.finished_at = Some(iso_z(self.now()));
        }
    }

    /// Stops the current run.
    pub fn stop_scenario(&self) -> ScenarioState {
        let mut sc = self.scenario.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = sc.handle.take() {
            h.abort();
        }
        if sc.running {
            sc.running = false;
            sc.finished_at = Some(iso_z(self.now()));
        }
        sc.clone()
    }

    /// Progress of the current (or last) run.
    pub fn scenario_progress(&self) -> ScenarioState {
        self.scenario.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

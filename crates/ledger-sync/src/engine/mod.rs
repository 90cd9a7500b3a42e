//! The sync engine behind the worker's `EventProcessor` seam: for each claimed event it finds the
//! tenant's bindings (or parks the work until there is one) and fans the event out to each binding's
//! [`AccountingProvider`]. Sage's fetches the canonical entity from the store, maps it under the
//! binding's policy, writes to Sage exactly once (cross-references, derived idempotency ids, lookups by
//! reference) and keeps the snapshot and every Sage call for the audit.
mod catalog;
mod choices;
mod contacts;
mod credit_notes;
mod demo;
mod failure;
mod invoices;
mod policy;
mod provider;
mod refdata;
mod run;

use std::sync::Arc;

use ledger_domain::{
    BindingStatus, CallbackErrorCode, ClaimedEvent, EventProcessor, ParkReason, RunFailure, RunOutcome, RunResult,
    SyncReport, SyncStatus,
};
use ledger_domain::{ErrorClass, processing::BoxFuture};
use ledger_sage::{CallGate, SageHttp};
use ledger_store::provider_outcomes::{self, ProviderOutcome};
use ledger_store::{PgPool, bindings, tenants};

use crate::MagentoClients;
use crate::sage::Custody;
use failure::store_failure;

pub use choices::{Choice, PolicyChoices};
pub use demo::DemoPolicyError;
pub use policy::PolicyError;
pub use provider::{AccountingProvider, SageAccounting};

/// What the engine needs from the rest of the process; cheap to clone pieces, built once at start-up.
/// Its Sage provider also serves the policy editor (choices, validation, the demo policy).
#[derive(Clone)]
pub struct SyncEngine {
    pool: PgPool,
    sage: Arc<SageAccounting>,
    /// Every provider an event can fan out to, Sage's first.
    providers: Vec<Arc<dyn AccountingProvider>>,
}

impl SyncEngine {
    pub fn new(
        pool: PgPool,
        magento: MagentoClients,
        sage: SageHttp,
        custody: Arc<Custody>,
        gate: Arc<dyn CallGate>,
    ) -> Self {
        let sage = Arc::new(SageAccounting::new(pool.clone(), magento, sage, custody, gate));
        Self { pool, providers: vec![sage.clone()], sage }
    }

    /// Adds a provider events fan out to, for the tenants that bind it (its `key` names the bindings;
    /// one key, one provider: a later one replaces an earlier one).
    pub fn with_provider(mut self, provider: Arc<dyn AccountingProvider>) -> Self {
        self.providers.retain(|p| p.key() != provider.key());
        self.providers.push(provider);
        self
    }

    fn provider(&self, key: &str) -> Option<&Arc<dyn AccountingProvider>> {
        self.providers.iter().find(|p| p.key() == key)
    }

    async fn run(&self, event: &ClaimedEvent) -> RunResult {
        let tenant = tenants::get(&self.pool, event.tenant_id)
            .await
            .map_err(store_failure)?
            .ok_or_else(|| RunFailure::internal("the event's tenant does not exist"))?;
        if !tenant.is_active() {
            return Err(RunFailure::new(ErrorClass::Auth, "the store is disconnected from the ledger"));
        }
        if tenant.paused_at.is_some() {
            return Err(parked(ParkReason::TenantPaused, "an operator paused this store's sync"));
        }
        let bound = bindings::for_tenant(&self.pool, event.tenant_id).await.map_err(store_failure)?;
        let mut results = Vec::new();
        for binding in bound {
            let Some(provider) = self.provider(&binding.provider) else { continue };
            let result = match binding.status {
                BindingStatus::Active => provider.sync(event, &tenant, &binding).await,
                BindingStatus::ReconnectRequired => Err(parked(
                    ParkReason::ReconnectRequired,
                    &format!("the {} connection needs reconnecting", label(&binding.provider)),
                )),
                BindingStatus::Suspended => Err(parked(
                    ParkReason::Suspended,
                    &format!("the {} subscription has lapsed", label(&binding.provider)),
                )),
                // Connecting (no business chosen yet) or disconnected: not a destination until connected.
                _ => continue,
            };
            results.push((binding, result));
        }
        if results.is_empty() {
            return Err(parked(ParkReason::SageNotConnected, "the store has no Sage connection yet"));
        }
        if results.len() == 1 && results[0].0.provider == bindings::SAGE {
            // One Sage binding, the common case: its outcome is the event's, reported as it always was.
            let (_, result) = results.remove(0);
            return result;
        }
        self.fan_in(event, results).await
    }

    /// The event's outcome from its bindings' (each kept for the finish to report to its provider's chip):
    /// a binding that must wait parks the event; else one that may succeed on a retry retries it; else a
    /// terminal failure fails it; else it is synced when any binding synced, skipped when all skipped.
    /// The event's row names the first synced binding's record (Sage's, when it synced). A binding that
    /// synced runs again with the event as a no-op (its cross-references), so waiting costs no records.
    async fn fan_in(&self, event: &ClaimedEvent, results: Vec<(bindings::Binding, RunResult)>) -> RunResult {
        let several = results.len() > 1;
        let outcomes: Vec<ProviderOutcome> =
            results.iter().filter_map(|(binding, result)| provider_outcome(binding, result)).collect();
        provider_outcomes::record(&self.pool, event.event_id, event.lease_token, &outcomes)
            .await
            .map_err(store_failure)?;
        let named = |binding: &bindings::Binding, mut f: RunFailure| {
            if several {
                f.message = format!("{}: {}", binding.provider, f.message);
            }
            f
        };
        let rank = |f: &RunFailure| match (f.park.is_some(), f.class.is_retryable()) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        };
        let mut failures: Vec<RunFailure> = Vec::new();
        let (mut synced, mut skipped) = (None, None);
        for (binding, result) in results {
            match result {
                Err(f) => failures.push(named(&binding, f)),
                Ok(o @ RunOutcome::Synced(_)) => {
                    synced.get_or_insert(o);
                }
                Ok(o) => {
                    skipped.get_or_insert(o);
                }
            }
        }
        if let Some(worst) = failures.into_iter().min_by_key(|f| rank(f)) {
            return Err(worst);
        }
        synced.or(skipped).ok_or_else(|| RunFailure::internal("no binding reported an outcome"))
    }
}

/// What a binding's result shows on its provider's chip; `None` while it waits (parked).
fn provider_outcome(binding: &bindings::Binding, result: &RunResult) -> Option<ProviderOutcome> {
    let (status, report, error_code) = match result {
        Ok(RunOutcome::Synced(report)) => (SyncStatus::Synced, report.clone(), None),
        Ok(RunOutcome::Skipped { reason, provider_entity_id, provider_reference }) => (
            SyncStatus::Skipped,
            SyncReport {
                skip_reason: Some(reason.clone()),
                provider_entity_id: provider_entity_id.clone(),
                provider_reference: provider_reference.clone(),
            },
            None,
        ),
        Ok(RunOutcome::Received { .. }) => return None,
        Err(f) if f.park.is_some() => return None,
        Err(f) => (SyncStatus::Failed, SyncReport::default(), Some(CallbackErrorCode::from(f.class))),
    };
    Some(ProviderOutcome { binding_id: binding.id, provider: binding.provider.clone(), status, report, error_code })
}

/// A provider's name as merchants know it.
fn label(provider: &str) -> &str {
    match provider {
        bindings::SAGE => "Sage",
        "xero" => "Xero",
        "freeagent" => "FreeAgent",
        other => other,
    }
}

fn parked(reason: ParkReason, message: &str) -> RunFailure {
    RunFailure::new(ErrorClass::Auth, message).parked(reason)
}

impl EventProcessor for SyncEngine {
    fn process<'a>(&'a self, event: &'a ClaimedEvent) -> BoxFuture<'a, RunResult> {
        Box::pin(self.run(event))
    }
}

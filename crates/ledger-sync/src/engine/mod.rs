//! The sync engine behind the worker's `EventProcessor` seam: for each claimed event it finds the
//! tenant's Sage binding (or parks the work until there is one), fetches the canonical entity from the
//! store, maps it under the binding's policy, writes to Sage exactly once (cross-references, derived
//! idempotency ids, lookups by reference) and keeps the snapshot and every Sage call for the audit.
mod catalog;
mod choices;
mod contacts;
mod credit_notes;
mod demo;
mod failure;
mod invoices;
mod policy;
mod refdata;
mod run;

use std::sync::Arc;

use ledger_domain::{BindingStatus, ClaimedEvent, EventName, EventProcessor, ParkReason, RunFailure, RunResult};
use ledger_domain::{ErrorClass, processing::BoxFuture};
use ledger_sage::{CallGate, CallLog, SageClient, SageHttp};
use ledger_store::{PgPool, audit, bindings, tenants};

use crate::MagentoClients;
use crate::sage::Custody;
use failure::store_failure;
use refdata::RefCache;
use run::Run;

pub use choices::{Choice, PolicyChoices};
pub use demo::DemoPolicyError;
pub use policy::PolicyError;

/// What the engine needs from the rest of the process; cheap to clone pieces, built once at start-up.
#[derive(Clone)]
pub struct SyncEngine {
    pool: PgPool,
    magento: MagentoClients,
    sage: SageHttp,
    custody: Arc<Custody>,
    gate: Arc<dyn CallGate>,
    refs: RefCache,
}

impl SyncEngine {
    pub fn new(
        pool: PgPool,
        magento: MagentoClients,
        sage: SageHttp,
        custody: Arc<Custody>,
        gate: Arc<dyn CallGate>,
    ) -> Self {
        Self { pool, magento, sage, custody, gate, refs: RefCache::default() }
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
        let binding = bindings::sage(&self.pool, event.tenant_id).await.map_err(store_failure)?;
        let binding = match binding {
            Some(b) if b.status == BindingStatus::Active => b,
            Some(b) if b.status == BindingStatus::ReconnectRequired => {
                return Err(parked(ParkReason::ReconnectRequired, "the Sage connection needs reconnecting"));
            }
            Some(b) if b.status == BindingStatus::Suspended => {
                return Err(parked(ParkReason::Suspended, "the Sage subscription has lapsed"));
            }
            _ => return Err(parked(ParkReason::SageNotConnected, "the store has no Sage connection yet")),
        };
        let Some(business) = binding.business_id.clone() else {
            return Err(parked(ParkReason::SageNotConnected, "no Sage business is chosen yet"));
        };
        let Some(base_url) = tenant.magento_base_url.as_deref() else {
            return Err(RunFailure::new(ErrorClass::Auth, "the tenant is not paired with a store"));
        };
        let magento = self
            .magento
            .get(event.tenant_id, base_url, tenant.key_version)
            .await
            .map_err(|e| RunFailure::internal(e.to_string()))?;
        let binding_id = binding.id;
        let log = CallLog::new();
        let sage = SageClient::new(
            self.sage.clone(),
            Arc::new(self.custody.tokens(event.tenant_id, binding.id)),
            self.gate.clone(),
        )
        .observed(Arc::new(log.clone()))
        .business(business);
        let run = Run::new(self.pool.clone(), self.refs.clone(), event, binding, magento, sage);
        let result = match event.name {
            EventName::InvoiceCreated => invoices::created(&run).await,
            EventName::InvoicePaid => invoices::paid(&run).await,
            EventName::CreditmemoCreated => credit_notes::created(&run).await,
            EventName::CustomerUpserted => contacts::upserted(&run).await,
            EventName::ProductUpserted => catalog::upserted(&run).await,
        };
        // Sage says the subscription lapsed (MSE): the binding is suspended, so the tile and the API show it
        // and the tenant's other work parks before calling Sage; a reconnect clears it.
        if let Err(f) = &result
            && f.class == ErrorClass::Subscription
            && let Err(e) = self.custody.subscription_lapsed(event.tenant_id, binding_id, &f.message).await
        {
            tracing::warn!(%binding_id, error = %e, "could not mark the binding suspended");
        }
        // The audit is kept whatever the outcome; losing it must not lose the outcome.
        let calls: Vec<audit::SageCall> = log.take().into_iter().map(failure::audit_call).collect();
        if let Err(e) = audit::record_calls(&self.pool, event.event_id, event.lease_token, &calls).await {
            tracing::warn!(event_id = %event.event_id, error = %e, "could not record the run's Sage calls");
        }
        if let Some(snapshot) = run.snapshot()
            && let Err(e) = audit::record_snapshot(&self.pool, event.event_id, event.lease_token, &snapshot).await
        {
            tracing::warn!(event_id = %event.event_id, error = %e, "could not record the run's snapshot");
        }
        result
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

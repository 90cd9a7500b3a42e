//! The seam between the engine and one accounting provider: an event and one of the tenant's active
//! bindings in, the binding's outcome out. Sage Business Cloud Accounting is the one provider today;
//! another (Xero, FreeAgent) is a second implementation registered with
//! [`SyncEngine::with_provider`](super::SyncEngine::with_provider), with nothing changed in ingest, the
//! worker or the engine's fan-out.
use std::sync::Arc;

use ledger_domain::processing::BoxFuture;
use ledger_domain::{ClaimedEvent, ErrorClass, EventName, ParkReason, RunFailure, RunResult, TenantId};
use ledger_sage::{CallGate, CallLog, SageClient, SageHttp};
use ledger_store::bindings::{self, Binding};
use ledger_store::tenants::Tenant;
use ledger_store::{PgPool, audit};
use uuid::Uuid;

use super::failure;
use super::refdata::RefCache;
use super::run::Run;
use super::{catalog, contacts, credit_notes, invoices, parked};
use crate::MagentoClients;
use crate::sage::Custody;

/// Turns an event into one provider's records for one binding. The engine calls it only for an active
/// binding of the provider's `key`; what it returns is that binding's outcome (the engine combines the
/// bindings' into the event's).
pub trait AccountingProvider: Send + Sync + 'static {
    /// The provider key bindings and Magento's sync-state rows use (`sage_accounting`, `xero`,
    /// `freeagent`).
    fn key(&self) -> &'static str;

    fn sync<'a>(
        &'a self,
        event: &'a ClaimedEvent,
        tenant: &'a Tenant,
        binding: &'a Binding,
    ) -> BoxFuture<'a, RunResult>;
}

/// Sage Business Cloud Accounting, through the binding's custody and the shared call gate.
#[derive(Clone)]
pub struct SageAccounting {
    pool: PgPool,
    pub(super) magento: MagentoClients,
    http: SageHttp,
    custody: Arc<Custody>,
    gate: Arc<dyn CallGate>,
    /// Each binding's reference data, shared with the policy editor (which forgets it on save).
    pub(super) refs: RefCache,
}

impl SageAccounting {
    pub(super) fn new(
        pool: PgPool,
        magento: MagentoClients,
        sage: SageHttp,
        custody: Arc<Custody>,
        gate: Arc<dyn CallGate>,
    ) -> Self {
        Self { pool, magento, http: sage, custody, gate, refs: RefCache::default() }
    }

    /// A client of Sage for `binding` of `tenant`: its tokens from the custody, its calls through the
    /// shared gate.
    pub(super) fn client(&self, tenant: TenantId, binding: Uuid) -> SageClient {
        SageClient::new(self.http.clone(), Arc::new(self.custody.tokens(tenant, binding)), self.gate.clone())
    }

    async fn run(&self, event: &ClaimedEvent, tenant: &Tenant, binding: &Binding) -> RunResult {
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
        let sage = self.client(event.tenant_id, binding.id).observed(Arc::new(log.clone())).business(business);
        let run = Run::new(self.pool.clone(), self.refs.clone(), event, binding.clone(), magento, sage);
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

impl AccountingProvider for SageAccounting {
    fn key(&self) -> &'static str {
        bindings::SAGE
    }

    fn sync<'a>(
        &'a self,
        event: &'a ClaimedEvent,
        tenant: &'a Tenant,
        binding: &'a Binding,
    ) -> BoxFuture<'a, RunResult> {
        Box::pin(self.run(event, tenant, binding))
    }
}

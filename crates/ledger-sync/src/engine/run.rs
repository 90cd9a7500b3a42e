//! One run of one event: the binding it writes to, the two clients, the cross-references it reads and
//! writes, and the Magento snapshot it started from.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, Utc};
use ledger_domain::Tier;
use ledger_domain::mapping::{Capabilities, DocContext, ItemKind, SageItem};
use ledger_sage::SageClientError;

use ledger_domain::policy::SyncPolicy;
use ledger_domain::sage::IdempotencyId;
use ledger_domain::{ClaimedEvent, Currency, ErrorClass, MagentoEntityId, ParkReason, RunFailure, XrefKind};
use ledger_magento::MagentoClient;
use ledger_sage::SageBusiness;
use ledger_store::bindings::Binding;
use ledger_store::xrefs::{self, Xref, XrefKey};
use ledger_store::{PgPool, StoreError, runs};
use serde::Serialize;
use serde_json::Value;

use super::failure::{sage_failure, store_failure};
use super::refdata::{RefCache, RefData};

pub(super) struct Run<'e> {
    pool: PgPool,
    refs: RefCache,
    pub event: &'e ClaimedEvent,
    pub binding: Binding,
    pub magento: MagentoClient,
    pub sage: SageBusiness,
    snapshot: Mutex<Option<Value>>,
}

impl<'e> Run<'e> {
    pub fn new(
        pool: PgPool,
        refs: RefCache,
        event: &'e ClaimedEvent,
        binding: Binding,
        magento: MagentoClient,
        sage: SageBusiness,
    ) -> Self {
        Self { pool, refs, event, binding, magento, sage, snapshot: Mutex::new(None) }
    }

    /// The Magento id the event names.
    pub fn entity_id(&self) -> Result<MagentoEntityId, RunFailure> {
        MagentoEntityId::try_from(self.event.envelope.magento_entity_id)
            .map_err(|e| RunFailure::new(ErrorClass::Validation, format!("the event's entity id: {e}")))
    }

    /// Parks the run while an event of `invoice` received before this one is unfinished: settling a
    /// credit note against an invoice whose receipt is still on its way would refund or allocate twice.
    pub async fn after_invoice_events(&self, invoice: MagentoEntityId) -> Result<(), RunFailure> {
        let e = self.event;
        let waiting = runs::earlier_unfinished(&self.pool, e.tenant_id, e.event_id, "invoice", invoice.get())
            .await
            .map_err(store_failure)?;
        if waiting {
            return Err(RunFailure::new(
                ErrorClass::Transient,
                format!("waiting for an earlier event of invoice {} to finish", invoice.get()),
            )
            .parked(ParkReason::AwaitingPrior));
        }
        Ok(())
    }

    /// Keeps the canonical entity the run works from (the first one kept wins: the event's own entity).
    pub fn keep_snapshot<T: Serialize>(&self, entity: &T) {
        let mut slot = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = serde_json::to_value(entity).ok();
        }
    }

    pub fn snapshot(&self) -> Option<Value> {
        self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The binding's policy; a document that no longer validates fails the run (a person must fix it).
    pub fn policy(&self) -> Result<SyncPolicy, RunFailure> {
        SyncPolicy::parse(&self.binding.policy).map_err(|errors| {
            let first = errors.first().map(|e| format!("{}: {}", e.field, e.message)).unwrap_or_default();
            RunFailure::new(ErrorClass::Validation, format!("the Sage sync policy is invalid ({first})"))
        })
    }

    /// The business's base currency (read at connect); GBP when Sage did not say.
    pub fn base_currency(&self) -> Currency {
        self.binding.base_currency.unwrap_or_else(|| Currency::parse("GBP").expect("a valid code"))
    }

    /// What the binding's subscription tier allows (Standard when Sage did not say).
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::of(self.binding.tier.unwrap_or(Tier::Standard))
    }

    /// Today in UTC, the date of documents Magento gave none.
    pub fn today(&self) -> NaiveDate {
        Utc::now().date_naive()
    }

    /// The business's tax rates and default accounts (cached per binding).
    pub async fn refdata(&self) -> Result<Arc<RefData>, RunFailure> {
        self.refs.get(self.binding.id, &self.sage).await
    }

    /// A Sage refusal of a write: refused ids may be stale reference data, so it is read again next time.
    pub fn sage_refused(&self, e: SageClientError) -> RunFailure {
        if e.class() == ErrorClass::Validation {
            self.refs.forget(self.binding.id);
        }
        sage_failure(e)
    }

    /// The Sage items the given SKUs are synced to (SKUs never synced are absent: free-text lines).
    pub async fn items<'s>(
        &self,
        skus: impl Iterator<Item = &'s str>,
    ) -> Result<BTreeMap<String, SageItem>, RunFailure> {
        let keys: Vec<String> = skus.filter(|s| !s.is_empty()).map(sku_key).collect();
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let kinds = [XrefKind::Product, XrefKind::Service, XrefKind::StockItem];
        let found = xrefs::find_many(&self.pool, self.event.tenant_id, self.binding.id, &kinds, &keys)
            .await
            .map_err(store_failure)?;
        Ok(found
            .into_iter()
            .filter_map(|x| {
                let kind = match x.kind {
                    XrefKind::Product => ItemKind::Product,
                    XrefKind::Service => ItemKind::Service,
                    XrefKind::StockItem => ItemKind::StockItem,
                    _ => return None,
                };
                let sku = x.magento_key.strip_prefix("sku:")?.to_owned();
                Some((sku, SageItem { kind, id: x.sage_id }))
            })
            .collect())
    }

    /// The mapping's view of what this run resolved.
    pub fn doc_context<'a>(
        &self,
        policy: &'a SyncPolicy,
        contact_id: &'a str,
        items: &'a BTreeMap<String, SageItem>,
        refdata: &'a RefData,
    ) -> DocContext<'a> {
        DocContext {
            policy,
            caps: self.capabilities(),
            base_currency: self.base_currency(),
            contact_id,
            items,
            tax_rates: &refdata.tax_rates,
            defaults: &refdata.defaults,
            today: self.today(),
        }
    }

    /// The idempotency id of an operation of this binding: the same for every retry, in every process.
    pub fn idempotency(&self, operation: &str) -> IdempotencyId {
        IdempotencyId::derive(&format!("{}:{operation}", self.binding.id))
    }

    pub async fn xref(&self, kind: XrefKind, magento_key: &str, currency: &str) -> Result<Option<Xref>, RunFailure> {
        let key = XrefKey { binding_id: self.binding.id, kind, magento_key, currency };
        xrefs::get(&self.pool, self.event.tenant_id, key).await.map_err(store_failure)
    }

    pub async fn put_xref(
        &self,
        kind: XrefKind,
        magento_key: &str,
        currency: &str,
        sage_id: &str,
        sage_reference: Option<&str>,
        detail: &Value,
    ) -> Result<(), RunFailure> {
        let key = XrefKey { binding_id: self.binding.id, kind, magento_key, currency };
        xrefs::put(&self.pool, self.event.tenant_id, key, sage_id, sage_reference, detail)
            .await
            .map_err(|e: StoreError| store_failure(e))
    }
}

/// The cross-reference key of a product: its SKU, which is what document lines name.
pub(super) fn sku_key(sku: &str) -> String {
    format!("sku:{sku}")
}

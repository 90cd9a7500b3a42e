//! What the dashboard's policy editor offers: the business's tax rates, ledger accounts visible in
//! sales, bank accounts and payment methods read from Sage, and the store's own payment methods read
//! from Magento (`payment-methods`, either shape). The store's list is a convenience: when it cannot be
//! read, the editor still accepts codes typed by hand.
use ledger_domain::TenantId;
use ledger_sage::queries::{LedgerAccountQuery, PageQuery, TaxRateQuery};
use ledger_store::{bindings, tenants};

use super::{PolicyError, SyncEngine};

/// One option of a select: the id saved and the name shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

impl Choice {
    fn new(id: String, shown: Option<String>) -> Self {
        let name = shown.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| id.clone());
        Self { id, name }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PolicyChoices {
    pub tax_rates: Vec<Choice>,
    pub sales_ledger_accounts: Vec<Choice>,
    pub bank_accounts: Vec<Choice>,
    pub payment_methods: Vec<Choice>,
    /// The store's payment methods (code, label).
    pub store_methods: Vec<Choice>,
    /// Why the store's payment methods could not be read, when they could not.
    pub store_error: Option<String>,
}

impl SyncEngine {
    /// The choices of the tenant's policy editor; `NotActive` until a business is bound.
    pub async fn policy_choices(&self, tenant: TenantId) -> Result<PolicyChoices, PolicyError> {
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(PolicyError::NoBinding)?;
        let sage = self.business_client(&binding)?;
        let tax_rates =
            sage.tax_rates(&TaxRateQuery::default()).await?.into_iter().map(|r| Choice::new(r.id, r.displayed_as));
        let query = LedgerAccountQuery { visible_in: Some("sales".into()), ..LedgerAccountQuery::default() };
        let accounts = sage.ledger_accounts(&query).await?.into_iter().map(|a| Choice::new(a.id, a.displayed_as));
        let banks =
            sage.bank_accounts(&PageQuery::default()).await?.into_iter().map(|b| Choice::new(b.id, b.displayed_as));
        let methods = sage.payment_methods().await?.into_iter().map(|m| Choice::new(m.id, m.displayed_as));
        let (store_methods, store_error) = match self.store_methods(tenant).await {
            Ok(list) => (list, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        Ok(PolicyChoices {
            tax_rates: tax_rates.collect(),
            sales_ledger_accounts: accounts.collect(),
            bank_accounts: banks.collect(),
            payment_methods: methods.collect(),
            store_methods,
            store_error,
        })
    }

    async fn store_methods(&self, tenant: TenantId) -> Result<Vec<Choice>, String> {
        let row =
            tenants::get(&self.pool, tenant).await.map_err(|e| e.to_string())?.ok_or("the store is not paired")?;
        let url = row.magento_base_url.as_deref().ok_or("the store is not paired")?;
        let magento = self.sage.magento.get(tenant, url, row.key_version).await.map_err(|e| e.to_string())?;
        let methods = magento.payment_methods().await.map_err(|e| e.to_string())?;
        Ok(methods.methods.into_iter().map(|m| Choice::new(m.code, m.label)).collect())
    }
}

//! A working policy for a store connected for development or a demo (`ledger dev connect-sim`): every
//! payment method the store lists mapped to a Sage payment method and the business's bank account, so
//! invoices, payments and refunds sync with nothing else set, plus sales and destination-VAT ledger
//! accounts. Never used for a real merchant.

use ledger_domain::magento::PaymentMethods;
use ledger_domain::policy::SyncPolicy;
use ledger_domain::sage::PaymentMethod;
use ledger_domain::{BindingStatus, TenantId};
use ledger_sage::SageClientError;
use ledger_sage::queries::{LedgerAccountQuery, PageQuery};
use ledger_store::{StoreError, bindings, tenants};
use serde_json::{Value, json};

use super::SyncEngine;

#[derive(Debug, thiserror::Error)]
pub enum DemoPolicyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the tenant has no active Sage binding")]
    NotConnected,
    #[error("the tenant is not paired with a store")]
    NotPaired,
    #[error("reading the store's payment methods: {0}")]
    Magento(String),
    #[error("reading the Sage business: {0}")]
    Sage(#[from] SageClientError),
    #[error("the Sage business has no bank account")]
    NoBankAccount,
    #[error("the demo policy does not validate: {0}")]
    Invalid(String),
}

impl SyncEngine {
    /// Builds the demo policy from the store's payment methods and the business's bank accounts and
    /// payment methods, saves it on the tenant's Sage binding and returns it.
    pub async fn save_demo_policy(&self, tenant: TenantId) -> Result<Value, DemoPolicyError> {
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(DemoPolicyError::NotConnected)?;
        let business = match (&binding.business_id, binding.status) {
            (Some(b), BindingStatus::Active) => b.clone(),
            _ => return Err(DemoPolicyError::NotConnected),
        };
        let row = tenants::get(&self.pool, tenant).await?.ok_or(DemoPolicyError::NotPaired)?;
        let url = row.magento_base_url.as_deref().ok_or(DemoPolicyError::NotPaired)?;
        let magento = self
            .sage
            .magento
            .get(tenant, url, row.key_version)
            .await
            .map_err(|e| DemoPolicyError::Magento(e.to_string()))?;
        let methods = magento.payment_methods().await.map_err(|e| DemoPolicyError::Magento(e.to_string()))?;
        let sage = self.sage.client(tenant, binding.id).business(business);
        let bank = sage
            .bank_accounts(&PageQuery::default())
            .await?
            .into_iter()
            .next()
            .ok_or(DemoPolicyError::NoBankAccount)?;
        let sage_methods = sage.payment_methods().await?;
        let query = LedgerAccountQuery {
            visible_in: Some("sales".into()),
            attributes: Some("nominal_code".into()),
            ..LedgerAccountQuery::default()
        };
        let sales = sage.ledger_accounts(&query).await?;
        let mut policy = demo_policy(&methods, &sage_methods, &bank.id);
        // Sales on the first sales account; destination VAT (EU consumers) on other income when the
        // business has one, else on the sales account too.
        let by_code = |code: i64| sales.iter().find(|a| a.nominal_code == Some(code)).map(|a| a.id.clone());
        let first = sales.first().map(|a| a.id.clone());
        if let Some(account) = by_code(4000).or(first.clone()) {
            policy["sales_ledger_account_id"] = json!(account);
        }
        if let Some(account) = by_code(4900).or(first) {
            policy["destination_vat_ledger_account_id"] = json!(account);
        }
        let parsed = SyncPolicy::parse(&policy).map_err(|e| DemoPolicyError::Invalid(format!("{e:?}")))?;
        parsed.validate().map_err(|e| DemoPolicyError::Invalid(format!("{e:?}")))?;
        bindings::set_policy(&self.pool, tenant, binding.id, &policy).await?;
        Ok(policy)
    }
}

/// Each store method to the Sage method whose name fits it best (cash for cheques and cash on
/// delivery, card for card gateways, electronic for the rest), all into `bank_account_id`.
fn demo_policy(store: &PaymentMethods, sage: &[PaymentMethod], bank_account_id: &str) -> Value {
    let pick = |code: &str| {
        let wanted = match code {
            c if c.contains("check") || c.contains("cash") || c == "free" => "CASH",
            c if c.contains("stripe") || c.contains("card") || c.contains("braintree") => "CREDIT_DEBIT",
            _ => "ELECTRONIC",
        };
        sage.iter().find(|m| m.id == wanted).or(sage.first()).map(|m| m.id.clone())
    };
    let map: serde_json::Map<String, Value> = store
        .methods
        .iter()
        .filter_map(|m| pick(&m.code).map(|id| (m.code.clone(), json!({ "payment_method_id": id }))))
        .collect();
    json!({ "bank_account_id": bank_account_id, "payment_method_map": map })
}

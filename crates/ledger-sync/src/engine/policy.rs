//! The binding's sync policy as operators (and later merchants) read and save it: parsed and validated
//! by the domain, every Sage id it names checked against the business, stored canonical.
use std::collections::BTreeSet;

use ledger_domain::policy::{FieldError, IdKind, SyncPolicy};
use ledger_domain::{BindingStatus, TenantId};
use ledger_sage::queries::{LedgerAccountQuery, PageQuery, TaxRateQuery};
use ledger_sage::{SageBusiness, SageClientError};
use ledger_store::StoreError;
use ledger_store::bindings::{self, Binding};
use serde_json::Value;

use super::SyncEngine;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the tenant has no Sage binding")]
    NoBinding,
    #[error("connect Sage and choose a business first: the policy's ids are checked against it")]
    NotActive,
    #[error("the policy is invalid")]
    Invalid(Vec<FieldError>),
    #[error("could not read the Sage business to check the policy: {0}")]
    Sage(#[from] SageClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PolicyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoBinding => "sage_not_connected",
            Self::NotActive => "sage_not_active",
            Self::Invalid(_) => "invalid_policy",
            Self::Sage(_) => "sage_unavailable",
            Self::Store(_) => "internal",
        }
    }
}

impl SyncEngine {
    /// The tenant's Sage policy as stored (`{}` until one is saved).
    pub async fn policy(&self, tenant: TenantId) -> Result<Value, PolicyError> {
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(PolicyError::NoBinding)?;
        Ok(binding.policy)
    }

    /// Validates `document`, checks each Sage id it names against the bound business, and saves it in
    /// canonical form. Work parked or failed for want of a policy setting is then worth a requeue.
    pub async fn save_policy(&self, tenant: TenantId, document: &Value) -> Result<Value, PolicyError> {
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(PolicyError::NoBinding)?;
        let policy = SyncPolicy::parse(document).map_err(PolicyError::Invalid)?;
        policy.validate().map_err(PolicyError::Invalid)?;
        let sage = self.business_client(&binding)?;
        let unknown = unknown_ids(&sage, &policy).await?;
        if !unknown.is_empty() {
            return Err(PolicyError::Invalid(unknown));
        }
        let canonical = serde_json::to_value(&policy).unwrap_or_else(|_| document.clone());
        bindings::set_policy(&self.pool, tenant, binding.id, &canonical).await?;
        self.sage.refs.forget(binding.id);
        Ok(canonical)
    }

    pub(super) fn business_client(&self, binding: &Binding) -> Result<SageBusiness, PolicyError> {
        match (&binding.business_id, binding.status) {
            (Some(business), BindingStatus::Active) => {
                Ok(self.sage.client(binding.tenant_id, binding.id).business(business.clone()))
            }
            _ => Err(PolicyError::NotActive),
        }
    }
}

/// The policy's ids that the business does not have, as field errors. Ledger accounts on sales lines
/// must also be visible in sales (Sage refuses others); the purchase account need only exist.
async fn unknown_ids(sage: &SageBusiness, policy: &SyncPolicy) -> Result<Vec<FieldError>, SageClientError> {
    let referenced = policy.referenced_ids();
    let kinds: BTreeSet<IdKind> = referenced.iter().map(|r| r.kind).collect();
    let mut known = BTreeSet::new();
    let mut sales_visible = BTreeSet::new();
    for kind in kinds {
        let ids: Vec<String> = match kind {
            IdKind::TaxRate => sage.tax_rates(&TaxRateQuery::default()).await?.into_iter().map(|r| r.id).collect(),
            IdKind::LedgerAccount => {
                let query =
                    LedgerAccountQuery { attributes: Some("visible_in_sales".into()), ..LedgerAccountQuery::default() };
                let accounts = sage.ledger_accounts(&query).await?;
                sales_visible
                    .extend(accounts.iter().filter(|a| a.visible_in_sales == Some(true)).map(|a| a.id.clone()));
                accounts.into_iter().map(|a| a.id).collect()
            }
            IdKind::BankAccount => sage.bank_accounts(&PageQuery::default()).await?.into_iter().map(|b| b.id).collect(),
            IdKind::PaymentMethod => sage.payment_methods().await?.into_iter().map(|m| m.id).collect(),
        };
        known.extend(ids.into_iter().map(|id| (kind, id)));
    }
    let acceptable = |field: &str, kind: IdKind, id: &String| {
        known.contains(&(kind, id.clone()))
            && (kind != IdKind::LedgerAccount || field == "purchase_ledger_account_id" || sales_visible.contains(id))
    };
    Ok(referenced
        .into_iter()
        .filter(|r| !acceptable(&r.field, r.kind, &r.id))
        .map(|r| {
            let what = match r.kind {
                IdKind::TaxRate => "tax rate",
                IdKind::LedgerAccount => "ledger account visible in sales",
                IdKind::BankAccount => "bank account",
                IdKind::PaymentMethod => "payment method",
            };
            FieldError::new(r.field, format!("the Sage business has no {what} {}", r.id))
        })
        .collect())
}

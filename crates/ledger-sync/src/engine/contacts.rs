//! `customer.upserted` → one Sage contact per (customer, currency), updated by PUT; and the contact a
//! document needs (created first when missing, the B2C fallback for small guest orders).
use ledger_domain::magento::Contact;
use ledger_domain::mapping;
use ledger_domain::policy::SyncPolicy;
use ledger_domain::{Currency, RunFailure, RunOutcome, RunResult, XrefKind};
use rust_decimal::Decimal;
use serde_json::json;

use super::failure::{magento_failure, map_failure, sage_failure};
use super::run::Run;

/// A Sage contact the ledger made or found.
#[derive(Debug, Clone)]
pub(super) struct SageContact {
    pub id: String,
    pub reference: String,
}

pub(super) async fn upserted(run: &Run<'_>) -> RunResult {
    let id = run.entity_id()?;
    let customer = run.magento.customer(id).await.map_err(magento_failure)?;
    run.keep_snapshot(&customer);
    let policy = run.policy()?;
    if let Err(skip) = mapping::contact_scope(&customer, &policy) {
        return Ok(RunOutcome::skipped(skip.as_str()));
    }
    // A customer's contact in the business's base currency; foreign-currency contacts are made by the
    // documents that need them, and updated here when they exist.
    let base = run.base_currency();
    let contact = ensure(run, &policy, &customer, &base, true).await?;
    Ok(RunOutcome::synced(contact.id, Some(contact.reference)))
}

/// The contact a document of `customer` in `currency` for `grand_total` posts to.
pub(super) async fn for_document(
    run: &Run<'_>,
    policy: &SyncPolicy,
    customer: &Contact,
    currency: &Currency,
    grand_total: Decimal,
) -> Result<SageContact, RunFailure> {
    if mapping::uses_b2c(policy, customer, grand_total) {
        return b2c(run, policy, currency).await;
    }
    ensure(run, policy, customer, currency, false).await
}

/// The customer's contact in `currency`: from the cross-reference, else found by its reference (made
/// by a run that crashed before recording it), else created; with `update`, an existing one is updated.
async fn ensure(
    run: &Run<'_>,
    policy: &SyncPolicy,
    customer: &Contact,
    currency: &Currency,
    update: bool,
) -> Result<SageContact, RunFailure> {
    let base = run.base_currency();
    let prefix = policy.contact_reference_prefix.as_deref();
    let reference = mapping::contact_reference(prefix, customer, currency, &base).map_err(map_failure)?;
    let key = match customer.magento_id {
        Some(id) => id.to_string(),
        None => format!("guest:{reference}"),
    };
    if let Some(x) = run.xref(XrefKind::Contact, &key, currency.as_str()).await? {
        if update {
            let body = mapping::put_contact(customer, &reference, currency, &base);
            run.sage.update_contact(&x.sage_id, &body).await.map_err(sage_failure)?;
        }
        return Ok(SageContact { id: x.sage_id, reference });
    }
    let contact = match run.sage.contact_by_reference(&reference).await.map_err(sage_failure)? {
        Some(found) if update => {
            let body = mapping::put_contact(customer, &reference, currency, &base);
            run.sage.update_contact(&found.id, &body).await.map_err(sage_failure)?
        }
        Some(found) => found,
        None => {
            let mut body = mapping::post_contact(customer, &reference, currency, &base);
            body.idempotency_id = Some(run.idempotency(&format!("contact:{key}:{currency}")));
            run.sage.create_contact(&body).await.map_err(sage_failure)?
        }
    };
    let detail = json!({ "reference": reference });
    run.put_xref(XrefKind::Contact, &key, currency.as_str(), &contact.id, Some(&reference), &detail).await?;
    Ok(SageContact { id: contact.id, reference })
}

/// The B2C fallback contact of `currency` (one per business and prefix).
async fn b2c(run: &Run<'_>, policy: &SyncPolicy, currency: &Currency) -> Result<SageContact, RunFailure> {
    let base = run.base_currency();
    let reference = mapping::b2c_reference(policy.contact_reference_prefix.as_deref(), currency);
    if let Some(x) = run.xref(XrefKind::Contact, "b2c", currency.as_str()).await? {
        return Ok(SageContact { id: x.sage_id, reference });
    }
    let contact = match run.sage.contact_by_reference(&reference).await.map_err(sage_failure)? {
        Some(found) => found,
        None => {
            let mut body = mapping::b2c_contact(&reference, currency, &base);
            body.idempotency_id = Some(run.idempotency(&format!("contact:b2c:{currency}")));
            run.sage.create_contact(&body).await.map_err(sage_failure)?
        }
    };
    run.put_xref(XrefKind::Contact, "b2c", currency.as_str(), &contact.id, Some(&reference), &json!({})).await?;
    Ok(SageContact { id: contact.id, reference })
}

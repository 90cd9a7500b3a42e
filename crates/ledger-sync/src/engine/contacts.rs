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
/// by a run that crashed before recording it), else created. An existing contact is updated (PUT, the
/// whole record) with `update` (a `customer.upserted`), and otherwise when the body the ledger would
/// send no longer gives the fingerprint kept on the cross-reference: the module sends a customer's
/// upsert at most once a month, so a document is where an edit shows (one PUT per real change).
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
    let body = mapping::put_contact(customer, &reference, currency, &base);
    let fingerprint = mapping::contact_fingerprint(&body);
    let detail = json!({ "reference": reference, "fingerprint": fingerprint });
    if let Some(x) = run.xref(XrefKind::Contact, &key, currency.as_str()).await? {
        let written = x.detail.get("fingerprint").and_then(|v| v.as_str());
        if update || written != Some(fingerprint.as_str()) {
            run.sage.update_contact(&x.sage_id, &body).await.map_err(sage_failure)?;
            run.put_xref(XrefKind::Contact, &key, currency.as_str(), &x.sage_id, Some(&reference), &detail).await?;
        }
        return Ok(SageContact { id: x.sage_id, reference });
    }
    let contact = match run.sage.contact_by_reference(&reference).await.map_err(sage_failure)? {
        // Made by an earlier run that crashed before recording it; what it holds is not known.
        Some(found) => run.sage.update_contact(&found.id, &body).await.map_err(sage_failure)?,
        None => {
            let mut post = mapping::post_contact(customer, &reference, currency, &base);
            post.idempotency_id = Some(run.idempotency(&format!("contact:{key}:{currency}")));
            run.sage.create_contact(&post).await.map_err(sage_failure)?
        }
    };
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

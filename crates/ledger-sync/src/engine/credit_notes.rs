//! `creditmemo.created` → a Sage sales credit note for the original invoice's contact, allocated against
//! the invoice while it has something outstanding, the rest refunded or left on account per policy.
use ledger_domain::magento::{CreditMemo, Invoice};
use ledger_domain::mapping::{self, CreditSettlement, ReceiptParams};
use ledger_domain::policy::SyncPolicy;
use ledger_domain::{RunFailure, RunOutcome, RunResult, XrefKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::contacts;
use super::failure::{Step, magento_failure, outcome, sage_failure, xref_detail};
use super::invoices;
use super::run::Run;

pub(super) async fn created(run: &Run<'_>) -> RunResult {
    let memo = run.magento.creditmemo(run.entity_id()?).await.map_err(magento_failure)?;
    run.keep_snapshot(&memo);
    if let Some(invoice) = memo.invoice_id {
        run.after_invoice_events(invoice).await?;
    }
    let invoice = match memo.invoice_id {
        Some(id) => Some(run.magento.invoice(id).await.map_err(magento_failure)?),
        None => None,
    };
    outcome(steps(run, &memo, invoice.as_ref()).await)
}

/// What the credit note's cross-reference keeps between runs: enough to finish settling it after a
/// crash, with the settlement planned once (re-planning after a partial settlement would refund twice).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Made {
    contact_id: String,
    invoice_id: Option<String>,
    plan: CreditSettlement,
    settled: bool,
}

async fn steps(run: &Run<'_>, memo: &CreditMemo, invoice: Option<&Invoice>) -> Step<RunOutcome> {
    let policy = run.policy()?;
    let key = memo.magento_id.to_string();
    let (id, number, mut made) = match run.xref(XrefKind::SalesCreditNote, &key, "").await? {
        Some(x) => match serde_json::from_value::<Made>(x.detail) {
            Ok(made) if made.settled => return Ok(RunOutcome::synced(x.sage_id, x.sage_reference)),
            Ok(made) => (x.sage_id, x.sage_reference, made),
            Err(e) => return Err(RunFailure::internal(format!("credit note cross-reference unreadable: {e}")).into()),
        },
        None => create(run, &policy, memo, invoice, &key).await?,
    };
    settle(run, &policy, memo, &id, &made).await?;
    made.settled = true;
    run.put_xref(XrefKind::SalesCreditNote, &key, "", &id, number.as_deref(), &xref_detail(&made)).await?;
    Ok(RunOutcome::synced(id, number))
}

/// Creates the credit note (the original invoice first: events may arrive out of order, and its contact
/// is the credit's) and records it with its settlement plan before settling anything.
async fn create(
    run: &Run<'_>,
    policy: &SyncPolicy,
    memo: &CreditMemo,
    invoice: Option<&Invoice>,
    key: &str,
) -> Step<(String, Option<String>, Made)> {
    mapping::credit_note_scope(memo, invoice, policy, run.capabilities(), &run.base_currency())?;
    let original = match invoice {
        Some(inv) => Some(invoices::ensure(run, policy, inv).await?),
        None => None,
    };
    let contact_id = match &original {
        Some(doc) if !doc.contact_id.is_empty() => doc.contact_id.clone(),
        _ => contacts::for_document(run, policy, &memo.customer, &memo.currency, memo.grand_total).await?.id,
    };
    let outstanding = match &original {
        Some(doc) => {
            Some(run.sage.sales_invoice(&doc.id).await.map_err(sage_failure)?.outstanding_amount.unwrap_or_default())
        }
        None => None,
    };
    let refdata = run.refdata().await?;
    let items = run.items(memo.lines.iter().map(|l| l.sku.as_str())).await?;
    let ctx = run.doc_context(policy, &contact_id, &items, &refdata);
    let mut body = mapping::sales_credit_note_of(memo, invoice, &ctx)?;
    body.idempotency_id = Some(run.idempotency(&format!("sales_credit_note:{key}")));
    let note = run.sage.create_sales_credit_note(&body).await.map_err(|e| run.sage_refused(e))?;
    let number = note.credit_note_number.clone().or(note.displayed_as.clone());
    let total = note.total_amount.unwrap_or(memo.grand_total);
    let made = Made {
        contact_id,
        invoice_id: original.map(|d| d.id),
        plan: mapping::credit_settlement(total, outstanding, policy.refund_mode),
        settled: false,
    };
    run.put_xref(XrefKind::SalesCreditNote, key, "", &note.id, number.as_deref(), &xref_detail(&made)).await?;
    Ok((note.id, number, made))
}

/// Allocates against the invoice and refunds the rest as planned; each made once (idempotency ids
/// derived from the credit memo), so a retry after a crash repeats nothing.
async fn settle(run: &Run<'_>, policy: &SyncPolicy, memo: &CreditMemo, credit_note_id: &str, made: &Made) -> Step<()> {
    let key = memo.magento_id.to_string();
    let date = memo.created_at.map_or_else(|| run.today(), |t| t.date_naive());
    if let Some(invoice_id) = &made.invoice_id
        && !made.plan.allocate.is_zero()
    {
        let mut body =
            mapping::contact_allocation(&made.contact_id, invoice_id, credit_note_id, made.plan.allocate, date);
        body.idempotency_id = Some(run.idempotency(&format!("allocation:{key}")));
        run.sage.create_contact_allocation(&body).await.map_err(|e| run.sage_refused(e))?;
    }
    if !made.plan.refund.is_zero() && run.xref(XrefKind::Refund, &key, "").await?.is_none() {
        let refdata = run.refdata().await?;
        // Refunds go back through the invoice's payment method when Magento names one.
        let method = match memo.invoice_id {
            Some(id) => run.magento.payment(id).await.ok().map(|p| p.method),
            None => None,
        };
        let route = mapping::refund_route(policy, method.as_deref(), &refdata.defaults)?;
        let fx = mapping::document_fx(
            &memo.currency,
            &run.base_currency(),
            memo.base_to_order_rate,
            policy,
            run.capabilities(),
        )?;
        let params = ReceiptParams {
            contact_id: &made.contact_id,
            artefact_id: credit_note_id,
            amount: made.plan.refund,
            route: &route,
            date,
            reference: &memo.increment_id,
            fx: fx.as_ref(),
        };
        let mut body = mapping::customer_refund_payment(&params);
        body.idempotency_id = Some(run.idempotency(&format!("refund:{key}")));
        let payment = run.sage.create_contact_payment(&body).await.map_err(|e| run.sage_refused(e))?;
        let detail = json!({ "amount": made.plan.refund });
        run.put_xref(XrefKind::Refund, &key, "", &payment.id, payment.reference.as_deref(), &detail).await?;
    }
    Ok(())
}

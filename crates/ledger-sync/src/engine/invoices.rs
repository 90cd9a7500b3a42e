//! `invoice.created` → a Sage sales invoice posted outstanding (and its receipt when Magento says it is
//! paid); `invoice.paid` → one customer receipt allocated to it (the invoice first when it is missing).
//! Every `invoice.*` outcome carries the Sage invoice's id and number.
use ledger_domain::magento::{Invoice, InvoiceState};
use ledger_domain::mapping::{self, ReceiptParams};
use ledger_domain::policy::SyncPolicy;
use ledger_domain::{RunOutcome, RunResult, XrefKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::contacts;
use super::failure::{Step, StepEnd, magento_failure, outcome, sage_failure, xref_detail};
use super::run::Run;

/// A Sage sales invoice the ledger made, as later runs need it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct SageInvoice {
    pub id: String,
    pub number: Option<String>,
    pub contact_id: String,
    /// What was left to pay when the ledger last looked.
    pub outstanding: Option<Decimal>,
}

pub(super) async fn created(run: &Run<'_>) -> RunResult {
    let inv = fetch(run).await?;
    run.keep_snapshot(&inv);
    outcome(created_steps(run, &inv).await)
}

async fn created_steps(run: &Run<'_>, inv: &Invoice) -> Step<RunOutcome> {
    let policy = run.policy()?;
    let doc = ensure(run, &policy, inv).await?;
    if inv.state == InvoiceState::Paid {
        // The module also sends `invoice.paid` for this invoice; that run finds this receipt. A receipt
        // that cannot be made (say, an unmapped method) is that event's outcome, not this one's.
        match receipt(run, &policy, inv, &doc).await {
            Ok(()) | Err(StepEnd::Skip(_)) => {}
            Err(fail) => return Err(fail),
        }
    }
    Ok(RunOutcome::synced(doc.id, doc.number))
}

pub(super) async fn paid(run: &Run<'_>) -> RunResult {
    // Runs of one invoice never overlap, but a worker may fetch `invoice.paid` while the earlier
    // `invoice.created` is still pending: the payment's outcome would then land first and the
    // invoice's `synced` would overwrite it in the store. Wait for the earlier event instead.
    run.after_invoice_events(run.entity_id()?).await?;
    let inv = fetch(run).await?;
    run.keep_snapshot(&inv);
    outcome(paid_steps(run, &inv).await)
}

async fn paid_steps(run: &Run<'_>, inv: &Invoice) -> Step<RunOutcome> {
    let policy = run.policy()?;
    let doc = ensure(run, &policy, inv).await?;
    match receipt(run, &policy, inv, &doc).await {
        Ok(()) => Ok(RunOutcome::synced(doc.id, doc.number)),
        // Every `invoice.*` callback names the Sage invoice, a skipped payment's too: the store keeps
        // one chip per invoice and would otherwise lose the id the invoice's own event reported.
        Err(StepEnd::Skip(reason)) => Ok(RunOutcome::skipped_with(reason.as_str(), doc.id, doc.number)),
        Err(fail) => Err(fail),
    }
}

async fn fetch(run: &Run<'_>) -> Result<Invoice, ledger_domain::RunFailure> {
    run.magento.invoice(run.entity_id()?).await.map_err(magento_failure)
}

/// The invoice's Sage sales invoice: from the cross-reference, else created (its contact first). The
/// create carries an idempotency id derived from the binding and the invoice, so a run that crashed
/// after Sage created it gets the same record back on its retry.
pub(super) async fn ensure(run: &Run<'_>, policy: &SyncPolicy, inv: &Invoice) -> Step<SageInvoice> {
    let key = inv.magento_id.to_string();
    if let Some(x) = run.xref(XrefKind::SalesInvoice, &key, "").await? {
        let contact_id = x.detail.get("contact_id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        // What is outstanding now is Sage's to say (a credit note may have been allocated since).
        return Ok(SageInvoice { id: x.sage_id, number: x.sage_reference, contact_id, outstanding: None });
    }
    let caps = run.capabilities();
    mapping::invoice_scope(inv, policy, caps, &run.base_currency())?;
    let contact = contacts::for_document(run, policy, &inv.customer, &inv.currency, inv.grand_total).await?;
    let refdata = run.refdata().await?;
    let items = run.items(inv.lines.iter().map(|l| l.sku.as_str())).await?;
    let ctx = run.doc_context(policy, &contact.id, &items, &refdata);
    let mut body = mapping::sales_invoice(inv, &ctx)?;
    body.idempotency_id = Some(run.idempotency(&format!("sales_invoice:{key}")));
    let made = run.sage.create_sales_invoice(&body).await.map_err(|e| run.sage_refused(e))?;
    let doc = SageInvoice {
        number: made.invoice_number.clone().or(made.displayed_as.clone()),
        outstanding: made.outstanding_amount,
        contact_id: contact.id,
        id: made.id,
    };
    run.put_xref(XrefKind::SalesInvoice, &key, "", &doc.id, doc.number.as_deref(), &xref_detail(&doc)).await?;
    Ok(doc)
}

/// The invoice's one customer receipt, allocated to it: min(what Magento captured, what Sage still
/// has outstanding); found by its cross-reference when an earlier event already made it.
async fn receipt(run: &Run<'_>, policy: &SyncPolicy, inv: &Invoice, doc: &SageInvoice) -> Step<()> {
    if inv.grand_total.is_zero() {
        // A zero-value invoice (a free order, Magento's `free` method) is settled by being posted: Sage
        // shows it paid and takes no receipt of 0, so its payment is the invoice itself.
        return Ok(());
    }
    let key = inv.magento_id.to_string();
    if run.xref(XrefKind::Receipt, &key, "").await?.is_some() {
        return Ok(());
    }
    let payment = run.magento.payment(inv.magento_id).await.map_err(magento_failure)?;
    let refdata = run.refdata().await?;
    let route = mapping::payment_route(policy, &payment.method, &refdata.defaults)?;
    let amount = match planned_receipt(run, &key).await? {
        // A receipt was sent and its answer lost: what Sage has outstanding now leaves out our own
        // payment, so the same amount again, under the same idempotency id, gets Sage's record back.
        Some(planned) => planned,
        None => {
            let outstanding = match doc.outstanding {
                // Known from the create of this very run.
                Some(known) => known,
                None => {
                    run.sage.sales_invoice(&doc.id).await.map_err(sage_failure)?.outstanding_amount.unwrap_or_default()
                }
            };
            let amount = mapping::receipt_amount(payment.amount, outstanding)?;
            plan_receipt(run, &key, doc, amount).await?;
            amount
        }
    };
    let fx =
        mapping::document_fx(&inv.currency, &run.base_currency(), inv.base_to_order_rate, policy, run.capabilities())?;
    let params = ReceiptParams {
        contact_id: &doc.contact_id,
        artefact_id: &doc.id,
        amount,
        route: &route,
        date: payment.captured_at.map_or_else(|| run.today(), |t| t.date_naive()),
        reference: &inv.increment_id,
        fx: fx.as_ref(),
    };
    let mut body = mapping::customer_receipt(&params);
    body.idempotency_id = Some(run.idempotency(&format!("receipt:{key}")));
    let made = run.sage.create_contact_payment(&body).await.map_err(|e| run.sage_refused(e))?;
    let detail = json!({ "amount": amount, "invoice_id": doc.id });
    run.put_xref(XrefKind::Receipt, &key, "", &made.id, made.reference.as_deref(), &detail).await?;
    Ok(())
}

/// The receipt amount an earlier attempt planned (kept on the invoice's cross-reference before it
/// called Sage), if any.
async fn planned_receipt(run: &Run<'_>, key: &str) -> Step<Option<Decimal>> {
    let x = run.xref(XrefKind::SalesInvoice, key, "").await?;
    Ok(x.and_then(|x| x.detail.get("receipt_planned").cloned()).and_then(|v| serde_json::from_value(v).ok()))
}

/// Records the receipt's amount before it is sent, so a retry after a lost answer sends the same one.
async fn plan_receipt(run: &Run<'_>, key: &str, doc: &SageInvoice, amount: Decimal) -> Step<()> {
    let mut detail = match run.xref(XrefKind::SalesInvoice, key, "").await? {
        Some(x) => x.detail,
        None => xref_detail(doc),
    };
    if let Some(map) = detail.as_object_mut() {
        map.insert("receipt_planned".to_owned(), json!(amount));
    }
    run.put_xref(XrefKind::SalesInvoice, key, "", &doc.id, doc.number.as_deref(), &detail).await?;
    Ok(())
}

//! `invoice.created` → a posted (`UNPAID`, never draft) Sage sales invoice, after the policy's filters.
use rust_decimal::Decimal;

use super::fx::document_fx;
use super::lines::{artefact_address, build, tax_country};
use super::tax::Destination;
use super::text::truncate;
use super::{Capabilities, DocContext, MapError, SkipReason};
use crate::magento::{Invoice, InvoiceState};
use crate::money::round2;
use crate::policy::{SyncPolicy, ZeroValueInvoices};
use crate::sage::PostSalesInvoice;

/// Sage's limit on a document reference.
pub const MAX_REFERENCE: usize = 25;

/// Whether the policy and the tier let this invoice sync at all, checked before any call: store
/// views and websites, `sync_since`, cancelled invoices, zero totals, foreign currency without multi-currency.
/// Payments and credit notes of a skipped invoice are skipped with the same reason.
pub fn invoice_scope(
    inv: &Invoice,
    policy: &SyncPolicy,
    caps: Capabilities,
    base: &crate::Currency,
) -> Result<(), SkipReason> {
    if policy.store_ids.as_ref().is_some_and(|ids| !ids.contains(&inv.store_id))
        || policy.website_ids.as_ref().is_some_and(|ids| !ids.contains(&inv.website_id))
    {
        return Err(SkipReason::StoreNotSynced);
    }
    if let (Some(since), Some(created)) = (policy.sync_since, inv.created_at)
        && created < since
    {
        return Err(SkipReason::OutsideSyncSince);
    }
    if inv.state == InvoiceState::Cancelled {
        return Err(SkipReason::InvoiceCancelled);
    }
    if inv.grand_total.is_zero() && policy.zero_value_invoices == ZeroValueInvoices::Skip {
        return Err(SkipReason::ZeroValueInvoice);
    }
    if &inv.currency != base && !caps.multi_currency {
        return Err(SkipReason::TierWithoutMultiCurrency);
    }
    Ok(())
}

/// Whatever the invoice discount covers beyond its lines' discounts is a shipping discount: Magento's
/// `shipping_amount` is before it. Read as a magnitude, since stores differ on its sign.
fn shipping_discount(inv: &Invoice) -> Decimal {
    let on_lines: Decimal = inv.lines.iter().map(super::lines::line_discount).sum();
    let rest = round2(inv.discount_amount.abs() - on_lines);
    if rest > Decimal::ZERO && rest <= inv.shipping_amount { rest } else { Decimal::ZERO }
}

fn notes(inv: &Invoice) -> Option<String> {
    let mut parts = Vec::new();
    if !inv.order_increment_id.trim().is_empty() {
        parts.push(format!("Magento order {}", inv.order_increment_id.trim()));
    }
    if let Some(po) = inv.po_number.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        parts.push(format!("PO {po}"));
    }
    (!parts.is_empty()).then(|| truncate(&parts.join(", "), 2000))
}

/// The increment id as a Sage reference (it is how the engine finds the document again).
pub(super) fn reference(increment_id: &str) -> Result<String, MapError> {
    let r = increment_id.trim();
    if r.is_empty() || r.chars().count() > MAX_REFERENCE {
        return Err(MapError::Unmappable(format!(
            "the increment id {r:?} does not fit Sage's {MAX_REFERENCE}-character reference"
        )));
    }
    Ok(r.to_owned())
}

/// The `postSalesInvoices` body of `inv` for the contact in `ctx`. Lines carry their Sage tax rate and
/// `tax_amount`, the linked product or service when the SKU is synced, and the line discount; shipping
/// goes in the shipping fields; destination VAT on its own line.
pub fn sales_invoice(inv: &Invoice, ctx: &DocContext<'_>) -> Result<PostSalesInvoice, MapError> {
    invoice_scope(inv, ctx.policy, ctx.caps, &ctx.base_currency)?;
    let fx = document_fx(&inv.currency, &ctx.base_currency, inv.base_to_order_rate, ctx.policy, ctx.caps)?;
    let country = tax_country(inv.shipping_address.as_ref(), inv.billing_address.as_ref(), &inv.customer.addresses);
    let dest = Destination::of(country, ctx.policy);
    let shipping_net = inv.shipping_amount - shipping_discount(inv);
    let built = build(&inv.lines, shipping_net, inv.shipping_tax_amount, Vec::new(), &dest, ctx)?;
    let main = inv.billing_address.as_ref().or(inv.shipping_address.as_ref());
    let delivery = inv.shipping_address.as_ref().or(main);
    Ok(PostSalesInvoice {
        contact_id: ctx.contact_id.to_owned(),
        date: inv.created_at.map_or(ctx.today, |t| t.date_naive()),
        invoice_lines: built.lines,
        reference: Some(reference(&inv.increment_id)?),
        notes: notes(inv),
        currency_id: fx.as_ref().map(|f| f.currency_id.clone()),
        exchange_rate: fx.map(|f| f.exchange_rate),
        main_address: main.map(|a| artefact_address(a, "SALES")),
        delivery_address: delivery.map(|a| artefact_address(a, "DELIVERY")),
        shipping_net_amount: built.shipping.as_ref().map(|s| s.net),
        shipping_tax_rate_id: built.shipping.as_ref().map(|s| s.tax_rate_id.clone()),
        shipping_tax_amount: built.shipping.as_ref().map(|s| s.tax_amount),
        ..PostSalesInvoice::default()
    })
}

#[cfg(test)]
#[path = "invoice_tests.rs"]
mod tests;

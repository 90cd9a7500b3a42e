//! `creditmemo.created` → a Sage sales credit note on the original invoice's contact, then settled:
//! allocated against the invoice while it is outstanding, the rest refunded or left on account.
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fx::document_fx;
use super::invoice::{invoice_scope, reference};
use super::lines::{PlainLine, artefact_address, build, tax_country};
use super::tax::Destination;
use super::text::truncate;
use super::{Capabilities, DocContext, MapError, SkipReason};
use crate::magento::{CreditMemo, Invoice};
use crate::policy::{OrderRefunds, RefundMode, SyncPolicy};
use crate::sage::{PostAllocatedArtefact, PostContactAllocation, PostSalesCreditNote};

/// Whether a credit memo syncs, decided before any call: the tier must refund and allocate (not
/// Start), its website must be in scope, an order-level refund (no invoice) needs
/// `order_refunds: sync`, and the original invoice (when there is one) must itself be in scope.
pub fn credit_note_scope(
    memo: &CreditMemo,
    invoice: Option<&Invoice>,
    policy: &SyncPolicy,
    caps: Capabilities,
    base: &crate::Currency,
) -> Result<(), SkipReason> {
    if !caps.refunds {
        return Err(SkipReason::TierWithoutRefunds);
    }
    if policy.website_ids.as_ref().is_some_and(|ids| !ids.contains(&memo.website_id)) {
        return Err(SkipReason::StoreNotSynced);
    }
    if let (Some(since), Some(created)) = (policy.sync_since, memo.created_at)
        && created < since
    {
        return Err(SkipReason::OutsideSyncSince);
    }
    match invoice {
        Some(inv) => invoice_scope(inv, policy, caps, base)?,
        None if memo.invoice_id.is_none() && policy.order_refunds == OrderRefunds::Skip => {
            return Err(SkipReason::OrderRefundNotSynced);
        }
        None => {}
    }
    if &memo.currency != base && !caps.multi_currency {
        return Err(SkipReason::TierWithoutMultiCurrency);
    }
    Ok(())
}

fn adjustment(description: &str, amount: Decimal) -> PlainLine {
    PlainLine {
        description: description.to_owned(),
        quantity: Decimal::ONE,
        unit_price: amount,
        discount: Decimal::ZERO,
        tax: Decimal::ZERO,
        tax_class: None,
        sku: None,
    }
}

/// The `postSalesCreditNotes` body of `memo` for `ctx.contact_id` (the original invoice's contact, or
/// the customer's for an order-level refund). Magento's adjustments become untaxed lines: a refund
/// adjustment positive, an adjustment fee negative. Call [`credit_note_scope`] first. VAT follows the
/// memo's customer addresses; prefer [`sales_credit_note_of`] when the original invoice is at hand.
pub fn sales_credit_note(memo: &CreditMemo, ctx: &DocContext<'_>) -> Result<PostSalesCreditNote, MapError> {
    sales_credit_note_of(memo, None, ctx)
}

/// [`sales_credit_note`] with the original invoice, whose destination decides VAT (a refund is taxed
/// where the sale was), falling back to the memo's customer addresses.
pub fn sales_credit_note_of(
    memo: &CreditMemo,
    original: Option<&Invoice>,
    ctx: &DocContext<'_>,
) -> Result<PostSalesCreditNote, MapError> {
    let fx = document_fx(&memo.currency, &ctx.base_currency, memo.base_to_order_rate, ctx.policy, ctx.caps)?;
    let country = match original {
        Some(inv) => tax_country(inv.shipping_address.as_ref(), inv.billing_address.as_ref(), &memo.customer.addresses),
        None => tax_country(None, None, &memo.customer.addresses),
    };
    let dest = Destination::of(country, ctx.policy);
    let mut extra = Vec::new();
    if !memo.adjustment_positive.is_zero() {
        extra.push(adjustment("Adjustment refund", memo.adjustment_positive.abs()));
    }
    if !memo.adjustment_negative.is_zero() {
        extra.push(adjustment("Adjustment fee", -memo.adjustment_negative.abs()));
    }
    let built = build(&memo.lines, memo.shipping_amount, memo.shipping_tax_amount, extra, &dest, ctx)?;
    let billing = memo.customer.addresses.iter().find(|a| a.kind == crate::magento::AddressKind::Billing);
    let shipping = memo.customer.addresses.iter().find(|a| a.kind == crate::magento::AddressKind::Shipping);
    let mut notes = match memo.invoice_increment_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(inv) => format!("Refund of Magento invoice {inv}"),
        None => "Magento order-level refund".to_owned(),
    };
    if let Some(reason) = memo.reason.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        notes.push_str(": ");
        notes.push_str(reason);
    }
    Ok(PostSalesCreditNote {
        contact_id: ctx.contact_id.to_owned(),
        date: memo.created_at.map_or(ctx.today, |t| t.date_naive()),
        credit_note_lines: built.lines,
        original_invoice_date: memo.invoice_created_at.map(|t| t.date_naive()),
        reference: Some(reference(&memo.increment_id)?),
        notes: Some(truncate(&notes, 2000)),
        currency_id: fx.as_ref().map(|f| f.currency_id.clone()),
        exchange_rate: fx.map(|f| f.exchange_rate),
        main_address: billing.or(shipping).map(|a| artefact_address(a, "SALES")),
        delivery_address: shipping.or(billing).map(|a| artefact_address(a, "DELIVERY")),
        shipping_net_amount: built.shipping.as_ref().map(|s| s.net),
        shipping_tax_rate_id: built.shipping.as_ref().map(|s| s.tax_rate_id.clone()),
        shipping_tax_amount: built.shipping.as_ref().map(|s| s.tax_amount),
        ..PostSalesCreditNote::default()
    })
}

/// How a credit note's total is settled in Sage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditSettlement {
    /// Allocated against the original invoice (`CUSTOMER_ALLOCATION`).
    pub allocate: Decimal,
    /// Paid back (`CUSTOMER_REFUND` allocated to the credit note).
    pub refund: Decimal,
    /// Left open as credit on the customer's account.
    pub left_on_account: Decimal,
}

/// Splits `credit_total`: what the invoice still has outstanding absorbs it first (an unpaid invoice
/// is reduced, not refunded), then `refund_mode` decides between a refund and credit left open. An
/// order-level refund has no invoice (`invoice_outstanding` `None`).
pub fn credit_settlement(
    credit_total: Decimal,
    invoice_outstanding: Option<Decimal>,
    refund_mode: RefundMode,
) -> CreditSettlement {
    let total = credit_total.max(Decimal::ZERO);
    let allocate = invoice_outstanding.unwrap_or_default().max(Decimal::ZERO).min(total);
    let rest = total - allocate;
    let refund = match refund_mode {
        RefundMode::Refund => rest,
        RefundMode::CreditNoteOnly => Decimal::ZERO,
    };
    CreditSettlement { allocate, refund, left_on_account: rest - refund }
}

/// The `CUSTOMER_ALLOCATION` of `amount` of a credit note against its invoice (invoice +, credit −).
pub fn contact_allocation(
    contact_id: &str,
    invoice_id: &str,
    credit_note_id: &str,
    amount: Decimal,
    date: NaiveDate,
) -> PostContactAllocation {
    let side = |id: &str, amount: Decimal| PostAllocatedArtefact { artefact_id: id.to_owned(), amount, discount: None };
    PostContactAllocation {
        transaction_type_id: "CUSTOMER_ALLOCATION".to_owned(),
        contact_id: contact_id.to_owned(),
        allocated_artefacts: vec![side(invoice_id, amount), side(credit_note_id, -amount)],
        date: Some(date),
        idempotency_id: None,
    }
}

#[cfg(test)]
#[path = "credit_note_tests.rs"]
mod tests;

//! Credit notes: body, scope, settlement, allocation.
use chrono::NaiveDate;
use rust_decimal_macros::dec;

use super::*;
use crate::Tier;
use crate::mapping::tests::{World, invoice, line, memo, sage_total};

#[test]
fn a_credit_note_mirrors_the_memo_with_adjustments_as_untaxed_lines() {
    let w = World::new();
    let m = memo(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.2))], dec!(4.95), dec!(0.2), dec!(2), dec!(1.5));
    let body = sales_credit_note(&m, &w.ctx(Tier::Plus)).unwrap();
    assert_eq!(body.reference.as_deref(), Some("000000007"));
    assert_eq!(body.contact_id, "contact1");
    assert_eq!(body.original_invoice_date.map(|d| d.to_string()).as_deref(), Some("2026-05-01"));
    let l = &body.credit_note_lines;
    assert_eq!(l.len(), 3);
    assert_eq!((l[0].tax_rate_id.as_deref(), l[0].tax_amount), (Some("GB_STANDARD"), Some(dec!(2.00))));
    assert_eq!((l[1].unit_price, l[1].tax_rate_id.as_deref()), (dec!(2), Some("GB_ZERO")));
    assert_eq!((l[2].unit_price, l[2].tax_rate_id.as_deref()), (dec!(-1.5), Some("GB_ZERO")));
    assert_eq!(body.shipping_tax_rate_id.as_deref(), Some("GB_STANDARD"));
    assert_eq!(sage_total(l, Some((dec!(4.95), "GB_STANDARD")), &w.rates), m.grand_total);
    assert!(body.notes.unwrap().contains("000000041"));
}

#[test]
fn scope_skips_start_order_refunds_per_policy_and_skipped_invoices() {
    let mut w = World::new();
    let m = memo(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.2))], dec!(0), dec!(0), dec!(0), dec!(0));
    let inv = invoice(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.2))], dec!(0), dec!(0), "GB", "GBP");
    let gbp = crate::Currency::GBP;
    let scope = |w: &World, tier, inv: Option<&crate::magento::Invoice>, m: &crate::magento::CreditMemo| {
        credit_note_scope(m, inv, &w.policy, Capabilities::of(tier), &gbp)
    };
    assert_eq!(scope(&w, Tier::Start, Some(&inv), &m), Err(SkipReason::TierWithoutRefunds));
    assert_eq!(scope(&w, Tier::Standard, Some(&inv), &m), Ok(()));
    let mut order_level = m.clone();
    order_level.invoice_id = None;
    assert_eq!(scope(&w, Tier::Plus, None, &order_level), Ok(()), "order-level refunds sync by default");
    w.policy.order_refunds = OrderRefunds::Skip;
    assert_eq!(scope(&w, Tier::Plus, None, &order_level), Err(SkipReason::OrderRefundNotSynced));
    w.policy.store_ids = Some(vec![9]);
    assert_eq!(scope(&w, Tier::Plus, Some(&inv), &m), Err(SkipReason::StoreNotSynced), "the invoice's scope holds");
    w.policy.store_ids = None;
    w.policy.website_ids = Some(vec![2]);
    assert_eq!(scope(&w, Tier::Plus, Some(&inv), &m), Err(SkipReason::StoreNotSynced));
}

#[test]
fn settlement_allocates_what_is_outstanding_then_refunds_or_leaves_credit() {
    use RefundMode::{CreditNoteOnly, Refund};
    let s = |total, out, mode| {
        let s = credit_settlement(total, out, mode);
        (s.allocate, s.refund, s.left_on_account)
    };
    assert_eq!(s(dec!(30), Some(dec!(100)), Refund), (dec!(30), dec!(0), dec!(0)), "unpaid invoice: reduce it");
    assert_eq!(
        s(dec!(30), Some(dec!(10)), Refund),
        (dec!(10), dec!(20), dec!(0)),
        "part paid: allocate, refund the rest"
    );
    assert_eq!(s(dec!(30), Some(dec!(0)), Refund), (dec!(0), dec!(30), dec!(0)), "paid: refund");
    assert_eq!(s(dec!(30), Some(dec!(0)), CreditNoteOnly), (dec!(0), dec!(0), dec!(30)));
    assert_eq!(s(dec!(30), None, Refund), (dec!(0), dec!(30), dec!(0)), "order-level refund");
}

#[test]
fn allocations_balance_invoice_against_credit_note() {
    let a = contact_allocation("c1", "si1", "cn1", dec!(12.5), NaiveDate::from_ymd_opt(2026, 5, 3).unwrap());
    assert_eq!(a.transaction_type_id, "CUSTOMER_ALLOCATION");
    let amounts: Vec<_> = a.allocated_artefacts.iter().map(|x| (x.artefact_id.as_str(), x.amount)).collect();
    assert_eq!(amounts, [("si1", dec!(12.5)), ("cn1", dec!(-12.5))]);
    assert_eq!(a.allocated_artefacts.iter().map(|x| x.amount).sum::<rust_decimal::Decimal>(), dec!(0));
}

#[test]
fn a_refund_is_taxed_where_the_sale_was() {
    let w = World::new();
    let inv = invoice(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.19))], dec!(0), dec!(0), "DE", "GBP");
    let mut m = memo(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.19))], dec!(0), dec!(0), dec!(0), dec!(0));
    m.customer.addresses.clear();
    // Without addresses the memo alone looks domestic, and 19 % is no UK rate.
    assert_eq!(sales_credit_note(&m, &w.ctx(Tier::Plus)).unwrap_err().code(), "tax_rate_not_mapped");
    let body = sales_credit_note_of(&m, Some(&inv), &w.ctx(Tier::Plus)).unwrap();
    assert_eq!(body.credit_note_lines.len(), 2, "zero-rated line and destination VAT");
    assert_eq!(body.credit_note_lines[1].description, "Destination VAT DE");
}

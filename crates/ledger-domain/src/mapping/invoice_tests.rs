//! Sales invoice mapping: lines, tax, shipping, discounts, currency, filters, destination VAT.
use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;

use super::*;
use crate::Tier;
use crate::mapping::tests::{World, invoice, line, sage_total};
use crate::mapping::{ItemKind, SageItem};
use crate::policy::ZeroValueInvoices;

#[test]
fn a_uk_invoice_posts_outstanding_with_rates_tax_and_shipping() {
    let w = World::new();
    let inv = invoice(
        vec![
            line("MUG", dec!(2), dec!(10.00), dec!(0), dec!(0.20)),
            line("BOOK", dec!(1), dec!(8.99), dec!(0), dec!(0.05)),
        ],
        dec!(4.95),
        dec!(0.20),
        "GB",
        "GBP",
    );
    let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
    assert_eq!(body.status_id, None, "posted, never a draft");
    assert_eq!(body.reference.as_deref(), Some("000000041"));
    assert_eq!(body.contact_id, "contact1");
    assert_eq!(body.date.to_string(), "2026-05-01");
    assert_eq!((body.currency_id.as_deref(), body.exchange_rate), (None, None), "base currency");
    let l = &body.invoice_lines;
    assert_eq!(l.len(), 2);
    assert_eq!((l[0].tax_rate_id.as_deref(), l[0].tax_amount), (Some("GB_STANDARD"), Some(dec!(4.00))));
    assert_eq!((l[1].tax_rate_id.as_deref(), l[1].tax_amount), (Some("GB_LOWER"), Some(dec!(0.45))));
    assert_eq!((l[0].quantity, l[0].unit_price), (Some(dec!(2)), dec!(10.00)));
    assert!(l.iter().all(|l| l.ledger_account_id == "sales4000" && l.product_id.is_none()));
    assert_eq!(body.shipping_net_amount, Some(dec!(4.95)));
    assert_eq!(body.shipping_tax_rate_id.as_deref(), Some("GB_STANDARD"));
    assert_eq!(body.shipping_tax_amount, Some(dec!(0.99)));
    assert!(body.main_address.is_some() && body.delivery_address.is_some(), "both addresses, always");
    assert_eq!(sage_total(l, Some((dec!(4.95), "GB_STANDARD")), &w.rates), inv.grand_total);
}

#[test]
fn discounts_go_on_the_line_and_the_rate_is_found_from_the_discounted_net() {
    let w = World::new();
    // 3 × 19.99 = 59.97, 10 % off = 6.00, tax 20 % of 53.97 = 10.79; Magento's ratio 10.79/59.97 = 0.1799.
    let inv =
        invoice(vec![line("LAMP", dec!(3), dec!(19.99), dec!(0.10), dec!(0.20))], dec!(4.95), dec!(0.20), "GB", "GBP");
    assert_eq!(inv.lines[0].tax_rate, Some(dec!(0.1799)));
    let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
    let l = &body.invoice_lines[0];
    assert_eq!(l.discount_amount, Some(dec!(6.00)));
    assert_eq!((l.tax_rate_id.as_deref(), l.tax_amount), (Some("GB_STANDARD"), Some(dec!(10.79))));
    assert_eq!(sage_total(&body.invoice_lines, Some((dec!(4.95), "GB_STANDARD")), &w.rates), inv.grand_total);
}

#[test]
fn a_negative_invoice_discount_is_read_as_a_magnitude_and_the_excess_discounts_shipping() {
    let w = World::new();
    let mut inv = invoice(vec![line("MUG", dec!(1), dec!(10), dec!(0.10), dec!(0.20))], dec!(5), dec!(0), "GB", "GBP");
    // A real Magento stores discounts negative; 1.00 on the line and 2.00 more on shipping.
    inv.discount_amount = dec!(-3.00);
    let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
    assert_eq!(body.invoice_lines[0].discount_amount, Some(dec!(1.00)));
    assert_eq!(body.shipping_net_amount, Some(dec!(3.00)));
    assert_eq!(body.shipping_tax_rate_id.as_deref(), Some("GB_ZERO"), "untaxed shipping gets the zero rate");
}

#[test]
fn synced_items_are_linked_by_sku() {
    let mut w = World::new();
    w.items.insert("MUG".into(), SageItem { kind: ItemKind::Product, id: "p1".into() });
    w.items.insert("EBOOK".into(), SageItem { kind: ItemKind::Service, id: "s1".into() });
    w.items.insert("KETTLE".into(), SageItem { kind: ItemKind::StockItem, id: "k1".into() });
    let lines = ["MUG", "EBOOK", "KETTLE", "OTHER"].map(|s| line(s, dec!(1), dec!(5), dec!(0), dec!(0.2))).to_vec();
    let body = sales_invoice(&invoice(lines, dec!(0), dec!(0), "GB", "GBP"), &w.ctx(Tier::Plus)).unwrap();
    let ids: Vec<_> = body.invoice_lines.iter().map(|l| (l.product_id.as_deref(), l.service_id.as_deref())).collect();
    assert_eq!(ids, [(Some("p1"), None), (None, Some("s1")), (Some("k1"), None), (None, None)]);
    assert_eq!(body.shipping_net_amount, None, "no shipping fields without shipping");
}

#[test]
fn foreign_currency_carries_currency_and_rate_or_skips_below_plus() {
    let w = World::new();
    let inv = invoice(vec![line("MUG", dec!(1), dec!(11.65), dec!(0), dec!(0))], dec!(0), dec!(0), "US", "USD");
    let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
    assert_eq!((body.currency_id.as_deref(), body.exchange_rate), (Some("USD"), Some(dec!(1.271))));
    assert_eq!(body.invoice_lines[0].tax_rate_id.as_deref(), Some("GB_ZERO"), "an export is zero-rated");
    assert_eq!(sales_invoice(&inv, &w.ctx(Tier::Standard)), Err(MapError::Skip(SkipReason::TierWithoutMultiCurrency)));
}

#[test]
fn eu_consumer_vat_goes_on_its_own_line_or_fails_naming_the_rate() {
    let mut w = World::new();
    let inv =
        invoice(vec![line("MUG", dec!(2), dec!(11.65), dec!(0), dec!(0.19))], dec!(11.59), dec!(0.19), "DE", "EUR");
    let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
    let l = &body.invoice_lines;
    assert_eq!(l.len(), 2);
    assert_eq!((l[0].tax_rate_id.as_deref(), l[0].tax_amount), (Some("GB_ZERO"), Some(dec!(0))));
    assert_eq!(l[1].ledger_account_id, "other4900");
    assert_eq!(l[1].tax_rate_id.as_deref(), Some("GB_NO_TAX"));
    assert_eq!(l[1].unit_price, inv.tax_amount + inv.shipping_tax_amount, "line and shipping VAT, none dropped");
    assert_eq!(body.shipping_tax_rate_id.as_deref(), Some("GB_ZERO"));
    assert_eq!(sage_total(l, Some((dec!(11.59), "GB_ZERO")), &w.rates), inv.grand_total);

    w.policy.destination_vat_ledger_account_id = None;
    let err = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap_err();
    assert_eq!(err.code(), "tax_rate_not_mapped");
    assert!(err.to_string().contains("19%") && err.to_string().contains("DE"), "{err}");
}

#[test]
fn eu_business_customers_are_zero_rated() {
    let w = World::new();
    let inv = invoice(vec![line("MUG", dec!(2), dec!(11.65), dec!(0), dec!(0))], dec!(11.59), dec!(0), "FR", "EUR");
    let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
    assert_eq!(body.invoice_lines.len(), 1);
    assert_eq!(body.invoice_lines[0].tax_rate_id.as_deref(), Some("GB_ZERO"));
}

#[test]
fn filters_skip_before_any_call() {
    let mut w = World::new();
    let inv = invoice(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.2))], dec!(0), dec!(0), "GB", "GBP");
    w.policy.store_ids = Some(vec![2]);
    assert_eq!(sales_invoice(&inv, &w.ctx(Tier::Plus)), Err(MapError::Skip(SkipReason::StoreNotSynced)));
    w.policy.store_ids = Some(vec![1, 2]);
    w.policy.sync_since = Some(Utc.with_ymd_and_hms(2026, 5, 2, 0, 0, 0).unwrap());
    assert_eq!(sales_invoice(&inv, &w.ctx(Tier::Plus)), Err(MapError::Skip(SkipReason::OutsideSyncSince)));
    w.policy.sync_since = Some(Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap());
    assert!(sales_invoice(&inv, &w.ctx(Tier::Plus)).is_ok(), "sync_since is inclusive");

    let free = invoice(vec![line("GIFT", dec!(1), dec!(0), dec!(0), dec!(0))], dec!(0), dec!(0), "GB", "GBP");
    assert_eq!(sales_invoice(&free, &w.ctx(Tier::Plus)), Err(MapError::Skip(SkipReason::ZeroValueInvoice)));
    w.policy.zero_value_invoices = ZeroValueInvoices::Sync;
    let body = sales_invoice(&free, &w.ctx(Tier::Plus)).unwrap();
    assert_eq!(body.invoice_lines.len(), 1, "a zero invoice keeps its line: Sage needs one");

    let mut cancelled = inv.clone();
    cancelled.state = crate::magento::InvoiceState::Cancelled;
    assert_eq!(sales_invoice(&cancelled, &w.ctx(Tier::Plus)), Err(MapError::Skip(SkipReason::InvoiceCancelled)));
}

#[test]
fn a_row_total_that_quantity_times_price_misses_is_sent_as_one_unit() {
    let w = World::new();
    let mut l = line("OIL", dec!(3), dec!(3.33), dec!(0), dec!(0.2));
    l.line_subtotal = dec!(10.00);
    l.line_tax = dec!(2.00);
    l.line_total = dec!(12.00);
    let body = sales_invoice(&invoice(vec![l], dec!(0), dec!(0), "GB", "GBP"), &w.ctx(Tier::Plus)).unwrap();
    let s = &body.invoice_lines[0];
    assert_eq!((s.quantity, s.unit_price), (Some(dec!(1)), dec!(10.00)));
    assert!(s.description.starts_with("3 × "), "{}", s.description);
}

#[test]
fn missing_settings_and_unknown_rates_fail_with_what_to_fix() {
    let mut w = World::new();
    let inv = invoice(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.07))], dec!(0), dec!(0), "GB", "GBP");
    let err = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap_err();
    assert_eq!(err.code(), "tax_rate_not_mapped");
    assert!(err.to_string().contains("7%"), "{err}");
    w.policy.tax_rate_map.insert("7".into(), "CUSTOM_7".into());
    let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
    assert_eq!(body.invoice_lines[0].tax_rate_id.as_deref(), Some("CUSTOM_7"));

    w.policy.sales_ledger_account_id = None;
    assert!(matches!(
        sales_invoice(&inv, &w.ctx(Tier::Plus)),
        Err(MapError::PolicyIncomplete { field: "sales_ledger_account_id", .. })
    ));
    w.defaults.sales_ledger_account_id = Some("biz_default".into());
    assert_eq!(sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap().invoice_lines[0].ledger_account_id, "biz_default");
}

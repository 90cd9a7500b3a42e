//! Request bodies against Sage's published schema (`sage_sim::conformance`): field names, types,
//! enums and lengths of every body the mapping produces.
use chrono::NaiveDate;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

use super::*;
use crate::sage::{SageBody, Wrapped};

/// The schema's violations of `body` sent as `POST path`.
pub fn violations<T: SageBody>(path: &str, body: &T) -> Vec<String> {
    let value: Value = serde_json::to_value(Wrapped(body)).unwrap();
    sage_sim::conformance::check_request("POST", path, &value).unwrap().into_iter().map(|v| v.to_string()).collect()
}

#[test]
fn every_kind_of_body_conforms() {
    let w = World::new();
    let ctx = w.ctx(Tier::Plus);
    let inv = invoice(
        vec![line("MUG", dec!(2), dec!(11.65), dec!(0.1), dec!(0.19)), line("PEN", dec!(1), dec!(3), dec!(0), dec!(0))],
        dec!(11.59),
        dec!(0.19),
        "DE",
        "EUR",
    );
    assert_eq!(violations("/sales_invoices", &sales_invoice(&inv, &ctx).unwrap()), Vec::<String>::new());
    let m = memo(vec![line("MUG", dec!(1), dec!(10), dec!(0), dec!(0.2))], dec!(4.95), dec!(0.2), dec!(1), dec!(2));
    assert_eq!(violations("/sales_credit_notes", &sales_credit_note(&m, &ctx).unwrap()), Vec::<String>::new());

    let gbp = Currency::GBP;
    let mut c = customer(42, "GB");
    c.company = Some("c".repeat(150));
    c.phone = Some("0".repeat(80));
    c.addresses[0].region = Some("r".repeat(80));
    let reference = contact_reference(Some("ABC"), &c, &Currency::parse("EUR").unwrap(), &gbp).unwrap();
    assert_eq!(violations("/contacts", &post_contact(&c, &reference, &gbp, &gbp)), Vec::<String>::new());
    assert_eq!(
        violations("/contacts", &b2c_contact("B2CEUR", &Currency::parse("EUR").unwrap(), &gbp)),
        Vec::<String>::new()
    );

    let route = payment_route(&w.policy, "checkmo", &w.defaults).unwrap();
    let date = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let p = ReceiptParams {
        contact_id: "c1",
        artefact_id: "si1",
        amount: dec!(10),
        route: &route,
        date,
        reference: "000000041",
        fx: None,
    };
    assert_eq!(violations("/contact_payments", &customer_receipt(&p)), Vec::<String>::new());
    assert_eq!(violations("/contact_payments", &customer_refund_payment(&p)), Vec::<String>::new());
    assert_eq!(
        violations("/contact_allocations", &contact_allocation("c1", "si1", "cn1", dec!(5), date)),
        Vec::<String>::new()
    );

    let prod: crate::magento::Product = serde_json::from_value(json!({
        "magento_id": 9, "sku": "KETTLE-1", "name": "Kettle", "product_type": "simple", "price": 24.99, "cost": 11.5,
        "stock_qty": 7, "manage_stock": true
    }))
    .unwrap();
    assert_eq!(violations("/products", &post_product(&prod, &w.policy, &w.defaults).unwrap()), Vec::<String>::new());
    assert_eq!(violations("/services", &post_service(&prod, &w.policy, &w.defaults).unwrap()), Vec::<String>::new());
    assert_eq!(
        violations("/stock_items", &post_stock_item(&prod, &w.policy, &w.defaults).unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(violations("/stock_movements", &stock_movement("st1", &prod, dec!(-2), date)), Vec::<String>::new());
}

#[test]
fn the_check_itself_catches_an_overlong_reference() {
    let gbp = Currency::GBP;
    let body = post_contact(&customer(42, "GB"), "ELEVENCHARS", &gbp, &gbp);
    assert_eq!(violations("/contacts", &body).len(), 1, "a check that cannot fail proves nothing");
}

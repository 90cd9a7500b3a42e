//! Canonical entity parsing against spec-shaped JSON: omitted nulls, integral floats, strings for numbers,
//! typed ids and currencies; and properties over generated invoices.
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

use super::*;
use crate::{Currency, MagentoEntityId};

fn id(n: i64) -> MagentoEntityId {
    MagentoEntityId::new(n).unwrap()
}

fn invoice_json() -> Value {
    json!({
        "magento_id": 12, "increment_id": "000000012", "order_id": 30, "order_increment_id": "000000030",
        "website_id": 1, "store_id": 1, "currency": "GBP", "state": "paid",
        "customer": {
            "magento_id": 0, "email": "guest@example.com", "first_name": "Ada", "website_id": 0,
            "addresses": [{"kind": "billing", "street": ["1 High St"], "city": "Leeds", "country_id": "GB"}]
        },
        "lines": [
            {"sku": "MUG", "name": "Mug", "qty": 2, "unit_price": 10, "line_subtotal": 20, "line_tax": 4,
             "line_total": 24, "tax_rate": 0.2, "product_type": "simple"},
            {"sku": "GIFT", "name": "Gift card", "qty": "1.0000", "unit_price": "5.5", "line_subtotal": 5.5,
             "line_tax": 0, "line_total": 5.5}
        ],
        "subtotal": 25.5, "tax_amount": 4, "shipping_amount": 5, "shipping_tax_amount": 1,
        "discount_amount": 0, "grand_total": 35.5, "created_at": "2026-04-29T10:11:12Z",
        "payment_method": "checkmo", "some_future_field": {"x": 1}
    })
}

#[test]
fn invoice_with_omitted_nulls_and_integral_numbers() {
    let inv: Invoice = serde_json::from_value(invoice_json()).unwrap();
    assert_eq!((inv.magento_id, inv.order_id), (id(12), id(30)));
    assert_eq!(inv.currency, Currency::GBP);
    assert_eq!(inv.state, InvoiceState::Paid);
    assert!(inv.customer.is_guest());
    assert_eq!(inv.customer.last_name, None);
    assert_eq!(inv.customer.addresses[0].kind, AddressKind::Billing);
    assert_eq!(inv.customer.addresses[0].region, None);
    assert_eq!(inv.lines[0].qty, dec!(2));
    assert_eq!(inv.lines[0].tax_rate, Some(dec!(0.2)));
    assert_eq!(inv.lines[1].qty, dec!(1));
    assert_eq!(inv.lines[1].tax_rate, None);
    assert_eq!(inv.lines[1].unit_price, dec!(5.5));
    assert_eq!(inv.grand_total, dec!(35.5));
    assert_eq!(inv.created_at.unwrap().to_rfc3339(), "2026-04-29T10:11:12+00:00");
    assert_eq!((inv.billing_address, inv.po_number, inv.base_to_order_rate), (None, None, None));
}

#[test]
fn invoice_tolerates_empty_timestamp_and_unknown_state() {
    let mut v = invoice_json();
    v["created_at"] = json!("");
    v["state"] = json!("holded");
    let inv: Invoice = serde_json::from_value(v).unwrap();
    assert_eq!(inv.created_at, None);
    assert_eq!(inv.state, InvoiceState::Unknown);
}

#[test]
fn invoice_missing_money_is_an_error() {
    let mut v = invoice_json();
    v.as_object_mut().unwrap().remove("grand_total");
    assert!(serde_json::from_value::<Invoice>(v).is_err());
}

#[test]
fn credit_memo_without_invoice() {
    let v = json!({
        "magento_id": 7, "increment_id": "000000007", "website_id": 1, "currency": "EUR",
        "customer": {"magento_id": 5, "email": "c@example.com", "website_id": 1, "group_id": 1, "addresses": []},
        "lines": [], "adjustment_positive": 0, "adjustment_negative": 2.5, "grand_total": 10,
        "shipping_amount": 0, "shipping_tax_amount": 0, "created_at": "2026-04-29T10:11:12Z",
        "base_to_order_rate": 1.1234
    });
    let cm: CreditMemo = serde_json::from_value(v).unwrap();
    assert_eq!((cm.invoice_id, cm.invoice_increment_id.as_deref(), cm.reason.as_deref()), (None, None, None));
    assert_eq!(cm.adjustment_negative, dec!(2.5));
    assert_eq!(cm.base_to_order_rate, Some(dec!(1.1234)));
    assert_eq!(cm.customer.group_id, Some(1));
    assert_eq!((cm.magento_id, cm.currency.as_str(), cm.customer.magento_id), (id(7), "EUR", Some(id(5))));
    assert!(!cm.customer.is_guest());
}

#[test]
fn payment_with_list_or_object_metadata() {
    let base = json!({
        "magento_id": 12, "invoice_id": 12, "invoice_increment_id": "000000012", "method": "checkmo",
        "currency": "GBP", "amount": 35.5, "captured_at": "2026-04-29T10:11:12Z"
    });
    let p: Payment = serde_json::from_value(base.clone()).unwrap();
    assert_eq!((p.amount, p.gateway_txn_id, p.gateway_metadata), (dec!(35.5), None, None));
    for meta in [json!(["a", 1]), json!({"method_title": "Check"})] {
        let mut v = base.clone();
        v["gateway_metadata"] = meta.clone();
        v["gateway_txn_id"] = json!("ch_1");
        let p: Payment = serde_json::from_value(v).unwrap();
        assert_eq!(p.gateway_metadata, Some(meta));
    }
}

#[test]
fn product_with_string_tax_class_and_optional_prices() {
    let v = json!({
        "magento_id": 3, "sku": "MUG", "name": "Mug", "product_type": "simple", "price": 10,
        "manage_stock": true, "stock_qty": 100, "tax_class": "2", "website_ids": [1, 2],
        "created_at": "", "updated_at": "2026-04-29T10:11:12Z"
    });
    let p: Product = serde_json::from_value(v).unwrap();
    assert_eq!((p.price, p.special_price, p.cost), (Some(dec!(10)), None, None));
    assert!(p.manage_stock);
    assert_eq!(p.tax_class.as_deref(), Some("2"));
    assert_eq!(p.website_ids, vec![1, 2]);
    assert_eq!(p.created_at, None);
    let minimal: Product = serde_json::from_value(json!({"magento_id": 4, "sku": "X", "manage_stock": 0})).unwrap();
    assert!(!minimal.manage_stock && minimal.website_ids.is_empty());
}

#[test]
fn contact_endpoint_shape() {
    let v = json!({
        "magento_id": 5, "email": "c@example.com", "first_name": "Grace", "last_name": "Hopper",
        "company": "Navy", "phone": "+44 1", "website_id": 1, "group_id": 2,
        "addresses": [
            {"kind": "billing", "street": ["1 A St", "Flat 2"], "city": "York", "region": "N Yorks",
             "postcode": "YO1 1AA", "country_id": "GB", "telephone": "+44 1"},
            {"kind": "shipping", "street": ["1 A St", "Flat 2"], "city": "York", "country_id": "GB"}
        ],
        "created_at": "2026-01-01T00:00:00Z"
    });
    let c: Contact = serde_json::from_value(v).unwrap();
    assert_eq!(c.addresses.len(), 2);
    assert_eq!(c.addresses[0].street, vec!["1 A St", "Flat 2"]);
    assert_eq!(c.addresses[1].kind, AddressKind::Shipping);
    assert_eq!(c.updated_at, None);
}

#[test]
fn ids_and_currencies_are_typed_and_read_leniently() {
    let mut v = invoice_json();
    v["magento_id"] = json!("12");
    v["currency"] = json!(" gbp ");
    v["customer"]["magento_id"] = json!("5");
    let inv: Invoice = serde_json::from_value(v).unwrap();
    assert_eq!((inv.magento_id, inv.currency, inv.customer.magento_id), (id(12), Currency::GBP, Some(id(5))));
    assert!(!inv.customer.is_guest());
}

#[test]
fn invalid_ids_and_currencies_are_refused() {
    let cases = [
        ("magento_id", json!(0)),
        ("magento_id", json!(-3)),
        ("magento_id", json!(9_223_372_036_854_775_808u64)),
        ("order_id", json!("x")),
        ("currency", json!("POUNDS")),
        ("currency", json!("")),
    ];
    for (field, value) in cases {
        let mut v = invoice_json();
        v[field] = value.clone();
        assert!(serde_json::from_value::<Invoice>(v).is_err(), "{field} = {value}");
    }
    let mut v = invoice_json();
    v["customer"]["magento_id"] = Value::Null;
    assert!(serde_json::from_value::<Invoice>(v).is_err(), "a contact without an id is not a guest");
}

#[test]
fn guest_contact_writes_back_as_zero() {
    let inv: Invoice = serde_json::from_value(invoice_json()).unwrap();
    assert_eq!(serde_json::to_value(&inv.customer).unwrap()["magento_id"], json!(0));
}

/// A decimal as Magento may print it: a JSON number or a numeric string.
fn wire_decimal() -> impl Strategy<Value = (Decimal, Value)> {
    (any::<i32>(), 0u32..=4, any::<bool>()).prop_map(|(mantissa, scale, as_string)| {
        let d = Decimal::new(i64::from(mantissa), scale);
        let text = d.to_string();
        let wire = if as_string { Value::String(text) } else { serde_json::from_str(&text).unwrap() };
        (d, wire)
    })
}

/// An entity id as Magento may print it: an integer or a string of digits.
fn wire_id() -> impl Strategy<Value = (MagentoEntityId, Value)> {
    (1..=i64::MAX, any::<bool>()).prop_map(|(n, as_string)| {
        let wire = if as_string { json!(n.to_string()) } else { json!(n) };
        (id(n), wire)
    })
}

fn currency_code() -> impl Strategy<Value = String> {
    "[a-zA-Z]{3}"
}

proptest! {
    #[test]
    fn invoices_read_every_wire_form_of_their_values(
        (magento_id, wire_magento_id) in wire_id(),
        (order_id, wire_order_id) in wire_id(),
        (qty, wire_qty) in wire_decimal(),
        (total, wire_total) in wire_decimal(),
        (rate, wire_rate) in prop::option::of(wire_decimal()).prop_map(|o| o.map_or((None, Value::Null), |(d, w)| (Some(d), w))),
        code in currency_code(),
    ) {
        let mut v = invoice_json();
        v["magento_id"] = wire_magento_id;
        v["order_id"] = wire_order_id;
        v["lines"][0]["qty"] = wire_qty;
        v["grand_total"] = wire_total;
        v["base_to_order_rate"] = wire_rate;
        v["currency"] = json!(code);
        let inv: Invoice = serde_json::from_value(v).unwrap();
        prop_assert_eq!((inv.magento_id, inv.order_id), (magento_id, order_id));
        prop_assert_eq!((inv.lines[0].qty, inv.grand_total, inv.base_to_order_rate), (qty, total, rate));
        prop_assert_eq!(inv.currency.as_str(), code.to_ascii_uppercase());
    }

    #[test]
    fn an_invoice_the_ledger_writes_reads_back_equal(
        (magento_id, _) in wire_id(),
        (total, _) in wire_decimal(),
        guest in any::<bool>(),
        code in currency_code(),
    ) {
        let mut inv: Invoice = serde_json::from_value(invoice_json()).unwrap();
        inv.magento_id = magento_id;
        inv.grand_total = total;
        inv.currency = Currency::parse(&code).unwrap();
        inv.customer.magento_id = (!guest).then_some(magento_id);
        let written = serde_json::to_value(&inv).unwrap();
        prop_assert_eq!(serde_json::from_value::<Invoice>(written).unwrap(), inv);
    }

    #[test]
    fn arbitrary_field_values_never_panic(field in "[a-z_]{1,20}", text in any::<String>(), number in any::<i64>()) {
        for value in [json!(text), json!(number), json!([text]), json!({"x": number})] {
            let mut v = invoice_json();
            v[field.as_str()] = value.clone();
            v["lines"][0][field.as_str()] = value.clone();
            v["customer"][field.as_str()] = value;
            let _ = serde_json::from_value::<Invoice>(v);
        }
    }
}

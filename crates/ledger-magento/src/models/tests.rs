//! Canonical entity parsing against spec-shaped JSON: omitted nulls, integral floats, strings for numbers.
use rust_decimal_macros::dec;
use serde_json::json;

use super::*;

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
    assert_eq!(inv.magento_id, 12);
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

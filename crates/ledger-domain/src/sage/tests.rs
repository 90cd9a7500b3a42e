//! Wire-shape tests: request roots, skipped `None`s, decimals as strings, lenient responses.
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/sage/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_request_is_wrapped_in_its_root_with_decimals_as_strings_and_no_nulls() {
    let invoice = PostSalesInvoice {
        contact_id: "c1".into(),
        date: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
        reference: Some("100000042".into()),
        invoice_lines: vec![PostArtefactLine {
            description: "Widget".into(),
            ledger_account_id: "l1".into(),
            unit_price: d("10.00"),
            quantity: Some(d("1")),
            tax_rate_id: Some("GB_STANDARD".into()),
            tax_amount: Some(d("2.00")),
            ..Default::default()
        }],
        idempotency_id: Some(IdempotencyId::derive("op")),
        ..Default::default()
    };
    let body = serde_json::to_value(invoice.wrapped()).unwrap();
    assert_eq!(
        body,
        json!({"sales_invoice": {"contact_id": "c1", "date": "2025-03-01", "reference": "100000042",
            "idempotency_id": IdempotencyId::derive("op").as_str(),
            "invoice_lines": [{"description": "Widget", "ledger_account_id": "l1", "unit_price": "10",
                "quantity": "1", "tax_rate_id": "GB_STANDARD", "tax_amount": "2"}]}})
    );
}

#[test]
fn the_golden_request_reads_back_into_the_typed_body_and_out_with_the_same_values() {
    let raw = fixture("invoice_9_83_request.json");
    let typed: PostSalesInvoice = serde_json::from_value(raw["sales_invoice"].clone()).unwrap();
    assert_eq!(typed.invoice_lines[0].discount_amount, Some(d("1.00")));
    let written = serde_json::to_value(typed.wrapped()).unwrap();
    let line = &written["sales_invoice"]["invoice_lines"][0];
    assert_eq!((&line["unit_price"], &line["tax_amount"]), (&json!("10"), &json!("0.83")), "short decimal strings");
    let again: PostSalesInvoice = serde_json::from_value(written["sales_invoice"].clone()).unwrap();
    assert_eq!(again, typed);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&written["sales_invoice"]), keys(&raw["sales_invoice"]), "no field added or lost");
}

#[test]
fn responses_read_decimal_strings_and_numbers_and_ignore_unknown_fields() {
    let mut raw = fixture("invoice_9_83_response.json");
    raw["id"] = json!("i1");
    raw["net_amount"] = json!(9.0);
    raw["some_field_sage_added_later"] = json!({"x": 1});
    let invoice: SalesInvoice = serde_json::from_value(raw).unwrap();
    assert_eq!(invoice.status_id(), Some("UNPAID"));
    assert_eq!(invoice.net_amount, Some(d("9")));
    assert_eq!(invoice.total_amount, Some(d("9.83")));
    assert_eq!(invoice.invoice_lines[0].tax_amount, Some(d("0.83")));
    assert_eq!(invoice.invoice_lines[0].tax_rate.as_ref().map(|t| t.id.as_str()), Some("TEST_9_25"));
    assert_eq!(invoice.currency.map(|c| c.id), Some("GBP".to_owned()));
}

#[test]
fn collections_read_both_page_size_spellings_and_bare_items() {
    let accounting: Collection<Contact> = serde_json::from_value(json!({"$total": 3, "$page": 1,
        "$next": "/contacts?page=2", "$back": null, "$itemsPerPage": 2,
        "$items": [{"id": "a", "displayed_as": "A (A1)", "$path": "/contacts/a"}, {"id": "b"}]}))
    .unwrap();
    assert_eq!(accounting.items_per_page, Some(2));
    assert_eq!(accounting.next.as_deref(), Some("/contacts?page=2"));
    assert_eq!(accounting.items[0].path.as_deref(), Some("/contacts/a"));
    let businesses: Collection<Business> =
        serde_json::from_value(json!({"$items_per_page": 2147483647, "$next": null, "$items": []})).unwrap();
    assert_eq!(businesses.items_per_page, Some(2_147_483_647));
    assert!(businesses.next.is_none());
}

#[test]
fn a_partial_payment_update_sends_only_what_it_sets() {
    let clear = PutContactPayment { allocated_artefacts: Some(vec![]), ..Default::default() };
    assert_eq!(serde_json::to_value(clear.wrapped()).unwrap(), json!({"contact_payment": {"allocated_artefacts": []}}));
}

#[test]
fn idempotency_ids_are_stable_32_hex_and_differ_per_operation() {
    let a = IdempotencyId::derive("tenant|biz|invoice|42|create|v1");
    assert_eq!(a, IdempotencyId::derive("tenant|biz|invoice|42|create|v1"));
    assert_ne!(a, IdempotencyId::derive("tenant|biz|invoice|43|create|v1"));
    assert_eq!(a.as_str().len(), 32);
    assert!(IdempotencyId::parse(a.as_str()).is_ok());
    assert!(IdempotencyId::parse("ABCDEF0123456789ABCDEF0123456789").is_err());
    assert!(serde_json::from_value::<IdempotencyId>(json!("short")).is_err());
}

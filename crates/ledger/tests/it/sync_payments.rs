//! Payments and filters end to end: an unmapped method is a clear skip; a payment with its invoice in
//! one drain makes one invoice and one receipt of the invoice's amount; `sync_since` skips older
//! documents.
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::sync::World;

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_by_an_unmapped_method_is_skipped() {
    let w = World::start("Plus").await;
    w.patch_policy(json!({"payment_method_map": {}})).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    let id = inv["invoice_id"].as_u64().unwrap();
    w.fire(json!({"action": "pay_invoice", "invoice_id": id})).await;
    w.drain().await;
    let (status, reason, _) = w.outcome("invoice.paid", id).await;
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("skipped", Some("payment_method_not_mapped")),
        "{:#?}",
        w.events().await
    );
    assert_eq!(w.outcome("invoice.created", id).await.0, "synced");
    assert!(w.records("contact_payments").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_and_its_payment_together_make_one_invoice_and_one_full_receipt() {
    let w = World::start("Plus").await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    let id = inv["invoice_id"].as_u64().unwrap();
    w.fire(json!({"action": "pay_invoice", "invoice_id": id})).await;
    w.drain().await;
    assert_eq!(w.outcome("invoice.paid", id).await.0, "synced", "{:#?}", w.events().await);
    assert_eq!(w.outcome("invoice.created", id).await.0, "synced", "{:#?}", w.events().await);
    let invoices = w.records("sales_invoices").await;
    assert_eq!(invoices.len(), 1, "{invoices:#?}");
    let receipts = w.records("contact_payments").await;
    assert_eq!(receipts.len(), 1, "{receipts:#?}");
    let fx = w.fixtures().await;
    let magento = fx["invoices"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(dec(&receipts[0]["total_amount"]), dec(&magento["grand_total"]), "{receipts:#?}");
    assert_eq!(invoices[0]["status"]["id"], "PAID", "{invoices:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_before_sync_since_are_skipped() {
    let w = World::start("Plus").await;
    w.patch_policy(json!({"sync_since": "2999-01-01T00:00:00Z"})).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    let (status, reason, _) = w.outcome("invoice.created", inv["invoice_id"].as_u64().unwrap()).await;
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("skipped", Some("outside_sync_since")),
        "{:#?}",
        w.events().await
    );
    assert!(w.records("sales_invoices").await.is_empty());
}

//! Refunds end to end: a memo of a paid invoice becomes a credit note and a customer refund; the
//! Start tier skips refunds clearly; an order-level refund follows `order_refunds`.
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::sync::{World, chip};

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

fn memo_total(fx: &Value, id: u64) -> Decimal {
    dec(&fx["credit_memos"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()["grand_total"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memo_of_a_paid_invoice_is_a_credit_note_and_a_customer_refund() {
    let w = World::start("Plus").await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true})).await;
    let memo = w.fire(json!({"action": "refund", "invoice_id": inv["invoice_id"]})).await;
    w.drain().await;
    let rows = w.chips(2).await;
    let mid = memo["creditmemo_id"].as_u64().expect("memo id");
    let c = chip(&rows, "creditmemo", mid);
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let notes = w.records("sales_credit_notes").await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let fx = w.fixtures().await;
    assert_eq!(dec(&notes[0]["total_amount"]), memo_total(&fx, mid), "{notes:#?}");
    let invoices = w.records("sales_invoices").await;
    assert_eq!(notes[0]["contact"]["id"], invoices[0]["contact"]["id"], "the invoice's contact");
    let payments = w.records("contact_payments").await;
    let refunds: Vec<_> = payments.iter().filter(|p| p.to_string().contains("CUSTOMER_REFUND")).collect();
    assert_eq!(refunds.len(), 1, "the money went back: {payments:#?}");
    assert_eq!(dec(&refunds[0]["total_amount"]), memo_total(&fx, mid), "{refunds:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_tier_skips_refunds_with_a_reason() {
    let w = World::start("Start").await;
    let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": true})).await;
    let memo = w.fire(json!({"action": "refund", "invoice_id": inv["invoice_id"]})).await;
    w.drain().await;
    let rows = w.chips(2).await;
    let mid = memo["creditmemo_id"].as_u64().expect("memo id");
    let c = chip(&rows, "creditmemo", mid);
    assert_eq!(c["sync_status"], "skipped", "{c} {:#?}", w.events().await);
    assert!(c["skip_reason"].as_str().is_some_and(|r| r.contains("refund") || r.contains("tier")), "{c}");
    assert!(w.records("sales_credit_notes").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_level_refund_follows_the_policy() {
    let w = World::start("Plus").await;
    let synced = order_refund(&w).await;
    w.drain().await;
    let rows = w.chips(2).await;
    let c = chip(&rows, "creditmemo", synced);
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    assert_eq!(w.records("sales_credit_notes").await.len(), 1);

    w.patch_policy(json!({"order_refunds": "skip"})).await;
    let skipped = order_refund(&w).await;
    w.drain().await;
    let rows = w.chips(4).await;
    let c = chip(&rows, "creditmemo", skipped);
    assert_eq!(
        (c["sync_status"].as_str(), c["skip_reason"].as_str()),
        (Some("skipped"), Some("order_refund_not_synced"))
    );
    assert_eq!(w.records("sales_credit_notes").await.len(), 1, "no second credit note");
}

/// A paid guest order refunded at the order (no invoice on the memo); the memo's id.
async fn order_refund(w: &World) -> u64 {
    let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": true})).await;
    let memo = w.fire(json!({"action": "refund", "order_id": inv["order_id"]})).await;
    assert!(memo["invoice_id"].is_null(), "an order-level memo: {memo}");
    memo["creditmemo_id"].as_u64().expect("memo id")
}

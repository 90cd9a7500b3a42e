//! Customers end to end: a customer saved and then invoiced twice has one Sage contact; B2C
//! consolidation posts guest orders under the threshold to one fallback contact, those over it to
//! their own.
use std::str::FromStr;

use reqwest::Method;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_customer_and_its_invoices_share_one_contact() {
    let w = World::start("Plus").await;
    let customer = w.fire(json!({"action": "save_customer", "country": "GB"})).await;
    let cid = customer["customer_id"].as_u64().unwrap();
    let a = w.fire(json!({"action": "create_invoice", "customer_id": cid, "paid": false})).await;
    let b = w.fire(json!({"action": "create_invoice", "customer_id": cid, "paid": true})).await;
    w.drain().await;
    let rows = w.chips(3).await;
    let contact = chip(&rows, "customer", cid)["provider_entity_id"].clone();
    assert!(contact.is_string(), "{rows:?} {:#?}", w.events().await);
    let invoices = w.records("sales_invoices").await;
    for inv in [&a, &b] {
        let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
        let sage = invoices.iter().find(|i| i["id"] == c["provider_entity_id"]).unwrap();
        assert_eq!(sage["contact"]["id"], contact, "the customer's one contact: {sage:#}");
    }
    assert_eq!(w.records("contacts").await.len(), 1);
    assert_eq!(w.sage_control(Method::GET, "/duplicates", None).await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2c_consolidation_posts_small_guest_orders_to_one_fallback_contact() {
    let w = World::start("Plus").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": false})).await;
        ids.push(inv["invoice_id"].as_u64().unwrap());
    }
    let fx = w.fixtures().await;
    let total =
        |id: u64| dec(&fx["invoices"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap()["grand_total"]);
    let mut totals: Vec<Decimal> = ids.iter().map(|i| total(*i)).collect();
    totals.sort();
    assert!(totals[0] < totals[4], "the seed gives different totals: {totals:?}");
    let threshold = (totals[0] + totals[4]) / Decimal::TWO;
    w.patch_policy(json!({"b2c": {"enabled": true, "threshold": threshold.to_string()}})).await;
    w.drain().await;
    let rows = w.chips(ids.len()).await;
    let invoices = w.records("sales_invoices").await;
    let contact_of = |id: u64| {
        let c = chip(&rows, "invoice", id);
        assert_eq!(c["sync_status"], "synced", "{c}");
        invoices.iter().find(|i| i["id"] == c["provider_entity_id"]).unwrap()["contact"]["id"].clone()
    };
    let small: Vec<Value> = ids.iter().filter(|i| total(**i) < threshold).map(|i| contact_of(*i)).collect();
    let large: Vec<Value> = ids.iter().filter(|i| total(**i) >= threshold).map(|i| contact_of(*i)).collect();
    assert!(!small.is_empty() && !large.is_empty());
    assert!(small.iter().all(|c| *c == small[0]), "one fallback contact: {small:?}");
    for c in &large {
        assert!(!small.contains(c), "an order over the threshold has its own contact: {large:?} {small:?}");
    }
    assert_eq!(w.records("contacts").await.len(), 1 + large.len(), "{small:?} {large:?}");
}

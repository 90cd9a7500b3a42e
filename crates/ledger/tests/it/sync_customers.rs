//! Customers end to end: a customer whose contact an invoice made is updated by PUT when saved; B2C consolidation
//! sends small guest orders to one fallback contact per currency and larger ones to their own contact.
use serde_json::json;

use crate::sync::{World, cents, chip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_known_from_an_invoice_is_updated_by_put_when_saved() {
    // The module sends `customer.upserted` at most once per customer (its outbox keeps one row per
    // key, magento-protocol.md 1.4), so the update path is a customer whose contact an invoice made.
    let w = World::start("Plus").await;
    let id = w.uk_consumer().await;
    let inv = w.fire(json!({"action": "create_invoice", "customer_id": id, "paid": false})).await;
    w.drain().await;
    let rows = w.chips(1).await;
    assert_eq!(chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap())["sync_status"], "synced");
    assert_eq!(w.records("contacts").await.len(), 1);
    let saved = w.fire(json!({"action": "save_customer", "customer_id": id})).await;
    assert_eq!(saved["events"][0]["enqueued"], true, "{saved}");
    w.drain().await;
    let rows = w.chips(2).await;
    let c = chip(&rows, "customer", id);
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let contacts = w.records("contacts").await;
    assert_eq!(contacts.len(), 1, "one contact for one customer: {contacts:#?}");
    assert_eq!(contacts[0]["id"], c["provider_entity_id"]);
    assert_eq!(w.calls_to("POST", "/v3.1/contacts").await, 1, "{:#?}", w.calls().await);
    assert_eq!(w.calls_to("PUT", "/v3.1/contacts").await, 1, "the save is an update: {:#?}", w.calls().await);
    let again = w.fire(json!({"action": "save_customer", "customer_id": id, "company": "Renamed Ltd"})).await;
    assert_eq!(again["events"][0]["dropped_because"], "duplicate_key", "the module sends one upsert: {again}");
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_guest_orders_share_the_fallback_contact_and_large_ones_get_their_own() {
    let w = World::start("Plus").await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": false})).await;
        ids.push(inv["invoice_id"].as_u64().unwrap());
    }
    // The threshold splits the batch: the median of its grand totals (in pence).
    let fixtures = w.fixtures().await;
    let mut totals: Vec<i64> = ids
        .iter()
        .map(|id| {
            cents(&fixtures["invoices"].as_array().unwrap().iter().find(|i| i["id"] == *id).unwrap()["grand_total"])
        })
        .collect();
    totals.sort();
    let threshold = totals[totals.len() / 2];
    w.set_policy(json!({"b2c": {"enabled": true, "threshold": threshold as f64 / 100.0}})).await;
    w.drain().await;
    let rows = w.chips(8).await;
    let invoices = w.records("sales_invoices").await;
    let contacts = w.records("contacts").await;
    let (mut small, mut large) = (Vec::new(), Vec::new());
    for id in ids {
        let m = fixtures["invoices"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap().clone();
        let c = chip(&rows, "invoice", id);
        assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
        let s = invoices.iter().find(|i| i["id"] == c["provider_entity_id"]).unwrap();
        let contact = s["contact"]["id"].as_str().unwrap().to_owned();
        if cents(&m["grand_total"]) < threshold { small.push(contact) } else { large.push(contact) }
    }
    assert!(!small.is_empty() && !large.is_empty(), "the batch has both: small {small:?} large {large:?}");
    small.sort();
    small.dedup();
    assert_eq!(small.len(), 1, "one fallback contact for every small GBP guest order: {small:?}");
    for l in &large {
        assert_ne!(l, &small[0], "a large guest order has its own contact");
    }
    let mut distinct = large.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), large.len(), "each large guest order its own contact: {large:?}");
    assert_eq!(contacts.len(), 1 + large.len(), "{contacts:#?}");
    assert_eq!(w.duplicates().await, json!([]));
}

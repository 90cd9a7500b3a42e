//! The operator JSON over runs of the real sync engine: a synced invoice is found by its increment id,
//! and its detail puts the store's invoice beside the sales invoice Sage received.
use serde_json::json;

use crate::operator_events::get;
use crate::sync::{World, chip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_invoice_shows_what_the_store_said_and_what_sage_got() {
    let w = World::start("Plus").await;
    let invoice = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    let rows = w.chips(1).await;
    let sage_id = chip(&rows, "invoice", invoice["invoice_id"].as_u64().unwrap())["provider_entity_id"].clone();
    let increment = invoice["increment_id"].as_str().unwrap();

    let (status, page) =
        get(&w.app, &format!("/api/v1/tenants/{}/events?event=invoice.created&q={increment}", w.tenant)).await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!((items[0]["state"].as_str(), items[0]["increment_id"].as_str()), (Some("synced"), Some(increment)));
    assert_eq!(items[0]["sage_id"], sage_id);

    let (status, d) = get(&w.app, &format!("/api/v1/events/{}", items[0]["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{d}");
    let attempts = d["attempts"].as_array().unwrap();
    assert!(!attempts.last().unwrap()["sage_calls"].as_array().unwrap().is_empty(), "the Sage calls are kept: {d:#}");
    let diff = &d["diff"];
    assert_eq!(diff["magento"]["increment_id"], increment, "the store's invoice: {diff:#}");
    assert_eq!(diff["sage"]["sales_invoice"]["reference"], increment, "the invoice Sage got: {diff:#}");
    assert!(
        diff["sage_call"].as_str().unwrap().starts_with("POST ")
            && diff["sage_call"].as_str().unwrap().contains("sales_invoices"),
        "{diff:#}"
    );
}

//! A mixed batch through a faulty Sage: 503s, answers lost after Sage committed, and 429 storms. Every
//! event settles, nothing is created twice, and the store's chips all leave pending as synced.
use reqwest::Method;
use serde_json::json;

use crate::sync::World;
use crate::sync_waits::quick;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_batch_through_sage_faults_settles_once_each() {
    let w = World::start_with("Plus", quick()).await;
    let business = w.business.clone();
    let mut events = 0;
    for i in 0..10 {
        let paid = i % 2 == 0;
        let market = ["uk", "eu", "world"][i % 3];
        let guest = i % 4 != 0;
        let action = if guest {
            json!({"action": "create_invoice", "guest": true, "market": market, "paid": paid})
        } else {
            json!({"action": "create_invoice", "paid": paid})
        };
        events += w.fire(action).await["events"].as_array().unwrap().len();
    }
    for _ in 0..5 {
        events += w.fire(json!({"action": "save_customer"})).await["events"].as_array().unwrap().len();
    }
    for t in ["virtual", "simple", "downloadable", "configurable", "virtual"] {
        events +=
            w.fire(json!({"action": "save_product", "product_type": t})).await["events"].as_array().unwrap().len();
    }
    assert!(events >= 25, "a batch of ~30 events: {events}");
    w.sage_control(
        Method::PUT,
        "/faults",
        Some(json!({"business": business, "rate_503": 0.15, "rate_500_after_commit": 0.15, "rate_429": 0.1, "retry_after_s": 1})),
    )
    .await;
    w.drain().await;
    let rows = w.chips(events - 5).await;
    w.sage_control(Method::PUT, "/faults", Some(json!({}))).await;
    let calls = w.calls().await;
    let faulted =
        |status: u64| calls.iter().filter(|c| c["status"] == status).map(|c| c["count"].as_u64().unwrap()).sum::<u64>();
    assert!(faulted(503) > 0 && faulted(500) > 0 && faulted(429) > 0, "every fault happened: {calls:#?}");
    for r in &rows {
        assert_eq!(r["sync_status"], "synced", "{r} {:#?}", w.events().await);
        assert!(!r["provider_entity_id"].is_null(), "{r}");
    }
    let states = test_support::eventually("every event settles", std::time::Duration::from_secs(60), || async {
        let states = w.states().await;
        (states.len() == events && states.iter().all(|s| s.1 != "pending" && s.1 != "running")).then_some(states)
    })
    .await;
    assert!(states.iter().all(|s| s.1 == "synced"), "{states:?} {:#?}", w.events().await);
    assert_eq!(w.duplicates().await, json!([]), "no lost answer made a second record");
    assert_eq!(w.records("sales_invoices").await.len(), 10);
    assert_eq!(w.records("contact_payments").await.len(), 5, "one receipt per paid invoice");
}

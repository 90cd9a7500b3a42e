//! Two workers on one database drain a hundred mixed events: every Sage record exists exactly once.
use reqwest::Method;
use serde_json::json;

use crate::sync::World;
use crate::sync_waits::quick;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_make_each_sage_record_once() {
    let mut w = World::start_with("Plus", quick()).await;
    w.app.spawn_worker(quick().retry);
    let (invoices, customers, products) = (50, 15, 10);
    for i in 0..invoices {
        let guest = i % 3 == 0;
        w.fire(json!({"action": "create_invoice", "guest": guest, "market": "uk", "paid": i % 2 == 0})).await;
    }
    for _ in 0..customers {
        w.fire(json!({"action": "save_customer"})).await;
    }
    for _ in 0..products {
        w.fire(json!({"action": "save_product", "product_type": "virtual"})).await;
    }
    // The module's cron run posts at most a batch; run it until the outbox is empty.
    for _ in 0..5 {
        w.drain().await;
        let url = format!("{}/_sim/outbox?status=pending", w.store.base_url());
        let pending = crate::magento::control(&w.app.http, Method::GET, url, None).await;
        if pending.as_array().is_some_and(|p| p.is_empty()) {
            break;
        }
    }
    let rows = w.chips(invoices + customers + products).await;
    assert!(rows.iter().all(|r| r["sync_status"] == "synced"), "{rows:#?}");
    let workers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM worker_heartbeats").fetch_one(&w.app.db.pool).await.unwrap();
    assert_eq!(workers, 2, "two workers were running");
    let states = w.states().await;
    assert_eq!(states.len(), invoices + invoices / 2 + customers + products, "one event each");
    assert!(states.iter().all(|s| s.1 == "synced"), "{states:?}");
    assert_eq!(w.records("sales_invoices").await.len(), invoices);
    assert_eq!(w.records("contact_payments").await.len(), invoices / 2);
    assert_eq!(w.records("services").await.len(), products);
    assert_eq!(w.sage_control(Method::GET, "/duplicates", None).await, json!([]), "nothing created twice");
}

//! A mixed batch under sage-sim's faults (503s, answers lost after commit, 429s): every event settles,
//! nothing is created twice in Sage.
use reqwest::Method;
use serde_json::json;

use crate::sync::World;
use crate::sync_waits::quick;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_batch_under_faults_settles_without_duplicates() {
    let w = World::start_with("Plus", quick()).await;
    let mut expected = 0;
    for i in 0..24 {
        let body = match i % 4 {
            0 => json!({"action": "create_invoice", "paid": false}),
            1 => json!({"action": "create_invoice", "paid": true}),
            2 => json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": false}),
            _ => json!({"action": "save_customer"}),
        };
        w.fire(body).await;
        expected += 1;
    }
    for t in ["virtual", "simple", "downloadable", "configurable", "bundle", "virtual"] {
        w.fire(json!({"action": "save_product", "product_type": t})).await;
        expected += 1;
    }
    w.sage_control(
        Method::PUT,
        "/faults",
        Some(json!({"business": null, "rate_503": 0.15, "rate_500_after_commit": 0.1,
                     "rate_hang_after_commit": 0.05, "hold_ms": 300, "rate_429": 0.05, "retry_after_s": 1})),
    )
    .await;
    w.drain().await;
    let rows = w.chips(expected).await;
    w.sage_control(Method::PUT, "/faults", Some(json!({}))).await;
    let unsettled: Vec<_> = rows.iter().filter(|r| r["sync_status"] == "failed").collect();
    assert!(
        unsettled.is_empty(),
        "transient faults end in retries, not failures: {unsettled:#?} {:#?}",
        w.events().await
    );
    let dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE tenant_id = $1 AND state NOT IN ('synced', 'skipped')")
            .bind(w.tenant)
            .fetch_one(&w.app.db.pool)
            .await
            .unwrap();
    assert_eq!(dead, 0, "{:#?}", w.events().await);
    let calls = w.calls().await;
    let hit = |status: u64| calls.iter().filter(|c| c["status"] == status).count();
    assert!(hit(503) > 0 && hit(429) + hit(500) + hit(0) > 0, "the faults were injected: {calls:#?}");
    let duplicates = w.sage_control(Method::GET, "/duplicates", None).await;
    assert_eq!(duplicates, json!([]), "nothing created twice");
}

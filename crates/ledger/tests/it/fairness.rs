//! Fairness between tenants: one tenant's backlog does not hold back another tenant's next event.
use test_support::{TestApp, envelope};

/// The order apalis fetches the pending triggers in (priority, then age), as event ids.
async fn fetch_order(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT e.id::text FROM apalis.jobs j JOIN events e ON e.task_id = j.id
          WHERE j.status = 'Pending' ORDER BY j.priority DESC, j.run_at ASC",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_tenants_event_is_fetched_before_a_noisy_tenants_backlog() {
    let app = TestApp::spawn().await;
    let noisy = app.create_tenant("noisy").await;
    let quiet = app.create_tenant("quiet").await;
    for i in 1..=40u64 {
        let resp = app.post_event(&noisy, "product.upserted", &format!("product.upserted:{i}"), &envelope(i)).await;
        assert_eq!(resp.status(), 202);
    }
    let resp = app.post_event(&quiet, "product.upserted", "product.upserted:1", &envelope(1)).await;
    assert_eq!(resp.status(), 202);
    let quiet_event: String = sqlx::query_scalar("SELECT id::text FROM events WHERE tenant_id = $1")
        .bind(quiet.id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let order = fetch_order(&app).await;
    assert_eq!(order.len(), 41);
    let position = order.iter().position(|id| *id == quiet_event).unwrap();
    // Only the noisy tenant's first event (queued while it had nothing waiting) is as urgent and older.
    assert!(position <= 1, "the quiet tenant's event is fetched at position {position} of 41");
}

//! Liveness and readiness, and 503 (never 429) when the database is gone.
use serde_json::Value;
use test_support::{TestApp, envelope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_reports_database_and_migrations() {
    let app = TestApp::spawn().await;
    let resp = app.http.get(format!("{}/health/ready", app.base_url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["checks"]["migrations"]["ledger_current"], true);
    assert_eq!(body["checks"]["migrations"]["apalis_current"], true);
    let live = app.http.get(format!("{}/health/live", app.base_url)).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert!(resp_has_request_id(&live));
}

fn resp_has_request_id(resp: &reqwest::Response) -> bool {
    resp.headers().get("x-request-id").is_some_and(|v| v.len() >= 32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_is_503_never_4xx() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("a").await;
    // Warm the key cache, then lose the database.
    assert_eq!(app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await.status(), 202);
    app.db.pool.close().await;
    let resp = app.post_event(&t, "invoice.created", "invoice.created:2", &envelope(2)).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    let ready = app.http.get(format!("{}/health/ready", app.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    // The endpoint is public: it answers a code and logs the error, never the database's text.
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "not_ready", "checks": { "database": "unavailable" } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_shed_with_503() {
    let opts = test_support::TestAppOptions {
        api: ledger_api::ApiConfig { max_in_flight: 1, ..Default::default() },
        ..Default::default()
    };
    let app = std::sync::Arc::new(TestApp::spawn_with(opts).await);
    let t = app.create_tenant("a").await;
    let mut handles = Vec::new();
    for i in 0..40u64 {
        let (app, t) = (app.clone(), t.clone());
        handles.push(tokio::spawn(async move {
            app.post_event(&t, "invoice.created", &format!("invoice.created:{i}"), &envelope(i + 1))
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 202 || *s == 503), "{statuses:?}");
    assert!(statuses.contains(&503), "with one slot, concurrent requests are shed: {statuses:?}");
    let accepted = statuses.iter().filter(|s| **s == 202).count() as i64;
    assert_eq!(app.count("events").await, accepted, "shed requests stored nothing");
}

//! The admin health tile's counts come from the data; disconnect from either side revokes the binding.
use serde_json::Value;
use test_support::{TestApp, envelope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tile_counts_match_events_seeded_in_every_state() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let other = app.create_tenant("other").await;
    let states = ["pending", "running", "received", "synced", "skipped", "failed", "dead_lettered"];
    for (i, state) in states.iter().enumerate() {
        let resp =
            app.post_event(&t, "invoice.created", &format!("invoice.created:{i}"), &envelope(i as u64 + 1)).await;
        assert_eq!(resp.status(), 202);
        let terminal = !matches!(*state, "pending" | "running");
        sqlx::query(
            "UPDATE events SET state = $2, finished_at = CASE WHEN $3 THEN now() - make_interval(mins => $4) END
              WHERE tenant_id = $1 AND idempotency_key = $5",
        )
        .bind(t.id.0)
        .bind(state)
        .bind(terminal)
        .bind(i as i32)
        .bind(format!("invoice.created:{i}"))
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    // A failure older than 24 h does not count; nor do another tenant's events.
    let old = app.post_event(&t, "invoice.paid", "invoice.paid:old", &envelope(99)).await;
    assert_eq!(old.status(), 202);
    sqlx::query("UPDATE events SET state = 'failed', finished_at = now() - interval '25 hours' WHERE idempotency_key = 'invoice.paid:old'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(app.post_event(&other, "invoice.created", "invoice.created:x", &envelope(5)).await.status(), 202);

    let resp = app.tile(&t).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["sync"]["pending_count"], 2, "{body}");
    assert_eq!(body["sync"]["failed_24h"], 2, "{body}");
    assert_eq!(body["binding"]["status"], "not_connected", "no Sage binding yet");
    assert_eq!(body["tenant"]["magento_connection_status"], "pending");
    let last: String = sqlx::query_scalar("SELECT to_char(max(finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM events WHERE tenant_id = $1")
        .bind(t.id.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(body["sync"]["last_run_at"], last.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_from_magento_revokes_the_binding() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let resp = app
        .http
        .post(format!("{}/v1/tenant/disconnect", app.base_url))
        .bearer_auth(t.token())
        .header("content-type", "application/json")
        .header("idempotency-key", ledger_magento::disconnect_idempotency_key(&t.id.to_string()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await;
    assert_eq!(resp.status(), 401, "webhooks after disconnect are refused");
    let body: Value = app.tile(&t).await.json().await.unwrap();
    assert_eq!(body["binding"]["status"], "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tile_needs_a_valid_single_use_token() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let none = app.http.get(format!("{}/v1/tile/health", app.base_url)).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let token = t.token();
    let get = |token: String| app.http.get(format!("{}/v1/tile/health", app.base_url)).bearer_auth(token).send();
    assert_eq!(get(token.clone()).await.unwrap().status(), 200);
    assert_eq!(get(token).await.unwrap().status(), 401, "a replayed jti is refused");
}

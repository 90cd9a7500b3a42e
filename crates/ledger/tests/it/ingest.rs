//! Accepting events: one row and one task per new event, idempotency per tenant, reruns of failures.
use ledger_store::tenants::ConnectionStatus;
use serde_json::Value;
use test_support::{TestApp, envelope};

async fn sync_run_id(resp: reqwest::Response) -> String {
    let body: Value = resp.json().await.expect("json body");
    body["sync_run_id"].as_str().expect("sync_run_id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_event_is_stored_with_its_task_and_answered_202() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let resp = app.post_event(&t, "invoice.created", "invoice.created:42", &envelope(42)).await;
    assert_eq!(resp.status(), 202);
    let id = sync_run_id(resp).await;
    assert_eq!(app.count("events").await, 1);
    assert_eq!(app.task_count().await, 1);
    let (state, name, entity, key): (String, String, i64, String) =
        sqlx::query_as("SELECT state, event_name, magento_entity_id, idempotency_key FROM events WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (state.as_str(), name.as_str(), entity, key.as_str()),
        ("pending", "invoice.created", 42, "invoice.created:42")
    );
    // The task is encoded with the worker's codec and points at the row.
    let task_id: String = sqlx::query_scalar("SELECT task_id FROM events WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let (job, max_attempts): (Vec<u8>, i32) = sqlx::query_as("SELECT job, max_attempts FROM apalis.jobs WHERE id = $1")
        .bind(&task_id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let args: Value = serde_json::from_slice(&job).unwrap();
    assert_eq!(args["event_id"], id.as_str());
    assert_eq!(max_attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_answers_the_original_run_and_stores_nothing_new() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let first = sync_run_id(app.post_event(&t, "invoice.paid", "invoice.paid:7", &envelope(7)).await).await;
    let resp = app.post_event(&t, "invoice.paid", "invoice.paid:7", &envelope(7)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(sync_run_id(resp).await, first);
    assert_eq!(app.count("events").await, 1);
    assert_eq!(app.task_count().await, 1);
    // Keys are scoped per tenant: the same key from another tenant is a new event.
    let other = app.create_tenant("other").await;
    let resp = app.post_event(&other, "invoice.paid", "invoice.paid:7", &envelope(7)).await;
    assert_eq!(resp.status(), 202);
    assert_ne!(sync_run_id(resp).await, first);
    assert_eq!(app.count("events").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_make_one_row() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let t = app.create_tenant("shop").await;
    let mut handles = Vec::new();
    for _ in 0..50 {
        let (app, t) = (app.clone(), t.clone());
        handles.push(tokio::spawn(async move {
            let resp = app.post_event(&t, "customer.upserted", "customer.upserted:5", &envelope(5)).await;
            assert!(resp.status().is_success(), "{}", resp.status());
            sync_run_id(resp).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for h in handles {
        ids.insert(h.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "every duplicate answers the same run");
    assert_eq!(app.count("events").await, 1);
    assert_eq!(app.task_count().await, 1);
    assert_eq!(app.count("jwt_replay").await, 50, "each request's jti is consumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_of_a_dead_lettered_or_failed_run_starts_a_new_run() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    for terminal in ["dead_lettered", "failed"] {
        let key = format!("creditmemo.created:{terminal}");
        let first = sync_run_id(app.post_event(&t, "creditmemo.created", &key, &envelope(9)).await).await;
        sqlx::query("UPDATE events SET state = $2, finished_at = now() WHERE id = $1::uuid")
            .bind(&first)
            .bind(terminal)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let resp = app.post_event(&t, "creditmemo.created", &key, &envelope(9)).await;
        assert_eq!(resp.status(), 202);
        let second = sync_run_id(resp).await;
        assert_ne!(second, first);
        let rerun_of: Option<uuid::Uuid> = sqlx::query_scalar("SELECT rerun_of FROM events WHERE id = $1::uuid")
            .bind(&second)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(rerun_of.map(|u| u.to_string()), Some(first.clone()));
        // The new run now answers duplicates.
        let third = sync_run_id(app.post_event(&t, "creditmemo.created", &key, &envelope(9)).await).await;
        assert_eq!(third, second);
    }
    assert_eq!(app.count("events").await, 4);
    assert_eq!(app.task_count().await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_after_the_idempotency_window_is_a_new_run() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let first = sync_run_id(app.post_event(&t, "product.upserted", "product.upserted:3", &envelope(3)).await).await;
    sqlx::query("UPDATE events SET state = 'synced', received_at = now() - interval '31 days' WHERE id = $1::uuid")
        .bind(&first)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let resp = app.post_event(&t, "product.upserted", "product.upserted:3", &envelope(3)).await;
    assert_eq!(resp.status(), 202);
    assert_ne!(sync_run_id(resp).await, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_provider_query_parameter_is_ignored() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let resp = app
        .http
        .post(format!("{}/webhooks/magento/{}/invoice.created?provider=sage", app.base_url, t.id))
        .bearer_auth(t.token())
        .header("content-type", "application/json")
        .header("idempotency-key", "invoice.created:1")
        .body(envelope(1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_by_another_process_is_picked_up_at_once() {
    let app = TestApp::spawn().await;
    let old = app.create_tenant("shop").await;
    assert_eq!(
        app.post_event(&old, "invoice.created", "invoice.created:1", &envelope(1)).await.status(),
        202,
        "caches the key"
    );
    // Another process re-pairs the store and its ping confirms the new key (key_version 2); this
    // process's cache is not told.
    let new_key = ledger_magento::ApiKey::generate();
    let staged = ledger_store::tenants::stage_key(
        &app.db.pool,
        &app.keyring,
        old.id,
        "shop",
        "https://shop.example",
        &secrecy::SecretString::from(new_key.expose()),
    )
    .await
    .unwrap();
    assert!(
        ledger_store::tenants::promote_key(&app.db.pool, old.id, staged.key_version, ConnectionStatus::Active)
            .await
            .unwrap()
    );
    let new = test_support::TestTenant { id: old.id, api_key: new_key };
    assert_eq!(app.post_event(&new, "invoice.created", "invoice.created:2", &envelope(2)).await.status(), 202);
    assert_eq!(
        app.post_event(&old, "invoice.created", "invoice.created:3", &envelope(3)).await.status(),
        401,
        "the old key is dead"
    );
}

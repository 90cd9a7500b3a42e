//! Sync-state callbacks: terminal outcomes flip the Magento chips; a store outage delays them, in order
//! per entity; tokens minted by a ledger whose clock runs ahead still pass Magento's strict checks.
use std::sync::Arc;
use std::time::Duration;

use ledger_domain::{ErrorClass, RunFailure, RunOutcome};
use serde_json::{Value, json};
use test_support::{Scripted, TestApp, TestAppOptions, eventually};

use crate::magento::{control, drain, fire, paired, sim};

fn app_options(processor: Scripted, clock_ahead_s: i64) -> TestAppOptions {
    TestAppOptions {
        worker: true,
        processor: Arc::new(processor),
        clock: Arc::new(ledger_domain::clock::OffsetClock(chrono::Duration::seconds(clock_ahead_s))),
        ..TestAppOptions::default()
    }
}

async fn mirror(app: &TestApp, sim: &magento_sim::RunningSim) -> Vec<Value> {
    control(&app.http, reqwest::Method::GET, format!("{}/_sim/sync-state", sim.base_url()), None)
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn row<'a>(rows: &'a [Value], entity_type: &str, id: u64) -> Option<&'a Value> {
    rows.iter().find(|r| r["entity_type"] == entity_type && r["magento_id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_outcomes_flip_the_chips_even_with_the_ledger_clock_ahead() {
    let processor = Scripted::default()
        .on("invoice.created", RunOutcome::synced("sage-inv-{entity}", Some("SI-1".into())))
        .on("customer.upserted", RunOutcome::skipped("outside_sync_since"))
        .failing("product.upserted", RunFailure::new(ErrorClass::Validation, "bad sku"));
    let app = TestApp::spawn_with(app_options(processor, 5)).await;
    let sim = sim().await;
    paired(&app, &sim).await;
    let invoice = fire(&app, &sim, json!({"action": "create_invoice"})).await["invoice_id"].as_u64().unwrap();
    let customer = fire(&app, &sim, json!({"action": "save_customer"})).await["customer_id"].as_u64().unwrap();
    let product = fire(&app, &sim, json!({"action": "save_product"})).await["product_id"].as_u64().unwrap();
    assert!(drain(&app, &sim).await.iter().all(|d| d["status_code"] == 202));

    let rows = eventually("three chips flipped", Duration::from_secs(60), || async {
        let rows = mirror(&app, &sim).await;
        let done = rows.iter().filter(|r| r["sync_status"] != "pending").count();
        (done == 3).then_some(rows)
    })
    .await;
    let inv = row(&rows, "invoice", invoice).unwrap();
    assert_eq!(inv["sync_status"], "synced");
    assert_eq!(inv["provider_entity_id"], format!("sage-inv-{invoice}"));
    assert_eq!(inv["provider_reference"], "SI-1");
    assert_eq!(inv["provider"], "sage_accounting");
    let cust = row(&rows, "customer", customer).unwrap();
    assert_eq!(
        (cust["sync_status"].as_str(), cust["skip_reason"].as_str()),
        (Some("skipped"), Some("outside_sync_since"))
    );
    let prod = row(&rows, "product", product).unwrap();
    assert_eq!((prod["sync_status"].as_str(), prod["error_code"].as_str()), (Some("failed"), Some("validation")));
    // The store can show the chip a moment before the ledger records the delivery.
    eventually("one delivered callback per terminal outcome", Duration::from_secs(10), || async {
        let delivered: i64 = sqlx::query_scalar("SELECT count(*) FROM callbacks WHERE state = 'delivered'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (delivered == 3).then_some(())
    })
    .await;
    assert_eq!(app.count("callbacks").await, 3, "one callback per terminal outcome, no more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_events_send_no_callback() {
    let app = TestApp::spawn_with(app_options(Scripted::default(), 0)).await;
    let sim = sim().await;
    paired(&app, &sim).await;
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    drain(&app, &sim).await;
    eventually("the event is processed", Duration::from_secs(60), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE state = 'received'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (n == 1).then_some(())
    })
    .await;
    assert_eq!(app.count("callbacks").await, 0, "nothing synced, nothing reported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_wait_out_a_store_outage_and_arrive_in_order() {
    let processor = Scripted::default()
        .on("invoice.created", RunOutcome::synced("sage-inv-{entity}", Some("CREATED".into())))
        .on("invoice.paid", RunOutcome::synced("sage-inv-{entity}", Some("PAID".into())));
    let app = TestApp::spawn_with(app_options(processor, 0)).await;
    let sim = sim().await;
    paired(&app, &sim).await;
    let down = |on: bool| {
        control(&app.http, reqwest::Method::PUT, format!("{}/_sim/down", sim.base_url()), Some(json!({"down": on})))
    };
    down(true).await;

    let invoice = fire(&app, &sim, json!({"action": "create_invoice"})).await["invoice_id"].as_u64().unwrap();
    drain(&app, &sim).await;
    eventually("the first callback is failing against the down store", Duration::from_secs(60), || async {
        let attempts: Option<i32> = sqlx::query_scalar("SELECT attempt FROM callbacks ORDER BY id LIMIT 1")
            .fetch_optional(&app.db.pool)
            .await
            .unwrap();
        attempts.filter(|a| *a >= 2).map(|_| ())
    })
    .await;
    fire(&app, &sim, json!({"action": "pay_invoice", "invoice_id": invoice})).await;
    drain(&app, &sim).await;
    eventually("the second callback is queued", Duration::from_secs(60), || async {
        (app.count("callbacks").await == 2).then_some(())
    })
    .await;
    let second_attempts: i32 = sqlx::query_scalar("SELECT attempt FROM callbacks ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(second_attempts, 0, "the newer status waits behind the undelivered older one");

    down(false).await;
    eventually("both delivered", Duration::from_secs(30), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM callbacks WHERE state = 'delivered'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (n == 2).then_some(())
    })
    .await;
    let order: Vec<(i64, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT id, delivered_at FROM callbacks ORDER BY id").fetch_all(&app.db.pool).await.unwrap();
    assert!(order[0].1 <= order[1].1, "delivered in outcome order: {order:?}");
    let rows = mirror(&app, &sim).await;
    let inv = row(&rows, "invoice", invoice).unwrap();
    assert_eq!(inv["provider_reference"], "PAID", "the newest status is the one Magento keeps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_from_magento_marks_the_connection_token_revoked() {
    let processor = Scripted::default().on("customer.upserted", RunOutcome::synced("sage-contact-{entity}", None));
    let app = TestApp::spawn_with(app_options(processor, 0)).await;
    let sim = sim().await;
    let tenant_id: ledger_domain::TenantId = paired(&app, &sim).await.parse().unwrap();
    // Someone re-pairs the store with other credentials: our key no longer opens it.
    let code = crate::magento::pairing_code(&app, &sim).await;
    let repair = app
        .http
        .post(format!("{}/rest/V1/byte8/setup/pair", sim.base_url()))
        .json(&json!({"pairing_code": code, "tenant_id": "other-tenant", "byte8_api_key": "byte8_lk_other",
                      "ledger_base_url": "http://127.0.0.1:9"}))
        .send()
        .await
        .unwrap();
    assert!(repair.status().is_success());
    let secret = ledger_store::tenants::secret(&app.db.pool, &app.keyring, tenant_id).await.unwrap().unwrap();
    let tenant =
        test_support::TestTenant { id: tenant_id, api_key: ledger_magento::ApiKey::from_secret(secret.api_key) };
    let resp = app.post_event(&tenant, "customer.upserted", "customer.upserted:3", &test_support::envelope(3)).await;
    assert_eq!(resp.status(), 202);
    eventually("the connection is marked token_revoked", Duration::from_secs(60), || async {
        let status: String = sqlx::query_scalar("SELECT magento_connection_status FROM tenants WHERE id = $1")
            .bind(tenant_id.0)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (status == "token_revoked").then_some(())
    })
    .await;
    let tile: Value = app.tile(&tenant).await.json().await.unwrap();
    assert_eq!(tile["tenant"]["magento_connection_status"], "token_revoked");
    let state: String = sqlx::query_scalar("SELECT state FROM callbacks").fetch_one(&app.db.pool).await.unwrap();
    assert!(state == "pending" || state == "delivering", "kept for a retry once the store is paired again: {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_that_keeps_failing_is_dead_lettered_after_its_last_attempt() {
    let processor = Scripted::default().on("customer.upserted", RunOutcome::skipped("outside_sync_since"));
    let mut options = app_options(processor, 0);
    options.callbacks.retry.max_attempts = 2;
    let app = TestApp::spawn_with(options).await;
    let sim = sim().await;
    paired(&app, &sim).await;
    control(&app.http, reqwest::Method::PUT, format!("{}/_sim/down", sim.base_url()), Some(json!({"down": true})))
        .await;
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    drain(&app, &sim).await;
    let (attempt, error): (i32, Option<String>) = eventually("dead-lettered", Duration::from_secs(60), || async {
        sqlx::query_as::<_, (String, i32, Option<String>)>("SELECT state, attempt, last_error FROM callbacks")
            .fetch_optional(&app.db.pool)
            .await
            .unwrap()
            .filter(|(state, _, _)| state == "dead_lettered")
            .map(|(_, attempt, error)| (attempt, error))
    })
    .await;
    assert_eq!(attempt, 2, "the last allowed attempt ends it");
    assert!(error.unwrap_or_default().contains("503"), "the store's answer is kept for the operator");
}

//! Pairing keeps the store and the ledger on the same key: the key is saved before the store sees it,
//! a slow store is not cut off by the short request deadline, a failed write after the store accepted
//! leaves both keys working until the store's first token promotes the new one, and the URL sent to
//! the store must be https unless plain http is allowed.
use std::time::Duration;

use ledger_api::ApiConfig;
use ledger_domain::TenantId;
use serde_json::{Value, json};
use test_support::{TestApp, TestAppOptions, TestTenant};

use crate::magento::{control, drain, fire, paired, pairing_code, problem_code, sim};
use crate::store_proxy::{Mode, StoreProxy};

/// Pairs the store `sim` through `store_url` (the sim itself or a proxy in front of it).
async fn pair_at(app: &TestApp, sim: &magento_sim::RunningSim, store_url: &str) -> reqwest::Response {
    let code = pairing_code(app, sim).await;
    app.pair(&code, store_url).await
}

async fn key_versions(app: &TestApp, tenant: TenantId) -> (i32, Option<i32>) {
    sqlx::query_as("SELECT key_version, pending_key_version FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// The tenant with the key the ledger holds for it now.
async fn current_key(app: &TestApp, tenant: TenantId) -> TestTenant {
    let secret = ledger_store::tenants::secret(&app.db.pool, &app.keyring, tenant).await.unwrap().unwrap();
    TestTenant { id: tenant, api_key: ledger_magento::ApiKey::from_secret(secret.api_key) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_accepts_after_the_request_deadline_is_paired() {
    let api = ApiConfig { request_timeout: Duration::from_millis(1000), ..ApiConfig::default() };
    let app = TestApp::spawn_with(TestAppOptions { api, ..TestAppOptions::default() }).await;
    let sim = sim().await;
    let slow = StoreProxy::start(&sim.base_url()).await;
    slow.set(Mode::Slow { path: "setup/pair", by: Duration::from_millis(2500) });

    let resp = pair_at(&app, &sim, &slow.url).await;
    assert_eq!(resp.status(), 201, "the pair route outlives the short request deadline");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "active", "{body}");
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    let sent = drain(&app, &sim).await;
    assert_eq!(sent[0]["status_code"], 202, "the store signs with the key the ledger stored: {sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_after_the_store_accepted_keeps_both_keys_until_the_new_one_signs() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let tenant: TenantId = paired(&app, &sim).await.parse().unwrap();
    let old = current_key(&app, tenant).await;
    // The ledger's write after the store took the new key fails: a constraint refuses key version 2.
    sqlx::query("ALTER TABLE tenants ADD CONSTRAINT test_refuses_new_keys CHECK (key_version < 2)")
        .execute(&app.db.pool)
        .await
        .unwrap();

    let resp = pair_at(&app, &sim, &sim.base_url()).await;
    assert_eq!(resp.status(), 201, "the store holds the new key: the pairing happened");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "pending", "{body}");
    assert!(body["warning"].as_str().is_some_and(|w| w.contains("both keys")), "{body}");
    assert_eq!(key_versions(&app, tenant).await, (1, Some(2)), "the new key waits beside the old one");

    // Both keys verify: an event signed with the old key (sent before the store switched) and the
    // store's events signed with the new one.
    let resp = app.post_event(&old, "customer.upserted", "customer.upserted:1", &test_support::envelope(1)).await;
    assert_eq!(resp.status(), 202, "the old key still verifies");
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    let sent = drain(&app, &sim).await;
    assert_eq!(sent[0]["status_code"], 202, "the new key verifies although it could not be promoted: {sent:?}");
    assert_eq!(key_versions(&app, tenant).await, (1, Some(2)));

    // Once the database takes writes again, the store's next token promotes the new key.
    sqlx::query("ALTER TABLE tenants DROP CONSTRAINT test_refuses_new_keys").execute(&app.db.pool).await.unwrap();
    fire(&app, &sim, json!({"action": "save_product"})).await;
    let sent = drain(&app, &sim).await;
    assert_eq!(sent[0]["status_code"], 202, "{sent:?}");
    assert_eq!(key_versions(&app, tenant).await, (2, None), "the first token signed with the new key promoted it");
    let resp = app.post_event(&old, "customer.upserted", "customer.upserted:2", &test_support::envelope(2)).await;
    assert_eq!(resp.status(), 401, "after promotion the old key is dead");
    assert_eq!(app.count("events").await, 3, "no event was lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclear_answer_keeps_the_new_key_pending_and_a_refusal_drops_it() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let tenant: TenantId = paired(&app, &sim).await.parse().unwrap();
    let down = |on: bool| {
        control(&app.http, reqwest::Method::PUT, format!("{}/_sim/down", sim.base_url()), Some(json!({"down": on})))
    };
    // A 5xx says nothing about whether the store kept the key: the ledger keeps it pending.
    let code = pairing_code(&app, &sim).await;
    down(true).await;
    let (status, problem) = problem_code(app.pair(&code, &sim.base_url()).await).await;
    assert_eq!((status, problem.as_str()), (502, "store_error"));
    assert_eq!(key_versions(&app, tenant).await, (1, Some(2)), "a 5xx may hide an accepted key: kept pending");

    // A code the store clearly refused leaves nothing pending.
    down(false).await;
    let (status, problem) = problem_code(app.pair("0123456789abcdef0123456789abcdef", &sim.base_url()).await).await;
    assert_eq!((status, problem.as_str()), (422, "pairing_code_rejected"));
    assert_eq!(key_versions(&app, tenant).await, (1, None), "a refused code leaves no pending key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_refuses_a_cleartext_ledger_url_unless_http_is_allowed() {
    let sim = sim().await;
    let strict = TestApp::spawn_with(TestAppOptions { allow_http: false, ..TestAppOptions::default() }).await;
    let resp = pair_at(&strict, &sim, &sim.base_url()).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "ledger_url_not_https", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("server.public_url"), "says how to fix it: {body}");
    assert_eq!(strict.count("tenants").await, 0);
    let state = control(&strict.http, reqwest::Method::GET, format!("{}/_sim/state", sim.base_url()), None).await;
    assert_eq!(state["paired"], false, "nothing was sent to the store: {state}");

    let https = TestApp::spawn_with(TestAppOptions {
        allow_http: false,
        public_url: Some("https://ledger.example".into()),
        ..TestAppOptions::default()
    })
    .await;
    let resp = pair_at(&https, &sim, &sim.base_url()).await;
    assert_eq!(resp.status(), 201, "an https public URL pairs");
    let state = control(&https.http, reqwest::Method::GET, format!("{}/_sim/state", sim.base_url()), None).await;
    assert_eq!(state["ledger_base_url"], "https://ledger.example");
}

//! Callback delivery across stores: a store that hangs holds only its own callbacks, refusals (403,
//! 404) end a callback at once, and the callbacks of a revoked binding end instead of waiting forever.
use std::sync::Arc;
use std::time::Duration;

use ledger_domain::RunOutcome;
use serde_json::{Value, json};
use test_support::{Scripted, TestApp, TestAppOptions, eventually};

use crate::magento::{control, drain, fire, paired, pairing_code, sim};
use crate::store_proxy::{Mode, StoreProxy};

fn options() -> TestAppOptions {
    let processor = Scripted::default()
        .on("customer.upserted", RunOutcome::synced("sage-contact-{entity}", None))
        .on("product.upserted", RunOutcome::synced("sage-product-{entity}", None));
    // Long enough that a hung store's first attempt is still waiting when the test looks.
    TestAppOptions {
        worker: true,
        processor: Arc::new(processor),
        outbound_timeout: Duration::from_secs(60),
        ..TestAppOptions::default()
    }
}

/// Pairs the store `sim` under the URL of `proxy`, so the ledger reaches it through the proxy.
async fn paired_via(app: &TestApp, sim: &magento_sim::RunningSim, proxy: &StoreProxy) -> String {
    let code = pairing_code(app, sim).await;
    let resp = app.pair(&code, &proxy.url).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["tenant_id"].as_str().unwrap().to_owned()
}

/// (state, attempt, last_error) of the tenant's callbacks, oldest first.
async fn callbacks_of(app: &TestApp, tenant: &str) -> Vec<(String, i32, Option<String>)> {
    sqlx::query_as("SELECT state, attempt, last_error FROM callbacks WHERE tenant_id = $1::uuid ORDER BY id")
        .bind(tenant)
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_store_does_not_hold_up_other_stores_callbacks() {
    let app = TestApp::spawn_with(options()).await;
    let (hung_sim, healthy_sim) = (sim().await, sim().await);
    let hung = StoreProxy::start(&hung_sim.base_url()).await;
    let hung_tenant = paired_via(&app, &hung_sim, &hung).await;
    let healthy_tenant = paired(&app, &healthy_sim).await;

    hung.set(Mode::Hang);
    fire(&app, &hung_sim, json!({"action": "save_customer"})).await;
    drain(&app, &hung_sim).await;
    eventually("the hung store holds a callback", Duration::from_secs(60), || async {
        (hung.held() >= 1).then_some(())
    })
    .await;

    fire(&app, &healthy_sim, json!({"action": "save_product"})).await;
    drain(&app, &healthy_sim).await;
    eventually("the healthy store's callback is delivered", Duration::from_secs(60), || async {
        let rows = callbacks_of(&app, &healthy_tenant).await;
        rows.first().filter(|(state, ..)| state == "delivered").map(|_| ())
    })
    .await;
    let hung_rows = callbacks_of(&app, &hung_tenant).await;
    assert_eq!(
        (hung_rows[0].0.as_str(), hung_rows[0].1),
        ("delivering", 1),
        "delivered while the hung store still holds its first attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_or_404_from_the_store_ends_the_callback_at_once() {
    let app = TestApp::spawn_with(options()).await;
    for status in [403, 404] {
        let sim = sim().await;
        let proxy = StoreProxy::start(&sim.base_url()).await;
        let tenant = paired_via(&app, &sim, &proxy).await;
        proxy.set(Mode::Status(status));
        fire(&app, &sim, json!({"action": "save_customer"})).await;
        drain(&app, &sim).await;
        let (attempt, error) = eventually("dead-lettered", Duration::from_secs(60), || async {
            let rows = callbacks_of(&app, &tenant).await;
            rows.into_iter().find(|(state, ..)| state == "dead_lettered").map(|(_, attempt, error)| (attempt, error))
        })
        .await;
        assert_eq!(attempt, 1, "HTTP {status} is not retried");
        assert!(error.unwrap_or_default().contains(&status.to_string()), "the store's answer is kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_of_a_revoked_binding_are_cancelled() {
    let app = TestApp::spawn_with(options()).await;
    let sim = sim().await;
    let tenant = paired(&app, &sim).await;
    control(&app.http, reqwest::Method::PUT, format!("{}/_sim/down", sim.base_url()), Some(json!({"down": true})))
        .await;
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    drain(&app, &sim).await;
    eventually("the callback is failing against the down store", Duration::from_secs(60), || async {
        callbacks_of(&app, &tenant).await.first().filter(|(_, attempt, _)| *attempt >= 1).map(|_| ())
    })
    .await;
    let resp = app
        .http
        .post(format!("{}/api/v1/stores/{tenant}/disconnect", app.base_url))
        .bearer_auth(test_support::OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let rows = callbacks_of(&app, &tenant).await;
    assert_eq!(rows[0].0, "cancelled", "nothing more is sent to a revoked store: {rows:?}");
    assert!(rows[0].2.as_deref().unwrap_or_default().contains("revoked"), "the reason is kept: {rows:?}");
}

//! "Add a Magento store" against magento-sim over HTTP: a good code pairs and connects the store and
//! gives it to the merchant; a wrong code, an unreachable URL and a URL that is not a Magento store are
//! refused in plain words beside their field; a store another merchant owns is refused before its key
//! is touched.
use magento_sim::SimConfig;
use serde_json::Value;

use crate::support::{Browser, spawn};

async fn pairing_code(sim: &magento_sim::RunningSim) -> String {
    let v: Value = reqwest::Client::new()
        .post(format!("{}/_sim/pairing-code", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["pairing_code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_pairs_a_store_from_the_dashboard() {
    let app = spawn().await;
    let sim = magento_sim::spawn(SimConfig { cron: false, ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let store = sim.base_url();

    let wrong = ann
        .submit("/dashboard", "/dashboard/stores", &[("pairing_code", "WRONG-CODE"), ("magento_base_url", &store)])
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains(r#"id="pairing_code-error""#) && wrong.body.contains("rejected the pairing code"),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains(r#"value="WRONG-CODE""#), "what was typed stays in the form");

    let code = pairing_code(&sim).await;
    let unreachable = ann
        .submit(
            "/dashboard",
            "/dashboard/stores",
            &[("pairing_code", &code), ("magento_base_url", "http://127.0.0.1:1")],
        )
        .await;
    assert_eq!(unreachable.status, 422);
    assert!(unreachable.body.contains(r#"id="magento_base_url-error""#), "{}", unreachable.body);
    assert!(
        unreachable.body.contains("reach the store") || unreachable.body.contains("did not answer"),
        "{}",
        unreachable.body
    );

    // The ledger itself answers HTTP, but not like a Magento store.
    let not_magento = ann
        .submit("/dashboard", "/dashboard/stores", &[("pairing_code", &code), ("magento_base_url", &app.base_url)])
        .await;
    assert_eq!(not_magento.status, 422);
    assert!(not_magento.body.contains("Magento"), "{}", not_magento.body);
    assert_eq!(app.count("tenants").await, 0, "failed pairings leave no tenant");

    let ok =
        ann.submit("/dashboard", "/dashboard/stores", &[("pairing_code", &code), ("magento_base_url", &store)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("Your store is connected"), "{}", ok.body);
    assert!(ok.body.contains(r#"<li class="done">Connected ✓</li>"#), "{}", ok.body);
    let tenants = ledger_store::tenants::list_for_merchant(&app.db.pool, ann_id).await.unwrap();
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].magento_connection_status.as_str(), "active");
    let dash = ann.get("/dashboard").await;
    assert!(
        dash.body.contains(&format!("/stores/{}/events", tenants[0].id)) && dash.body.contains("Not connected"),
        "Sage not yet connected"
    );

    // Another merchant with a fresh code for the same store is refused, and ann's key stays.
    let version: i32 = sqlx::query_scalar("SELECT key_version FROM tenants").fetch_one(&app.db.pool).await.unwrap();
    let (bob, _) = Browser::merchant(&app, "bob@shop.example").await;
    let code = pairing_code(&sim).await;
    let taken =
        bob.submit("/dashboard", "/dashboard/stores", &[("pairing_code", &code), ("magento_base_url", &store)]).await;
    assert_eq!(taken.status, 409);
    assert!(taken.body.contains("already connected to another Ledger account"));
    let after: i32 = sqlx::query_scalar("SELECT key_version FROM tenants").fetch_one(&app.db.pool).await.unwrap();
    assert_eq!(after, version, "the owner's store key was not rotated");
}

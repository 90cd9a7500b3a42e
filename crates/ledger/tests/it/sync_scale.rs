//! Scale-out: a second worker process (the real binary, role `worker`) on the same database beside the
//! test app's worker drains ~100 store events; both run some, and every Sage record exists exactly once.
use std::time::Duration;

use serde_json::json;
use test_support::eventually;

use crate::processes::{free_port, spawn_role};
use crate::sync::World;
use crate::sync_waits::quick;
use test_support::TestAppOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_make_each_sage_record_once() {
    // One store's events spread over both processes: with a share smaller than both pools together, the
    // process that took the store's places first keeps them (each finish hands its place to its own
    // worker), and the other would never run one.
    let w = World::start_with("Plus", TestAppOptions { tenant_share: 64, ..quick() }).await;
    let sage = w.sage.base_url();
    let urls = [
        ("LEDGER_SAGE__AUTHORIZE_URL", format!("{sage}/oauth2/auth/central")),
        ("LEDGER_SAGE__TOKEN_URL", format!("{sage}/token")),
        ("LEDGER_SAGE__REVOKE_URL", format!("{sage}/revoke")),
        ("LEDGER_SAGE__API_BASE", format!("{sage}/v3.1")),
        ("LEDGER_SAGE__CLIENT_ID", "sage-sim".to_owned()),
        ("LEDGER_SAGE__CLIENT_SECRET", "sage-sim-secret".to_owned()),
        ("LEDGER_OUTBOUND__ALLOW_HTTP", "true".to_owned()),
        ("LEDGER_OUTBOUND__ALLOW_CIDRS", "[\"127.0.0.0/8\"]".to_owned()),
        ("LEDGER_WORKER__TENANT_SHARE", "64".to_owned()),
        // The test app's keyring names its key t1; the process needs it to read the tenant's secrets.
        ("LEDGER_CRYPTO__KEYS__T1", secrecy::ExposeSecret::expose_secret(&w.app.secret_key).to_owned()),
    ];
    let env: Vec<(&str, &str)> = urls.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _second = spawn_role(&w.app.db, &w.app.secret_key, free_port(), "worker", &env, "ledger-scale-worker.log");

    let (mut events, mut invoices, mut paid) = (0, 0, 0);
    while events < 100 {
        let i = invoices;
        let is_paid = i % 2 == 0;
        let market = ["uk", "eu", "world"][i % 3];
        let fired = w.fire(json!({"action": "create_invoice", "guest": true, "market": market, "paid": is_paid})).await;
        events += fired["events"].as_array().unwrap().len();
        invoices += 1;
        paid += usize::from(is_paid);
        if i % 3 == 0 {
            events += w.fire(json!({"action": "save_customer"})).await["events"].as_array().unwrap().len();
            events += w.fire(json!({"action": "save_product", "product_type": "virtual"})).await["events"]
                .as_array()
                .unwrap()
                .len();
        }
    }
    while !crate::magento::drain(&w.app, &w.store).await.is_empty() {}
    let states = eventually("every event settles", Duration::from_secs(120), || async {
        let s = w.states().await;
        (s.len() == events && s.iter().all(|e| e.1 != "pending" && e.1 != "running")).then_some(s)
    })
    .await;
    assert!(states.iter().all(|s| s.1 == "synced"), "{:#?}", w.events().await);
    let workers: i64 = sqlx::query_scalar("SELECT count(DISTINCT worker) FROM event_attempts")
        .fetch_one(&w.app.db.pool)
        .await
        .unwrap();
    assert_eq!(workers, 2, "both processes ran events");
    assert_eq!(w.records("sales_invoices").await.len(), invoices);
    assert_eq!(w.records("contact_payments").await.len(), paid, "one receipt per paid invoice");
    assert_eq!(w.duplicates().await, json!([]), "nothing created twice");
}

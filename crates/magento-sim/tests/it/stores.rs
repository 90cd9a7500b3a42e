//! Multi-store isolation, down mode, reset, and the scenario driver.

use magento_sim::SimConfig;
use serde_json::json;

use crate::fake_ledger;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_are_independent() {
    let sim = start(SimConfig { stores: 3, ..cfg() }).await;
    let c = client();
    assert_eq!(sim.store_url(2), format!("{}/s/2", sim.base_url()));
    pair(&c, &sim.store_url(2), "http://127.0.0.1:9").await;
    let s1 = sim_get(&c, &format!("{}/_sim/state", sim.base_url())).await;
    let s1b = sim_get(&c, &format!("{}/_sim/state", sim.store_url(1))).await;
    let s2 = sim_get(&c, &format!("{}/_sim/state", sim.store_url(2))).await;
    assert_eq!(s1, s1b, "store 1 is also at /");
    assert_eq!((s1["paired"].as_bool(), s2["paired"].as_bool()), (Some(false), Some(true)));
    assert_eq!(s2["store"], 2);
    let f1 = sim_get(&c, &format!("{}/_sim/fixtures", sim.store_url(1))).await;
    let f3 = sim_get(&c, &format!("{}/_sim/fixtures", sim.store_url(3))).await;
    assert_ne!(f1, f3, "each store has its own seed");
    let ok = get(&c, &format!("{}/rest/V1/byte8/invoice/1", sim.store_url(2)), &token()).await.0;
    let refused = get(&c, &format!("{}/rest/V1/byte8/invoice/1", sim.store_url(1)), &token()).await.0;
    assert_eq!((ok, refused), (200, 401));
    let typed = sim.store(2).expect("store 2");
    assert_eq!(typed.summary()["paired"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_mode_answers_503_except_control() {
    let sim = start(SimConfig { stores: 2, ..cfg() }).await;
    let c = client();
    let s2 = sim.store_url(2);
    pair(&c, &s2, "http://127.0.0.1:9").await;
    let r = c.put(format!("{s2}/_sim/down")).json(&json!({ "down": true })).send().await.expect("put");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(get(&c, &format!("{s2}/rest/V1/byte8/ping"), &token()).await.0, 503);
    assert_eq!(post(&c, &format!("{s2}/rest/V1/byte8/setup/pair"), &json!({})).await.0, 503);
    assert_eq!(sim_get(&c, &format!("{s2}/_sim/state")).await["down"], true, "control still answers");
    assert_eq!(
        post(&c, &format!("{}/rest/V1/byte8/setup/pair", sim.base_url()), &json!({})).await.0,
        400,
        "store 1 is up"
    );
    c.put(format!("{s2}/_sim/down")).json(&json!({ "down": false })).send().await.expect("put");
    assert_eq!(get(&c, &format!("{s2}/rest/V1/byte8/ping"), &token()).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_returns_to_the_seed() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let before = sim_get(&c, &format!("{base}/_sim/fixtures")).await;
    pair(&c, &base, "http://127.0.0.1:9").await;
    post(&c, &format!("{base}/_sim/entities"), &json!({ "action": "create_invoice" })).await;
    let (s, state) = post(&c, &format!("{base}/_sim/reset"), &json!({})).await;
    assert_eq!((s, state["paired"].as_bool()), (200, Some(false)));
    assert_eq!(state["counts"]["outbox_pending"], 0);
    assert_eq!(sim_get(&c, &format!("{base}/_sim/fixtures")).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_driver_fires_observers_at_the_rate() {
    let ledger = fake_ledger::start(202).await;
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, &ledger.url).await;
    let (s, started) = post(&c, &format!("{base}/_sim/scenario"), &json!({ "rate": 100, "duration_s": 0.5 })).await;
    assert_eq!((s, &started["planned"]), (200, &json!(50)));
    let done = eventually("scenario to finish", || {
        let (c, base) = (c.clone(), base.clone());
        async move {
            let p = sim_get(&c, &format!("{base}/_sim/scenario")).await;
            (p["running"] == false && p["fired"] == 50).then_some(p)
        }
    })
    .await;
    assert_eq!(done["errors"], 0);
    assert!(done["actions"]["create_invoice"].as_u64().unwrap_or(0) > 0, "{done}");
    let enqueued = done["enqueued"].as_u64().unwrap_or(0);
    assert!(enqueued > 0);
    let pending = sim_get(&c, &format!("{base}/_sim/outbox?status=pending")).await;
    assert_eq!(pending.as_array().map(Vec::len), Some(enqueued as usize));
    let report = eventually("the outbox to drain", || {
        let (c, base) = (c.clone(), base.clone());
        async move {
            let r = c.post(format!("{base}/_sim/drain")).send().await.ok()?.json::<serde_json::Value>().await.ok()?;
            let st = sim_get(&c, &format!("{base}/_sim/state")).await;
            (st["counts"]["outbox_pending"] == 0).then_some(r)
        }
    })
    .await;
    assert!(report["paired"] == true);
    assert_eq!(ledger.calls().len() as u64, enqueued);
}

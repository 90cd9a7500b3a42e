//! Outbox drain against a fake ledger: envelope, headers, JWT, outcomes, retries; disconnect; tile.

use chrono::{DateTime, Duration, Utc};
use magento_sim::SimConfig;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::fake_ledger;
use crate::support::*;

async fn fire(c: &reqwest::Client, base: &str, body: Value) -> Value {
    let (s, v) = post(c, &format!("{base}/_sim/entities"), &body).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn drain(c: &reqwest::Client, base: &str) -> Value {
    let (s, v) = post(c, &format!("{base}/_sim/drain"), &json!({})).await;
    assert_eq!(s, 200);
    v
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|d| d.with_timezone(&Utc)).expect("time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_events_succeed_with_exact_envelope_and_headers() {
    let ledger = fake_ledger::start(202).await;
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    // Unpaired: observers drop events and the drain does nothing.
    let lost = fire(&c, &base, json!({ "action": "save_product", "product_id": 1 })).await;
    assert_eq!(lost["events"][0]["enqueued"], false);
    assert_eq!(drain(&c, &base).await, json!({ "paired": false, "sent": [] }));

    pair(&c, &base, &format!("{}/", ledger.url)).await;
    let made = fire(&c, &base, json!({ "action": "create_invoice", "paid": true })).await;
    let id = made["invoice_id"].as_u64().expect("id");
    fire(&c, &base, json!({ "action": "save_customer", "customer_id": 2 })).await;
    let report = drain(&c, &base).await;
    let sent = report["sent"].as_array().expect("sent");
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|d| d["result"] == "succeeded" && d["status_code"] == 202));

    let calls = ledger.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|k| k.claims.is_some()), "every outbound JWT verifies");
    let jtis: std::collections::BTreeSet<String> =
        calls.iter().filter_map(|k| k.claims.as_ref().map(|c| c["jti"].to_string())).collect();
    assert_eq!(jtis.len(), 3, "fresh jti per request");
    let created = &calls[0];
    assert_eq!(created.path, format!("/webhooks/magento/{TENANT}/invoice.created"));
    assert_eq!(created.headers["content-type"], "application/json");
    assert_eq!(created.headers["idempotency-key"], format!("invoice.created:{id}").as_str());
    let inc = made["increment_id"].as_str().expect("inc");
    let prefix = format!(r#"{{"magento_entity_id":{id},"website_id":1,"store_id":"#);
    assert!(created.body.starts_with(&prefix), "{}", created.body);
    assert!(
        created.body.ends_with(&format!(r#","payload":{{"increment_id":"{inc}","paid":true}}}}"#)),
        "{}",
        created.body
    );
    let parsed: Value = serde_json::from_str(&created.body).expect("json");
    let occurred = parsed["occurred_at"].as_str().expect("occurred_at");
    assert!(occurred.len() == 20 && occurred.ends_with('Z'));
    assert_eq!(calls[1].path, format!("/webhooks/magento/{TENANT}/invoice.paid"));
    assert!(calls[1].body.ends_with(&format!(r#""payload":{{"increment_id":"{inc}"}}}}"#)));
    assert_eq!(calls[2].path, format!("/webhooks/magento/{TENANT}/customer.upserted"));
    assert!(calls[2].body.starts_with(r#"{"magento_entity_id":2,"website_id":1,"store_id":0,"#));
    assert!(calls[2].body.ends_with(r#""payload":{}}"#), "empty payload is {{}}");

    let rows = sim_get(&c, &format!("{base}/_sim/outbox?status=succeeded")).await;
    assert_eq!(rows.as_array().map(Vec::len), Some(3));
    assert_eq!(rows[0]["last_status_code"], 202);
    assert_eq!(drain(&c, &base).await["sent"], json!([]), "nothing left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_4xx_dead_letters_at_once() {
    let ledger = fake_ledger::start(422).await;
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, &ledger.url).await;
    fire(&c, &base, json!({ "action": "save_product", "product_id": 4 })).await;
    let report = drain(&c, &base).await;
    assert_eq!(report["sent"][0]["result"], "dead_lettered");
    let row = &sim_get(&c, &format!("{base}/_sim/outbox?status=dead_lettered")).await[0];
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["last_status_code"], 422);
    assert_eq!(row["last_error"], r#"HTTP 422: {"error":"nope"}"#);
    assert_eq!(drain(&c, &base).await["sent"], json!([]), "never retried");

    ledger.set_status(401);
    fire(&c, &base, json!({ "action": "save_product", "product_id": 5 })).await;
    drain(&c, &base).await;
    let rows = sim_get(&c, &format!("{base}/_sim/outbox?status=dead_lettered")).await;
    assert_eq!(rows[1]["last_error"], r#"HTTP 401: {"error":"nope"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failure_waits_the_scaled_schedule() {
    let ledger = fake_ledger::start(503).await;
    let sim = start(SimConfig { time_scale: 100.0, ..cfg() }).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, &ledger.url).await;
    fire(&c, &base, json!({ "action": "save_product", "product_id": 6 })).await;
    let report = drain(&c, &base).await;
    assert_eq!(report["sent"][0]["result"], "pending");
    assert_eq!(report["sent"][0]["status_code"], 503);
    let row = sim_get(&c, &format!("{base}/_sim/outbox?status=pending")).await[0].clone();
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["retry_delay_s"], 60);
    assert_eq!(row["last_status_code"], Value::Null);
    assert!(row["last_error"].as_str().is_some_and(|e| e.starts_with("HTTP 503")));
    let wait = time(&row["next_attempt_at"]) - time(&row["last_attempt_at"]);
    assert_eq!(wait, Duration::milliseconds(600), "60 s / 100");
    // Once due, it is retried and now succeeds.
    ledger.set_status(202);
    eventually("the retry", || {
        let (c, base) = (c.clone(), base.clone());
        async move {
            drain(&c, &base).await;
            let rows = sim_get(&c, &format!("{base}/_sim/outbox?status=succeeded")).await;
            rows.as_array().filter(|r| !r.is_empty()).map(|r| r[0].clone())
        }
    })
    .await;
    assert_eq!(ledger.calls().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenth_transient_failure_dead_letters() {
    let ledger = fake_ledger::start(503).await;
    let (config, clock) = manual_cfg();
    let sim = start(config).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, &ledger.url).await;
    fire(&c, &base, json!({ "action": "save_product", "product_id": 7 })).await;
    for (attempt, delay) in magento_sim::RETRY_DELAYS_S.iter().enumerate() {
        assert_eq!(drain(&c, &base).await["sent"].as_array().map(Vec::len), Some(1));
        let row = sim_get(&c, &format!("{base}/_sim/outbox")).await[0].clone();
        assert_eq!(row["attempts"], attempt as u64 + 1);
        assert_eq!(row["retry_delay_s"], *delay);
        assert_eq!(time(&row["next_attempt_at"]) - time(&row["last_attempt_at"]), Duration::seconds(*delay));
        clock.advance(Duration::seconds(delay - 1));
        assert_eq!(drain(&c, &base).await["sent"], json!([]), "not due before its delay");
        clock.advance(Duration::seconds(1));
    }
    let report = drain(&c, &base).await;
    assert_eq!(report["sent"][0]["result"], "dead_lettered");
    let row = sim_get(&c, &format!("{base}/_sim/outbox")).await[0].clone();
    assert_eq!(row["attempts"], 10);
    assert!(row["last_error"].as_str().is_some_and(|e| e.starts_with("transient_exhausted")));
    assert_eq!(ledger.calls().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_are_transient() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, "http://127.0.0.1:9").await;
    fire(&c, &base, json!({ "action": "save_product", "product_id": 8 })).await;
    let report = drain(&c, &base).await;
    assert_eq!(report["sent"][0]["result"], "pending");
    assert_eq!(report["sent"][0]["status_code"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_notifies_then_wipes_credentials() {
    let ledger = fake_ledger::start(202).await;
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, &ledger.url).await;
    fire(&c, &base, json!({ "action": "create_invoice" })).await;
    let (s, v) = post(&c, &format!("{base}/_sim/disconnect"), &json!({})).await;
    assert_eq!((s, &v["notice"]["status"]), (200, &json!(204)));
    let calls = ledger.calls();
    assert_eq!(calls.len(), 1);
    let d = &calls[0];
    assert_eq!(d.path, "/v1/tenant/disconnect");
    assert_eq!(d.body, "{}");
    assert!(d.claims.is_some(), "sent while the key was still valid");
    let key = format!("disconnect:{}", hex::encode(Sha1::digest(TENANT.as_bytes())));
    assert_eq!(d.headers["idempotency-key"], key.as_str());
    let state = sim_get(&c, &format!("{base}/_sim/state")).await;
    assert_eq!(state["paired"], false);
    assert_eq!(state["tenant_id"], Value::Null);
    assert_eq!(state["ledger_base_url"], ledger.url.as_str(), "base URL kept");
    assert_eq!(drain(&c, &base).await, json!({ "paired": false, "sent": [] }));
    let pending = sim_get(&c, &format!("{base}/_sim/outbox?status=pending")).await;
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "pending rows stay pending");
    assert_eq!(ledger.calls().len(), 1, "and unsent");
    let (s, _, _) = get(&c, &format!("{base}/rest/V1/byte8/ping"), &token()).await;
    assert_eq!(s, 401);
    // A failed notice is swallowed.
    pair(&c, &base, "http://127.0.0.1:9").await;
    let (s, v) = post(&c, &format!("{base}/_sim/disconnect"), &json!({})).await;
    assert_eq!((s, v["disconnected"].as_bool()), (200, Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_tile_shows_what_the_ledger_answered() {
    let ledger = fake_ledger::start(202).await;
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let unpaired = sim_get(&c, &format!("{base}/_sim/health-tile")).await;
    assert_eq!(unpaired["reachable"], false);
    pair(&c, &base, &ledger.url).await;
    let tile = sim_get(&c, &format!("{base}/_sim/health-tile")).await;
    assert_eq!(tile["status"], 200);
    assert_eq!(tile["body"], fake_ledger::health_body());
    let call = &ledger.calls()[0];
    assert!(call.claims.is_some());
    assert_eq!(call.headers["accept"], "application/json");
}

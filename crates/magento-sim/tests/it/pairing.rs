//! Pairing: code generation, the anonymous pair call, its validation and its 401s.

use chrono::Duration;
use magento_sim::SimConfig;
use serde_json::{Value, json};

use crate::support::*;

const INVALID: &str = "Invalid or expired pairing code.";

async fn code(c: &reqwest::Client, base: &str) -> String {
    let (s, v) = post(c, &format!("{base}/_sim/pairing-code"), &json!({})).await;
    assert_eq!(s, 200);
    v["pairing_code"].as_str().expect("code").to_owned()
}

fn body(code: &str) -> Value {
    json!({ "pairing_code": code, "tenant_id": TENANT, "byte8_api_key": API_KEY,
            "ledger_base_url": "https://ledger.example.test/" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_stores_credentials_and_codes_are_single_use() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let code = code(&c, &base).await;
    assert_eq!(code.len(), 32);
    assert!(code.chars().all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase()));
    let url = format!("{base}/rest/V1/byte8/setup/pair");
    // Magento trims the code.
    assert_eq!(post(&c, &url, &body(&format!("  {code} "))).await, (200, json!([])));
    let state = sim_get(&c, &format!("{base}/_sim/state")).await;
    assert_eq!(state["paired"], true);
    assert_eq!(state["tenant_id"], TENANT);
    assert_eq!(state["ledger_base_url"], "https://ledger.example.test");
    // Reuse of a consumed code.
    assert_eq!(post(&c, &url, &body(&code)).await, (401, json!({ "message": INVALID })));
    // Inbound JWTs now verify against the delivered key.
    let (s, ping, _) = get(&c, &format!("{base}/rest/V1/byte8/ping"), &token()).await;
    assert_eq!((s, &ping["tenant_id"]), (200, &json!(TENANT)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_absent_code_is_401_and_alternate_routes_work() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let url = format!("{base}/rest/V1/byte8/setup/pair");
    assert_eq!(post(&c, &url, &body("0123456789abcdef0123456789abcdef")).await, (401, json!({ "message": INVALID })));
    let good = code(&c, &base).await;
    assert_eq!(post(&c, &url, &body(&good.to_uppercase())).await.0, 401, "comparison is case-sensitive");
    // A wrong attempt does not consume the code; the /rest/default and /rest/all routes pair too.
    assert_eq!(post(&c, &format!("{base}/rest/default/V1/byte8/setup/pair"), &body(&good)).await.0, 200);
    let again = code(&c, &base).await;
    assert_eq!(post(&c, &format!("{base}/rest/all/V1/byte8/setup/pair"), &body(&again)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_is_valid_for_exactly_1800_seconds() {
    let (config, clock) = manual_cfg();
    let sim = start(config).await;
    let c = client();
    let base = sim.base_url();
    let url = format!("{base}/rest/V1/byte8/setup/pair");
    let first = code(&c, &base).await;
    clock.advance(Duration::seconds(1800));
    assert_eq!(post(&c, &url, &body(&first)).await, (200, json!([])), "exactly 1800 s is accepted");
    let second = code(&c, &base).await;
    clock.advance(Duration::seconds(1801));
    assert_eq!(post(&c, &url, &body(&second)).await, (401, json!({ "message": INVALID })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_scale_shortens_the_pairing_ttl() {
    let (config, clock) = manual_cfg();
    let sim = start(SimConfig { time_scale: 1800.0, ..config }).await;
    let c = client();
    let base = sim.base_url();
    let code = code(&c, &base).await;
    clock.advance(Duration::seconds(2));
    let r = post(&c, &format!("{base}/rest/V1/byte8/setup/pair"), &body(&code)).await;
    assert_eq!(r, (401, json!({ "message": INVALID })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_are_400_with_magento_bodies() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let url = format!("{base}/rest/V1/byte8/setup/pair");
    let code = code(&c, &base).await;
    let mut missing = body(&code);
    missing.as_object_mut().expect("obj").remove("tenant_id");
    let (s, v) = post(&c, &url, &missing).await;
    assert_eq!(s, 400);
    assert_eq!(v["parameters"]["fieldName"], "tenant_id");
    assert_eq!(v["message"], "\"%fieldName\" is required. Enter and try again.");
    let mut empty = body(&code);
    empty["byte8_api_key"] = json!("   ");
    assert_eq!(
        post(&c, &url, &empty).await,
        (400, json!({ "message": "pairing_code, tenant_id, byte8_api_key and ledger_base_url are all required." }))
    );
    for bad in ["ftp://ledger.example.test", "ledger.example.test", "/relative", "https://"] {
        let mut b = body(&code);
        b["ledger_base_url"] = json!(bad);
        assert_eq!(
            post(&c, &url, &b).await,
            (400, json!({ "message": "ledger_base_url must be an absolute http(s) URL." })),
            "{bad}"
        );
    }
    // None of that consumed the code; camelCase names are accepted too.
    let camel = json!({ "pairingCode": code, "tenantId": TENANT, "byte8ApiKey": API_KEY,
                        "ledgerBaseUrl": "http://127.0.0.1:9" });
    assert_eq!(post(&c, &url, &camel).await, (200, json!([])));
}

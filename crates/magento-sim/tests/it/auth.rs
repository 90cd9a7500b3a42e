//! Inbound JWT verification: everything the module refuses answers 401.

use serde_json::{Value, json};

use crate::support::*;

async fn setup() -> (magento_sim::RunningSim, reqwest::Client, String, i64) {
    let (config, _clock) = manual_cfg();
    let sim = start(config).await;
    let c = client();
    pair(&c, &sim.base_url(), "http://127.0.0.1:9").await;
    let url = format!("{}/rest/V1/byte8/ping", sim.base_url());
    (sim, c, url, t0().timestamp())
}

fn with(now: i64, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut claims = claims_at(now);
    if let Some(obj) = claims.as_object_mut() {
        f(obj);
    }
    inbound(&claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_rules_on_inbound_tokens() {
    let (_sim, c, url, now) = setup().await;
    let inbound_key = subkey(API_KEY, "byte8-magento-inbound-v1");
    let good_claims = claims_at(now).to_string();
    let cases: Vec<(&str, String)> = vec![
        (
            "bad signature",
            sign_with(r#"{"alg":"HS256","typ":"JWT"}"#, &good_claims, &subkey(API_KEY, "byte8-magento-outbound-v1")),
        ),
        ("alg none", {
            let t = sign_with(r#"{"alg":"none","typ":"JWT"}"#, &good_claims, &inbound_key);
            t.rsplit_once('.').map(|(head, _)| format!("{head}.")).unwrap_or_default()
        }),
        ("alg none but signed", sign_with(r#"{"alg":"none","typ":"JWT"}"#, &good_claims, &inbound_key)),
        ("typ missing", sign_with(r#"{"alg":"HS256"}"#, &good_claims, &inbound_key)),
        (
            "wrong iss",
            with(now, |c| {
                c.insert("iss".into(), json!("magento"));
            }),
        ),
        (
            "wrong aud",
            with(now, |c| {
                c.insert("aud".into(), json!("byte8-ledger"));
            }),
        ),
        (
            "aud as array",
            with(now, |c| {
                c.insert("aud".into(), json!(["magento"]));
            }),
        ),
        (
            "wrong sub",
            with(now, |c| {
                c.insert("sub".into(), json!("someone-else"));
            }),
        ),
        (
            "nbf 1 s ahead",
            with(now, |c| {
                c.insert("nbf".into(), json!(now + 1));
            }),
        ),
        (
            "iat > now + 30",
            with(now, |c| {
                c.insert("iat".into(), json!(now + 31));
                c.insert("exp".into(), json!(now + 100));
            }),
        ),
        (
            "exp - iat > 300",
            with(now, |c| {
                c.insert("exp".into(), json!(now + 301));
            }),
        ),
        (
            "expired",
            with(now, |c| {
                c.insert("exp".into(), json!(now));
            }),
        ),
        (
            "float iat",
            with(now, |c| {
                c.insert("iat".into(), json!(now as f64));
            }),
        ),
        (
            "float exp",
            with(now, |c| {
                c.insert("exp".into(), json!((now + 60) as f64));
            }),
        ),
        (
            "string nbf",
            with(now, |c| {
                c.insert("nbf".into(), json!((now - 60).to_string()));
            }),
        ),
        (
            "missing nbf",
            with(now, |c| {
                c.remove("nbf");
            }),
        ),
        (
            "empty jti",
            with(now, |c| {
                c.insert("jti".into(), json!(""));
            }),
        ),
        (
            "missing jti",
            with(now, |c| {
                c.remove("jti");
            }),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (name, token) in cases {
        let (status, body, _) = get(&c, &url, &token).await;
        assert_eq!(status, 401, "{name} must be refused");
        assert!(body["message"].is_string(), "{name}: Magento error shape");
    }
    let r = c.get(&url).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 401, "no Authorization header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boundaries_are_accepted_and_jti_is_single_use() {
    let (_sim, c, url, now) = setup().await;
    let edge = with(now, |c| {
        c.insert("nbf".into(), json!(now));
        c.insert("iat".into(), json!(now + 30));
        c.insert("exp".into(), json!(now + 330));
    });
    assert_eq!(get(&c, &url, &edge).await.0, 200, "nbf = now, iat = now + 30, ttl 300 accepted");
    let lower_bearer =
        c.get(&url).header("Authorization", format!("bearer {}", token_at(now))).send().await.expect("get");
    assert_eq!(lower_bearer.status().as_u16(), 200, "scheme is case-insensitive");
    let once = token_at(now);
    assert_eq!(get(&c, &url, &once).await.0, 200);
    assert_eq!(get(&c, &url, &once).await.0, 401, "replayed jti");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaired_store_refuses_every_token() {
    let sim = start(cfg()).await;
    let c = client();
    let (status, _, _) = get(&c, &format!("{}/rest/V1/byte8/invoice/1", sim.base_url()), &token()).await;
    assert_eq!(status, 401);
}

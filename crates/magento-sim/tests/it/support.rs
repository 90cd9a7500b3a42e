//! Test helpers: starting the sim, a tiny independent JWT signer, HTTP shorthands, polling.

use std::future::Future;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use magento_sim::{Clock, RunningSim, SimConfig};
use serde_json::{Value, json};
use sha2::Sha256;

pub const TENANT: &str = "0a1b2c3d-0000-4000-8000-000000000001";
pub const API_KEY: &str = "byte8_lk_integration_test_key";

/// A fixed instant for manual clocks.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap_or_default()
}

/// Config with the cron off (tests drive `/_sim/drain`).
pub fn cfg() -> SimConfig {
    SimConfig { cron: false, ..SimConfig::default() }
}

/// Config with cron off and a manual clock at [`t0`].
pub fn manual_cfg() -> (SimConfig, Clock) {
    let clock = Clock::manual(t0());
    (SimConfig { cron: false, clock: clock.clone(), ..SimConfig::default() }, clock)
}

pub async fn start(cfg: SimConfig) -> RunningSim {
    magento_sim::spawn(cfg, "127.0.0.1:0".parse().expect("addr")).await.expect("spawn sim")
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// HKDF-SHA256 subkey, written independently of the crate.
pub fn subkey(api_key: &str, info: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(None, api_key.as_bytes()).expand(info.as_bytes(), &mut out).expect("hkdf");
    out
}

/// Signs arbitrary header/claims JSON with `key`.
pub fn sign_with(header: &str, claims: &str, key: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("hmac");
    m.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

/// A ledger → Magento token with the given claims JSON.
pub fn inbound(claims: &Value) -> String {
    sign_with(r#"{"alg":"HS256","typ":"JWT"}"#, &claims.to_string(), &subkey(API_KEY, "byte8-magento-inbound-v1"))
}

/// Good inbound claims at `now`: back-dated nbf, 240 s lifetime, fresh jti.
pub fn claims_at(now: i64) -> Value {
    json!({ "iss": "byte8-ledger", "aud": "magento", "sub": TENANT, "iat": now, "nbf": now - 60,
            "exp": now + 240, "jti": uuid::Uuid::new_v4().to_string() })
}

pub fn token_at(now: i64) -> String {
    inbound(&claims_at(now))
}

pub fn token() -> String {
    token_at(Utc::now().timestamp())
}

pub async fn get(c: &reqwest::Client, url: &str, token: &str) -> (u16, Value, String) {
    let r = c.get(url).bearer_auth(token).header("Accept", "application/json").send().await.expect("get");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

pub async fn post(c: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let r = c.post(url).json(body).send().await.expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn post_auth(c: &reqwest::Client, url: &str, token: &str, body: &Value) -> (u16, Value) {
    let r = c.post(url).bearer_auth(token).json(body).send().await.expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn sim_get(c: &reqwest::Client, url: &str) -> Value {
    c.get(url).send().await.expect("get").json().await.expect("json")
}

/// Generates a pairing code and pairs the store at `store` with `ledger`.
pub async fn pair(c: &reqwest::Client, store: &str, ledger: &str) {
    let (_, code) = post(c, &format!("{store}/_sim/pairing-code"), &json!({})).await;
    let body = json!({ "pairing_code": code["pairing_code"], "tenant_id": TENANT,
                       "byte8_api_key": API_KEY, "ledger_base_url": ledger });
    let (status, answer) = post(c, &format!("{store}/rest/V1/byte8/setup/pair"), &body).await;
    assert_eq!((status, answer), (200, json!([])), "pairing failed");
}

/// Polls `f` until it returns Some, or panics after 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A JSON number as a Decimal (exact, via its text).
pub fn dec(v: &Value) -> rust_decimal::Decimal {
    v.to_string().parse().unwrap_or_else(|_| panic!("not a decimal: {v}"))
}

//! An in-test fake ledger: verifies Magento's outbound JWTs with its own verifier and records calls.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{API_KEY, subkey};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    /// The verified claims (None when the token did not verify).
    pub claims: Option<Value>,
}

#[derive(Default)]
pub struct Inner {
    pub calls: Mutex<Vec<Call>>,
    pub status: AtomicU16,
}

pub struct FakeLedger {
    pub url: String,
    pub inner: Arc<Inner>,
}

impl FakeLedger {
    pub fn set_status(&self, s: u16) {
        self.inner.status.store(s, Ordering::SeqCst);
    }
    pub fn calls(&self) -> Vec<Call> {
        self.inner.calls.lock().expect("lock").clone()
    }
}

/// Verifies an outbound token: header, signature with the outbound subkey, iss/aud/sub,
/// iat = nbf, exp = iat + 60, non-empty jti, claim order.
pub fn verify_outbound(auth: Option<&str>, tenant: &str) -> Option<Value> {
    let token = auth?.strip_prefix("Bearer ")?;
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let header = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[0]).ok()?).ok()?;
    if header != r#"{"alg":"HS256","typ":"JWT"}"# {
        return None;
    }
    let mut m = Hmac::<Sha256>::new_from_slice(&subkey(API_KEY, "byte8-magento-outbound-v1")).ok()?;
    m.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    m.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).ok()?).ok()?;
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).ok()?).ok()?;
    let keys_in_order = ["\"iss\"", "\"sub\"", "\"aud\"", "\"iat\"", "\"nbf\"", "\"exp\"", "\"jti\""];
    let positions: Vec<usize> = keys_in_order.iter().filter_map(|k| raw.find(k)).collect();
    if positions.len() != 7 || !positions.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let c: Value = serde_json::from_str(&raw).ok()?;
    let iat = c["iat"].as_i64()?;
    let ok = c["iss"] == "magento"
        && c["aud"] == "byte8-ledger"
        && c["sub"] == tenant
        && c["nbf"].as_i64() == Some(iat)
        && c["exp"].as_i64() == Some(iat + 60)
        && c["jti"].as_str().is_some_and(|j| uuid::Uuid::parse_str(j).is_ok());
    ok.then_some(c)
}

fn record(inner: &Inner, path: String, headers: HeaderMap, body: String, tenant: &str) -> Option<Value> {
    let claims = verify_outbound(headers.get("authorization").and_then(|v| v.to_str().ok()), tenant);
    inner.calls.lock().expect("lock").push(Call { path, headers, body, claims: claims.clone() });
    claims
}

async fn webhook(
    State(inner): State<Arc<Inner>>,
    Path((tenant, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let body = String::from_utf8_lossy(&body).into_owned();
    let path = format!("/webhooks/magento/{tenant}/{event}");
    if record(&inner, path, headers, body, &tenant).is_none() {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "bad token" })));
    }
    let status = StatusCode::from_u16(inner.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::ACCEPTED);
    let body = if status.is_success() { json!({ "sync_run_id": "run_1" }) } else { json!({ "error": "nope" }) };
    (status, axum::Json(body))
}

async fn disconnect(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let body = String::from_utf8_lossy(&body).into_owned();
    record(&inner, "/v1/tenant/disconnect".into(), headers, body, crate::support::TENANT);
    StatusCode::NO_CONTENT
}

async fn health(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> impl IntoResponse {
    if record(&inner, "/v1/tile/health".into(), headers, String::new(), crate::support::TENANT).is_none() {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "bad token" })));
    }
    (StatusCode::OK, axum::Json(health_body()))
}

pub fn health_body() -> Value {
    json!({ "tenant": { "magento_connection_status": "active" },
            "binding": { "status": "active", "region": "uk" },
            "sync": { "last_run_at": "2026-04-20T12:00:00Z", "pending_count": 0, "failed_24h": 0 } })
}

/// Starts the fake ledger on port 0 answering `status` to webhooks.
pub async fn start(status: u16) -> FakeLedger {
    let inner = Arc::new(Inner::default());
    inner.status.store(status, Ordering::SeqCst);
    let app = Router::new()
        .route("/webhooks/magento/{tenant}/{event}", post(webhook))
        .route("/v1/tenant/disconnect", post(disconnect))
        .route("/v1/tile/health", get(health))
        .with_state(Arc::clone(&inner));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeLedger { url, inner }
}

//! The Magento side end to end, with magento-sim in-process: pairing and its failures, re-pairing, the
//! module's outbox against our ingest, disconnect from either side.
use std::sync::Arc;

use magento_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};
use test_support::TestApp;

pub async fn sim() -> RunningSim {
    magento_sim::spawn(SimConfig { cron: false, ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

pub async fn control(http: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "control call answered {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

pub async fn pairing_code(app: &TestApp, sim: &RunningSim) -> String {
    let v = control(&app.http, reqwest::Method::POST, format!("{}/_sim/pairing-code", sim.base_url()), None).await;
    v["pairing_code"].as_str().unwrap().to_owned()
}

/// Pairs `sim` with `app` and returns the tenant id.
pub async fn paired(app: &TestApp, sim: &RunningSim) -> String {
    let code = pairing_code(app, sim).await;
    let resp = app.pair(&code, &sim.base_url()).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["tenant_id"].as_str().unwrap().to_owned()
}

pub async fn fire(app: &TestApp, sim: &RunningSim, action: Value) -> Value {
    control(&app.http, reqwest::Method::POST, format!("{}/_sim/entities", sim.base_url()), Some(action)).await
}

pub async fn drain(app: &TestApp, sim: &RunningSim) -> Vec<Value> {
    let v = control(&app.http, reqwest::Method::POST, format!("{}/_sim/drain", sim.base_url()), None).await;
    v["sent"].as_array().cloned().unwrap_or_default()
}

pub async fn problem_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_binds_the_store_and_pings_it() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let code = pairing_code(&app, &sim).await;
    let resp = app.pair(&code, &format!("{}/", sim.base_url())).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "active", "the ping with the new key succeeded: {body}");
    let tenant = body["tenant_id"].as_str().unwrap();
    let state = control(&app.http, reqwest::Method::GET, format!("{}/_sim/state", sim.base_url()), None).await;
    assert_eq!(state["tenant_id"], tenant, "{state}");
    assert_eq!(state["ledger_base_url"], app.base_url.as_str());
    let (url, status): (String, String) =
        sqlx::query_as("SELECT magento_base_url, magento_connection_status FROM tenants WHERE id = $1::uuid")
            .bind(tenant)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!((url.as_str(), status.as_str()), (sim.base_url().as_str(), "active"));
    // Reusing the consumed code is refused by the store.
    let (status, code) = problem_code(app.pair(&pairing_code_reused(&code), &sim.base_url()).await).await;
    assert_eq!((status, code.as_str()), (422, "pairing_code_rejected"));
}

fn pairing_code_reused(code: &str) -> String {
    code.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_failures_are_clear() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let _ = pairing_code(&app, &sim).await;
    let (status, code) = problem_code(app.pair("0123456789abcdef0123456789abcdef", &sim.base_url()).await).await;
    assert_eq!((status, code.as_str()), (422, "pairing_code_rejected"), "wrong code");

    // An expired code: a store whose clock we move past the 30-minute TTL.
    let clock = magento_sim::Clock::manual(chrono::Utc::now());
    let slow = magento_sim::spawn(
        SimConfig { cron: false, clock: clock.clone(), ..SimConfig::default() },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let code = pairing_code(&app, &slow).await;
    clock.advance(chrono::Duration::seconds(1801));
    let (status, code) = problem_code(app.pair(&code, &slow.base_url()).await).await;
    assert_eq!((status, code.as_str()), (422, "pairing_code_rejected"), "expired code");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (status, code) = problem_code(app.pair("abc", &format!("http://{closed}")).await).await;
    assert_eq!((status, code.as_str()), (502, "store_unreachable"), "nothing listening");

    let html = html_server().await;
    let (status, code) = problem_code(app.pair("abc", &html).await).await;
    assert_eq!(status, 502, "a page that is not Magento");
    assert!(code == "not_a_byte8_store" || code == "byte8_module_missing", "{code}");

    let tls = self_signed_server().await;
    let (status, code) = problem_code(app.pair("abc", &format!("https://{tls}")).await).await;
    assert_eq!((status, code.as_str()), (502, "store_tls_error"), "self-signed certificate");

    let (status, code) = problem_code(app.pair("abc", "ftp://shop.example").await).await;
    assert_eq!((status, code.as_str()), (422, "invalid_store_url"));
    let (status, _) = problem_code(app.pair("", &sim.base_url()).await).await;
    assert_eq!(status, 422, "empty code");
    assert_eq!(app.count("tenants").await, 0, "no failed pairing left a tenant behind");

    let anonymous = app
        .http
        .post(format!("{}/api/v1/stores/pair", app.base_url))
        .json(&json!({"pairing_code": "x", "magento_base_url": sim.base_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "operators only");
}

async fn html_server() -> String {
    let app = axum::Router::new()
        .fallback(|| async { axum::response::Html("<html><body>Welcome to our shop</body></html>") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn self_signed_server() -> std::net::SocketAddr {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repairing_rotates_the_key_of_the_same_tenant() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let first = paired(&app, &sim).await;
    let code = pairing_code(&app, &sim).await;
    let resp = app.pair(&code, &sim.base_url()).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tenant_id"], first.as_str(), "one store, one tenant");
    assert_eq!(body["rotated"], true);
    let version: i32 = sqlx::query_scalar("SELECT key_version FROM tenants WHERE id = $1::uuid")
        .bind(&first)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(version, 2);
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    let sent = drain(&app, &sim).await;
    assert_eq!(sent[0]["status_code"], 202, "events signed with the rotated key are accepted: {sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_module_outbox_posts_real_events_that_are_accepted() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    paired(&app, &sim).await;
    let fired = fire(&app, &sim, json!({"action": "create_invoice", "paid": true})).await;
    assert_eq!(fired["events"].as_array().unwrap().len(), 2, "{fired}");
    fire(&app, &sim, json!({"action": "save_product"})).await;
    let sent = drain(&app, &sim).await;
    assert_eq!(sent.len(), 3);
    for d in &sent {
        assert_eq!(d["status_code"], 202, "{d}");
        assert_eq!(d["result"], "succeeded");
    }
    assert_eq!(app.count("events").await, 3);
    let names: Vec<String> = sqlx::query_scalar("SELECT event_name FROM events ORDER BY received_at, event_name")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert!(
        names.contains(&"invoice.created".to_owned())
            && names.contains(&"invoice.paid".to_owned())
            && names.contains(&"product.upserted".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_side_disconnect_dead_letters_in_magento_and_shows_on_the_tile() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let tenant = paired(&app, &sim).await;
    let resp = app
        .http
        .post(format!("{}/api/v1/stores/{tenant}/disconnect", app.base_url))
        .bearer_auth(test_support::OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    let sent = drain(&app, &sim).await;
    assert_eq!(sent[0]["status_code"], 401);
    assert_eq!(sent[0]["result"], "dead_lettered", "the module dead-letters every 4xx");
    let tile = control(&app.http, reqwest::Method::GET, format!("{}/_sim/health-tile", sim.base_url()), None).await;
    let text = tile.to_string();
    assert!(text.contains("\"revoked\""), "the tile reports the binding revoked: {text}");
    assert_eq!(app.count("events").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_from_the_ledger_is_retried_by_the_module() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    paired(&app, &sim).await;
    fire(&app, &sim, json!({"action": "save_customer"})).await;
    app.db.pool.close().await;
    let sent = drain(&app, &sim).await;
    assert_eq!(sent[0]["status_code"], 503);
    assert_eq!(sent[0]["result"], "pending", "transient: kept for a retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magento_side_disconnect_revokes_the_binding() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let tenant = paired(&app, &sim).await;
    let out = control(&app.http, reqwest::Method::POST, format!("{}/_sim/disconnect", sim.base_url()), None).await;
    assert_eq!(out["notice"]["status"], 204, "{out}");
    let status: String = sqlx::query_scalar("SELECT status FROM tenants WHERE id = $1::uuid")
        .bind(&tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "revoked");
    // The module holds its events while unpaired; the ledger stops calling the store.
    let fired = fire(&app, &sim, json!({"action": "save_customer"})).await;
    assert_eq!(fired["events"][0]["enqueued"], false);
}

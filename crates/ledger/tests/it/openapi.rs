//! The OpenAPI document: served without credentials by a running app, printed by `ledger openapi`,
//! and both equal to the committed `docs/openapi.json`.
use std::process::Command;

use serde_json::Value;
use test_support::TestApp;

const COMMITTED: &str = include_str!("../../../../docs/openapi.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_app_serves_the_committed_document() {
    let app = TestApp::spawn().await;
    let resp = app.http.get(format!("{}/api/openapi.json", app.base_url)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "no credentials needed");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let served: Value = resp.json().await.unwrap();
    assert_eq!(served, serde_json::from_str::<Value>(COMMITTED).unwrap());
    assert!(served["paths"]["/webhooks/magento/{tenant_id}/{event}"]["post"].is_object());
    assert!(served["components"]["securitySchemes"]["operator"].is_object());
}

#[test]
fn cli_prints_the_committed_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger")).arg("openapi").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), COMMITTED);
}

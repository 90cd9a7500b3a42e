//! The sync policy routes: read, saved canonical, refused field by field (shape, rules, and ids the
//! Sage business does not have), and the usual refusals of bad requests.
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::OPERATOR_TOKEN;

use crate::sync::World;

async fn put(w: &World, body: &str, token: Option<&str>) -> (StatusCode, Value) {
    let url = format!("{}/api/v1/tenants/{}/sage/policy", w.app.base_url, w.tenant);
    let mut req = w.app.http.put(url).header("content-type", "application/json").body(body.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_is_read_saved_and_refused_field_by_field() {
    let w = World::start("Plus").await;
    let url = format!("{}/api/v1/tenants/{}/sage/policy", w.app.base_url, w.tenant);
    let current: Value = w.app.http.get(&url).bearer_auth(OPERATOR_TOKEN).send().await.unwrap().json().await.unwrap();
    assert!(current["payment_method_map"]["checkmo"]["payment_method_id"].is_string(), "{current}");

    // Every id checked against the business: a made-up bank account and tax rate are named.
    let mut doc = current.clone();
    doc["bank_account_id"] = json!("no-such-bank");
    doc["tax_rate_map"] = json!({"20": "NO_SUCH_RATE"});
    let (status, problem) = put(&w, &doc.to_string(), Some(OPERATOR_TOKEN)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "invalid_policy");
    assert_eq!(fields(&problem), vec!["bank_account_id".to_owned(), "tax_rate_map.20".to_owned()], "{problem}");

    // Shape and rules: unknown keys and bad values are refused before any Sage call.
    let (status, problem) =
        put(&w, r#"{"payment_method_map": {"checkmo": {}}, "colour": "red"}"#, Some(OPERATOR_TOKEN)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(!fields(&problem).is_empty(), "{problem}");

    // A good document is saved as given (canonical) and read back.
    let mut doc = current.clone();
    doc["tax_rate_map"] = json!({"20": "GB_STANDARD"});
    let (status, saved) = put(&w, &doc.to_string(), Some(OPERATOR_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let read: Value = w.app.http.get(&url).bearer_auth(OPERATOR_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(read, saved);
    assert_eq!(read["tax_rate_map"]["20"], "GB_STANDARD");

    // Bad requests: not JSON, no bearer, another tenant.
    assert_eq!(put(&w, "{not json", Some(OPERATOR_TOKEN)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(put(&w, "{}", None).await.0, StatusCode::UNAUTHORIZED);
    let other = format!("{}/api/v1/tenants/{}/sage/policy", w.app.base_url, uuid::Uuid::new_v4());
    let resp = w.app.http.get(other).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

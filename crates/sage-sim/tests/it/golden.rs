//! Golden fixtures from the spec's literal examples: the 9.83 invoice, error arrays, the token response.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Harness, assert_error, authorize, client, exchange};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/sage/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every key of `want` is in `got` with the same value (objects recursively, arrays element-wise).
#[track_caller]
fn assert_subset(want: &Value, got: &Value, at: &str) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, v) in w {
                assert_subset(v, g.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"));
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "length at {at}");
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                assert_subset(a, b, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(want, got, "at {at}"),
    }
}

fn fill(template: Value, contact: &str, ledger: &str) -> Value {
    let text = template.to_string().replace("{{contact_id}}", contact).replace("{{ledger_account_id}}", ledger);
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_9_83_invoice_computes_like_sages_worked_example() {
    let h = Harness::start().await;
    let contact = h.customer(&h.plus, "Golden", None).await;
    let ledger = h.ledger(&h.plus, 4000).await;
    let body = fill(fixture("invoice_9_83_request.json"), &contact, &ledger);
    let (s, v) = h.post(&h.plus, "/sales_invoices", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_subset(&fixture("invoice_9_83_response.json"), &v, "$");
    assert_eq!(v["invoice_number"], "SI-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_9_83_invoice_without_tax_amount_gives_the_golden_error_array() {
    let h = Harness::start().await;
    let contact = h.customer(&h.plus, "Golden", None).await;
    let ledger = h.ledger(&h.plus, 4000).await;
    let mut body = fill(fixture("invoice_9_83_request.json"), &contact, &ledger);
    body["sales_invoice"]["invoice_lines"][0].as_object_mut().unwrap().remove("tax_amount");
    let (s, v) = h.post(&h.plus, "/sales_invoices", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v, fixture("error_tax_amount_required.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_response_has_exactly_sages_fields_and_lifetimes() {
    let h = Harness::start().await;
    let http = client();
    let code = authorize(&http, &h.base, &[]).await;
    assert!(code.starts_with("GB/"), "code carries the region prefix: {code}");
    let (s, tok) = exchange(&http, &h.base, &code).await;
    assert_eq!(s, StatusCode::OK);
    let want = fixture("token_response.json");
    let mut want_keys: Vec<_> = want.as_object().unwrap().keys().collect();
    let mut got_keys: Vec<_> = tok.as_object().unwrap().keys().collect();
    want_keys.sort();
    got_keys.sort();
    assert_eq!(want_keys, got_keys);
    for k in ["scope", "token_type", "expires_in", "refresh_token_expires_in"] {
        assert_eq!(tok[k], want[k], "{k}");
    }
    for k in ["access_token", "refresh_token"] {
        let t = tok[k].as_str().unwrap();
        assert!(
            t.len() > 1000 && t.len() <= 2048 && t.split('.').count() == 3,
            "{k} is JWT-shaped and Sage-sized: {}",
            t.len()
        );
    }
    let id = tok["requested_by_id"].as_str().unwrap();
    assert!(uuid_like(id), "{id}");
}

fn uuid_like(s: &str) -> bool {
    let parts: Vec<_> = s.split('-').map(str::len).collect();
    parts == [8, 4, 4, 4, 12]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mse_and_role_errors_match_the_golden_arrays() {
    let h = Harness::start().await;
    h.control(reqwest::Method::POST, "/auth", Some(serde_json::json!({"action": "deny_role", "business": h.plus})))
        .await;
    let (s, v) = h.get(&h.plus, "/contacts").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v, fixture("error_multi_user_access_denied.json"));
    h.control(reqwest::Method::POST, "/auth", Some(serde_json::json!({"action": "mse", "business": h.standard}))).await;
    let (s, v) = h.get(&h.standard, "/contacts").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v, fixture("error_mse.json"));
    assert_error(s, &v, 401, "AuthorizationFailure", "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_grant_error_has_the_golden_shape() {
    let h = Harness::start().await;
    let (s, v) = crate::support::refresh(&h.http, &h.base, "not-a-token").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let want = fixture("token_error_invalid_grant.json");
    assert_eq!(v["error"], want["error"]);
    assert!(v["error_description"].is_string());
    assert_eq!(v.as_object().unwrap().len(), 2);
}

pub fn unexpected_fixture() -> Value {
    fixture("error_unexpected.json")
}

#[test]
fn golden_invoice_fixtures_follow_sages_published_shape() {
    use sage_sim::conformance::{check_request, check_response};
    let request = check_request("POST", "/sales_invoices", &fixture("invoice_9_83_request.json")).unwrap();
    assert!(request.is_empty(), "{request:?}");
    let response = check_response("POST", "/sales_invoices", &fixture("invoice_9_83_response.json")).unwrap();
    assert!(response.is_empty(), "{response:?}");
}

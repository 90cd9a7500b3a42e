//! The pair call: body and headers sent, and each failure mapped to a merchant-facing error with a stable code.
use std::sync::Arc;
use std::time::Duration;

use ledger_magento::client::{PairError, PairRequest, pair};
use ledger_magento::ssrf::TokioResolver;
use ledger_magento::{ApiKey, GuardedHttp, OutboundPolicy};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use crate::support::*;

fn request() -> PairRequest {
    PairRequest {
        pairing_code: "  0A1B2C3D 4E5F6071\t8293A4B5C6D7E8F9 ".into(),
        tenant_id: TENANT.into(),
        api_key: ApiKey::from_secret(SecretString::from(API_KEY)),
        ledger_base_url: Url::parse("https://ledger.example/").unwrap(),
    }
}

fn guarded() -> GuardedHttp {
    http(loopback_policy(), Arc::new(TokioResolver))
}

async fn pair_with(answer: Canned) -> (Result<(), PairError>, Store) {
    let store = Store::always(answer).await;
    let result = pair(&guarded(), &store.url("/"), &request()).await;
    (result, store)
}

#[tokio::test]
async fn sends_the_normalised_body_without_auth() {
    let (result, store) = pair_with(json(200, json!([]))).await;
    result.unwrap();
    let seen = &store.seen()[0];
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/rest/V1/byte8/setup/pair"));
    assert!(seen.headers.get("authorization").is_none());
    assert_eq!(seen.headers["content-type"], "application/json");
    assert_eq!(seen.headers["accept"], "application/json");
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        body,
        json!({"pairing_code": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "tenant_id": TENANT,
               "byte8_api_key": API_KEY, "ledger_base_url": "https://ledger.example"})
    );
}

#[tokio::test]
async fn any_2xx_json_or_empty_is_success() {
    for answer in [json(200, json!(true)), raw(200, "application/json", ""), raw(204, "text/plain", "")] {
        assert!(pair_with(answer).await.0.is_ok());
    }
}

#[tokio::test]
async fn magento_answers_map_to_codes() {
    let cases = [
        (
            json(401, json!({"message": "Invalid or expired pairing code."})),
            "pairing_code_rejected",
            "Invalid or expired pairing code.",
        ),
        (
            json(400, json!({"message": "ledger_base_url must be an absolute http(s) URL."})),
            "pair_bad_request",
            "absolute http(s) URL",
        ),
        (
            json(404, json!({"message": "Request does not match any route."})),
            "byte8_module_missing",
            "does not match any route",
        ),
        (
            raw(200, "text/html", "<!doctype html><title>Shop</title>"),
            "not_a_byte8_store",
            "did not answer like a Magento store",
        ),
        (raw(404, "text/html", "<h1>Not Found</h1>"), "not_a_byte8_store", "HTTP 404"),
        (json(500, json!({"message": "Something broke"})), "store_error", "HTTP 500 (Something broke)"),
    ];
    for (answer, code, words) in cases {
        let (result, store) = pair_with(answer).await;
        let err = result.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(err.to_string().contains(words), "{err}");
        assert_eq!(store.hits(), 1, "pairing is never retried");
    }
}

#[tokio::test]
async fn redirects_name_the_exact_base_url() {
    let (result, _) = pair_with(redirect(302, "https://www.shop.example/rest/V1/byte8/setup/pair")).await;
    match result.unwrap_err() {
        err @ PairError::Redirect { .. } => {
            assert_eq!(err.code(), "store_redirects");
            assert_eq!(
                err.to_string(),
                "The URL redirects to https://www.shop.example/rest/V1/byte8/setup/pair. \
                 Enter the exact Magento base URL: https://www.shop.example"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unreachable_and_slow_stores() {
    let closed = closed_port().await;
    let err = pair(&guarded(), &Url::parse(&format!("http://{closed}")).unwrap(), &request()).await.unwrap_err();
    assert_eq!(err.code(), "store_unreachable", "{err}");

    let (addr, _) = silent_listener().await;
    let slow =
        http(OutboundPolicy { timeout: Duration::from_millis(200), ..loopback_policy() }, Arc::new(TokioResolver));
    let err = pair(&slow, &Url::parse(&format!("http://{addr}")).unwrap(), &request()).await.unwrap_err();
    assert_eq!(err.code(), "store_no_answer", "the request went out: the store may have acted on it");
    assert!(err.to_string().contains("did not answer in time"), "{err}");

    let nxdomain = http(loopback_policy(), ScriptedResolver::new(&[]));
    let err = pair(&nxdomain, &Url::parse("http://no-such-shop.test").unwrap(), &request()).await.unwrap_err();
    assert_eq!(err.code(), "store_unreachable", "{err}");
}

#[tokio::test]
async fn guard_refusals_are_reported() {
    let store = Store::always(json(200, json!([]))).await;
    let strict = http(strict_policy(), Arc::new(TokioResolver));
    let err = pair(&strict, &store.url("/"), &request()).await.unwrap_err();
    assert_eq!(err.code(), "store_url_refused");
    assert!(err.to_string().contains("loopback"), "{err}");
    assert_eq!(store.hits(), 0);
}

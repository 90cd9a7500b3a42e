//! `MagentoClient` against a scripted store: paths, fresh tokens per attempt, retries, classes, sync-state.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ledger_domain::MagentoEntityId;
use ledger_domain::error_class::ErrorClass;
use ledger_domain::magento::{InvoiceState, SyncEntityType, SyncState, SyncStatus};
use ledger_magento::ssrf::{HttpError, TokioResolver};
use ledger_magento::{MagentoClient, MagentoError, OutboundPolicy, RetryConfig};
use rust_decimal_macros::dec;
use serde_json::{Value, json};

use crate::support::*;

fn client_for(store: &Store, policy: OutboundPolicy) -> MagentoClient {
    let http = http(policy, Arc::new(TokioResolver));
    MagentoClient::new(http, store.url("/s/2"), TENANT, &keys())
        .with_retry(RetryConfig { max_attempts: 3, backoff: Duration::from_millis(5) })
}

fn client(store: &Store) -> MagentoClient {
    client_for(store, loopback_policy())
}

fn id(n: i64) -> MagentoEntityId {
    MagentoEntityId::new(n).unwrap()
}

fn jtis(store: &Store) -> Vec<String> {
    store
        .seen()
        .iter()
        .map(|s| s.jwt.clone().expect("token sent").expect("token valid")["jti"].as_str().unwrap().to_owned())
        .collect()
}

fn contact() -> Value {
    json!({"magento_id": 0, "email": "guest@example.com", "website_id": 0,
           "addresses": [{"kind": "billing", "street": ["1 High St"], "city": "Leeds", "country_id": "GB"}]})
}

fn invoice() -> Value {
    json!({"magento_id": 12, "increment_id": "000000012", "order_id": 30, "order_increment_id": "000000030",
           "website_id": 1, "store_id": 1, "currency": "GBP", "state": "open", "customer": contact(),
           "lines": [{"sku": "MUG", "name": "Mug", "qty": 2, "unit_price": 10, "line_subtotal": 20,
                      "line_tax": 4, "line_total": 24, "tax_rate": 0.2}],
           "subtotal": 20, "tax_amount": 4, "shipping_amount": 0, "shipping_tax_amount": 0,
           "discount_amount": 0, "grand_total": 24, "created_at": "2026-04-29T10:11:12Z"})
}

#[tokio::test]
async fn fetches_every_entity_with_a_valid_fresh_token() {
    let script = vec![
        json(200, json!([true, TENANT, "2026-04-29T10:11:12+00:00"])),
        json(200, json!([{"code": "checkmo", "label": "Check", "is_active": true}])),
        json(200, invoice()),
        json(
            200,
            json!({"magento_id": 7, "increment_id": "7", "website_id": 1, "currency": "GBP",
                         "customer": contact(), "lines": [], "adjustment_positive": 0,
                         "adjustment_negative": 0, "grand_total": 24, "shipping_amount": 0,
                         "shipping_tax_amount": 0, "created_at": ""}),
        ),
        json(200, json!({"magento_id": 5, "email": "c@example.com", "website_id": 1, "addresses": []})),
        json(
            200,
            json!({"magento_id": 12, "invoice_id": 12, "invoice_increment_id": "000000012",
                         "method": "checkmo", "currency": "GBP", "amount": 24,
                         "captured_at": "2026-04-29T10:11:12Z", "gateway_metadata": ["x"]}),
        ),
        json(
            200,
            json!({"magento_id": 3, "sku": "MUG", "name": "Mug", "product_type": "simple",
                         "manage_stock": false, "website_ids": [1]}),
        ),
    ];
    let store = Store::start(script, json(500, json!({"message": "unexpected"}))).await;
    let c = client(&store);
    let ping = c.ping().await.unwrap();
    assert_eq!(ping.tenant_id.as_deref(), Some(TENANT));
    assert_eq!(c.payment_methods().await.unwrap().methods[0].code, "checkmo");
    let inv = c.invoice(id(12)).await.unwrap();
    assert_eq!((inv.state, inv.grand_total, inv.lines[0].qty), (InvoiceState::Open, dec!(24), dec!(2)));
    assert_eq!(c.creditmemo(id(7)).await.unwrap().created_at, None);
    assert_eq!(c.customer(id(5)).await.unwrap().email, "c@example.com");
    assert_eq!(c.payment(id(12)).await.unwrap().gateway_metadata, Some(json!(["x"])));
    assert!(c.product(id(3)).await.unwrap().website_ids == vec![1]);

    let seen = store.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/s/2/rest/V1/byte8/ping",
            "/s/2/rest/V1/byte8/payment-methods",
            "/s/2/rest/V1/byte8/invoice/12",
            "/s/2/rest/V1/byte8/creditmemo/7",
            "/s/2/rest/V1/byte8/customer/5",
            "/s/2/rest/V1/byte8/payment/12",
            "/s/2/rest/V1/byte8/product/3",
        ]
    );
    for s in &seen {
        assert_eq!(s.method, "GET");
        assert_eq!(s.headers["accept"], "application/json");
        let claims = s.jwt.clone().expect("bearer token").expect("valid token");
        assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);
        assert!(claims["nbf"].as_i64().unwrap() <= now());
    }
    assert_eq!(jtis(&store).into_iter().collect::<HashSet<_>>().len(), 7, "a fresh jti per request");
}

#[tokio::test]
async fn transient_failures_are_retried_with_new_tokens() {
    let script = vec![json(500, json!({"message": "boom"})), json(503, json!({"message": "busy"}))];
    let store = Store::start(script, json(200, invoice())).await;
    let inv = client(&store).invoice(id(12)).await.unwrap();
    assert_eq!(inv.magento_id, id(12));
    let ids = jtis(&store);
    assert_eq!(ids.len(), 3);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3, "each retry carries a new jti");
}

#[tokio::test]
async fn gives_up_after_three_attempts() {
    let store = Store::always(json(503, json!({"message": "Service %1 unavailable", "parameters": ["x"]}))).await;
    let err = client(&store).invoice(id(12)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(err.to_string().contains("503: Service x unavailable"), "{err}");
    assert_eq!(store.hits(), 3);
}

#[tokio::test]
async fn client_errors_are_classified_and_not_retried() {
    for (status, class) in [
        (401, ErrorClass::Auth),
        (403, ErrorClass::Permission),
        (404, ErrorClass::NotFound),
        (400, ErrorClass::Validation),
        (422, ErrorClass::Validation),
        (429, ErrorClass::RateLimited),
    ] {
        let mut answer = json(
            status,
            json!({"message": "No such entity with %fieldName = %fieldValue",
                                             "parameters": {"fieldName": "id", "fieldValue": 9}}),
        );
        answer.headers.push(("retry-after", "7".into()));
        let store = Store::always(answer).await;
        let err = client(&store).invoice(id(9)).await.unwrap_err();
        assert_eq!(err.class(), class, "{status}");
        assert!(err.to_string().contains("No such entity with id = 9"), "{err}");
        assert_eq!(store.hits(), 1, "{status} must not be retried in place");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    }
}

#[tokio::test]
async fn a_rejected_token_reads_as_auth() {
    // A client holding the wrong key: the store's verifier answers 401 like Magento.
    let store = Store::always(json(200, json!([]))).await;
    let http = http(loopback_policy(), Arc::new(TokioResolver));
    let wrong = ledger_magento::TenantKeys::derive("byte8_lk_some_other_key");
    let err = MagentoClient::new(http, store.url(""), TENANT, &wrong).ping().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth);
    assert!(matches!(store.seen()[0].jwt, Some(Err(ref why)) if why == "bad signature"));
}

#[tokio::test]
async fn a_guest_contact_has_no_customer_id_to_fetch() {
    let store = Store::always(json(200, invoice())).await;
    let customer = client(&store).invoice(id(12)).await.unwrap().customer;
    assert!(customer.is_guest());
    assert_eq!(customer.magento_id, None, "`customer(id)` takes a positive id, so /customer/0 cannot be asked for");
    assert_eq!(store.hits(), 1);
}

#[tokio::test]
async fn html_and_wrong_shapes_are_errors() {
    let html = Store::always(raw(200, "text/html", "<html><body>Welcome</body></html>")).await;
    let err = client(&html).invoice(id(1)).await.unwrap_err();
    assert!(matches!(&err, MagentoError::NotJson { content_type } if content_type == "text/html"), "{err}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(html.hits(), 1, "body problems are left to the durable queue, not retried in place");
    let err = client(&html).ping().await.unwrap_err();
    assert!(matches!(err, MagentoError::NotJson { .. }));

    let shape = Store::always(json(200, json!({"magento_id": 1, "sku": 5}))).await;
    let err = client(&shape).invoice(id(1)).await.unwrap_err();
    assert!(matches!(&err, MagentoError::Shape { what: "invoice", .. }), "{err}");
    assert_eq!(err.class(), ErrorClass::Internal);
    assert_eq!(shape.hits(), 1);

    let empty = Store::always(raw(200, "application/json", "")).await;
    assert_eq!(client(&empty).ping().await.unwrap().raw, Value::Null);
}

#[tokio::test]
async fn injected_clock_sets_token_times() {
    let store = Store::always(json(200, json!({"ok": true}))).await;
    let pinned = now() - 7;
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp(pinned, 0).unwrap();
    let c = client(&store).with_clock(Arc::new(ledger_domain::clock::FixedClock(at)));
    c.ping().await.unwrap();
    let claims = store.seen()[0].jwt.clone().unwrap().unwrap();
    assert_eq!(claims["iat"], pinned);
    assert_eq!(claims["nbf"], pinned - 60);
}

fn state() -> SyncState {
    SyncState {
        entity_type: SyncEntityType::Invoice,
        magento_entity_id: id(12),
        provider: "sage_accounting".into(),
        sync_status: SyncStatus::Failed,
        provider_entity_id: None,
        provider_reference: None,
        skip_reason: None,
        error_code: Some("validation".into()),
    }
}

#[tokio::test]
async fn sync_state_accepts_any_2xx_body() {
    for answer in [
        json(200, json!([])),
        json(200, json!(true)),
        raw(200, "application/json", ""),
        raw(204, "application/json", ""),
        raw(200, "text/html", "<p>ok</p>"),
    ] {
        let store = Store::always(answer).await;
        client(&store).post_sync_state(&state()).await.unwrap();
        let seen = store.seen();
        assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("POST", "/s/2/rest/V1/byte8/sync-state"));
        let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
        assert_eq!(
            body,
            json!({"entity_type": "invoice", "magento_entity_id": 12, "provider": "sage_accounting",
                   "sync_status": "failed", "error_code": "validation"})
        );
        assert!(seen[0].jwt.clone().unwrap().is_ok());
    }
}

#[tokio::test]
async fn sync_state_failures_are_not_retried_in_place() {
    let store = Store::always(json(500, json!({"message": "Could not upsert sync state."}))).await;
    let err = client(&store).post_sync_state(&state()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(store.hits(), 1);
    let invalid = SyncState { provider: String::new(), ..state() };
    let err = client(&store).post_sync_state(&invalid).await.unwrap_err();
    assert!(matches!(err, MagentoError::InvalidSyncState(_)));
    assert_eq!(store.hits(), 1);
}

#[tokio::test]
async fn redirects_are_errors() {
    let store = Store::always(redirect(301, "https://www.shop.example/rest/V1/byte8/ping")).await;
    let err = client(&store).ping().await.unwrap_err();
    assert!(matches!(&err, MagentoError::Redirect { status: 301, location } if location.contains("www.shop")));
    assert_eq!(err.class(), ErrorClass::Validation);
    assert_eq!(store.hits(), 1);
}

#[tokio::test]
async fn timeouts_are_transient_and_retried() {
    let (addr, accepted) = silent_listener().await;
    let policy = OutboundPolicy { timeout: Duration::from_millis(200), ..loopback_policy() };
    let http = http(policy, Arc::new(TokioResolver));
    let base = url::Url::parse(&format!("http://{addr}")).unwrap();
    let c = MagentoClient::new(http, base, TENANT, &keys())
        .with_retry(RetryConfig { max_attempts: 3, backoff: Duration::from_millis(5) });
    let err = c.ping().await.unwrap_err();
    assert!(matches!(err, MagentoError::Http(HttpError::Timeout)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(eventually(|| accepted.load(std::sync::atomic::Ordering::SeqCst) == 3).await);
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let addr = closed_port().await;
    let http = http(loopback_policy(), Arc::new(TokioResolver));
    let base = url::Url::parse(&format!("http://{addr}")).unwrap();
    let err = MagentoClient::new(http, base, TENANT, &keys())
        .with_retry(RetryConfig { max_attempts: 2, backoff: Duration::from_millis(1) })
        .invoice(id(1))
        .await
        .unwrap_err();
    assert!(matches!(err, MagentoError::Http(HttpError::Connect(_))), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn guard_refusals_surface_as_permission() {
    let store = Store::always(json(200, json!({"ok": true}))).await;
    let err = client_for(&store, strict_policy()).ping().await.unwrap_err();
    assert!(matches!(err, MagentoError::Http(HttpError::Refused(_))), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Permission);
    assert_eq!(store.hits(), 0);
}

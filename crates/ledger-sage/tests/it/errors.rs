//! Every error class from real simulator answers, the 401 → refresh → retry path, the gate's 429
//! report, the `X-Business` check, and what the audit record keeps (and never keeps).
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use ledger_domain::sage::PostContact;
use ledger_domain::{ErrorClass, RunFailure, SageBusinessId};
use ledger_sage::{SageClient, SageClientError, SageConfig, SageHttp, StaticToken, Unlimited, idempotency_id};
use secrecy::SecretString;
use serde_json::json;

use crate::support::{Sim, sim_config};
use crate::writes::{books, customer, invoice};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_transient_and_keeps_sages_request_id() {
    let s = Sim::start().await;
    s.faults(json!({"business": s.plus.to_string(), "rate_503": 1.0})).await;
    let err = s.plus().financial_settings().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert_eq!(err.callback_error_code().as_str(), "provider");
    let sage = err.sage().expect("Sage's answer");
    assert_eq!(sage.status, 503);
    assert!(sage.request_id.is_some(), "x_request_id kept on failures");
    let call = s.log.take().pop().unwrap();
    assert_eq!(call.status, Some(503));
    assert_eq!(call.x_request_id, sage.request_id);
    assert!(call.response_body.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_rate_limited_honours_retry_after_and_tells_the_gate() {
    let s = Sim::start().await;
    s.faults(json!({"rate_429": 1.0, "retry_after_s": 7})).await;
    let err = s.plus().currencies().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.callback_error_code().as_str(), "rate_limited");
    assert_eq!(RunFailure::from(&err).retry_after, Some(Duration::from_secs(7)), "the hint travels to the run");
    s.faults(json!({"rate_429": 1.0})).await;
    let err = s.plus().currencies().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.retry_after(), None, "no Retry-After, no hint: the caller backs off");
    let throttled = s.gate.throttled.lock().unwrap().clone();
    assert_eq!(
        throttled,
        vec![(s.plus.to_string(), Some(Duration::from_secs(7))), (s.plus.to_string(), None)],
        "each 429 reaches the gate with its hint"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_after_commit_is_transient_and_the_retry_with_the_same_id_does_not_duplicate() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Committed").await;
    let mut body = invoice(&contact, &books, "100000500", "10.00", "2.00");
    body.idempotency_id = Some(idempotency_id("tenant|plus|sales_invoice|500|create|v1"));
    s.faults(json!({"rate_500_after_commit": 1.0})).await;
    let err = b.create_sales_invoice(&body).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert!(err.sage().is_some_and(|e| e.has_code("UnexpectedError")));
    s.faults(json!({})).await;
    let retried = b.create_sales_invoice(&body).await.unwrap();
    let stored = s.records(&s.plus, "sales_invoices").await;
    assert_eq!(stored.len(), 1, "the retry replayed the committed invoice");
    assert_eq!(stored[0]["id"], retried.id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_once_and_the_call_retried() {
    let s = Sim::start().await;
    let old = s.access_token();
    s.auth("expire_tokens", None).await;
    let fin = s.plus().financial_settings().await.unwrap();
    assert!(fin.base_currency.is_some());
    assert_eq!(s.tokens.refreshes.load(Ordering::SeqCst), 1);
    let calls = s.log.take();
    assert_eq!(
        calls.iter().map(|c| (c.status, c.after_unauthorized)).collect::<Vec<_>>(),
        vec![(Some(401), false), (Some(200), true)]
    );
    assert_eq!(s.gate.admitted.load(Ordering::SeqCst), 2, "the retry passes the gate too");
    let recorded = serde_json::to_string(&calls).unwrap();
    assert!(!recorded.contains(&old) && !recorded.contains(&s.access_token()), "bearer tokens are never recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_be_refreshed_is_an_auth_failure() {
    let s = Sim::start().await;
    s.auth("stale_refresh", None).await;
    s.auth("expire_tokens", None).await;
    let err = s.plus().currencies().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth, "{err}");
    assert_eq!(s.tokens.refreshes.load(Ordering::SeqCst), 1, "one refresh, no more");
    let fixed = SecretString::from("not-a-token");
    let http = SageHttp::new(&SageConfig::new(format!("{}/v3.1", s.base).parse().unwrap())).unwrap();
    let client = SageClient::new(http, Arc::new(StaticToken::new(fixed)), Arc::new(Unlimited));
    let err = client.business(s.plus.clone()).currencies().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(err.callback_error_code().as_str(), "auth");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mse_is_a_subscription_failure_and_no_refresh_is_tried() {
    let s = Sim::start().await;
    s.auth("mse", Some(&s.start)).await;
    let err = s.client.business(s.start.clone()).currencies().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Subscription, "{err}");
    assert!(err.sage().is_some_and(|e| e.status == 401 && e.is_subscription_lapsed()));
    assert_eq!(s.tokens.refreshes.load(Ordering::SeqCst), 0, "MSE is not a token problem");
    assert!(s.plus().currencies().await.is_ok(), "other businesses still work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_role_and_an_inaccessible_business_are_permission_failures() {
    let s = Sim::start().await;
    s.auth("deny_role", Some(&s.plus)).await;
    let err = s.plus().currencies().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permission, "{err}");
    assert!(err.sage().is_some_and(|e| e.has_code("MultiUserAccessDenied")));
    let stranger = SageBusinessId::parse("00000000000000000000000000000000").unwrap();
    let err = s.client.business(stranger).currencies().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permission, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_keeps_source_and_data_code_and_unknown_ids_are_not_found() {
    let s = Sim::start().await;
    let b = s.plus();
    let body = PostContact {
        name: "Too long".into(),
        contact_type_ids: vec!["CUSTOMER".into()],
        reference: Some("ELEVENCHARS".into()),
        ..Default::default()
    };
    let err = b.create_contact(&body).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Validation, "{err}");
    let flagged = s.expect_nonconformant();
    assert!(flagged.iter().any(|v| v.contains("$.contact.reference")), "the checker sees it too: {flagged:?}");
    let sage = err.sage().unwrap();
    assert_eq!((sage.status, sage.data_code(), sage.source()), (422, Some("RecordInvalid"), Some("reference")));
    assert!(sage.message().is_some_and(|m| !m.is_empty()));
    assert_eq!(err.callback_error_code().as_str(), "validation");
    let failure = RunFailure::from(&err);
    assert_eq!((failure.class, failure.detail.http_status), (ErrorClass::Validation, Some(422)));
    let detail = failure.detail.sage.expect("Sage's entry travels to the run");
    assert_eq!((detail.source.as_deref(), detail.data_code.as_deref()), (Some("reference"), Some("RecordInvalid")));
    let call = s.log.take().pop().unwrap();
    assert_eq!(call.request_body.unwrap()["contact"]["reference"], "ELEVENCHARS", "the body sent is recorded");

    let err = b.contact("0123456789abcdef0123456789abcdef").await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotFound, "{err}");
    assert_eq!(err.callback_error_code().as_str(), "not_found");
    assert!(b.contact("../businesses").await.is_err_and(|e| matches!(e, SageClientError::Url(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_call_times_out_and_an_unreachable_host_is_transient() {
    let s = Sim::with(sim_config(), Duration::from_millis(300)).await;
    s.faults(json!({"rate_hang": 1.0})).await;
    let err = s.plus().currencies().await.unwrap_err();
    assert!(matches!(err, SageClientError::Timeout), "{err}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(err.callback_error_code().as_str(), "provider");
    let call = s.log.take().pop().unwrap();
    assert_eq!(call.status, None);
    assert!(call.transport_error.is_some());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let http = SageHttp::new(&SageConfig::new(format!("http://127.0.0.1:{port}/v3.1").parse().unwrap())).unwrap();
    let client = SageClient::new(http, Arc::new(StaticToken::new(SecretString::from("t"))), Arc::new(Unlimited));
    let err = client.business(s.plus.clone()).currencies().await.unwrap_err();
    assert!(matches!(err, SageClientError::Connect(_)), "{err}");
    assert_eq!(err.class(), ErrorClass::Transient);
}

/// Forwards to the simulator without the `X-Business` request header, as a lost header would: Sage then
/// serves the lead business.
async fn strip_business(State(upstream): State<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let url = format!("{upstream}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut out = reqwest::Client::new().request(parts.method, url).body(body);
    for (name, value) in parts.headers.iter().filter(|(n, _)| n.as_str() != "x-business" && n.as_str() != "host") {
        out = out.header(name, value);
    }
    let resp = out.send().await.unwrap();
    let mut answer = Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        answer = answer.header(name, value);
    }
    answer.body(Body::from(resp.bytes().await.unwrap())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_for_another_business_is_refused() {
    let s = Sim::start().await;
    let app = axum::Router::new().fallback(strip_business).with_state(s.base.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}/v3.1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = SageHttp::new(&SageConfig::new(proxy.parse().unwrap())).unwrap();
    let client = SageClient::new(http, s.tokens.clone(), Arc::new(Unlimited));
    let err = client.business(s.standard.clone()).financial_settings().await.unwrap_err();
    match &err {
        SageClientError::BusinessMismatch { expected, got } => {
            assert_eq!(expected, s.standard.as_str());
            assert_eq!(got.as_deref(), Some(s.plus.as_str()), "the lead business answered");
        }
        other => panic!("expected a mismatch, got {other}"),
    }
    assert_eq!(err.class(), ErrorClass::Permission);
    assert!(client.business(s.plus.clone()).financial_settings().await.is_ok(), "the lead itself matches");
}

/// Refuses every call, as the budget does when Sage paused a business.
struct PausedGate;

type GateFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl ledger_sage::CallGate for PausedGate {
    fn admit<'a>(
        &'a self,
        _: &'a SageBusinessId,
        _: ledger_sage::CallKind,
    ) -> GateFuture<'a, Result<ledger_sage::GatePermit, ledger_sage::GateRefusal>> {
        let until = chrono::Utc::now() + chrono::Duration::seconds(30);
        Box::pin(async move { Err(ledger_sage::GateRefusal::Paused { until }) })
    }

    fn throttled<'a>(&'a self, _: &'a SageBusinessId, _: Option<Duration>) -> GateFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_admission_sends_nothing_and_waits_as_rate_limited() {
    let s = Sim::start().await;
    let log = ledger_sage::CallLog::new();
    let http = SageHttp::new(&SageConfig::new(format!("{}/v3.1", s.base).parse().unwrap())).unwrap();
    let client = SageClient::new(http, s.tokens.clone(), Arc::new(PausedGate)).observed(Arc::new(log.clone()));
    s.auth("expire_tokens", None).await;
    let err = client.business(s.plus.clone()).currencies().await.unwrap_err();
    assert!(matches!(err, SageClientError::Gate(_)), "{err}");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert!(err.retry_after().is_some_and(|d| d > Duration::from_secs(20)), "the pause is the hint");
    assert!(log.take().is_empty(), "nothing reached Sage");
    assert_eq!(s.tokens.refreshes.load(Ordering::SeqCst), 0, "and no token was refreshed for it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_never_comes_is_retried_with_its_id_and_recorded_once() {
    let s = Sim::with(sim_config(), Duration::from_millis(500)).await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Held").await;
    let mut body = invoice(&contact, &books, "100000600", "10.00", "2.00");
    body.idempotency_id = Some(idempotency_id("tenant|plus|sales_invoice|600|create|v1"));
    s.faults(json!({"rate_hang_after_commit": 1.0, "hold_ms": 2000})).await;
    let err = b.create_sales_invoice(&body).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    s.faults(json!({})).await;
    let retried = b.create_sales_invoice(&body).await.unwrap();
    let stored = s.records(&s.plus, "sales_invoices").await;
    assert_eq!(stored.len(), 1, "Sage saved it once; the retry replayed it");
    assert_eq!(stored[0]["id"], retried.id.as_str());
    assert_eq!(s.duplicates().await, json!([]));
}

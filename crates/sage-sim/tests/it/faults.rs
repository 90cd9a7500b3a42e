//! Rate limits and faults: 429 with/without Retry-After, 500 after commit, 503, hangs, latency, caps, MSE, roles.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Harness, assert_error, config};

async fn faults(h: &Harness, body: serde_json::Value) {
    let (s, v) = h.control(Method::PUT, "/faults", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_429_carries_retry_after_when_asked() {
    let h = Harness::start().await;
    faults(&h, json!({"business": null, "rate_429": 1.0, "retry_after_s": 2})).await;
    let (s, v, headers) = h.call(Method::GET, &h.plus, "/contacts", None).await;
    assert_error(s, &v, 429, "TooManyRequests", "");
    assert_eq!(headers["retry-after"], "2");
    faults(&h, json!({"rate_429": 1.0})).await;
    let (s, _, headers) = h.call(Method::GET, &h.plus, "/contacts", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get("retry-after").is_none());
    faults(&h, json!({})).await;
    assert_eq!(h.get(&h.plus, "/contacts").await.0, StatusCode::OK, "{{}} clears faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_500_after_commit_still_stores_the_record() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Commit", None).await;
    let mut body = h.invoice_body(&h.plus, &c, "COMMIT-1", "1", "100.00", "20.00").await;
    body["sales_invoice"]["idempotency_id"] = json!("11111111111111111111111111111111");
    faults(&h, json!({"business": h.plus, "rate_500_after_commit": 1.0})).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body.clone()).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(v, crate::golden::unexpected_fixture());
    faults(&h, json!({})).await;
    let (_, recs) = h.control(Method::GET, &format!("/records?business={}&type=sales_invoices", h.plus), None).await;
    assert_eq!(recs["items"].as_array().unwrap().len(), 1, "the record was committed");
    let (s, v) = h.post(&h.plus, "/sales_invoices", body).await;
    assert_eq!(s, StatusCode::CREATED, "a retry with the same idempotency_id gets the stored answer");
    assert_eq!(v["id"], recs["items"][0]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_can_target_one_business() {
    let h = Harness::start().await;
    faults(&h, json!({"business": h.standard, "rate_503": 1.0})).await;
    let (s, v) = h.get(&h.standard, "/contacts").await;
    assert_error(s, &v, 503, "ServiceUnavailable", "");
    assert_eq!(h.get(&h.plus, "/contacts").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_outlasts_the_client_timeout() {
    let h = Harness::start().await;
    faults(&h, json!({"rate_hang": 1.0})).await;
    let started = Instant::now();
    let r = h.http.get(h.api("/contacts")).bearer_auth(&h.token).timeout(Duration::from_millis(300)).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()), "the request never answers");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_is_added() {
    let h = Harness::start().await;
    faults(&h, json!({"latency_ms": [150, 150]})).await;
    let started = Instant::now();
    assert_eq!(h.get(&h.plus, "/contacts").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_rates_are_validated() {
    let h = Harness::start().await;
    let (s, _) = h.control(Method::PUT, "/faults", Some(json!({"rate_429": 2.0}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = h.control(Method::PUT, "/faults", Some(json!({"rate_428": 0.5}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown keys are refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_cap_answers_429() {
    let h = Harness::with(sage_sim::SimConfig { concurrency_cap: 1, ..config() }).await;
    faults(&h, json!({"business": h.standard, "rate_hang": 1.0})).await;
    // The request held by the hang takes the one place.
    let hold = || {
        let (http, url, token, biz) = (h.http.clone(), h.api("/contacts"), h.token.clone(), h.standard.clone());
        tokio::spawn(async move {
            http.get(url).bearer_auth(token).header("X-Business", biz).timeout(Duration::from_secs(120)).send().await
        })
    };
    let mut hung = hold();
    // Generous: on a loaded machine the hung request may take a while to reach the simulator.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ended_early = Vec::new();
    loop {
        let (s, v) = h.get(&h.plus, "/contacts").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_error(s, &v, 429, "TooManyRequests", "");
            break;
        }
        assert!(Instant::now() < deadline, "cap never reached; the held request ended early: {ended_early:?}");
        if hung.is_finished() {
            // It should be held for an hour: say how it ended, and hold the place again.
            ended_early.push(format!("{:?}", hung.await.map(|r| r.map(|r| r.status()))));
            hung = hold();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hung.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_budget_answers_429_with_configured_retry_after() {
    let h = Harness::with(sage_sim::SimConfig { daily_budget: 3, rate_limit_retry_after: Some(30), ..config() }).await;
    // The harness signs in through OAuth and /_sim/ only, so all three API calls fit.
    for _ in 0..3 {
        assert_eq!(h.get(&h.plus, "/user").await.0, StatusCode::OK);
    }
    let (s, v, headers) = h.call(Method::GET, &h.plus, "/user", None).await;
    assert_error(s, &v, 429, "TooManyRequests", "");
    assert_eq!(headers["retry-after"], "30");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_business_minute_cap_is_optional() {
    let h = Harness::with(sage_sim::SimConfig { per_business_per_minute: Some(2), ..config() }).await;
    // Five calls can never all fit two windows of two, even across a minute boundary.
    let mut limited = 0;
    for _ in 0..5 {
        let (s, v) = h.get(&h.plus, "/user").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_error(s, &v, 429, "TooManyRequests", "");
            limited += 1;
        }
    }
    assert!(limited >= 1);
    assert_eq!(h.get(&h.standard, "/user").await.0, StatusCode::OK, "the cap is per business");
    let h = Harness::start().await;
    for _ in 0..5 {
        assert_eq!(h.get(&h.plus, "/user").await.0, StatusCode::OK, "no per-business cap by default");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mse_switch_gives_401_for_that_business_only() {
    let h = Harness::start().await;
    h.control(Method::POST, "/auth", Some(json!({"action": "mse", "business": h.start}))).await;
    let (s, v) = h.get(&h.start, "/contacts").await;
    assert_error(s, &v, 401, "AuthorizationFailure", "");
    assert_eq!(v[0]["$message"], "No active subscription. (MSE)");
    assert_eq!(h.get(&h.plus, "/contacts").await.0, StatusCode::OK);
    let (_, b) = h.get(&h.plus, &format!("/businesses/{}", h.start)).await;
    assert_eq!(b["subscriptions"][0]["active"], false);
    h.control(Method::POST, "/auth", Some(json!({"action": "clear", "business": h.start}))).await;
    assert_eq!(h.get(&h.start, "/contacts").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_role_can_target_one_area() {
    let h = Harness::start().await;
    h.control(Method::POST, "/auth", Some(json!({"action": "deny_role", "business": h.plus, "area": "bank"}))).await;
    let (s, v) = h.get(&h.plus, "/contact_payments").await;
    assert_error(s, &v, 403, "MultiUserAccessDenied", "");
    assert_eq!(h.get(&h.plus, "/sales_invoices").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_after_commit_keeps_the_record_and_a_retry_with_the_same_idempotency_id_does_not_duplicate_it() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Held", None).await;
    let mut body = h.invoice_body(&h.plus, &c, "HELD-1", "1", "100.00", "20.00").await;
    body["sales_invoice"]["idempotency_id"] = json!("22222222222222222222222222222222");
    faults(&h, json!({"business": h.plus, "rate_hang_after_commit": 1.0})).await;
    let sent = h
        .http
        .post(h.api("/sales_invoices"))
        .bearer_auth(&h.token)
        .header("X-Business", &h.plus)
        .json(&body)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()), "the client never hears back");
    let records = format!("/records?business={}&type=sales_invoices", h.plus);
    let (_, recs) = h.control(Method::GET, &records, None).await;
    assert_eq!(recs["items"].as_array().unwrap().len(), 1, "the write committed before the response was held");
    faults(&h, json!({})).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body).await;
    assert_eq!(s, StatusCode::CREATED, "the retry gets the stored answer: {v}");
    assert_eq!(v["id"], recs["items"][0]["id"]);
    let (_, recs) = h.control(Method::GET, &records, None).await;
    assert_eq!(recs["items"].as_array().unwrap().len(), 1, "no second invoice");
    let (_, dups) = h.control(Method::GET, "/duplicates", None).await;
    assert_eq!(dups, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_after_commit_drops_the_connection_after_hold_ms_without_a_status() {
    let h = Harness::start().await;
    faults(&h, json!({"rate_hang_after_commit": 1.0, "hold_ms": 50})).await;
    let started = Instant::now();
    let sent = h
        .http
        .post(h.api("/contacts"))
        .bearer_auth(&h.token)
        .header("X-Business", &h.plus)
        .json(&json!({"contact": {"name": "Dropped", "contact_type_ids": ["CUSTOMER"]}}))
        .send()
        .await;
    let err = sent.expect_err("no response reaches the client");
    assert!(!err.is_timeout() && err.status().is_none(), "a dropped connection, not an answer: {err:?}");
    assert!(started.elapsed() >= Duration::from_millis(50), "the response was held first");
    let (_, recs) = h.control(Method::GET, &format!("/records?business={}&type=contacts", h.plus), None).await;
    assert_eq!(recs["items"][0]["name"], "Dropped", "the contact exists");
    let (_, calls) = h.control(Method::GET, "/calls", None).await;
    assert!(
        calls
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == "/v3.1/contacts" && c["method"] == "POST" && c["status"] == 0),
        "the call log shows the dropped call as status 0: {calls}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_commit_faults_leave_reads_alone() {
    let h = Harness::start().await;
    faults(&h, json!({"rate_500_after_commit": 1.0, "rate_hang_after_commit": 1.0, "hold_ms": 5000})).await;
    let started = Instant::now();
    assert_eq!(h.get(&h.plus, "/contacts").await.0, StatusCode::OK, "a read commits nothing");
    assert!(started.elapsed() < Duration::from_secs(5), "and is not held");
    let (s, v) = h.control(Method::PUT, "/faults", Some(json!({"rate_hang_after_commit": 1.5}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

//! Every bad input gets its status and a short problem+json body, and nothing is stored: no event, no
//! task, no consumed jti.
use serde_json::Value;
use test_support::{TestApp, TestTenant, envelope};

use crate::tokens::{HS256, claims, now, raw};

async fn assert_rejected(app: &TestApp, resp: reqwest::Response, status: u16, what: &str) {
    assert_eq!(resp.status(), status, "{what}");
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "{what}");
    let body: Value = resp.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty() && detail.len() < 200, "{what}: short human detail, got {body}");
    assert_eq!(body["status"], status, "{what}");
    assert_eq!(app.count("events").await, 0, "{what}: no event stored");
    assert_eq!(app.task_count().await, 0, "{what}: no task stored");
}

fn with_token(app: &TestApp, t: &TestTenant, token: String) -> reqwest::RequestBuilder {
    app.http
        .post(format!("{}/webhooks/magento/{}/invoice.created", app.base_url, t.id))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("idempotency-key", "invoice.created:1")
        .body(envelope(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_401_and_store_nothing() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("a").await;
    let k = t.keys().outbound;
    let n = now();
    let ok_claims = claims(&t, &n.to_string(), &n.to_string(), &(n + 60).to_string(), "j-1");
    let wrong_key = test_support::TestTenant { id: t.id, api_key: ledger_magento::ApiKey::generate() };
    let mut bad_sig = raw(HS256, &ok_claims, &k);
    // A different last character (the old one may already have been 'A': 1 run in 16).
    let last = bad_sig.pop();
    bad_sig.push(if last == Some('A') { 'Q' } else { 'A' });
    let cases: Vec<(&str, String)> = vec![
        ("bad signature", bad_sig),
        ("alg none", format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&ok_claims))),
        ("HS512 header", raw(r#"{"alg":"HS512","typ":"JWT"}"#, &ok_claims, &k)),
        ("RS256 header", raw(r#"{"alg":"RS256","typ":"JWT"}"#, &ok_claims, &k)),
        ("wrong key", wrong_key.token()),
        ("inbound key instead of outbound", raw(HS256, &ok_claims, &t.keys().inbound)),
        (
            "expired",
            raw(HS256, &claims(&t, &(n - 120).to_string(), &(n - 120).to_string(), &(n - 60).to_string(), "j-2"), &k),
        ),
        (
            "far-future nbf",
            raw(HS256, &claims(&t, &n.to_string(), &(n + 3600).to_string(), &(n + 60).to_string(), "j-3"), &k),
        ),
        (
            "future iat",
            raw(HS256, &claims(&t, &(n + 120).to_string(), &n.to_string(), &(n + 130).to_string(), "j-4"), &k),
        ),
        ("exp - iat > 300", raw(HS256, &claims(&t, &n.to_string(), &n.to_string(), &(n + 301).to_string(), "j-5"), &k)),
        ("float exp", raw(HS256, &claims(&t, &n.to_string(), &n.to_string(), &format!("{}.0", n + 60), "j-6"), &k)),
        ("string iat", raw(HS256, &claims(&t, &format!("\"{n}\""), &n.to_string(), &(n + 60).to_string(), "j-7"), &k)),
        ("wrong issuer", raw(HS256, &ok_claims.replace("\"magento\"", "\"byte8-ledger\""), &k)),
        ("no iss", raw(HS256, &ok_claims.replace(r#""iss":"magento","#, ""), &k)),
        ("no aud", raw(HS256, &ok_claims.replace(r#""aud":"byte8-ledger","#, ""), &k)),
        ("no sub", raw(HS256, &ok_claims.replace(&format!(r#""sub":"{}","#, t.id), ""), &k)),
        (
            "iat so far back that exp - iat wraps",
            raw(HS256, &claims(&t, &i64::MIN.to_string(), &n.to_string(), &(n + 60).to_string(), "j-8"), &k),
        ),
        (
            "exp before iat",
            raw(HS256, &claims(&t, &(n + 4).to_string(), &n.to_string(), &(n + 1).to_string(), "j-9"), &k),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in cases {
        let resp = with_token(&app, &t, token).send().await.unwrap();
        assert_rejected(&app, resp, 401, what).await;
    }
    assert_eq!(app.count("jwt_replay").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_clock_skew_is_tolerated() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("a").await;
    let resp = with_token(&app, &t, t.token_at(now() + 3)).send().await.unwrap();
    assert_eq!(resp.status(), 202, "a token issued 3 s in our future is within the skew");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_token_unknown_and_revoked_tenants_are_401() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let resp = app
        .post_event_with_token(&b.id.to_string(), "invoice.created", "invoice.created:1", &envelope(1), &a.token())
        .await;
    assert_rejected(&app, resp, 401, "tenant A's token on tenant B's path").await;
    let unknown = TestTenant { id: ledger_domain::TenantId::new(), api_key: ledger_magento::ApiKey::generate() };
    let resp = app.post_event(&unknown, "invoice.created", "invoice.created:1", &envelope(1)).await;
    assert_rejected(&app, resp, 401, "unknown tenant").await;
    let resp =
        app.post_event_with_token("not-a-uuid", "invoice.created", "invoice.created:1", &envelope(1), &a.token()).await;
    assert_rejected(&app, resp, 401, "malformed tenant id").await;
    ledger_store::tenants::revoke(&app.db.pool, a.id).await.unwrap();
    let resp = app.post_event(&a, "invoice.created", "invoice.created:1", &envelope(1)).await;
    assert_rejected(&app, resp, 401, "revoked tenant").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_jti_is_401() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("a").await;
    let token = t.token();
    let first = app
        .post_event_with_token(&t.id.to_string(), "invoice.created", "invoice.created:1", &envelope(1), &token)
        .await;
    assert_eq!(first.status(), 202);
    let again = app
        .post_event_with_token(&t.id.to_string(), "invoice.created", "invoice.created:2", &envelope(2), &token)
        .await;
    assert_eq!(again.status(), 401);
    assert_eq!(app.count("events").await, 1, "the replay stored nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_judges_jti_expiry_by_the_verifying_clock() {
    // The ledger's clock runs an hour behind the database's. Housekeeping must judge expiry by the clock
    // verification uses, or it frees the jti of a token that verification still accepts.
    let clock: ledger_domain::SharedClock =
        std::sync::Arc::new(ledger_domain::clock::OffsetClock(chrono::Duration::hours(-1)));
    let app = TestApp::spawn_with(test_support::TestAppOptions { clock: clock.clone(), ..Default::default() }).await;
    let t = app.create_tenant("a").await;
    let (tenant, token) = (t.id.to_string(), t.token_at(clock.now().timestamp()));
    let first = app.post_event_with_token(&tenant, "invoice.created", "invoice.created:1", &envelope(1), &token).await;
    assert_eq!(first.status(), 202);
    ledger_store::db::purge_expired_jti(&app.db.pool, clock.now()).await.unwrap();
    assert_eq!(app.count("jwt_replay").await, 1, "the jti of a live token stays");
    let replay = app.post_event_with_token(&tenant, "invoice.created", "invoice.created:2", &envelope(2), &token).await;
    assert_eq!(replay.status(), 401, "and its replay is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_4xx_and_store_nothing() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("a").await;
    let url = format!("{}/webhooks/magento/{}/invoice.created", app.base_url, t.id);
    let resp = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("idempotency-key", "k:1")
        .body(envelope(1))
        .send()
        .await
        .unwrap();
    assert_rejected(&app, resp, 401, "missing Authorization header").await;
    let resp = app
        .http
        .post(&url)
        .bearer_auth(t.token())
        .header("content-type", "application/json")
        .body(envelope(1))
        .send()
        .await
        .unwrap();
    assert_rejected(&app, resp, 400, "missing Idempotency-Key header").await;
    let resp = app
        .http
        .post(&url)
        .bearer_auth(t.token())
        .header("content-type", "text/plain")
        .header("idempotency-key", "k:1")
        .body(envelope(1))
        .send()
        .await
        .unwrap();
    assert_rejected(&app, resp, 415, "wrong content type").await;
    for (what, body) in [
        ("malformed JSON", "{\"magento_entity_id\":".to_owned()),
        ("wrong types", envelope(1).replace("\"website_id\":1", "\"website_id\":\"1\"")),
        ("missing field", r#"{"magento_entity_id":1,"website_id":1,"store_id":1,"payload":{}}"#.to_owned()),
        ("not an object", "[]".to_owned()),
        ("bad occurred_at", envelope(1).replace("2026-01-01T00:00:00Z", "yesterday")),
        (
            "entity id past bigint (would be clamped into another entity)",
            envelope(1).replace(r#""magento_entity_id":1,"#, r#""magento_entity_id":9223372036854775808,"#),
        ),
        ("a NUL character in the payload", envelope(1).replace(r#""paid":false"#, r#""paid":false,"note":"a\u0000b""#)),
    ] {
        let resp = app.post_event(&t, "invoice.created", "invoice.created:1", &body).await;
        assert_rejected(&app, resp, 400, what).await;
    }
    let resp = app.post_event(&t, "order.created", "order.created:1", &envelope(1)).await;
    assert_rejected(&app, resp, 404, "unknown event").await;
    let huge = envelope(1).replace("\"paid\":false", &format!("\"paid\":false,\"pad\":\"{}\"", "x".repeat(70 * 1024)));
    let resp = app.post_event(&t, "invoice.created", "invoice.created:1", &huge).await;
    assert_rejected(&app, resp, 413, "oversized body").await;
    assert_eq!(app.count("jwt_replay").await, 0, "no bad request consumed its token");
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

//! OAuth lifecycle: codes (single use, expiry, redirect match, PKCE), rotation, grace, revoke, expiry, clients.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::Digest;

use crate::support::{Harness, REDIRECT, assert_error, authorize, client, config, exchange, refresh, token};

/// Poll `f` until it returns true or 5 s pass.
async fn eventually<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not reached within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_is_single_use() {
    let h = Harness::start().await;
    let code = authorize(&h.http, &h.base, &[]).await;
    assert_eq!(exchange(&h.http, &h.base, &code).await.0, StatusCode::OK);
    let (s, v) = exchange(&h.http, &h.base, &code).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_expires_after_code_ttl() {
    let h = Harness::with(sage_sim::SimConfig { code_ttl: Duration::from_secs(1), ..config() }).await;
    let code = authorize(&h.http, &h.base, &[]).await;
    // Probe with a wrong redirect_uri (which never consumes the code) until expiry is reported.
    let probe = |c: String| {
        let (http, base) = (h.http.clone(), h.base.clone());
        async move {
            let (_, v) = token(
                &http,
                &base,
                &[
                    ("client_id", "sage-sim"),
                    ("client_secret", "sage-sim-secret"),
                    ("grant_type", "authorization_code"),
                    ("code", &c),
                    ("redirect_uri", "http://127.0.0.1:9/other"),
                ],
            )
            .await;
            v["error_description"].as_str().unwrap_or_default().contains("expired")
        }
    };
    eventually(|| probe(code.clone())).await;
    let (s, v) = exchange(&h.http, &h.base, &code).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_uri_must_match_the_authorize_request() {
    let h = Harness::start().await;
    let code = authorize(&h.http, &h.base, &[]).await;
    let (s, v) = token(
        &h.http,
        &h.base,
        &[
            ("client_id", "sage-sim"),
            ("client_secret", "sage-sim-secret"),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/callback/"),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_s256_verifier_is_checked() {
    let h = Harness::start().await;
    let verifier = "a".repeat(50);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let form = |code: &str, v: &str| {
        vec![
            ("client_id", "sage-sim".to_owned()),
            ("client_secret", "sage-sim-secret".to_owned()),
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", v.to_owned()),
        ]
    };
    let code = authorize(&h.http, &h.base, &pkce).await;
    let resp = h
        .http
        .post(format!("{}/token", h.base))
        .form(&form(&code, "wrong-verifier-wrong-verifier-wrong-verifier"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let code = authorize(&h.http, &h.base, &pkce).await;
    let resp = h.http.post(format!("{}/token", h.base)).form(&form(&code, &verifier)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_the_old_token_is_rejected_by_default() {
    let h = Harness::start().await;
    let (s, first) = refresh(&h.http, &h.base, &h.refresh).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(first["refresh_token"], h.refresh.as_str());
    assert_eq!(first["refresh_token_expires_in"], 2_678_400);
    let (s, v) = refresh(&h.http, &h.base, &h.refresh).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (s, _) = refresh(&h.http, &h.base, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "the newest token works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_grace_window_lets_the_old_token_work_briefly() {
    let h = Harness::with(sage_sim::SimConfig { refresh_grace: Duration::from_secs(60), ..config() }).await;
    assert_eq!(refresh(&h.http, &h.base, &h.refresh).await.0, StatusCode::OK);
    assert_eq!(refresh(&h.http, &h.base, &h.refresh).await.0, StatusCode::OK, "old token within grace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_refresh_token_cannot_be_exchanged() {
    let h = Harness::start().await;
    let resp = h
        .http
        .post(format!("{}/revoke", h.base))
        .form(&[("client_id", "sage-sim"), ("client_secret", "sage-sim-secret"), ("token", h.refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap(), json!({"success": "ok"}));
    let (s, v) = refresh(&h.http, &h.base, &h.refresh).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_expires_after_its_ttl() {
    let h = Harness::with(sage_sim::SimConfig { access_token_ttl: Duration::from_secs(1), ..config() }).await;
    assert_eq!(h.get(&h.plus, "/user").await.0, StatusCode::OK);
    eventually(|| async { h.get(&h.plus, "/user").await.0 == StatusCode::UNAUTHORIZED }).await;
    let (s, v) = h.get(&h.plus, "/user").await;
    assert_error(s, &v, 401, "AuthorizationFailure", "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_unknown_bearer_token_is_401() {
    let h = Harness::start().await;
    let resp = h.http.get(h.api("/contacts")).send().await.unwrap();
    let s = resp.status();
    assert_error(s, &resp.json().await.unwrap(), 401, "AuthorizationFailure", "");
    let resp = h.http.get(h.api("/contacts")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_client_secret_is_invalid_client() {
    let h = Harness::start().await;
    let (s, v) = token(
        &h.http,
        &h.base,
        &[
            ("client_id", "sage-sim"),
            ("client_secret", "bad"),
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.refresh),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_client")));
    let (s, v) = token(
        &h.http,
        &h.base,
        &[("client_id", "sage-sim"), ("client_secret", "sage-sim-secret"), ("grant_type", "password")],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_client_credentials_follow_the_setting() {
    for (allowed, want) in [(true, StatusCode::OK), (false, StatusCode::BAD_REQUEST)] {
        let h = Harness::with(sage_sim::SimConfig { token_basic_auth: allowed, ..config() }).await;
        let resp = h
            .http
            .post(format!("{}/token", h.base))
            .basic_auth("sage-sim", Some("sage-sim-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", h.refresh.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), want, "token_basic_auth = {allowed}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_rejects_unregistered_redirects_and_bad_scope() {
    let h = Harness::start().await;
    let http = client();
    let resp = http
        .get(format!("{}/oauth2/auth/central", h.base))
        .query(&[("client_id", "sage-sim"), ("response_type", "code"), ("redirect_uri", "https://evil.example/cb")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = http
        .get(format!("{}/oauth2/auth/central", h.base))
        .query(&[
            ("client_id", "sage-sim"),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "everything"),
        ])
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.contains("error=invalid_scope"), "{loc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_page_is_shown_without_auto_approve_and_approval_redirects() {
    let sim = sage_sim::spawn(sage_sim::SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let http = client();
    let q = [("client_id", "sage-sim"), ("response_type", "code"), ("redirect_uri", REDIRECT), ("state", "s1")];
    let resp = http.get(format!("{}/oauth2/auth/central", sim.base_url())).query(&q).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("<form"));
    let mut form: Vec<(&str, &str)> = q.to_vec();
    form.push(("decision", "approve"));
    let resp = http.post(format!("{}/oauth2/auth/central", sim.base_url())).form(&form).send().await.unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.contains("code=GB%2F") && loc.contains("state=s1"), "{loc}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_expiry_and_stale_refresh_from_the_control_surface() {
    let h = Harness::start().await;
    h.control(Method::POST, "/auth", Some(json!({"action": "expire_tokens"}))).await;
    assert_eq!(h.get(&h.plus, "/contacts").await.0, StatusCode::UNAUTHORIZED);
    h.control(Method::POST, "/auth", Some(json!({"action": "stale_refresh"}))).await;
    let (s, v) = refresh(&h.http, &h.base, &h.refresh).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_scope_cannot_write() {
    let h = Harness::start().await;
    let code = authorize(&h.http, &h.base, &[("scope", "readonly")]).await;
    let (_, tok) = exchange(&h.http, &h.base, &code).await;
    assert_eq!(tok["scope"], "readonly");
    let resp = h
        .http
        .post(h.api("/contacts"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .json(&json!({"contact": {"name": "X", "contact_type_ids": ["CUSTOMER"]}}))
        .send()
        .await
        .unwrap();
    let s = resp.status();
    assert_error(s, &resp.json().await.unwrap(), 403, "MultiUserAccessDenied", "");
}

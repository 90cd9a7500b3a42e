//! The token endpoint client against sage-sim over HTTP: PKCE code exchange, rotation on refresh,
//! revoke, and how each failure is classified.
use std::time::Duration;

use ledger_sage::{OAuthClient, OAuthConfig, OAuthError, PkceChallenge};
use sage_sim::{RunningSim, SimConfig};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/oauth/sage/callback";

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn config_for(base: &str, secret: &str) -> OAuthConfig {
    OAuthConfig {
        authorize_url: Url::parse(&format!("{base}/oauth2/auth/central?filter=apiv3.1")).unwrap(),
        token_url: Url::parse(&format!("{base}/token")).unwrap(),
        revoke_url: Url::parse(&format!("{base}/revoke")).unwrap(),
        client_id: "sage-sim".into(),
        client_secret: SecretString::from(secret.to_owned()),
        redirect_uri: Url::parse(REDIRECT).unwrap(),
    }
}

async fn sim() -> (RunningSim, OAuthClient) {
    let sim = sage_sim::spawn(SimConfig { auto_approve: true, ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = OAuthClient::new(config_for(&sim.base_url(), "sage-sim-secret"), http());
    (sim, client)
}

/// Follows the authorize URL (auto-approve) and returns the code from the redirect.
async fn code_for(url: &Url) -> String {
    let resp = http().get(url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 303, "the simulator redirects back with a code");
    let loc = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    loc.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("a code")
}

#[tokio::test]
async fn the_authorize_url_carries_pkce_s256_state_and_keeps_sages_filter() {
    let (_sim, client) = sim().await;
    let (challenge, verifier) = PkceChallenge::generate();
    assert_eq!(
        PkceChallenge::from_verifier(&verifier).as_str(),
        challenge.as_str(),
        "the challenge is S256 of the verifier"
    );
    let url = client.authorize_url("st4te", &challenge);
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["filter"], "apiv3.1");
    assert_eq!(q["client_id"], "sage-sim");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["scope"], "full_access");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"], challenge.as_str());
    assert!(!url.as_str().contains(verifier.expose_secret()), "the verifier never leaves us");
}

#[tokio::test]
async fn a_code_exchange_then_refresh_rotates_the_pair_and_the_old_refresh_token_dies() {
    let (_sim, client) = sim().await;
    let (challenge, verifier) = PkceChallenge::generate();
    let code = code_for(&client.authorize_url("s", &challenge)).await;
    let first = client.exchange_code(&code, &verifier).await.expect("exchange");
    assert_eq!(first.access_expires_in, Duration::from_secs(300));
    assert_eq!(first.refresh_expires_in, Duration::from_secs(2_678_400));
    assert_eq!(first.scope.as_deref(), Some("full_access"));
    assert!(first.requested_by_id.as_deref().is_some_and(|id| id.contains('-')), "{first:?}");

    let second = client.refresh(&first.refresh_token).await.expect("refresh");
    assert_ne!(second.access_token.expose_secret(), first.access_token.expose_secret());
    assert_ne!(second.refresh_token.expose_secret(), first.refresh_token.expose_secret(), "Sage rotates");
    let stale = client.refresh(&first.refresh_token).await.unwrap_err();
    assert!(stale.is_invalid_grant(), "a rotated refresh token is invalid_grant: {stale:?}");
    client.refresh(&second.refresh_token).await.expect("the new one works");

    let again = client.exchange_code(&code, &verifier).await.unwrap_err();
    assert!(matches!(again, OAuthError::InvalidGrant(_)), "a code works once: {again:?}");
}

/// Axum handlers and worker tasks must be `Send`: the exchange and the refresh futures run on spawned
/// tasks, borrowing their arguments, with no blocking-thread detour (this fails to compile otherwise).
#[tokio::test]
async fn exchange_and_refresh_run_on_spawned_tasks() {
    let (_sim, client) = sim().await;
    let (challenge, verifier) = PkceChallenge::generate();
    let code = code_for(&client.authorize_url("s", &challenge)).await;
    let c = client.clone();
    let pair = tokio::spawn(async move { c.exchange_code(&code, &verifier).await }).await.unwrap().expect("exchange");
    let c = client.clone();
    let refresh = pair.refresh_token.clone();
    let next = tokio::spawn(async move { c.refresh(&refresh).await }).await.unwrap().expect("refresh");
    assert_ne!(next.refresh_token.expose_secret(), pair.refresh_token.expose_secret(), "Sage rotates");
}

#[tokio::test]
async fn a_wrong_verifier_is_invalid_grant_and_a_wrong_secret_is_invalid_client() {
    let (sim, client) = sim().await;
    let (challenge, _verifier) = PkceChallenge::generate();
    let code = code_for(&client.authorize_url("s", &challenge)).await;
    let (_, other) = PkceChallenge::generate();
    assert!(matches!(client.exchange_code(&code, &other).await, Err(OAuthError::InvalidGrant(_))));

    let bad = OAuthClient::new(config_for(&sim.base_url(), "wrong"), http());
    let err = bad.refresh(&SecretString::from("whatever".to_owned())).await.unwrap_err();
    assert!(matches!(err, OAuthError::InvalidClient(_)), "{err:?}");
    assert!(matches!(bad.revoke(&SecretString::from("x".to_owned())).await, Err(OAuthError::InvalidClient(_))));
}

#[tokio::test]
async fn revoke_ends_the_refresh_token() {
    let (_sim, client) = sim().await;
    let (challenge, verifier) = PkceChallenge::generate();
    let code = code_for(&client.authorize_url("s", &challenge)).await;
    let pair = client.exchange_code(&code, &verifier).await.unwrap();
    client.revoke(&pair.refresh_token).await.expect("revoke");
    assert!(client.refresh(&pair.refresh_token).await.unwrap_err().is_invalid_grant());
}

/// A one-shot raw HTTP server: answers every connection with `response`, or never answers (`None`).
async fn raw_server(response: Option<&'static str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            match response {
                Some(r) => {
                    let _ = sock.write_all(r.as_bytes()).await;
                }
                None => held.push(sock),
            }
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn unavailable_token_endpoints_are_transient_and_every_call_times_out() {
    let hung = raw_server(None).await;
    let client = OAuthClient::new(config_for(&hung, "s"), http()).with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = client.refresh(&SecretString::from("r".to_owned())).await.unwrap_err();
    assert!(matches!(err, OAuthError::Transient(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "the timeout ended the call");
    assert!(matches!(client.revoke(&SecretString::from("r".to_owned())).await, Err(OAuthError::Transient(_))));

    let busy =
        raw_server(Some("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy"))
            .await;
    let client = OAuthClient::new(config_for(&busy, "s"), http());
    assert!(matches!(client.refresh(&SecretString::from("r".to_owned())).await, Err(OAuthError::Transient(_))));

    // A 200 that is not a token answer must not echo its body (it could hold a token).
    let garbled = raw_server(Some(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 27\r\nconnection: close\r\n\r\n{\"access_token\":\"LEAKY123\"}",
    ))
    .await;
    let client = OAuthClient::new(config_for(&garbled, "s"), http());
    let err = client.refresh(&SecretString::from("r".to_owned())).await.unwrap_err();
    assert!(matches!(err, OAuthError::Protocol(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("LEAKY123"), "{err:?}");
}

#[test]
fn authorize_errors_map_to_classes() {
    assert!(matches!(OAuthError::from_authorize_error("access_denied", None), OAuthError::Denied(_)));
    assert!(matches!(
        OAuthError::from_authorize_error("temporarily_unavailable", Some("later")),
        OAuthError::Transient(m) if m == "later"
    ));
    assert!(matches!(OAuthError::from_authorize_error("invalid_scope", None), OAuthError::Protocol(_)));
}

#[tokio::test]
async fn token_sets_never_show_their_tokens_in_debug() {
    let (_sim, client) = sim().await;
    let (challenge, verifier) = PkceChallenge::generate();
    let code = code_for(&client.authorize_url("s", &challenge)).await;
    let pair = client.exchange_code(&code, &verifier).await.unwrap();
    let shown = format!("{pair:?} {client:?}");
    assert!(!shown.contains(pair.access_token.expose_secret()));
    assert!(!shown.contains(pair.refresh_token.expose_secret()));
    assert!(!shown.contains("sage-sim-secret"));
}

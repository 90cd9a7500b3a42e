//! The guard end to end: forbidden targets are refused before any connection; allowed ones are reached.
use std::sync::Arc;

use futures::stream;
use ledger_magento::ssrf::{HttpError, Refusal, TokioResolver};
use reqwest::Method;
use serde_json::json;
use url::Url;

use crate::support::*;

async fn send(http: &ledger_magento::GuardedHttp, url: &str) -> Result<reqwest::Response, HttpError> {
    http.send(http.request(Method::GET, Url::parse(url).unwrap())?).await
}

#[tokio::test]
async fn loopback_spellings_are_refused_before_connecting() {
    let store = Store::always(json(200, json!({"ok": true}))).await;
    let port = store.addr.port();
    let http = http(strict_policy(), Arc::new(TokioResolver));
    for host in [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "017700000001",
        "0x7f000001",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
    ] {
        let err = send(&http, &format!("http://{host}:{port}/rest/V1/byte8/ping")).await.unwrap_err();
        assert!(matches!(err, HttpError::Refused(Refusal::Address { .. })), "{host}: {err}");
    }
    assert_eq!(store.hits(), 0, "nothing may reach the store");
    let err = send(&http, &format!("http://127.1:{port}/")).await.unwrap_err();
    assert_eq!(err.to_string(), "refused: 127.0.0.1 is a loopback address; set outbound.allow_cidrs to allow it");
}

#[tokio::test]
async fn non_loopback_internal_targets_fail_the_precheck() {
    // Checked with `check_url` only, so a broken guard could never send test traffic off this machine.
    let http = http(strict_policy(), Arc::new(TokioResolver));
    for (url, word) in [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.0.0.1/", "private"),
        ("https://192.168.0.10/", "private"),
        ("https://[fd00::1]/", "unique local"),
        ("https://100.64.0.1/", "CGNAT"),
    ] {
        let err = http.check_url(&Url::parse(url).unwrap()).await.unwrap_err();
        assert!(matches!(&err, HttpError::Refused(_)) && err.to_string().contains(word), "{url}: {err}");
    }
}

#[tokio::test]
async fn schemes_userinfo_and_plain_http() {
    let store = Store::always(json(200, json!([]))).await;
    let http_dev = http(loopback_policy(), Arc::new(TokioResolver));
    let port = store.addr.port();
    for (url, want) in [
        ("ftp://127.0.0.1/x".to_owned(), Refusal::Scheme("ftp".into())),
        ("file:///etc/passwd".to_owned(), Refusal::Scheme("file".into())),
        (format!("http://user:pw@127.0.0.1:{port}/"), Refusal::UserInfo),
        (format!("http://user@127.0.0.1:{port}/"), Refusal::UserInfo),
    ] {
        match send(&http_dev, &url).await {
            Err(HttpError::Refused(got)) => assert_eq!(got, want, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    let https_only =
        http(ledger_magento::OutboundPolicy { allow_http: false, ..loopback_policy() }, Arc::new(TokioResolver));
    let err = send(&https_only, &format!("http://127.0.0.1:{port}/")).await.unwrap_err();
    assert!(matches!(err, HttpError::Refused(Refusal::PlainHttp)), "{err}");
    assert_eq!(store.hits(), 0);
}

#[tokio::test]
async fn name_resolving_to_loopback_is_refused() {
    let store = Store::always(json(200, json!([]))).await;
    let resolver = ScriptedResolver::new(&[&["127.0.0.1", "::1"]]);
    let http = http(strict_policy(), resolver.clone());
    let err = send(&http, &format!("http://shop.test:{}/", store.addr.port())).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "refused: shop.test resolves to 127.0.0.1, a loopback address; set outbound.allow_cidrs to allow it"
    );
    assert_eq!(store.hits(), 0);
}

#[tokio::test]
async fn rebinding_after_the_precheck_is_refused_at_connect_time() {
    let store = Store::always(json(200, json!([]))).await;
    // First answer (the precheck) is public; every later one (connect time) is loopback.
    let resolver = ScriptedResolver::new(&[&["93.184.215.14"], &["127.0.0.1"]]);
    let http = http(strict_policy(), resolver.clone());
    let err = send(&http, &format!("http://rebind.test:{}/", store.addr.port())).await.unwrap_err();
    match &err {
        HttpError::Refused(Refusal::Resolved { host, ip, .. }) => {
            assert_eq!((host.as_str(), ip.to_string().as_str()), ("rebind.test", "127.0.0.1"));
        }
        other => panic!("expected a connect-time refusal, got {other:?}"),
    }
    assert_eq!(resolver.calls(), 2, "precheck and connect-time resolution");
    assert_eq!(store.hits(), 0, "no request reached the loopback store");
}

#[tokio::test]
async fn allow_cidrs_makes_the_same_loopback_store_reachable() {
    let store = Store::always(json(200, json!({"ok": true}))).await;
    let port = store.addr.port();
    let http = http(loopback_policy(), ScriptedResolver::new(&[&["127.0.0.1"]]));
    for url in
        [format!("http://127.0.0.1:{port}/"), format!("http://127.1:{port}/"), format!("http://shop.test:{port}/")]
    {
        let response = send(&http, &url).await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
    }
    assert_eq!(store.hits(), 3);
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let store = Store::always(redirect(302, "http://127.0.0.1:1/elsewhere")).await;
    let http = http(loopback_policy(), Arc::new(TokioResolver));
    let response = send(&http, &format!("http://{}/", store.addr)).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(store.hits(), 1);
}

#[tokio::test]
async fn bodies_are_read_with_a_cap() {
    let policy = ledger_magento::OutboundPolicy { max_response_bytes: 1024, ..loopback_policy() };
    let http = http(policy, Arc::new(TokioResolver));
    let big = Store::always(raw(200, "application/json", &"x".repeat(4096))).await;
    let response = send(&http, &format!("http://{}/", big.addr)).await.unwrap();
    assert!(matches!(http.read_capped(response).await, Err(HttpError::TooLarge { limit: 1024 })));
    let small = Store::always(raw(200, "application/json", &"x".repeat(1024))).await;
    let response = send(&http, &format!("http://{}/", small.addr)).await.unwrap();
    assert_eq!(http.read_capped(response).await.unwrap().len(), 1024);
}

#[tokio::test]
async fn chunked_bodies_without_length_are_capped_too() {
    let app = axum::Router::new().fallback(|| async {
        let chunks = (0..8).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 512]));
        axum::body::Body::from_stream(stream::iter(chunks))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let policy = ledger_magento::OutboundPolicy { max_response_bytes: 1000, ..loopback_policy() };
    let http = http(policy, Arc::new(TokioResolver));
    let response = send(&http, &format!("http://{addr}/")).await.unwrap();
    assert!(response.content_length().is_none());
    assert!(matches!(http.read_capped(response).await, Err(HttpError::TooLarge { limit: 1000 })));
}

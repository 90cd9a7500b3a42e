//! The `/_sim/` surface: state, records, calls, duplicates, reset, and the in-process shutdown.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_lists_user_businesses_and_client() {
    let h = Harness::start().await;
    let (s, v) = h.control(Method::GET, "/state", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["users"][0]["businesses"].as_array().unwrap().len(), 3);
    assert_eq!(v["users"][0]["lead_business"], h.plus.as_str());
    let tiers: Vec<_> =
        v["businesses"].as_array().unwrap().iter().map(|b| (b["tier"].clone(), b["multi_currency"].clone())).collect();
    assert_eq!(
        tiers,
        [(json!("Plus"), json!(true)), (json!("Standard"), json!(false)), (json!("Start"), json!(false))]
    );
    assert_eq!(v["clients"][0]["client_id"], "sage-sim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_return_what_the_api_would() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Rec", None).await;
    let inv = h.invoice(&h.plus, &c, "REC-1").await;
    let (s, v) = h.control(Method::GET, &format!("/records?business={}&type=sales_invoices", h.plus), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, api) =
        h.get(&h.plus, &format!("/sales_invoices/{inv}?mark_as_sent=false&show_payments_allocations=true")).await;
    assert_eq!(v["items"][0], api);
    let (s, _) = h.control(Method::GET, "/records?type=nonsense", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_counted_by_route_and_status() {
    let h = Harness::start().await;
    h.get(&h.plus, "/contacts").await;
    h.get(&h.plus, "/contacts").await;
    h.get(&h.plus, "/contacts/nope").await;
    let (_, v) = h.control(Method::GET, "/calls", None).await;
    let find = |path: &str, status: u16| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| c["method"] == "GET" && c["path"] == path && c["status"] == status)
            .map(|c| c["count"].clone())
    };
    assert_eq!(find("/v3.1/contacts", 200), Some(json!(2)));
    assert_eq!(find("/v3.1/contacts/{id}", 404), Some(json!(1)));
    assert!(v.as_array().unwrap().iter().any(|c| c["path"] == "/token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deliberate_duplicate_is_reported() {
    let h = Harness::start().await;
    let (_, v) = h.control(Method::GET, "/duplicates", None).await;
    assert_eq!(v, json!([]));
    let c = h.customer(&h.plus, "Dup", None).await;
    let a = h.invoice(&h.plus, &c, "100000042").await;
    let b = h.invoice(&h.plus, &c, "100000042").await;
    let c2 = h.customer(&h.plus, "Dup", None).await;
    let (_, v) = h.control(Method::GET, "/duplicates", None).await;
    let items = v.as_array().unwrap();
    assert!(
        items.contains(&json!({"business": h.plus, "type": "sales_invoices", "key": "100000042", "ids": [a, b]})),
        "{v}"
    );
    assert!(items.iter().any(|d| d["type"] == "contacts" && d["ids"] == json!([c, c2])), "{v}");
    assert_eq!(items.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_returns_to_the_seed() {
    let h = Harness::start().await;
    h.customer(&h.plus, "Gone", None).await;
    let (s, _) = h.control(Method::POST, "/reset", None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = h.control(Method::GET, &format!("/records?business={}&type=contacts", h.plus), None).await;
    assert_eq!(v["items"], json!([]));
    assert_eq!(h.get(&h.plus, "/contacts").await.0, StatusCode::UNAUTHORIZED, "tokens are gone too");
    let (_, st) = h.control(Method::GET, "/state", None).await;
    assert_eq!(st["users"][0]["lead_business"], h.plus.as_str(), "same seed, same ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_server_even_with_a_hung_request() {
    let h = Harness::start().await;
    h.control(Method::PUT, "/faults", Some(json!({"rate_hang": 1.0}))).await;
    let url = h.api("/contacts");
    let token = h.token.clone();
    let http = h.http.clone();
    let hung = tokio::spawn(async move {
        http.get(url).bearer_auth(token).timeout(std::time::Duration::from_secs(20)).send().await
    });
    let base = h.base.clone();
    tokio::time::timeout(std::time::Duration::from_secs(10), h.sim.shutdown()).await.expect("shutdown completes");
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), hung)
        .await
        .expect("the hung request ends with the server");
    assert!(r.is_ok(), "the hung request's task finished");
    assert!(crate::support::client().get(format!("{base}/_sim/state")).send().await.is_err(), "no longer listening");
}

//! `idempotency_id`: replay without a second record, resource mismatch, settings for replay status and body mismatch.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Harness, assert_error, config};

async fn count(h: &Harness, b: &str, kind: &str) -> usize {
    let (_, v) = h.control(reqwest::Method::GET, &format!("/records?business={b}&type={kind}"), None).await;
    v["items"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_idempotency_id_returns_the_same_response_without_a_second_record() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Idem", None).await;
    let mut body = h.invoice_body(&h.plus, &c, "IDEM-1", "1", "100.00", "20.00").await;
    body["sales_invoice"]["idempotency_id"] = json!("0123456789abcdef0123456789abcdef");
    let (s1, v1) = h.post(&h.plus, "/sales_invoices", body.clone()).await;
    let (s2, v2) = h.post(&h.plus, "/sales_invoices", body).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(v1, v2);
    assert_eq!(count(&h, &h.plus, "sales_invoices").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_id_on_another_resource_type_is_a_mismatch() {
    let h = Harness::start().await;
    let id = "fedcba9876543210fedcba9876543210";
    let (s, _) = h
        .post(
            &h.plus,
            "/contacts",
            json!({"contact": {"name": "A", "contact_type_ids": ["CUSTOMER"], "idempotency_id": id}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, c) = h.get(&h.plus, "/contacts").await;
    let contact = c["$items"][0]["id"].as_str().unwrap().to_owned();
    let mut body = h.invoice_body(&h.plus, &contact, "IDEM-2", "1", "100.00", "20.00").await;
    body["sales_invoice"]["idempotency_id"] = json!(id);
    let (s, v) = h.post(&h.plus, "/sales_invoices", body).await;
    assert_error(s, &v, 422, "IdempotencyResourceMismatch", "idempotency_id");
    assert_eq!(v[0]["$message"], "Entity type mismatch");
    let h2 = Harness::with(sage_sim::SimConfig { idempotency_mismatch_status: 409, ..config() }).await;
    h2.post(
        &h2.plus,
        "/contacts",
        json!({"contact": {"name": "A", "contact_type_ids": ["CUSTOMER"], "idempotency_id": id}}),
    )
    .await;
    let (s, v) = h2.post(&h2.plus, "/products", json!({"product": {"description": "x", "idempotency_id": id}})).await;
    assert_error(s, &v, 409, "IdempotencyResourceMismatch", "idempotency_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_status_and_body_mismatch_follow_settings() {
    let h = Harness::with(sage_sim::SimConfig {
        idempotency_replay_ok: true,
        idempotency_body_mismatch: sage_sim::IdempotencyBodyMismatch::Reject,
        ..config()
    })
    .await;
    let body = json!({"contact": {"name": "A", "contact_type_ids": ["CUSTOMER"], "idempotency_id": "aa"}});
    assert_eq!(h.post(&h.plus, "/contacts", body.clone()).await.0, StatusCode::CREATED);
    assert_eq!(h.post(&h.plus, "/contacts", body).await.0, StatusCode::OK, "replay answers 200 when configured");
    let (s, v) = h
        .post(
            &h.plus,
            "/contacts",
            json!({"contact": {"name": "B", "contact_type_ids": ["CUSTOMER"], "idempotency_id": "aa"}}),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "idempotency_id");
    // Default: a different body replays the first answer.
    let h = Harness::start().await;
    let (_, first) = h
        .post(
            &h.plus,
            "/contacts",
            json!({"contact": {"name": "A", "contact_type_ids": ["CUSTOMER"], "idempotency_id": "bb"}}),
        )
        .await;
    let (s, again) = h
        .post(
            &h.plus,
            "/contacts",
            json!({"contact": {"name": "B", "contact_type_ids": ["CUSTOMER"], "idempotency_id": "bb"}}),
        )
        .await;
    assert_eq!((s, again["id"].clone()), (StatusCode::CREATED, first["id"].clone()));
    assert_eq!(count(&h, &h.plus, "contacts").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_ids_expire_after_the_ttl() {
    let h = Harness::with(sage_sim::SimConfig { idempotency_ttl: std::time::Duration::ZERO, ..config() }).await;
    let body = json!({"contact": {"name": "A", "contact_type_ids": ["CUSTOMER"], "idempotency_id": "cc"}});
    h.post(&h.plus, "/contacts", body.clone()).await;
    h.post(&h.plus, "/contacts", body).await;
    assert_eq!(count(&h, &h.plus, "contacts").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_create_one_record() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Idem", None).await;
    let mut body = h.invoice_body(&h.plus, &c, "IDEM-C", "1", "100.00", "20.00").await;
    body["sales_invoice"]["idempotency_id"] = json!("dd");
    let futs: Vec<_> = (0..8).map(|_| h.post(&h.plus, "/sales_invoices", body.clone())).collect();
    let results = futures::future::join_all(futs).await;
    let ids: std::collections::HashSet<_> = results.iter().map(|(_, v)| v["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(count(&h, &h.plus, "sales_invoices").await, 1);
}

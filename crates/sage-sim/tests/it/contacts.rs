//! Contact rules: required fields, lengths, type, unique reference, currency availability and lock.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Harness, assert_error, config};

async fn post_contact(h: &Harness, b: &str, c: serde_json::Value) -> (StatusCode, serde_json::Value) {
    h.post(b, "/contacts", json!({"contact": c})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_requires_name_and_one_valid_type() {
    let h = Harness::start().await;
    let (s, v) = post_contact(&h, &h.plus, json!({"contact_type_ids": ["CUSTOMER"]})).await;
    assert_error(s, &v, 422, "RecordInvalid", "name");
    let (s, v) = post_contact(&h, &h.plus, json!({"name": "A"})).await;
    assert_error(s, &v, 422, "RecordInvalid", "contact_type_ids");
    let (s, v) = post_contact(&h, &h.plus, json!({"name": "A", "contact_type_ids": ["CUSTOMER", "VENDOR"]})).await;
    assert_error(s, &v, 422, "RecordInvalid", "contact_type_ids");
    let (s, v) = post_contact(&h, &h.plus, json!({"name": "A", "contact_type_ids": ["FRIEND"]})).await;
    assert_error(s, &v, 422, "RecordInvalid", "contact_type_ids");
    let (s, v) = post_contact(&h, &h.plus, json!({"name": "x".repeat(101), "contact_type_ids": ["CUSTOMER"]})).await;
    assert_error(s, &v, 422, "RecordInvalid", "name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_reference_is_at_most_10_chars_and_unique() {
    let h = Harness::start().await;
    let (s, v) =
        post_contact(&h, &h.plus, json!({"name": "A", "contact_type_ids": ["CUSTOMER"], "reference": "ABCDEFGHIJK"}))
            .await;
    assert_error(s, &v, 422, "RecordInvalid", "reference");
    let (s, v) =
        post_contact(&h, &h.plus, json!({"name": "A", "contact_type_ids": ["CUSTOMER"], "reference": "ABCDEFGHIJ"}))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["displayed_as"], "A (ABCDEFGHIJ)");
    let (s, v) =
        post_contact(&h, &h.plus, json!({"name": "B", "contact_type_ids": ["CUSTOMER"], "reference": "abcdefghij"}))
            .await;
    assert_error(s, &v, 422, "RecordInvalid", "reference");
    let (s, _) = post_contact(
        &h,
        &h.standard,
        json!({"name": "B", "contact_type_ids": ["CUSTOMER"], "reference": "ABCDEFGHIJ"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "references are unique per business");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_contact_reference_reservation_follows_the_setting() {
    for (reserved, want) in [(true, 422u16), (false, 201)] {
        let h = Harness::with(sage_sim::SimConfig { deleted_reference_reserved: reserved, ..config() }).await;
        let (_, v) =
            post_contact(&h, &h.plus, json!({"name": "A", "contact_type_ids": ["CUSTOMER"], "reference": "R1"})).await;
        let id = v["id"].as_str().unwrap();
        let (s, _, _) = h.call(Method::DELETE, &h.plus, &format!("/contacts/{id}"), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) =
            post_contact(&h, &h.plus, json!({"name": "B", "contact_type_ids": ["CUSTOMER"], "reference": "R1"})).await;
        assert_eq!(s.as_u16(), want, "deleted_reference_reserved = {reserved}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_lengths_are_enforced() {
    let h = Harness::start().await;
    let (s, v) = post_contact(
        &h,
        &h.plus,
        json!({"name": "A", "contact_type_ids": ["CUSTOMER"],
        "main_address": {"address_line_1": "1 Road", "postal_code": "NE1 1AA 12345"}}),
    )
    .await;
    assert_error(s, &v, 422, "RecordInvalid", "main_address.postal_code");
    let (s, v) = post_contact(
        &h,
        &h.plus,
        json!({"name": "A", "contact_type_ids": ["CUSTOMER"],
        "delivery_address": {"address_line_1": "x".repeat(51)}}),
    )
    .await;
    assert_error(s, &v, 422, "RecordInvalid", "delivery_address.address_line_1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_currency_contact_needs_multi_currency() {
    let h = Harness::start().await;
    let (s, v) =
        post_contact(&h, &h.standard, json!({"name": "A", "contact_type_ids": ["CUSTOMER"], "currency_id": "EUR"}))
            .await;
    assert_error(s, &v, 422, "RecordInvalid", "currency_id");
    let (s, v) =
        post_contact(&h, &h.plus, json!({"name": "A", "contact_type_ids": ["CUSTOMER"], "currency_id": "EUR"})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["currency"]["id"], "EUR");
    let (s, v) =
        post_contact(&h, &h.plus, json!({"name": "A", "contact_type_ids": ["CUSTOMER"], "currency_id": "JPY"})).await;
    assert_error(s, &v, 422, "RecordInvalid", "currency_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_currency_is_locked_after_the_first_document() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Lock", None).await;
    let (s, v, _) =
        h.call(Method::PUT, &h.plus, &format!("/contacts/{c}"), Some(json!({"contact": {"currency_id": "EUR"}}))).await;
    assert_eq!(s, StatusCode::OK, "currency can change before any document: {v}");
    let (s, _, _) =
        h.call(Method::PUT, &h.plus, &format!("/contacts/{c}"), Some(json!({"contact": {"currency_id": "GBP"}}))).await;
    assert_eq!(s, StatusCode::OK);
    h.invoice(&h.plus, &c, "LOCK-1").await;
    let (s, v, _) =
        h.call(Method::PUT, &h.plus, &format!("/contacts/{c}"), Some(json!({"contact": {"currency_id": "EUR"}}))).await;
    assert_error(s, &v, 422, "RecordInvalid", "currency_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_with_documents_cannot_be_deleted() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Keep", None).await;
    h.invoice(&h.plus, &c, "KEEP-1").await;
    let (s, v, _) = h.call(Method::DELETE, &h.plus, &format!("/contacts/{c}"), None).await;
    assert_error(s, &v, 422, "RecordInvalid", "base");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_filters_search_email_and_type() {
    let h = Harness::start().await;
    let (_, _) = post_contact(
        &h,
        &h.plus,
        json!({"name": "Alice Smith", "contact_type_ids": ["CUSTOMER"], "reference": "MAG1",
        "main_contact_person": {"name": "Alice", "email": "alice@example.test"}}),
    )
    .await;
    post_contact(&h, &h.plus, json!({"name": "Bob Supplies", "contact_type_ids": ["VENDOR"]})).await;
    let (_, v) = h.get(&h.plus, "/contacts?search=mag1").await;
    assert_eq!(v["$total"], 1);
    let (_, v) = h.get(&h.plus, "/contacts?email=ALICE@example.test").await;
    assert_eq!(v["$total"], 1);
    let (_, v) = h.get(&h.plus, "/contacts?contact_type_id=VENDOR").await;
    assert_eq!(v["$total"], 1);
    assert_eq!(v["$items"][0]["displayed_as"], "Bob Supplies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_since_lists_only_deleted_contacts() {
    let h = Harness::start().await;
    let gone = h.customer(&h.plus, "Gone", None).await;
    h.customer(&h.plus, "Stays", None).await;
    let (s, _, _) = h.call(Method::DELETE, &h.plus, &format!("/contacts/{gone}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = h.get(&h.plus, "/contacts?deleted_since=2000-01-01T00:00:00Z&attributes=deleted_at").await;
    assert_eq!(v["$total"], 1);
    assert_eq!(v["$items"][0]["id"], gone.as_str());
    assert!(v["$items"][0]["deleted_at"].is_string());
    let (_, v) = h.get(&h.plus, "/contacts").await;
    assert_eq!(v["$total"], 1, "deleted contacts leave the normal list");
    assert_eq!(h.get(&h.plus, &format!("/contacts/{gone}")).await.0, StatusCode::NOT_FOUND);
}

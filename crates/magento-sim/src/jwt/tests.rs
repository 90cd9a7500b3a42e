//! Unit tests for the JWT/HKDF code, including the spec's section 2.4 test vector.

use super::*;
use crate::clock::Clock;
use crate::wire::{disconnect_key, fallback_key};
use chrono::{TimeZone, Utc};

const API_KEY: &str = "byte8_lk_example_master_key";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const VECTOR_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJtYWdlbnRvIiwic3ViIjoiMTExMTExMTEtMjIyMi0zMzMzLTQ0NDQtNTU1NTU1NTU1NTU1IiwiYXVkIjoiYnl0ZTgtbGVkZ2VyIiwiaWF0IjoxNzY3MjI1NjAwLCJuYmYiOjE3NjcyMjU2MDAsImV4cCI6MTc2NzIyNTY2MCwianRpIjoiMGY4ZmFkNWItZDljYi00NjlmLWExNjUtNzA4Njc3Mjg5NTBlIn0.61TdFbOSWhQcNcLzSJppqshAsDk51iROzAYUfFrBYZg";

#[test]
fn spec_vector_subkeys() {
    assert_eq!(
        hex::encode(derive_key(API_KEY, OUTBOUND_INFO)),
        "1e8642cdbb6d14f01b3623765a241e0996137728faecdc0757e875d9ead0e177"
    );
    assert_eq!(
        hex::encode(derive_key(API_KEY, INBOUND_INFO)),
        "43fdf53f3e4c76638de5ec435151ad2d32ea9ef70026aa12cee7543154eaf919"
    );
}

#[test]
fn spec_vector_outbound_token_at_its_own_time() {
    let clock = Clock::manual(Utc.timestamp_opt(1_767_225_600, 0).single().unwrap_or_default());
    let token = mint_outbound(API_KEY, TENANT, clock.unix(), "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_eq!(token, VECTOR_TOKEN);
}

#[test]
fn spec_vector_keys() {
    assert_eq!(disconnect_key(TENANT), "disconnect:97d22f8652571c42ac94d64936ba78d3abce1282");
    let body = r#"{"magento_entity_id":42,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{"increment_id":"000000042","paid":false}}"#;
    assert_eq!(fallback_key("invoice.created", body), "invoice.created:100bc3edd363f82053dc7eead1e80a0c272a63ec");
}

fn inbound(claims: &str) -> String {
    sign_raw(claims, &derive_key(API_KEY, INBOUND_INFO))
}

const NOW: i64 = 1_767_225_600;

fn good_claims() -> String {
    format!(
        r#"{{"iss":"byte8-ledger","aud":"magento","sub":"{TENANT}","iat":{NOW},"nbf":{},"exp":{},"jti":"abc"}}"#,
        NOW - 60,
        NOW + 240
    )
}

#[test]
fn inbound_accepts_a_backdated_token() {
    let v = verify_inbound(&inbound(&good_claims()), API_KEY, TENANT, NOW);
    assert_eq!(v, Ok(Verified { jti: "abc".into(), exp: NOW + 240 }));
}

#[test]
fn inbound_rejects_float_and_future_nbf() {
    let float = good_claims().replace(&format!("\"iat\":{NOW}"), &format!("\"iat\":{NOW}.0"));
    assert_eq!(verify_inbound(&inbound(&float), API_KEY, TENANT, NOW), Err(JwtError::NotInteger("iat")));
    let nbf = good_claims().replace(&format!("\"nbf\":{}", NOW - 60), &format!("\"nbf\":{}", NOW + 1));
    assert_eq!(verify_inbound(&inbound(&nbf), API_KEY, TENANT, NOW), Err(JwtError::NotYetValid));
}

#[test]
fn inbound_rejects_outbound_key() {
    let t = sign_raw(&good_claims(), &derive_key(API_KEY, OUTBOUND_INFO));
    assert_eq!(verify_inbound(&t, API_KEY, TENANT, NOW), Err(JwtError::BadSignature));
}

#[test]
fn bearer_prefix_is_case_insensitive() {
    assert_eq!(bearer("bEaReR abc"), Some("abc"));
    assert_eq!(bearer("Basic abc"), None);
    assert_eq!(bearer("Bearer "), None);
}

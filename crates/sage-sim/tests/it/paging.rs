//! Envelope and paging, `attributes` projection, `X-Business` semantics, request id, filters.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Harness, assert_error, config};

async fn with_contacts(n: usize, cfg: sage_sim::SimConfig) -> Harness {
    let h = Harness::with(cfg).await;
    for i in 0..n {
        h.customer(&h.plus, &format!("Customer {i:02}"), None).await;
    }
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_has_sage_keys_and_relative_next_with_query() {
    let h = with_contacts(25, config()).await;
    let (s, v) = h.get(&h.plus, "/contacts?contact_type_id=CUSTOMER").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["$total"], 25);
    assert_eq!(v["$page"], 1);
    assert_eq!(v["$itemsPerPage"], 20);
    assert_eq!(v["$items"].as_array().unwrap().len(), 20);
    assert_eq!(v["$back"], serde_json::Value::Null);
    assert_eq!(v["$next"], "/contacts?page=2&items_per_page=20&contact_type_id=CUSTOMER");
    let (_, p2) = h.get(&h.plus, "/contacts?page=2&items_per_page=20&contact_type_id=CUSTOMER").await;
    assert_eq!(p2["$items"].as_array().unwrap().len(), 5);
    assert_eq!(p2["$next"], serde_json::Value::Null);
    assert_eq!(p2["$back"], "/contacts?page=1&items_per_page=20&contact_type_id=CUSTOMER");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_past_the_end_returns_the_last_page() {
    let h = with_contacts(5, config()).await;
    let (_, v) = h.get(&h.plus, "/contacts?page=9&items_per_page=2").await;
    assert_eq!(v["$page"], 3);
    assert_eq!(v["$items"].as_array().unwrap().len(), 1);
    assert_eq!(v["$next"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_per_page_over_200_is_clamped_by_default() {
    let h = with_contacts(1, config()).await;
    let (s, v) = h.get(&h.plus, "/contacts?items_per_page=500").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["$itemsPerPage"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_per_page_over_200_is_rejected_when_configured() {
    let h = Harness::with(sage_sim::SimConfig { over_max_page: sage_sim::OverMaxPage::Reject, ..config() }).await;
    let (s, v) = h.get(&h.plus, "/contacts?items_per_page=201").await;
    assert_error(s, &v, 422, "RecordInvalid", "items_per_page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_are_projected_unless_attributes_asked() {
    let h = with_contacts(1, config()).await;
    let (_, v) = h.get(&h.plus, "/contacts").await;
    let item = v["$items"][0].as_object().unwrap();
    let mut keys: Vec<_> = item.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["$path", "displayed_as", "id"]);
    let (_, v) = h.get(&h.plus, "/contacts?attributes=name,email").await;
    assert_eq!(v["$items"][0].as_object().unwrap().len(), 5);
    assert_eq!(v["$items"][0]["name"], "Customer 00");
    let (_, v) = h.get(&h.plus, "/contacts?attributes=all").await;
    assert!(v["$items"][0]["currency"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn businesses_use_snake_case_items_per_page_and_no_x_business_header() {
    let h = Harness::start().await;
    let (s, v, headers) = h.call(Method::GET, &h.plus, "/businesses?attributes=subscriptions", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.get("$items_per_page").is_some() && v.get("$itemsPerPage").is_none(), "{v}");
    assert_eq!(v["$total"], 3);
    assert!(headers.get("x-business").is_none());
    assert!(headers.get("x_request_id").is_some());
    let subs: Vec<_> = v["$items"].as_array().unwrap().iter().map(|b| b["subscriptions"][0]["id"].clone()).collect();
    assert_eq!(subs, [json!("ACCOUNTING"), json!("ACCOUNTING_10"), json!("START")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_x_business_uses_the_lead_and_the_header_is_echoed() {
    let h = Harness::start().await;
    let resp = h.http.get(h.api("/contacts")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(resp.headers()["x-business"].to_str().unwrap(), h.plus);
    let (_, lead) = h.get(&h.start, "/businesses/lead").await;
    assert_eq!(lead["id"], h.plus.as_str());
    let (_, _, headers) = h.call(Method::GET, &h.start, "/contacts", None).await;
    assert_eq!(headers["x-business"].to_str().unwrap(), h.start);
    assert!(headers.get("x_request_id").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_x_business_is_denied() {
    let h = Harness::start().await;
    let (s, v) = h.get("ffffffffffffffffffffffffffffffff", "/contacts").await;
    assert_error(s, &v, 403, "AccessDenied", "X-Business");
    let h = Harness::with(sage_sim::SimConfig { invalid_business_status: 404, ..config() }).await;
    let (s, v) = h.get("ffffffffffffffffffffffffffffffff", "/contacts").await;
    assert_error(s, &v, 404, "AccessDenied", "X-Business");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_or_created_since_is_inclusive_and_validated() {
    let h = with_contacts(2, config()).await;
    let (_, v) = h.get(&h.plus, "/contacts?updated_or_created_since=2000-01-01T00:00:00Z").await;
    assert_eq!(v["$total"], 2);
    let (_, v) = h.get(&h.plus, "/contacts?updated_or_created_since=2999-01-01T00:00%2B01:00").await;
    assert_eq!(v["$total"], 0);
    let (s, v) = h.get(&h.plus, "/contacts?updated_or_created_since=yesterday").await;
    assert_error(s, &v, 422, "RecordInvalid", "updated_or_created_since");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_data_is_seeded_for_every_business() {
    let h = Harness::start().await;
    for b in [&h.plus, &h.standard, &h.start] {
        let (_, t) = h.get(b, "/tax_rates?attributes=percentage").await;
        let ids: Vec<_> =
            t["$items"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_owned()).collect();
        for want in ["GB_STANDARD", "GB_LOWER", "GB_ZERO", "GB_EXEMPT", "GB_NO_TAX"] {
            assert!(ids.iter().any(|i| i == want), "{want}");
        }
        assert_eq!(t["$items"][0]["percentage"], "20.0", "money as decimal strings");
        let (_, c) = h.get(b, "/currencies").await;
        assert_eq!(c["$total"], 3);
        let (_, m) = h.get(b, "/payment_methods").await;
        let ids: Vec<_> = m["$items"].as_array().unwrap().iter().map(|x| x["id"].clone()).collect();
        assert_eq!(ids, [json!("CASH"), json!("CREDIT_DEBIT"), json!("ELECTRONIC")]);
        let (_, l) = h.get(b, "/ledger_accounts?visible_in=sales&attributes=nominal_code").await;
        assert!(l["$items"].as_array().unwrap().iter().any(|x| x["displayed_as"] == "Sales Type A (4000)"));
        assert!(
            !l["$items"].as_array().unwrap().iter().any(|x| x["nominal_code"] == 1200),
            "bank account is not sales-visible"
        );
        let (_, bank) = h.get(b, "/bank_accounts?attributes=all").await;
        assert_eq!(bank["$items"][0]["displayed_as"], "Current (1200)");
        assert_eq!(bank["$items"][0]["bank_account_type"]["id"], "CHECKING");
        for path in ["/financial_settings", "/invoice_settings", "/business_settings", "/exchange_rates", "/user"] {
            assert_eq!(h.get(b, path).await.0, StatusCode::OK, "{path}");
        }
    }
    let (_, f) = h.get(&h.plus, "/financial_settings").await;
    assert_eq!(f["multi_currency_enabled"], true);
    let (_, f) = h.get(&h.standard, "/financial_settings").await;
    assert_eq!(f["multi_currency_enabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_payment_methods_are_configurable() {
    let h = Harness::with(sage_sim::SimConfig { extra_payment_methods: vec!["CHEQUE".into()], ..config() }).await;
    let (_, m) = h.get(&h.plus, "/payment_methods").await;
    assert_eq!(m["$total"], 4);
    assert_eq!(m["$items"][3]["id"], "CHEQUE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_is_deterministic() {
    let a = Harness::start().await;
    let b = Harness::start().await;
    assert_eq!(a.plus, b.plus);
    let c = Harness::with(sage_sim::SimConfig { seed: 7, ..config() }).await;
    assert_ne!(a.plus, c.plus);
    assert_eq!(a.plus.len(), 32);
}

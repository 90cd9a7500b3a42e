//! Admin actions behind the ledger's edge cases: a returning guest's e-mail, a free order invoiced
//! paid at zero, and a customer edit whose second upsert the outbox drops while the edit is kept.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::*;

async fn paired_sim() -> (magento_sim::RunningSim, reqwest::Client, String) {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, "http://127.0.0.1:9").await;
    (sim, c, base)
}

async fn fire(c: &reqwest::Client, base: &str, body: Value) -> Value {
    let (s, v) = post(c, &format!("{base}/_sim/entities"), &body).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn events(v: &Value) -> Vec<(String, bool)> {
    v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["event"].as_str().unwrap_or_default().to_owned(), e["enqueued"] == true))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_order_is_invoiced_paid_at_zero_by_the_free_method() {
    let (_sim, c, base) = paired_sim().await;
    let v = fire(&c, &base, json!({"action": "create_invoice", "free": true})).await;
    assert_eq!(events(&v), [("invoice.created".to_owned(), true), ("invoice.paid".to_owned(), true)]);
    let id = v["invoice_id"].as_u64().expect("invoice_id");
    let (s, inv, _) = get(&c, &format!("{base}/rest/V1/byte8/invoice/{id}"), &token()).await;
    assert_eq!(s, 200, "{inv}");
    assert_eq!((inv["state"].as_str(), inv["payment_method"].as_str()), (Some("paid"), Some("free")), "{inv}");
    assert_eq!(dec(&inv["grand_total"]), Decimal::ZERO, "{inv}");
    assert_eq!(dec(&inv["discount_amount"]), dec(&inv["subtotal"]), "every row fully discounted: {inv}");
    assert!(dec(&inv["subtotal"]) > Decimal::ZERO, "the items keep their prices: {inv}");
    for l in inv["lines"].as_array().expect("lines") {
        assert_eq!((dec(&l["line_total"]), dec(&l["line_tax"])), (Decimal::ZERO, Decimal::ZERO), "{l}");
    }
    let (s, pay, _) = get(&c, &format!("{base}/rest/V1/byte8/payment/{id}"), &token()).await;
    assert_eq!(s, 200, "{pay}");
    assert_eq!((pay["method"].as_str(), dec(&pay["amount"])), (Some("free"), Decimal::ZERO), "{pay}");
    let outbox = sim_get(&c, &format!("{base}/_sim/outbox?status=pending")).await;
    let created = outbox.as_array().expect("rows").iter().find(|r| r["event_name"] == "invoice.created").expect("row");
    let payload: Value = serde_json::from_str(created["payload"].as_str().expect("payload")).expect("json");
    assert_eq!(payload["payload"]["paid"], true, "{payload}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_guest_checks_out_with_the_same_email() {
    let (_sim, c, base) = paired_sim().await;
    let email = "again@example.com";
    for market in ["uk", "eu"] {
        let v =
            fire(&c, &base, json!({"action": "create_invoice", "guest": true, "market": market, "email": email})).await;
        let (s, inv, _) = get(&c, &format!("{base}/rest/V1/byte8/invoice/{}", v["invoice_id"]), &token()).await;
        assert_eq!(s, 200, "{inv}");
        assert_eq!((inv["customer"]["magento_id"].as_u64(), inv["customer"]["email"].as_str()), (Some(0), Some(email)));
    }
    let (s, v) = post(&c, &format!("{base}/_sim/entities"), &json!({"action": "create_invoice", "email": email})).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("email is for guest orders (guest: true)")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_edit_is_kept_though_the_second_upsert_is_dropped() {
    let (_sim, c, base) = paired_sim().await;
    let fx = sim_get(&c, &format!("{base}/_sim/fixtures")).await;
    let id =
        fx["customers"].as_array().expect("customers").iter().find(|k| !k["country"].is_null()).expect("one")["id"]
            .as_u64()
            .expect("id");
    let customer = |c: &reqwest::Client| {
        let url = format!("{base}/rest/V1/byte8/customer/{id}");
        let c = c.clone();
        async move { get(&c, &url, &token()).await.1 }
    };
    let v = fire(&c, &base, json!({"action": "save_customer", "customer_id": id, "street": "1 First Road"})).await;
    assert_eq!(events(&v), [("customer.upserted".to_owned(), true)]);
    let k = customer(&c).await;
    assert!(k["addresses"].as_array().expect("addresses").iter().all(|a| a["street"][0] == "1 First Road"), "{k}");
    let edit = json!({"action": "save_customer", "customer_id": id, "street": "2 Second Road", "lastname": "Other"});
    let v = fire(&c, &base, edit).await;
    assert_eq!(v["events"][0]["dropped_because"], "duplicate_key", "{v}");
    let k = customer(&c).await;
    assert_eq!(k["last_name"], "Other", "{k}");
    assert!(k["addresses"].as_array().expect("addresses").iter().all(|a| a["street"][0] == "2 Second Road"), "{k}");
}

//! Subscription tiers: Start's payment and catalog limits, Plus-only stock, premium foreign currency.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Harness, assert_error, config};

fn product(h_ledger: &str, purchase: &str) -> serde_json::Value {
    json!({"product": {"description": "Mug", "item_code": "MUG-1", "sales_ledger_account_id": h_ledger, "purchase_ledger_account_id": purchase}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_cannot_create_products_services_or_allocations() {
    let h = Harness::start().await;
    let (sales, purchase) = (h.ledger(&h.start, 4000).await, h.ledger(&h.start, 5000).await);
    let (s, v) = h.post(&h.start, "/products", product(&sales, &purchase)).await;
    assert_error(s, &v, 403, "SubscriptionFeatureUnavailable", "base");
    let (s, v) = h
        .post(&h.start, "/services", json!({"service": {"description": "Fitting", "sales_ledger_account_id": sales}}))
        .await;
    assert_error(s, &v, 403, "SubscriptionFeatureUnavailable", "base");
    assert_eq!(h.get(&h.start, "/products").await.0, StatusCode::OK, "Start may read products");
    let (s, v) = h.post(&h.start, "/contact_allocations", json!({"contact_allocation": {}})).await;
    assert_error(s, &v, 403, "SubscriptionFeatureUnavailable", "base");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_denied_status_is_configurable() {
    let h = Harness::with(sage_sim::SimConfig { tier_denied_status: 422, ..config() }).await;
    let (s, v) = h.get(&h.standard, "/stock_items").await;
    assert_error(s, &v, 422, "SubscriptionFeatureUnavailable", "base");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_accepts_only_fully_allocated_receipts() {
    let h = Harness::start().await;
    let c = h.customer(&h.start, "Starter", None).await;
    let inv = h.invoice(&h.start, &c, "S-1").await;
    let bank = h.bank(&h.start).await;
    let pay = |total: &str, alloc: serde_json::Value| {
        json!({"contact_payment": {"transaction_type_id": "CUSTOMER_RECEIPT", "contact_id": c,
        "bank_account_id": bank, "date": "2025-03-02", "total_amount": total, "allocated_artefacts": alloc}})
    };
    let (s, v) = h.post(&h.start, "/contact_payments", pay("50.00", json!([]))).await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts");
    let (s, v) =
        h.post(&h.start, "/contact_payments", pay("130.00", json!([{"artefact_id": inv, "amount": "120.00"}]))).await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts");
    let (s, v) =
        h.post(&h.start, "/contact_payments", pay("120.00", json!([{"artefact_id": inv, "amount": "120.00"}]))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut refund = pay("1.00", json!([]));
    refund["contact_payment"]["transaction_type_id"] = json!("CUSTOMER_REFUND");
    let (s, v) = h.post(&h.start, "/contact_payments", refund).await;
    assert_error(s, &v, 422, "RecordInvalid", "transaction_type_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_is_plus_only_and_movements_move_quantity() {
    let h = Harness::start().await;
    let (sales, purchase) = (h.ledger(&h.plus, 4000).await, h.ledger(&h.plus, 5000).await);
    let item = json!({"stock_item": {"item_code": "SKU-1", "description": "Kettle", "sales_ledger_account_id": sales, "purchase_ledger_account_id": purchase}});
    let (s, v) = h.post(&h.standard, "/stock_items", item.clone()).await;
    assert_error(s, &v, 403, "SubscriptionFeatureUnavailable", "base");
    let (s, v) = h.post(&h.plus, "/stock_items", item).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["quantity_in_stock"], "0.0");
    let id = v["id"].as_str().unwrap();
    let mv = |q: &str| json!({"stock_movement": {"stock_item_id": id, "date": "2025-03-01", "quantity": q, "cost_price": "4.50", "details": "Adjust"}});
    assert_eq!(h.post(&h.plus, "/stock_movements", mv("10")).await.0, StatusCode::CREATED);
    assert_eq!(h.post(&h.plus, "/stock_movements", mv("-3")).await.0, StatusCode::CREATED);
    let (_, v) = h.get(&h.plus, &format!("/stock_items/{id}")).await;
    assert_eq!(v["quantity_in_stock"], "7.0");
    let (s, v) = h.post(&h.standard, "/stock_movements", mv("1")).await;
    assert_error(s, &v, 403, "SubscriptionFeatureUnavailable", "base");
    let mut long = mv("1");
    long["stock_movement"]["details"] = json!("d".repeat(51));
    let (s, v) = h.post(&h.plus, "/stock_movements", long).await;
    assert_error(s, &v, 422, "RecordInvalid", "details");
    let (s, v) = h
        .post(
            &h.plus,
            "/stock_items",
            json!({"stock_item": {"item_code": "x".repeat(31), "description": "K",
        "sales_ledger_account_id": sales, "purchase_ledger_account_id": purchase}}),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "item_code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_need_sales_and_purchase_ledgers_on_standard() {
    let h = Harness::start().await;
    let (sales, purchase) = (h.ledger(&h.standard, 4000).await, h.ledger(&h.standard, 5000).await);
    let (s, v) = h
        .post(&h.standard, "/products", json!({"product": {"description": "Mug", "sales_ledger_account_id": sales}}))
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "purchase_ledger_account_id");
    let (s, v) = h.post(&h.standard, "/products", product(&sales, &purchase)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = h.get(&h.standard, "/products?search=mug-1").await;
    assert_eq!(v["$total"], 1);
    let (s, v) = h
        .post(&h.standard, "/services", json!({"service": {"description": "Fit", "sales_ledger_account_id": purchase}}))
        .await;
    assert_error(s, &v, 404, "RecordNotFound", "sales_ledger_account_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credit_notes_on_standard_follow_the_setting() {
    for (allowed, want) in [(true, 201u16), (false, 403)] {
        let h = Harness::with(sage_sim::SimConfig { credit_notes_on_standard: allowed, ..config() }).await;
        let c = h.customer(&h.standard, "CN", None).await;
        let l = h.ledger(&h.standard, 4000).await;
        let (s, _) = h.post(&h.standard, "/sales_credit_notes", json!({"sales_credit_note": {"contact_id": c, "date": "2025-03-03",
            "credit_note_lines": [{"description": "R", "ledger_account_id": l, "quantity": "1", "unit_price": "1", "tax_rate_id": "GB_ZERO"}]}})).await;
        assert_eq!(s.as_u16(), want, "credit_notes_on_standard = {allowed}");
    }
}

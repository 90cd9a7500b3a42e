//! Contact allocations: same contact, sum to zero, never above outstanding, not on paid artefacts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Harness, assert_error};

async fn credit_note(h: &Harness, b: &str, c: &str, net: &str, tax: &str) -> String {
    let l = h.ledger(b, 4000).await;
    let (s, v) = h
        .post(
            b,
            "/sales_credit_notes",
            json!({"sales_credit_note": {"contact_id": c, "date": "2025-03-03",
        "credit_note_lines": [{"description": "Return", "ledger_account_id": l, "quantity": "1", "unit_price": net,
            "tax_rate_id": "GB_STANDARD", "tax_amount": tax}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

fn alloc(c: &str, items: Value) -> Value {
    json!({"contact_allocation": {"transaction_type_id": "CUSTOMER_ALLOCATION", "contact_id": c, "date": "2025-03-05", "allocated_artefacts": items}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_of_credit_note_to_invoice_settles_both() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Alloc", None).await;
    let inv = h.invoice(&h.plus, &c, "A-1").await;
    let cn = credit_note(&h, &h.plus, &c, "10.00", "2.00").await;
    let (s, v) = h
        .post(
            &h.plus,
            "/contact_allocations",
            alloc(&c, json!([{"artefact_id": inv, "amount": "12.00"}, {"artefact_id": cn, "amount": "-12.00"}])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, i) = h.get(&h.plus, &format!("/sales_invoices/{inv}")).await;
    assert_eq!((i["status"]["id"].as_str(), i["outstanding_amount"].as_str()), (Some("PART_PAID"), Some("108.0")));
    let (_, n) = h.get(&h.plus, &format!("/sales_credit_notes/{cn}")).await;
    assert_eq!(n["status"]["id"], "PAID");
    let id = v["id"].as_str().unwrap();
    let (s, _, _) = h.call(reqwest::Method::DELETE, &h.plus, &format!("/contact_allocations/{id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, n) = h.get(&h.plus, &format!("/sales_credit_notes/{cn}")).await;
    assert_eq!(n["status"]["id"], "UNPAID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_amounts_must_sum_to_zero() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Alloc", None).await;
    let inv = h.invoice(&h.plus, &c, "A-1").await;
    let cn = credit_note(&h, &h.plus, &c, "10.00", "2.00").await;
    let (s, v) = h
        .post(
            &h.plus,
            "/contact_allocations",
            alloc(&c, json!([{"artefact_id": inv, "amount": "12.00"}, {"artefact_id": cn, "amount": "-11.00"}])),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_cannot_exceed_outstanding() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Alloc", None).await;
    let inv = h.invoice(&h.plus, &c, "A-1").await;
    let cn = credit_note(&h, &h.plus, &c, "10.00", "2.00").await;
    let (s, v) = h
        .post(
            &h.plus,
            "/contact_allocations",
            alloc(&c, json!([{"artefact_id": inv, "amount": "13.00"}, {"artefact_id": cn, "amount": "-13.00"}])),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts.amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_artefacts_must_belong_to_the_contact() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Alloc", None).await;
    let other = h.customer(&h.plus, "Other", None).await;
    let inv = h.invoice(&h.plus, &c, "A-1").await;
    let cn = credit_note(&h, &h.plus, &other, "10.00", "2.00").await;
    let (s, v) = h
        .post(
            &h.plus,
            "/contact_allocations",
            alloc(&c, json!([{"artefact_id": inv, "amount": "12.00"}, {"artefact_id": cn, "amount": "-12.00"}])),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts.artefact_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_requires_type_and_contact_and_checks_signs() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Alloc", None).await;
    let inv = h.invoice(&h.plus, &c, "A-1").await;
    let cn = credit_note(&h, &h.plus, &c, "10.00", "2.00").await;
    let mut b = alloc(&c, json!([]));
    b["contact_allocation"].as_object_mut().unwrap().remove("transaction_type_id");
    let (s, v) = h.post(&h.plus, "/contact_allocations", b).await;
    assert_error(s, &v, 422, "RecordInvalid", "transaction_type_id");
    let (s, v) = h.post(&h.plus, "/contact_allocations", alloc(&c, json!([]))).await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts");
    let (s, v) = h
        .post(
            &h.plus,
            "/contact_allocations",
            alloc(&c, json!([{"artefact_id": inv, "amount": "-12.00"}, {"artefact_id": cn, "amount": "12.00"}])),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts.amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_on_account_can_be_allocated_to_a_later_invoice() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Alloc", None).await;
    let bank = h.bank(&h.plus).await;
    let (s, p) = h
        .post(
            &h.plus,
            "/contact_payments",
            json!({"contact_payment": {"transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": c, "bank_account_id": bank, "date": "2025-03-01", "total_amount": "120.00"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let poa = p["payment_on_account"]["id"].as_str().unwrap();
    let inv = h.invoice(&h.plus, &c, "A-2").await;
    let (s, v) = h
        .post(
            &h.plus,
            "/contact_allocations",
            alloc(&c, json!([{"artefact_id": inv, "amount": "120.00"}, {"artefact_id": poa, "amount": "-120.00"}])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, i) = h.get(&h.plus, &format!("/sales_invoices/{inv}")).await;
    assert_eq!(i["status"]["id"], "PAID");
    let (s, v) = h
        .post(
            &h.plus,
            "/contact_allocations",
            alloc(&c, json!([{"artefact_id": inv, "amount": "1.00"}, {"artefact_id": poa, "amount": "-1.00"}])),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "base");
}

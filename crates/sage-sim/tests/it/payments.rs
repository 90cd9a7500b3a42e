//! Contact payments: allocation to invoices, statuses, outstanding limits, payments on account, refunds.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Harness, assert_error};

fn receipt(contact: &str, bank: &str, total: &str, allocs: Value) -> Value {
    json!({"contact_payment": {"transaction_type_id": "CUSTOMER_RECEIPT", "contact_id": contact, "bank_account_id": bank,
        "payment_method_id": "CREDIT_DEBIT", "date": "2025-03-02", "total_amount": total, "reference": "PAY-1",
        "allocated_artefacts": allocs}})
}

async fn setup(business: fn(&Harness) -> String) -> (Harness, String, String, String, String) {
    let h = Harness::start().await;
    let b = business(&h);
    let c = h.customer(&b, "Payer", None).await;
    let inv = h.invoice(&b, &c, "INV-PAY").await;
    let bank = h.bank(&b).await;
    (h, b, c, inv, bank)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_then_full_payment_moves_status_and_outstanding() {
    let (h, b, c, inv, bank) = setup(|h| h.plus.clone()).await;
    let (s, p) = h
        .post(&b, "/contact_payments", receipt(&c, &bank, "20.00", json!([{"artefact_id": inv, "amount": "20.00"}])))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["payment_method"]["id"], "CREDIT_DEBIT");
    assert_eq!(p["allocated_artefacts"][0]["artefact"]["id"], inv.as_str());
    let (_, v) = h.get(&b, &format!("/sales_invoices/{inv}")).await;
    assert_eq!(
        (v["status"]["id"].as_str(), v["outstanding_amount"].as_str(), v["total_paid"].as_str()),
        (Some("PART_PAID"), Some("100.0"), Some("20.0"))
    );
    let (s, _) = h
        .post(&b, "/contact_payments", receipt(&c, &bank, "100.00", json!([{"artefact_id": inv, "amount": "100.00"}])))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = h.get(&b, &format!("/sales_invoices/{inv}?show_payments_allocations=true")).await;
    assert_eq!(v["status"]["id"], "PAID");
    assert_eq!(v["outstanding_amount"], "0.0");
    assert_eq!(v["payments_allocations"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_cannot_exceed_outstanding_or_its_total() {
    let (h, b, c, inv, bank) = setup(|h| h.plus.clone()).await;
    let (s, v) = h
        .post(&b, "/contact_payments", receipt(&c, &bank, "130.00", json!([{"artefact_id": inv, "amount": "120.01"}])))
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts.amount");
    let (s, v) = h
        .post(&b, "/contact_payments", receipt(&c, &bank, "10.00", json!([{"artefact_id": inv, "amount": "20.00"}])))
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "total_amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_invoice_cannot_be_paid_again() {
    let (h, b, c, inv, bank) = setup(|h| h.plus.clone()).await;
    h.post(&b, "/contact_payments", receipt(&c, &bank, "120.00", json!([{"artefact_id": inv, "amount": "120.00"}])))
        .await;
    let (s, v) = h
        .post(&b, "/contact_payments", receipt(&c, &bank, "1.00", json!([{"artefact_id": inv, "amount": "1.00"}])))
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "base");
    assert_eq!(v[0]["$message"], "You can only pay unpaid or part-paid invoices.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_required_fields_and_references() {
    let (h, b, c, inv, bank) = setup(|h| h.plus.clone()).await;
    for field in ["transaction_type_id", "contact_id", "bank_account_id", "date", "total_amount"] {
        let mut body = receipt(&c, &bank, "1.00", json!([]));
        body["contact_payment"].as_object_mut().unwrap().remove(field);
        let (s, v) = h.post(&b, "/contact_payments", body).await;
        assert_error(s, &v, 422, "RecordInvalid", field);
    }
    let (s, v) =
        h.post(&b, "/contact_payments", receipt(&c, "ffffffffffffffffffffffffffffffff", "1.00", json!([]))).await;
    assert_error(s, &v, 404, "RecordNotFound", "bank_account_id");
    let mut body = receipt(&c, &bank, "1.00", json!([]));
    body["contact_payment"]["payment_method_id"] = json!("BITCOIN");
    let (s, v) = h.post(&b, "/contact_payments", body).await;
    assert_error(s, &v, 404, "RecordNotFound", "payment_method_id");
    let mut body = receipt(&c, &bank, "1.00", json!([{"artefact_id": inv, "amount": "1.00"}]));
    body["contact_payment"]["reference"] = json!("r".repeat(26));
    let (s, v) = h.post(&b, "/contact_payments", body).await;
    assert_error(s, &v, 422, "RecordInvalid", "reference");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_for_another_contacts_invoice_is_rejected() {
    let (h, b, _, inv, bank) = setup(|h| h.plus.clone()).await;
    let other = h.customer(&b, "Other", None).await;
    let (s, v) = h
        .post(
            &b,
            "/contact_payments",
            receipt(&other, &bank, "10.00", json!([{"artefact_id": inv, "amount": "10.00"}])),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "allocated_artefacts.artefact_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_becomes_a_payment_on_account_and_default_method_applies() {
    let (h, b, c, inv, bank) = setup(|h| h.plus.clone()).await;
    let mut body = receipt(&c, &bank, "150.00", json!([{"artefact_id": inv, "amount": "120.00"}]));
    body["contact_payment"].as_object_mut().unwrap().remove("payment_method_id");
    let (s, p) = h.post(&b, "/contact_payments", body).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["payment_on_account"]["outstanding_amount"], "30.0");
    assert_eq!(p["payment_method"]["id"], "ELECTRONIC", "bank account default");
    let (_, c2) = h.get(&b, &format!("/contacts/{c}")).await;
    assert_eq!(c2["balance"], "-30.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_payment_reopens_the_invoice() {
    let (h, b, c, inv, bank) = setup(|h| h.plus.clone()).await;
    let (_, p) = h
        .post(&b, "/contact_payments", receipt(&c, &bank, "120.00", json!([{"artefact_id": inv, "amount": "120.00"}])))
        .await;
    let id = p["id"].as_str().unwrap();
    assert_eq!(h.call(Method::DELETE, &b, &format!("/contact_payments/{id}"), None).await.0, StatusCode::NO_CONTENT);
    let (_, v) = h.get(&b, &format!("/sales_invoices/{inv}")).await;
    assert_eq!((v["status"]["id"].as_str(), v["outstanding_amount"].as_str()), (Some("UNPAID"), Some("120.0")));
    assert_eq!(h.get(&b, &format!("/contact_payments/{id}")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credit_note_refund_and_clearing_allocations_with_put() {
    let (h, b, c, _, bank) = setup(|h| h.plus.clone()).await;
    let l = h.ledger(&b, 4000).await;
    let (_, cn) = h
        .post(
            &b,
            "/sales_credit_notes",
            json!({"sales_credit_note": {"contact_id": c, "date": "2025-03-03",
        "credit_note_lines": [{"description": "Return", "ledger_account_id": l, "quantity": "1", "unit_price": "10.00",
            "tax_rate_id": "GB_STANDARD", "tax_amount": "2.00"}]}}),
        )
        .await;
    let cn_id = cn["id"].as_str().unwrap();
    let refund = |total: &str, amount: &str| {
        json!({"contact_payment": {"transaction_type_id": "CUSTOMER_REFUND", "contact_id": c,
        "bank_account_id": bank, "date": "2025-03-04", "total_amount": total, "allocated_artefacts": [{"artefact_id": cn_id, "amount": amount}]}})
    };
    let (s, v) = h.post(&b, "/contact_payments", refund("13.00", "12.00")).await;
    assert_error(s, &v, 422, "RecordInvalid", "total_amount");
    let (s, v) = h.post(&b, "/contact_payments", refund("12.00", "12.00")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = h.get(&b, &format!("/sales_credit_notes/{cn_id}")).await;
    assert_eq!(v["status"]["id"], "PAID");
    // Unallocated receipt, then PUT allocated_artefacts: [] keeps it all on account.
    let inv2 = h.invoice(&b, &c, "INV-PUT").await;
    let (_, p) = h
        .post(&b, "/contact_payments", receipt(&c, &bank, "50.00", json!([{"artefact_id": inv2, "amount": "50.00"}])))
        .await;
    let pid = p["id"].as_str().unwrap();
    let (s, p, _) = h
        .call(
            Method::PUT,
            &b,
            &format!("/contact_payments/{pid}"),
            Some(json!({"contact_payment": {"allocated_artefacts": []}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["payment_on_account"]["outstanding_amount"], "50.0");
    let (_, v) = h.get(&b, &format!("/sales_invoices/{inv2}")).await;
    assert_eq!(v["status"]["id"], "UNPAID");
    let poa = p["payment_on_account"]["id"].as_str().unwrap();
    let (s, v) = h.post(&b, "/contact_payments", json!({"contact_payment": {"transaction_type_id": "CUSTOMER_REFUND", "contact_id": c,
        "bank_account_id": bank, "date": "2025-03-05", "total_amount": "50.00", "allocated_artefacts": [{"artefact_id": poa, "amount": "50.00"}]}})).await;
    assert_eq!(s, StatusCode::CREATED, "refund of a payment on account: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_currency_must_match_the_invoice_by_default() {
    let h = Harness::start().await;
    let c = h.customer(&h.plus, "Euro", Some("EUR")).await;
    let l = h.ledger(&h.plus, 4000).await;
    let (_, inv) = h.post(&h.plus, "/sales_invoices", json!({"sales_invoice": {"contact_id": c, "date": "2025-03-01",
        "invoice_lines": [{"description": "W", "ledger_account_id": l, "quantity": 1, "unit_price": 10, "tax_rate_id": "GB_ZERO"}]}})).await;
    let bank = h.bank(&h.plus).await;
    let mut body = receipt(&c, &bank, "10.00", json!([{"artefact_id": inv["id"], "amount": "10.00"}]));
    body["contact_payment"]["currency_id"] = json!("GBP");
    let (s, v) = h.post(&h.plus, "/contact_payments", body.clone()).await;
    assert_error(s, &v, 422, "RecordInvalid", "currency_id");
    body["contact_payment"]["currency_id"] = json!("EUR");
    assert_eq!(h.post(&h.plus, "/contact_payments", body).await.0, StatusCode::CREATED);
}

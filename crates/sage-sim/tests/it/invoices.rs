//! Sales invoice and credit note rules, arithmetic, numbering, statuses, void, FX, shipping.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Harness, assert_error, config};

async fn setup(cfg: sage_sim::SimConfig) -> (Harness, String, String) {
    let h = Harness::with(cfg).await;
    let c = h.customer(&h.plus, "Inv Customer", None).await;
    let l = h.ledger(&h.plus, 4000).await;
    (h, c, l)
}

fn body(contact: &str, ledger: &str, line: Value) -> Value {
    let mut l = json!({"description": "Widget", "ledger_account_id": ledger, "quantity": "1", "unit_price": "100.00",
        "tax_rate_id": "GB_STANDARD", "tax_amount": "20.00"});
    for (k, v) in line.as_object().unwrap() {
        if v.is_null() {
            l.as_object_mut().unwrap().remove(k);
        } else {
            l[k] = v.clone();
        }
    }
    json!({"sales_invoice": {"contact_id": contact, "date": "2025-03-01", "invoice_lines": [l]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_required_header_fields() {
    let (h, c, l) = setup(config()).await;
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"].as_object_mut().unwrap().remove("contact_id");
    let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_error(s, &v, 422, "RecordInvalid", "contact_id");
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"].as_object_mut().unwrap().remove("date");
    let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_error(s, &v, 422, "RecordInvalid", "date");
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"]["invoice_lines"] = json!([]);
    let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_error(s, &v, 422, "RecordInvalid", "line_items");
    let (s, v) = h.post(&h.plus, "/sales_invoices", json!({"invoice": {}})).await;
    assert_error(s, &v, 422, "RecordInvalid", "sales_invoice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_line_required_fields_use_line_items_sources() {
    let (h, c, l) = setup(config()).await;
    for field in ["description", "ledger_account_id", "unit_price", "quantity", "tax_rate_id"] {
        let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({field: null}))).await;
        assert_error(s, &v, 422, "RecordInvalid", &format!("line_items.{field}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_reference_is_at_most_25_chars() {
    let (h, c, l) = setup(config()).await;
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"]["reference"] = json!("x".repeat(26));
    let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_error(s, &v, 422, "RecordInvalid", "reference");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_contact_cannot_be_invoiced() {
    let (h, _, l) = setup(config()).await;
    let (_, vendor) =
        h.post(&h.plus, "/contacts", json!({"contact": {"name": "V", "contact_type_ids": ["VENDOR"]}})).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(vendor["id"].as_str().unwrap(), &l, json!({}))).await;
    assert_error(s, &v, 422, "RecordInvalid", "contact_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_references_are_record_not_found_with_configurable_status() {
    let (h, c, l) = setup(config()).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body("00000000000000000000000000000000", &l, json!({}))).await;
    assert_error(s, &v, 404, "RecordNotFound", "contact_id");
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_rate_id": "GB_BOGUS"}))).await;
    assert_error(s, &v, 404, "RecordNotFound", "line_items.tax_rate_id");
    let (h, c, l) = setup(sage_sim::SimConfig { bad_reference_status: 422, ..config() }).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_rate_id": "GB_BOGUS"}))).await;
    assert_error(s, &v, 422, "RecordNotFound", "line_items.tax_rate_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_ledger_account_must_be_visible_in_sales() {
    let (h, c, _) = setup(config()).await;
    let bank_ledger = {
        let (_, v) = h.get(&h.plus, "/ledger_accounts?attributes=nominal_code&items_per_page=200").await;
        v["$items"].as_array().unwrap().iter().find(|x| x["nominal_code"] == 1200).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &bank_ledger, json!({}))).await;
    assert_error(s, &v, 404, "RecordNotFound", "line_items.ledger_account_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tax_amount_is_required_on_taxable_lines_but_not_zero_rated() {
    let (h, c, l) = setup(config()).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_amount": null}))).await;
    assert_error(s, &v, 422, "RecordInvalid", "line_items.tax_amount");
    let (s, v) =
        h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_amount": null, "tax_rate_id": "GB_ZERO"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["tax_amount"], "0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tax_amount_within_a_penny_is_accepted_and_beyond_rejected() {
    let (h, c, l) = setup(config()).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_amount": "20.01"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["tax_amount"], "20.01", "the supplied amount is kept");
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_amount": "20.02"}))).await;
    assert_error(s, &v, 422, "RecordInvalid", "line_items.tax_amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_tax_requires_the_exact_amount() {
    let (h, c, l) = setup(sage_sim::SimConfig { strict_tax: true, ..config() }).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_amount": "20.01"}))).await;
    assert_error(s, &v, 422, "RecordInvalid", "line_items.tax_amount");
    let (s, _) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_amount": 20}))).await;
    assert_eq!(s, StatusCode::CREATED, "numbers are accepted as well as strings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tax_amount_is_taken_as_given_when_validation_is_off() {
    let (h, c, l) = setup(sage_sim::SimConfig { validate_tax_amount: false, ..config() }).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"tax_amount": "3.00"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["total_amount"], "103.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplied_totals_are_ignored_by_default_and_checked_when_configured() {
    let (h, c, l) = setup(config()).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"net_amount": "1.00"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["net_amount"], "100.0");
    let (h, c, l) = setup(sage_sim::SimConfig { validate_supplied_totals: true, ..config() }).await;
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({"net_amount": "1.00"}))).await;
    assert_error(s, &v, 422, "RecordInvalid", "line_items.net_amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_before_accounts_start_or_on_the_lock_date_are_rejected() {
    let lock = chrono::NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
    let (h, c, l) = setup(sage_sim::SimConfig { lockdown_date: Some(lock), ..config() }).await;
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"]["date"] = json!("2019-12-31");
    let (s, v) = h.post(&h.plus, "/sales_invoices", b.clone()).await;
    assert_error(s, &v, 422, "RecordInvalid", "date");
    b["sales_invoice"]["date"] = json!("2025-01-31");
    let (s, v) = h.post(&h.plus, "/sales_invoices", b.clone()).await;
    assert_error(s, &v, 422, "RecordInvalid", "date");
    b["sales_invoice"]["date"] = json!("2025-02-01");
    assert_eq!(h.post(&h.plus, "/sales_invoices", b).await.0, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_currency_must_equal_contact_currency() {
    let (h, c, l) = setup(config()).await;
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"]["currency_id"] = json!("EUR");
    let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_error(s, &v, 422, "RecordInvalid", "currency_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_currency_amounts_follow_the_fx_direction_setting() {
    for (dir, rate, want_base) in [
        (sage_sim::FxDirection::ForeignPerBase, "1.25", "96.0"),
        (sage_sim::FxDirection::BasePerForeign, "0.8", "96.0"),
    ] {
        let h = Harness::with(sage_sim::SimConfig { fx_direction: dir, ..config() }).await;
        let c = h.customer(&h.plus, "Euro", Some("EUR")).await;
        let l = h.ledger(&h.plus, 4000).await;
        let mut b = body(&c, &l, json!({}));
        b["sales_invoice"]["exchange_rate"] = json!(rate);
        let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["currency"]["id"], "EUR");
        assert_eq!(v["total_amount"], "120.0");
        assert_eq!(v["base_currency_total_amount"], want_base, "{dir:?}");
        assert_eq!(v["exchange_rate"], rate);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_tax_is_recomputed_from_the_shipping_rate() {
    let (h, c, l) = setup(config()).await;
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"]["shipping_net_amount"] = json!("4.99");
    b["sales_invoice"]["shipping_tax_rate_id"] = json!("GB_STANDARD");
    b["sales_invoice"]["shipping_tax_amount"] = json!("0.00");
    let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["shipping_tax_amount"], "1.0");
    assert_eq!(v["net_amount"], "104.99");
    assert_eq!(v["tax_amount"], "21.0");
    assert_eq!(v["total_amount"], "125.99");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_and_credit_notes_are_numbered_in_sequence() {
    let (h, c, l) = setup(config()).await;
    for want in ["SI-1", "SI-2"] {
        let (_, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({}))).await;
        assert_eq!(v["invoice_number"], want);
        assert_eq!(v["displayed_as"], want);
        assert_eq!(v["status"]["id"], "UNPAID");
        assert!(v["transaction"].is_object());
    }
    let mut cn = body(&c, &l, json!({}));
    let inner = cn["sales_invoice"].take();
    let mut inner = inner.as_object().unwrap().clone();
    let lines = inner.remove("invoice_lines").unwrap();
    inner.insert("credit_note_lines".into(), lines);
    cn = json!({"sales_credit_note": inner});
    let (s, v) = h.post(&h.plus, "/sales_credit_notes", cn).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["credit_note_number"], "SCN-1");
    let (_, settings) = h.get(&h.plus, "/invoice_settings").await;
    assert_eq!(settings["next_invoice_number"], 3);
    assert_eq!(settings["next_credit_note_number"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_has_no_transaction_until_released() {
    let (h, c, l) = setup(config()).await;
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"]["status_id"] = json!("DRAFT");
    let (_, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_eq!(v["status"]["id"], "DRAFT");
    assert_eq!(v["displayed_as"], "SI-DRAFT");
    assert!(v["transaction"].is_null());
    let id = v["id"].as_str().unwrap();
    let (s, v) = h.post(&h.plus, &format!("/sales_invoices/{id}/release"), json!({})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["status"]["id"], "UNPAID");
    assert_eq!(v["invoice_number"], "SI-1");
    let (s, v) = h.post(&h.plus, &format!("/sales_invoices/{id}/release"), json!({})).await;
    assert_error(s, &v, 422, "RecordInvalid", "status_id");
    let mut b = body(&c, &l, json!({}));
    b["sales_invoice"]["status_id"] = json!("PAID");
    let (s, v) = h.post(&h.plus, "/sales_invoices", b).await;
    assert_error(s, &v, 422, "RecordInvalid", "status_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_value_invoice_is_paid_from_the_start_and_takes_no_payment() {
    let (h, c, l) = setup(config()).await;
    // A fully discounted line: net 0, no tax.
    let free = json!({"discount_amount": "100.00", "tax_rate_id": "GB_ZERO", "tax_amount": "0.00"});
    let (s, v) = h.post(&h.plus, "/sales_invoices", body(&c, &l, free.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((v["total_amount"].as_str(), v["outstanding_amount"].as_str()), (Some("0.0"), Some("0.0")), "{v}");
    assert_eq!(v["status"]["id"], "PAID", "{v}");
    assert_eq!(v["invoice_number"], "SI-1", "posted and numbered like any invoice");
    let bank = h.bank(&h.plus).await;
    let receipt = |amount: &str| {
        json!({"contact_payment": {"transaction_type_id": "CUSTOMER_RECEIPT", "contact_id": c, "bank_account_id": bank,
            "date": "2025-03-02", "total_amount": amount, "allocated_artefacts": [{"artefact_id": v["id"], "amount": amount}]}})
    };
    let (s, e) = h.post(&h.plus, "/contact_payments", receipt("0.00")).await;
    assert_error(s, &e, 422, "RecordInvalid", "total_amount");
    let (s, e) = h.post(&h.plus, "/contact_payments", receipt("1.00")).await;
    assert_error(s, &e, 422, "RecordInvalid", "base");
    // A zero draft released is paid too; an invoice with something to pay is not.
    let mut draft = body(&c, &l, free);
    draft["sales_invoice"]["status_id"] = json!("DRAFT");
    let (_, d) = h.post(&h.plus, "/sales_invoices", draft).await;
    assert_eq!(d["status"]["id"], "DRAFT");
    let (s, d) = h.post(&h.plus, &format!("/sales_invoices/{}/release", d["id"].as_str().unwrap()), json!({})).await;
    assert_eq!((s, d["status"]["id"].as_str()), (StatusCode::CREATED, Some("PAID")), "{d}");
    let (_, n) = h.post(&h.plus, "/sales_invoices", body(&c, &l, json!({}))).await;
    assert_eq!(n["status"]["id"], "UNPAID", "{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn void_needs_a_reason_and_no_payments() {
    let (h, c, _) = setup(config()).await;
    let inv = h.invoice(&h.plus, &c, "VOID-1").await;
    let (s, v, _) = h.call(Method::DELETE, &h.plus, &format!("/sales_invoices/{inv}"), None).await;
    assert_error(s, &v, 422, "RecordInvalid", "void_reason");
    let bank = h.bank(&h.plus).await;
    let (s, p) = h
        .post(
            &h.plus,
            "/contact_payments",
            json!({"contact_payment": {"transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": c, "bank_account_id": bank, "date": "2025-03-02", "total_amount": "50.00",
        "allocated_artefacts": [{"artefact_id": inv, "amount": "50.00"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, v, _) =
        h.call(Method::DELETE, &h.plus, &format!("/sales_invoices/{inv}?void_reason=Cancelled"), None).await;
    assert_error(s, &v, 422, "RecordInvalid", "base");
    let pid = p["id"].as_str().unwrap();
    assert_eq!(
        h.call(Method::DELETE, &h.plus, &format!("/contact_payments/{pid}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, v, _) = h
        .call(
            Method::DELETE,
            &h.plus,
            &format!("/sales_invoices/{inv}"),
            Some(json!({"void_reason": "Order cancelled"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"]["id"], "VOID");
    assert_eq!(v["void_reason"], "Order cancelled");
    assert_eq!(v["outstanding_amount"], "0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_marks_as_sent_unless_disabled() {
    let (h, c, _) = setup(config()).await;
    let inv = h.invoice(&h.plus, &c, "SENT-1").await;
    let (_, v) = h.get(&h.plus, &format!("/sales_invoices/{inv}?mark_as_sent=false")).await;
    assert_eq!(v["sent"], false);
    let (_, v) = h.get(&h.plus, &format!("/sales_invoices/{inv}")).await;
    assert_eq!(v["sent"], true);
    let (h, c, _) = setup(sage_sim::SimConfig { get_marks_as_sent: false, ..config() }).await;
    let inv = h.invoice(&h.plus, &c, "SENT-1").await;
    h.get(&h.plus, &format!("/sales_invoices/{inv}")).await;
    let (_, v) = h.get(&h.plus, &format!("/sales_invoices/{inv}")).await;
    assert_eq!(v["sent"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_search_matches_reference_and_contact_name() {
    let (h, c, _) = setup(config()).await;
    h.invoice(&h.plus, &c, "100000123").await;
    h.invoice(&h.plus, &c, "100000124").await;
    let (_, v) = h.get(&h.plus, "/sales_invoices?search=100000123").await;
    assert_eq!(v["$total"], 1);
    let (_, v) = h.get(&h.plus, &format!("/sales_invoices?search=inv%20customer&contact_id={c}")).await;
    assert_eq!(v["$total"], 2);
    let (_, v) = h.get(&h.plus, "/sales_invoices?from_date=2025-03-02").await;
    assert_eq!(v["$total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_revalidates_the_whole_document() {
    let (h, c, _) = setup(config()).await;
    let inv = h.invoice(&h.plus, &c, "PUT-1").await;
    let (s, v, _) = h
        .call(
            Method::PUT,
            &h.plus,
            &format!("/sales_invoices/{inv}"),
            Some(json!({"sales_invoice": {"reference": "PUT-2"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["reference"], "PUT-2");
    assert_eq!(v["invoice_number"], "SI-1");
    let (s, v, _) = h
        .call(
            Method::PUT,
            &h.plus,
            &format!("/sales_invoices/{inv}"),
            Some(json!({"sales_invoice": {"reference": "x".repeat(30)}})),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "reference");
}

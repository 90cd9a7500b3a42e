//! Sage's published shapes: the checker itself, the embedded schema copy, and every resource's answer.

use reqwest::{Method, StatusCode};
use sage_sim::conformance::{ConformanceError, Problem, Side, check_definition, check_request, check_response};
use serde_json::{Value, json};

use crate::support::{Harness, assert_error};

#[test]
fn the_embedded_schema_is_identical_to_the_published_spec_beside_the_checkout() {
    let root = format!("{}/../..", env!("CARGO_MANIFEST_DIR"));
    let copy = std::fs::read(format!("{root}/fixtures/sage/sage-fields.json")).unwrap();
    assert_eq!(copy, sage_sim::conformance::SCHEMA_JSON.as_bytes(), "the crate embeds fixtures/sage/sage-fields.json");
    let published = format!("{root}/../shared/spec/sage-fields.json");
    match std::fs::read(&published) {
        Ok(spec) => assert!(spec == copy, "fixtures/sage/sage-fields.json differs from {published}: copy it again"),
        Err(_) => eprintln!("{published} is not beside this checkout; only the embedded copy was checked"),
    }
}

fn problems(v: &[sage_sim::conformance::Violation]) -> Vec<(String, Problem)> {
    v.iter().map(|x| (x.path.clone(), x.problem.clone())).collect()
}

#[test]
fn requests_are_checked_for_required_fields_types_enums_and_lengths() {
    let body = json!({"contact": {
        "contact_type_ids": ["CUSTOMER"], "reference": "ELEVEN-CHAR", "credit_terms": "net_30",
        "main_address": 5, "credit_days": 400, "credit_limit": "1500.0", "nickname": "x",
        "idempotency_id": "0123456789abcdef0123456789abcdef",
    }});
    let found = problems(&check_request("POST", "/contacts", &body).unwrap());
    let want = [
        ("$.contact.credit_days", Problem::OutOfRange { min: Some(0), max: Some(365) }),
        ("$.contact.main_address", Problem::WrongType { expected: "object" }),
        ("$.contact.nickname", Problem::UnknownField),
        ("$.contact.reference", Problem::TooLong { max: 10, len: 11 }),
        ("$.contact.name", Problem::Missing),
    ];
    for (path, problem) in &want {
        assert!(found.contains(&((*path).to_owned(), problem.clone())), "{path} {problem:?} in {found:?}");
    }
    assert!(
        found.iter().any(|(p, x)| p == "$.contact.credit_terms" && matches!(x, Problem::NotInEnum { .. })),
        "{found:?}"
    );
    assert_eq!(found.len(), want.len() + 1, "idempotency_id and a decimal string pass: {found:?}");

    let lines = json!({"sales_invoice": {"contact_id": "c", "date": "01/03/2025",
        "invoice_lines": [{"description": "x", "ledger_account_id": "l", "unit_price": true}]}});
    let found = problems(&check_request("POST", "/v3.1/sales_invoices?x=1", &lines).unwrap());
    assert_eq!(
        found,
        vec![
            ("$.sales_invoice.date".to_owned(), Problem::BadFormat { format: "date" }),
            ("$.sales_invoice.invoice_lines[0].unit_price".to_owned(), Problem::WrongType { expected: "number" }),
        ]
    );
    assert!(check_request("PUT", "/contacts/abc", &json!({"contact": {"name": "Ada"}})).unwrap().is_empty());
    assert!(matches!(
        check_request("POST", "/no_such_thing", &json!({})),
        Err(ConformanceError::UnknownOperation { .. })
    ));
}

#[test]
fn responses_are_checked_for_unknown_fields_and_types_but_not_required_fields() {
    let contact = json!({"id": "abc", "displayed_as": "Ada", "balance": "12.5",
        "main_address": {"country_id": "GB", "country": {"id": "GB", "displayed_as": "United Kingdom (GB)"}},
        "contact_types": [{"id": "CUSTOMER", "name": "Customer"}], "created_at": "2025-01-01"});
    let found = problems(&check_response("GET", "/contacts/abc", &contact).unwrap());
    assert_eq!(
        found,
        vec![
            ("$.contact_types[0].name".to_owned(), Problem::UnknownField),
            ("$.created_at".to_owned(), Problem::BadFormat { format: "date-time" }),
            ("$.main_address.country_id".to_owned(), Problem::UnknownField),
        ]
    );
    let list = json!({"$total": 1, "$page": 1, "$next": null, "$back": null, "$itemsPerPage": 20,
        "$items": [{"id": "GBP", "displayed_as": "Pound Sterling (GBP)", "$path": "/currencies/GBP", "code": "GBP"}]});
    let found = problems(&check_response("GET", "/currencies", &list).unwrap());
    assert_eq!(found, vec![("$.$items[0].code".to_owned(), Problem::UnknownField)]);
    assert!(check_response("DELETE", "/contacts/abc", &Value::Null).unwrap().is_empty(), "204 has no body");
    let found = check_definition("SalesInvoice", Side::Response, &json!({"total_amount": "abc"})).unwrap();
    assert_eq!(found[0].to_string(), "$.total_amount: is not a number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_where_sage_wants_an_object_or_a_value_outside_an_enum_is_422() {
    let h = Harness::start().await;
    let (s, v) = h
        .post(
            &h.plus,
            "/contacts",
            json!({"contact": {"name": "Five", "contact_type_ids": ["CUSTOMER"], "main_address": 5}}),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "main_address");
    let (s, v) = h
        .post(
            &h.plus,
            "/contacts",
            json!({"contact": {"name": "Terms", "contact_type_ids": ["CUSTOMER"], "credit_terms": "net_30"}}),
        )
        .await;
    assert_error(s, &v, 422, "RecordInvalid", "credit_terms");
    let c = h.customer(&h.plus, "Doc", None).await;
    let mut body = h.invoice_body(&h.plus, &c, "OBJ-1", "1", "10.00", "2.00").await;
    body["sales_invoice"]["main_address"] = json!(5);
    let (s, v) = h.post(&h.plus, "/sales_invoices", body.clone()).await;
    assert_error(s, &v, 422, "RecordInvalid", "main_address");
    body["sales_invoice"]["main_address"] = json!({"address_line_1": "1 Road"});
    body["sales_invoice"]["invoice_lines"][0]["quantity"] = json!({"n": 1});
    let (s, v) = h.post(&h.plus, "/sales_invoices", body).await;
    assert_error(s, &v, 422, "RecordInvalid", "line_items.quantity");
}

/// Creates one record of every resource the sync uses; the harness checks each answer against the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resource_answers_with_objects_where_sage_returns_objects() {
    let h = Harness::start().await;
    let b = h.plus.clone();
    let address = json!({"address_line_1": "1 Road", "city": "Leeds", "postal_code": "LS1 1AA", "country_id": "GB"});
    let (s, contact) = h
        .post(&b, "/contacts", json!({"contact": {"name": "Shape Ltd", "contact_type_ids": ["CUSTOMER"],
            "reference": "SHAPE", "credit_terms": "date_from_invoice", "credit_days": 14, "credit_limit": 1500,
            "main_address": address, "delivery_address": address,
            "main_contact_person": {"name": "Ada", "email": "ada@example.test", "contact_person_type_ids": ["ACCOUNTS"]}}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{contact}");
    assert_eq!(contact["main_address"]["country"]["id"], "GB");
    assert_eq!(contact["main_address"]["address_type"]["id"], "SALES");
    assert_eq!(contact["delivery_address"]["address_type"]["id"], "DELIVERY");
    assert!(contact["main_address"].get("country_id").is_none());
    assert_eq!(contact["main_contact_person"]["contact_person_types"][0]["id"], "ACCOUNTS");
    assert_eq!(contact["credit_limit"], "1500.0");
    let c = contact["id"].as_str().unwrap().to_owned();
    h.get(&b, &format!("/contacts/{c}")).await;

    let mut body = h.invoice_body(&b, &c, "SHAPE-1", "1", "100.00", "20.00").await;
    body["sales_invoice"]["main_address"] = address.clone();
    let (s, inv) = h.post(&b, "/sales_invoices", body).await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["main_address"]["country"]["id"], "GB");
    let inv = inv["id"].as_str().unwrap().to_owned();
    let ledger = h.ledger(&b, 4000).await;
    let (s, note) = h
        .post(&b, "/sales_credit_notes", json!({"sales_credit_note": {"contact_id": c, "date": "2025-03-03",
            "original_invoice_date": "2025-03-01", "credit_note_lines": [{"description": "Back", "ledger_account_id": ledger,
            "quantity": "1", "unit_price": "10.00", "tax_rate_id": "GB_STANDARD", "tax_amount": "2.00"}]}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{note}");
    assert!(note.get("due_date").is_none(), "credit notes have no due date: {note}");
    let note = note["id"].as_str().unwrap().to_owned();
    let bank = h.bank(&b).await;
    let (s, pay) = h
        .post(
            &b,
            "/contact_payments",
            json!({"contact_payment": {"transaction_type_id": "CUSTOMER_RECEIPT",
            "contact_id": c, "bank_account_id": bank, "date": "2025-03-04", "total_amount": "50.00",
            "allocated_artefacts": [{"artefact_id": inv, "amount": "40.00"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{pay}");
    let (s, alloc) = h
        .post(&b, "/contact_allocations", json!({"contact_allocation": {"transaction_type_id": "CUSTOMER_ALLOCATION",
            "contact_id": c, "allocated_artefacts": [{"artefact_id": inv, "amount": "12.00"}, {"artefact_id": note, "amount": "-12.00"}]}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{alloc}");
    assert!(alloc["allocated_artefacts"][0].get("discount").is_none(), "{alloc}");
    let (_, full) = h.get(&b, &format!("/sales_invoices/{inv}?show_payments_allocations=true")).await;
    let pa = full["payments_allocations"].as_array().unwrap();
    assert_eq!(pa.len(), 2);
    assert_eq!(pa[0]["contact_payment"]["id"], pay["id"]);
    assert_eq!(pa[1]["contact_allocation"]["id"], alloc["id"]);
    assert!(pa.iter().all(|x| x.get("id").is_none() && x.get("transaction_type").is_none()), "{full}");

    let purchase = h.ledger(&b, 5000).await;
    let (s, product) = h
        .post(&b, "/products", json!({"product": {"description": "Mug", "item_code": "MUG", "sales_ledger_account_id": ledger,
            "purchase_ledger_account_id": purchase, "sales_tax_rate_id": "GB_STANDARD", "purchase_tax_rate_id": "GB_ZERO",
            "cost_price": "2.5", "sales_prices": [{"price_name": "Selling Price", "price": "9.99", "price_includes_tax": false}]}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{product}");
    assert_eq!(product["sales_tax_rate"]["id"], "GB_STANDARD");
    assert_eq!(product["purchase_tax_rate"]["id"], "GB_ZERO");
    assert!(product.get("sales_tax_rate_id").is_none());
    let (s, service) = h
        .post(
            &b,
            "/services",
            json!({"service": {"description": "Fitting", "sales_ledger_account_id": ledger,
            "sales_tax_rate_id": "GB_LOWER", "sales_rates": [{"rate_name": "Hourly", "rate": "30"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{service}");
    assert_eq!(service["sales_tax_rate"]["id"], "GB_LOWER");
    let (s, item) = h
        .post(
            &b,
            "/stock_items",
            json!({"stock_item": {"item_code": "TEE-1", "description": "Tee", "sales_ledger_account_id": ledger,
            "purchase_ledger_account_id": purchase, "sales_tax_rate_id": "GB_STANDARD", "reorder_level": 5}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{item}");
    assert_eq!(item["sales_tax_rate"]["id"], "GB_STANDARD");
    let (s, mv) = h
        .post(
            &b,
            "/stock_movements",
            json!({"stock_movement": {"stock_item_id": item["id"], "date": "2025-03-05",
            "quantity": "4", "cost_price": "3.0", "details": "Delivery"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mv}");
    let (s, got) = h.get(&b, &format!("/stock_movements/{}", mv["id"].as_str().unwrap())).await;
    assert_eq!((s, &got["id"]), (StatusCode::OK, &mv["id"]), "GET /stock_movements/{{id}}");

    let (s, method) = h.get(&b, "/payment_methods/CREDIT_DEBIT").await;
    assert_eq!(s, StatusCode::OK, "GET /payment_methods/{{id}}");
    assert_eq!(method.as_object().unwrap().len(), 3, "{method}");
    assert_eq!(h.get(&b, "/payment_methods/NOPE").await.0, StatusCode::NOT_FOUND);
    let (_, currencies) = h.get(&b, "/currencies?attributes=all").await;
    assert!(
        currencies["$items"].as_array().unwrap().iter().all(|c| c.get("code").is_none() && c.get("name").is_none())
    );
    let (_, settings) = h.get(&b, "/financial_settings").await;
    assert!(settings.get("simulator_exchange_rate_direction").is_none());
    let (_, settings) = h.get(&b, "/business_settings").await;
    assert!(settings.get("business_created").is_none());
    let (_, state) = h.control(Method::GET, "/state", None).await;
    assert_eq!(state["exchange_rate_direction"], "foreign_per_base", "the simulator's knob lives under /_sim");

    for coll in [
        "contacts",
        "sales_invoices",
        "sales_credit_notes",
        "contact_payments",
        "contact_allocations",
        "products",
        "services",
        "stock_items",
        "stock_movements",
        "tax_rates",
        "currencies",
        "ledger_accounts",
        "bank_accounts",
        "payment_methods",
    ] {
        let (s, _) = h.get(&b, &format!("/{coll}?attributes=all&items_per_page=200")).await;
        assert_eq!(s, StatusCode::OK, "{coll}");
        h.control(Method::GET, &format!("/records?business={b}&type={coll}"), None).await;
    }
    for path in ["/financial_settings", "/invoice_settings", "/business_settings"] {
        assert_eq!(h.get(&b, path).await.0, StatusCode::OK);
    }
    let (s, _, _) = h.call(Method::DELETE, &b, &format!("/sales_credit_notes/{note}?void_reason=gone"), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "allocated credit notes cannot be voided");
}

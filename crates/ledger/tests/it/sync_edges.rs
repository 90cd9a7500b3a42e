//! The sync engine's edge cases end to end: guest orders sharing an e-mail share a contact per currency;
//! zero-value invoices end in states a merchant understands; a receipt pays only what Sage still has
//! outstanding; a customer edited after their one `customer.upserted` reaches Sage with the next invoice.
use std::time::Duration;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::sync::{World, cents, chip};

fn invoice_id(fired: &Value) -> u64 {
    fired["invoice_id"].as_u64().unwrap_or_else(|| panic!("{fired}"))
}

fn find<'a>(records: &'a [Value], id: &Value) -> &'a Value {
    records.iter().find(|r| &r["id"] == id).unwrap_or_else(|| panic!("no record {id} in {records:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_orders_with_one_email_share_one_contact_per_currency() {
    let w = World::start("Plus").await;
    let email = "returning.guest@example.com";
    let uk1 = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "email": email})).await;
    let uk2 = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "email": email})).await;
    let eu = w.fire(json!({"action": "create_invoice", "guest": true, "market": "eu", "email": email})).await;
    let other = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk"})).await;
    w.drain().await;
    w.settled(4).await;
    w.delivered().await;
    let rows = w.chips(4).await;
    let invoices = w.records("sales_invoices").await;
    let contacts = w.records("contacts").await;
    let contact_of = |fired: &Value| {
        let c = chip(&rows, "invoice", invoice_id(fired));
        assert_eq!(c["sync_status"], "synced", "{c}");
        find(&invoices, &c["provider_entity_id"])["contact"]["id"].clone()
    };
    let (a, b, e, o) = (contact_of(&uk1), contact_of(&uk2), contact_of(&eu), contact_of(&other));
    assert_eq!(a, b, "one guest contact for both GBP orders of one e-mail");
    assert_ne!(a, e, "another currency, another contact");
    assert_ne!(a, o, "another e-mail, another contact");
    assert_eq!(find(&contacts, &a)["currency"]["id"], "GBP");
    assert_eq!(find(&contacts, &e)["currency"]["id"], "EUR");
    // Two runs of one guest may create the contact at once: they send one idempotency id, so Sage
    // keeps one record (the POST count may be 4, the contacts are 3).
    assert_eq!(contacts.len(), 3, "no duplicate contacts: {contacts:#?}");
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_value_invoices_are_skipped_or_posted_without_a_receipt() {
    let w = World::start("Plus").await;
    // The default policy skips them, both events with the same reason.
    let skipped = w.fire(json!({"action": "create_invoice", "free": true, "guest": true, "market": "uk"})).await;
    let names: Vec<&str> = skipped["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["invoice.created", "invoice.paid"], "Magento invoices a free order as paid: {skipped}");
    let fixtures = w.fixtures().await;
    let m = find(fixtures["invoices"].as_array().unwrap(), &skipped["invoice_id"]);
    assert_eq!((cents(&m["grand_total"]), m["state"].as_str()), (0, Some("paid")), "{m}");
    w.drain().await;
    w.settled(2).await;
    w.delivered().await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "invoice", invoice_id(&skipped));
    assert_eq!(
        (c["sync_status"].as_str(), c["skip_reason"].as_str()),
        (Some("skipped"), Some("zero_value_invoice")),
        "{c} {:#?}",
        w.events().await
    );
    assert!(w.records("sales_invoices").await.is_empty());

    // With `sync`, the invoice of 0 is posted so the order is on record; Sage shows it paid and there is
    // no receipt, and the payment's run reports the invoice rather than a skip.
    w.set_policy(json!({"zero_value_invoices": "sync"})).await;
    let free = w.fire(json!({"action": "create_invoice", "free": true, "guest": true, "market": "uk"})).await;
    w.drain().await;
    w.settled(4).await;
    w.delivered().await;
    let states = w.states().await;
    assert!(states[2..].iter().all(|s| s.1 == "synced"), "{states:?} {:#?}", w.events().await);
    let rows = w.chips(2).await;
    let c = chip(&rows, "invoice", invoice_id(&free));
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let invoices = w.records("sales_invoices").await;
    assert_eq!(invoices.len(), 1, "{invoices:#?}");
    let sage = find(&invoices, &c["provider_entity_id"]);
    assert_eq!(c["provider_reference"], sage["invoice_number"]);
    assert_eq!(sage["reference"], free["increment_id"]);
    assert_eq!((cents(&sage["total_amount"]), cents(&sage["outstanding_amount"])), (0, 0), "{sage:#}");
    assert_eq!(sage["status"]["id"], "PAID", "nothing to pay: {sage:#}");
    assert!(w.records("contact_payments").await.is_empty(), "no receipt of 0");
    assert_eq!(w.duplicates().await, json!([]));
}

/// Posts a customer receipt to Sage as the bookkeeper would (another client of the same business).
async fn bookkeeper_receipt(w: &World, invoice: &Value, amount: &str, reference: &str) {
    let binding = ledger_store::bindings::sage(&w.app.db.pool, w.tenant).await.unwrap().unwrap();
    let creds = ledger_store::credentials::load(&w.app.db.pool, &w.app.keyring, binding.id).await.unwrap().unwrap();
    let token = creds.tokens.access_token.expose_secret().to_owned();
    let api = |method: Method, path: &str| {
        w.app
            .http
            .request(method, format!("{}/v3.1{path}", w.sage.base_url()))
            .bearer_auth(&token)
            .header("X-Business", &w.business)
    };
    let banks: Value = api(Method::GET, "/bank_accounts").send().await.unwrap().json().await.unwrap();
    let bank = banks["$items"][0]["id"].clone();
    let body = json!({"contact_payment": {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": invoice["contact"]["id"],
        "bank_account_id": bank,
        "date": invoice["date"],
        "total_amount": amount,
        "reference": reference,
        "allocated_artefacts": [{"artefact_id": invoice["id"], "amount": amount}],
    }});
    let resp = api(Method::POST, "/contact_payments").json(&body).send().await.unwrap();
    let status = resp.status();
    assert_eq!(status, 201, "{}", resp.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_pays_only_what_sage_still_has_outstanding() {
    let w = World::start("Plus").await;
    let part = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk"})).await;
    let full = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk"})).await;
    w.drain().await;
    w.settled(2).await;
    w.delivered().await;
    let rows = w.chips(2).await;
    let invoices = w.records("sales_invoices").await;
    let sage_part = find(&invoices, &chip(&rows, "invoice", invoice_id(&part))["provider_entity_id"]).clone();
    let sage_full = find(&invoices, &chip(&rows, "invoice", invoice_id(&full))["provider_entity_id"]).clone();
    // Before the store's payment arrives, the bookkeeper records 10.00 of one and all of the other.
    bookkeeper_receipt(&w, &sage_part, "10.00", "BY HAND 1").await;
    let total = sage_full["total_amount"].as_str().unwrap().to_owned();
    bookkeeper_receipt(&w, &sage_full, &total, "BY HAND 2").await;
    w.fire(json!({"action": "pay_invoice", "invoice_id": invoice_id(&part)})).await;
    w.fire(json!({"action": "pay_invoice", "invoice_id": invoice_id(&full)})).await;
    w.drain().await;
    w.settled(4).await;
    w.delivered().await;
    let rows = w.chips(2).await;

    let c = chip(&rows, "invoice", invoice_id(&part));
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let c = chip(&rows, "invoice", invoice_id(&full));
    assert_eq!(
        (c["sync_status"].as_str(), c["skip_reason"].as_str()),
        (Some("skipped"), Some("invoice_already_paid")),
        "{c} {:#?}",
        w.events().await
    );
    assert_eq!(c["provider_entity_id"], sage_full["id"], "the skip still names the invoice: {c}");

    let payments = w.records("contact_payments").await;
    assert_eq!(payments.len(), 3, "two by hand, one by the ledger: {payments:#?}");
    let ours: Vec<&Value> =
        payments.iter().filter(|p| !p["reference"].as_str().unwrap_or_default().starts_with("BY HAND")).collect();
    assert_eq!(ours.len(), 1, "{payments:#?}");
    assert_eq!(
        cents(&ours[0]["total_amount"]),
        cents(&sage_part["total_amount"]) - 1000,
        "only what was outstanding: {:#}",
        ours[0]
    );
    for inv in w.records("sales_invoices").await {
        let allocated: i64 = payments
            .iter()
            .flat_map(|p| p["allocated_artefacts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["artefact"]["id"] == inv["id"])
            .map(|a| cents(&a["amount"]))
            .sum();
        assert_eq!(allocated, cents(&inv["total_amount"]), "allocations never exceed the total: {inv:#}");
        assert_eq!(inv["status"]["id"], "PAID", "{inv:#}");
    }
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledgers_own_receipt_whose_answer_was_lost_is_not_taken_for_a_bookkeepers() {
    let w = World::start_with("Plus", crate::sync_waits::quick()).await;
    let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk"})).await;
    w.drain().await;
    w.settled(1).await;
    w.delivered().await;
    // Sage commits the receipt but its answer is lost: the retry finds nothing outstanding, and only
    // the amount planned before the call (sent again under the same idempotency id) recovers it.
    let faults = json!({"business": w.business, "rate_500_after_commit": 1.0});
    w.sage_control(Method::PUT, "/faults", Some(faults)).await;
    w.fire(json!({"action": "pay_invoice", "invoice_id": invoice_id(&inv)})).await;
    w.drain().await;
    test_support::eventually("a failed first attempt", Duration::from_secs(60), || async {
        let states = w.states().await;
        (states.len() == 2 && states[1].3 >= 1 && states[1].1 == "pending").then_some(())
    })
    .await;
    w.sage_control(Method::PUT, "/faults", Some(json!({}))).await;
    w.settled(2).await;
    w.delivered().await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "invoice", invoice_id(&inv));
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let receipts = w.records("contact_payments").await;
    assert_eq!(receipts.len(), 1, "{receipts:#?}");
    let invoices = w.records("sales_invoices").await;
    assert_eq!(cents(&receipts[0]["total_amount"]), cents(&invoices[0]["total_amount"]));
    assert_eq!(invoices[0]["status"]["id"], "PAID");
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_edited_after_their_one_upsert_reaches_sage_with_the_next_invoice() {
    let w = World::start("Plus").await;
    let id = w.uk_consumer().await;
    let first = w.fire(json!({"action": "create_invoice", "customer_id": id})).await;
    w.drain().await;
    w.settled(1).await;
    w.delivered().await;
    assert_eq!(chip(&w.chips(1).await, "invoice", invoice_id(&first))["sync_status"], "synced");

    // The first edit's upsert reaches the ledger; the second is dropped by the module's outbox.
    let edit = json!({"action": "save_customer", "customer_id": id, "street": "1 First Edit Road"});
    let saved = w.fire(edit).await;
    assert_eq!(saved["events"][0]["enqueued"], true, "{saved}");
    w.drain().await;
    w.settled(2).await;
    w.delivered().await;
    let edit =
        json!({"action": "save_customer", "customer_id": id, "street": "2 Second Edit Road", "lastname": "Newname"});
    let again = w.fire(edit).await;
    assert_eq!(
        (again["events"][0]["enqueued"].as_bool(), again["events"][0]["dropped_because"].as_str()),
        (Some(false), Some("duplicate_key")),
        "{again}"
    );
    let contact = &w.records("contacts").await[0];
    assert_eq!(contact["main_address"]["address_line_1"], "1 First Edit Road", "{contact:#}");
    let puts = w.calls_to("PUT", "/v3.1/contacts").await;
    assert_eq!(puts, 1, "the upsert's update");

    let second = w.fire(json!({"action": "create_invoice", "customer_id": id})).await;
    w.drain().await;
    w.settled(3).await;
    w.delivered().await;
    let rows = w.chips(3).await;
    assert_eq!(chip(&rows, "invoice", invoice_id(&second))["sync_status"], "synced", "{:#?}", w.events().await);
    let contacts = w.records("contacts").await;
    assert_eq!(contacts.len(), 1, "{contacts:#?}");
    assert_eq!(contacts[0]["main_address"]["address_line_1"], "2 Second Edit Road", "{:#}", contacts[0]);
    assert!(contacts[0]["name"].as_str().unwrap().ends_with("Newname"), "{:#}", contacts[0]);
    assert_eq!(w.calls_to("PUT", "/v3.1/contacts").await, 2, "one PUT for the edit the module did not send");

    // An unchanged customer costs nothing more: one call per invoice.
    let before: u64 = w.calls().await.iter().map(|c| c["count"].as_u64().unwrap_or(0)).sum();
    let third = w.fire(json!({"action": "create_invoice", "customer_id": id})).await;
    w.drain().await;
    w.settled(4).await;
    w.delivered().await;
    assert_eq!(chip(&w.chips(4).await, "invoice", invoice_id(&third))["sync_status"], "synced");
    let after: u64 = w.calls().await.iter().map(|c| c["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(w.calls_to("PUT", "/v3.1/contacts").await, 2, "no PUT for an unchanged customer");
    assert_eq!(after - before, 1, "one Sage call for the third invoice: {:#?}", w.calls().await);
    assert_eq!(w.duplicates().await, json!([]));
}

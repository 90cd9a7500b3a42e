//! Payments, refunds and filters end to end: an unmapped payment method is skipped; a memo after
//! payment is a credit note and a customer refund; Start skips refunds; order-level refunds follow the
//! policy; `sync_since` skips older work.
use serde_json::{Value, json};

use crate::sync::{World, cents, chip};

/// The outcome of the tenant's events named `event`, as (state, skip reason or error code) text.
async fn outcomes(w: &World, event: &str) -> Vec<String> {
    w.events().await.into_iter().filter(|e| e.starts_with(event)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_by_an_unmapped_method_is_skipped() {
    let w = World::start("Plus").await;
    w.set_policy(json!({"payment_method_map": {}})).await;
    // Several invoices, each created and then paid: every payment's outcome must be the last word on
    // its invoice's chip, which needs `invoice.paid` to run after `invoice.created` (the worker may
    // fetch both at once).
    let mut ids = Vec::new();
    for _ in 0..6 {
        let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
        let id = inv["invoice_id"].as_u64().unwrap();
        w.fire(json!({"action": "pay_invoice", "invoice_id": id})).await;
        ids.push(id);
    }
    w.drain().await;
    w.settled(12).await;
    w.delivered().await;
    let rows = w.chips(6).await;
    for id in ids {
        let c = chip(&rows, "invoice", id);
        assert_eq!(
            (c["sync_status"].as_str(), c["skip_reason"].as_str()),
            (Some("skipped"), Some("payment_method_not_mapped")),
            "{c} {:#?}",
            w.events().await
        );
        let invoices = w.records("sales_invoices").await;
        let sage = invoices
            .iter()
            .find(|i| i["id"] == c["provider_entity_id"])
            .unwrap_or_else(|| panic!("the skipped payment's chip still names the Sage invoice: {c}"));
        assert_eq!(c["provider_reference"], sage["invoice_number"], "{c}");
    }
    assert_eq!(w.records("sales_invoices").await.len(), 6, "the invoices themselves synced");
    assert!(w.records("contact_payments").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memo_after_payment_is_a_credit_note_and_a_customer_refund() {
    let w = World::start("Plus").await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true, "market": "uk", "guest": true})).await;
    let id = inv["invoice_id"].as_u64().unwrap();
    let memo = w.fire(json!({"action": "refund", "invoice_id": id})).await;
    w.drain().await;
    w.settled(3).await;
    let rows = w.chips(2).await;
    let memo_id = memo["creditmemo_id"].as_u64().unwrap_or_else(|| panic!("{memo}"));
    let c = chip(&rows, "creditmemo", memo_id);
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let notes = w.records("sales_credit_notes").await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let invoice = &w.records("sales_invoices").await[0];
    assert_eq!(notes[0]["contact"]["id"], invoice["contact"]["id"], "the invoice's contact");
    let fixtures = w.fixtures().await;
    let m = fixtures["credit_memos"].as_array().unwrap().iter().find(|m| m["id"] == memo_id).unwrap().clone();
    assert_eq!(cents(&notes[0]["total_amount"]), cents(&m["grand_total"]), "{m} {:#}", notes[0]);
    let payments = w.records("contact_payments").await;
    let refunds: Vec<&Value> = payments.iter().filter(|p| p["transaction_type"]["id"] == "CUSTOMER_REFUND").collect();
    assert_eq!(refunds.len(), 1, "{payments:#?}");
    assert_eq!(cents(&refunds[0]["total_amount"]), cents(&m["grand_total"]), "{:#}", refunds[0]);
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_skips_refunds_and_order_refunds_follow_the_policy() {
    let start = World::start("Start").await;
    let inv = start.fire(json!({"action": "create_invoice", "paid": true, "market": "uk", "guest": true})).await;
    start.fire(json!({"action": "refund", "invoice_id": inv["invoice_id"]})).await;
    start.drain().await;
    start.settled(3).await;
    let memos = outcomes(&start, "creditmemo.created").await;
    assert!(memos[0].contains("skipped"), "{memos:?}");
    let rows = start.chips(2).await;
    let c = rows.iter().find(|r| r["entity_type"] == "creditmemo").unwrap();
    assert_eq!(c["skip_reason"], "tier_without_refunds", "{c}");
    assert!(start.records("sales_credit_notes").await.is_empty());

    let w = World::start("Plus").await;
    w.set_policy(json!({"order_refunds": "skip"})).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true, "market": "uk", "guest": true})).await;
    let order = w.order_of(&inv).await;
    let memo = w.fire(json!({"action": "refund", "order_id": order})).await;
    w.drain().await;
    w.settled(3).await;
    let rows = w.chips(2).await;
    let memo_id = memo["creditmemo_id"].as_u64().unwrap_or_else(|| panic!("{memo}"));
    let c = chip(&rows, "creditmemo", memo_id);
    assert_eq!(
        (c["sync_status"].as_str(), c["skip_reason"].as_str()),
        (Some("skipped"), Some("order_refund_not_synced"))
    );

    w.set_policy(json!({"order_refunds": "sync"})).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true, "market": "uk", "guest": true})).await;
    let order = w.order_of(&inv).await;
    let memo = w.fire(json!({"action": "refund", "order_id": order})).await;
    w.drain().await;
    w.settled(6).await;
    let rows = w.chips(4).await;
    let memo_id = memo["creditmemo_id"].as_u64().unwrap_or_else(|| panic!("{memo}"));
    let c = chip(&rows, "creditmemo", memo_id);
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    assert_eq!(w.records("sales_credit_notes").await.len(), 1);
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_before_sync_since_is_skipped() {
    let w = World::start("Plus").await;
    w.set_policy(json!({"sync_since": "2099-01-01T00:00:00Z"})).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
    assert_eq!((c["sync_status"].as_str(), c["skip_reason"].as_str()), (Some("skipped"), Some("outside_sync_since")));
    assert!(w.records("sales_invoices").await.is_empty());
    assert_eq!(w.calls_to("POST", "/v3.1/contacts").await, 0, "skipped before any write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_arriving_before_its_invoice_creates_the_invoice_first_and_one_receipt() {
    use reqwest::Method;
    use secrecy::ExposeSecret;

    let w = World::start("Plus").await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true, "market": "uk", "guest": true})).await;
    let id = inv["invoice_id"].as_u64().unwrap();
    // The module's outbox holds invoice.created then invoice.paid; the paid one reaches the ledger first
    // (as if the created POST had timed out), byte for byte as the module would send it.
    let outbox = crate::magento::control(
        &w.app.http,
        Method::GET,
        format!("{}/_sim/outbox?status=pending", w.store.base_url()),
        None,
    )
    .await;
    let paid = outbox.as_array().unwrap().iter().find(|r| r["event_name"] == "invoice.paid").unwrap().clone();
    let secret = ledger_store::tenants::secret(&w.app.db.pool, &w.app.keyring, w.tenant).await.unwrap().unwrap();
    let tenant = test_support::TestTenant {
        id: w.tenant,
        api_key: ledger_magento::ApiKey::from_secret(secrecy::SecretString::from(secret.api_key.expose_secret())),
    };
    let resp = w
        .app
        .post_event(
            &tenant,
            "invoice.paid",
            paid["idempotency_key"].as_str().unwrap(),
            paid["payload"].as_str().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), 202);
    w.settled(1).await;
    let states = w.states().await;
    assert_eq!(states[0].1, "synced", "{:#?}", w.events().await);
    let invoices = w.records("sales_invoices").await;
    assert_eq!(invoices.len(), 1, "the payment created its invoice first: {invoices:#?}");
    assert_eq!(invoices[0]["status"]["id"], "PAID", "{:#}", invoices[0]);
    // Then the module's drain delivers both (the paid one again): nothing more is made.
    crate::magento::drain(&w.app, &w.store).await;
    w.settled(2).await;
    w.delivered().await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "invoice", id);
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    assert_eq!(c["provider_entity_id"], invoices[0]["id"]);
    assert_eq!(w.records("sales_invoices").await.len(), 1);
    let receipts = w.records("contact_payments").await;
    assert_eq!(receipts.len(), 1, "one receipt: {receipts:#?}");
    assert_eq!(cents(&receipts[0]["total_amount"]), cents(&invoices[0]["total_amount"]));
    assert_eq!(w.duplicates().await, json!([]));
}

//! Tax routing end to end: UK consumers by rate, EU businesses and exports zero-rated, destination VAT
//! of EU consumers on its own no-tax line (or a clear failure without the account for it), and every
//! Sage invoice totalling what the store charged, discounts and shipping tax included.
use serde_json::{Value, json};

use crate::sync::{World, cents, chip};

/// The fixture row of invoice `id`.
fn fixture(fixtures: &Value, id: u64) -> Value {
    fixtures["invoices"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned().unwrap()
}

/// The Sage invoice the chip of Magento invoice `id` names.
fn sage_invoice<'a>(invoices: &'a [Value], rows: &[Value], id: u64) -> &'a Value {
    let c = chip(rows, "invoice", id);
    assert_eq!(c["sync_status"], "synced", "{c}");
    invoices.iter().find(|i| i["id"] == c["provider_entity_id"]).expect("the chip names a Sage invoice")
}

fn lines(inv: &Value) -> Vec<Value> {
    inv["invoice_lines"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uk_rates_eu_businesses_and_exports_are_routed_and_totals_match_the_store() {
    let w = World::start("Plus").await;
    let fixtures = w.fixtures().await;
    let b2b = fixtures["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| !c["vat_number"].is_null() && ["DE", "FR", "IE", "NL"].contains(&c["country"].as_str().unwrap_or("")))
        .expect("the seeded store has an EU business")["id"]
        .as_u64()
        .unwrap();
    let mut uk = Vec::new();
    for _ in 0..8 {
        let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": false})).await;
        uk.push(inv["invoice_id"].as_u64().unwrap());
    }
    let business = w.fire(json!({"action": "create_invoice", "customer_id": b2b, "paid": false})).await;
    let export = w.fire(json!({"action": "create_invoice", "guest": true, "market": "world", "paid": false})).await;
    w.drain().await;
    let rows = w.chips(10).await;
    let invoices = w.records("sales_invoices").await;
    let fixtures = w.fixtures().await;

    let (mut discounted, mut shipped, mut rates) = (0, 0, std::collections::BTreeSet::new());
    for &id in &uk {
        let m = fixture(&fixtures, id);
        let s = sage_invoice(&invoices, &rows, id);
        assert_eq!(cents(&s["total_amount"]), cents(&m["grand_total"]), "Sage total = Magento grand total: {m} {s:#}");
        discounted += usize::from(cents(&m["discount_amount"]) > 0);
        shipped += usize::from(cents(&m["shipping_tax_amount"]) > 0);
        for l in lines(s) {
            let (net, tax) = (cents(&l["net_amount"]), cents(&l["tax_amount"]));
            let rate = l["tax_rate"]["id"].as_str().unwrap().to_owned();
            let expected = match (tax * 100).checked_div(net) {
                _ if tax == 0 => "GB_ZERO",
                Some(19..=21) => "GB_STANDARD",
                Some(4..=6) => "GB_LOWER",
                other => panic!("a UK line taxed at {other:?} %: {l:#}"),
            };
            assert_eq!(rate, expected, "{l:#}");
            rates.insert(rate);
        }
    }
    assert!(discounted > 0 && shipped > 0, "the batch covers discounts ({discounted}) and taxed shipping ({shipped})");
    assert!(rates.contains("GB_STANDARD") && rates.len() >= 2, "more than one UK rate covered: {rates:?}");

    for inv in [&business, &export] {
        let id = inv["invoice_id"].as_u64().unwrap();
        let (m, s) = (fixture(&fixtures, id), sage_invoice(&invoices, &rows, id));
        assert_eq!(cents(&s["total_amount"]), cents(&m["grand_total"]), "{m} {s:#}");
        for l in lines(s) {
            assert_eq!(l["tax_rate"]["id"], "GB_ZERO", "EU business and export lines are zero-rated: {l:#}");
        }
        if cents(&s["shipping_net_amount"]) > 0 {
            assert_eq!(s["shipping_tax_rate"]["id"], "GB_ZERO", "{s:#}");
        }
    }
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_vat_goes_on_its_own_line_or_fails_naming_the_rate_and_syncs_when_requeued_after_the_fix() {
    let w = World::start("Plus").await;
    let policy = w.policy().await;
    let account = policy["destination_vat_ledger_account_id"].as_str().expect("the demo policy has one").to_owned();
    let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "eu", "paid": false})).await;
    w.drain().await;
    let rows = w.chips(1).await;
    let id = inv["invoice_id"].as_u64().unwrap();
    let invoices = w.records("sales_invoices").await;
    let (m, s) = (fixture(&w.fixtures().await, id), sage_invoice(&invoices, &rows, id));
    assert!(cents(&m["tax_amount"]) > 0, "the store charged destination VAT: {m}");
    assert_eq!(cents(&s["total_amount"]), cents(&m["grand_total"]), "nothing dropped: {m} {s:#}");
    let extra: Vec<Value> = lines(s).into_iter().filter(|l| l["ledger_account"]["id"] == account.as_str()).collect();
    assert_eq!(extra.len(), 1, "one destination VAT line: {s:#}");
    assert_eq!(extra[0]["tax_rate"]["id"], "GB_NO_TAX", "{:#}", extra[0]);
    assert_eq!(cents(&extra[0]["tax_amount"]), 0);

    w.set_policy(json!({"destination_vat_ledger_account_id": null})).await;
    let inv = w.fire(json!({"action": "create_invoice", "guest": true, "market": "eu", "paid": false})).await;
    w.drain().await;
    let rows = w.chips(2).await;
    let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
    // The wire's error_code is a class (magento-protocol.md 6); the event keeps the precise code.
    assert_eq!((c["sync_status"].as_str(), c["error_code"].as_str()), (Some("failed"), Some("validation")), "{c}");
    let events = w.events().await;
    let failed = events.iter().find(|e| e.contains("failed")).unwrap();
    assert!(failed.contains("tax_rate_not_mapped"), "{failed}");
    assert!(failed.contains('%'), "the message names the rate: {failed}");
    assert_eq!(w.records("sales_invoices").await.len(), 1, "nothing posted for the failed one");

    // The merchant fixes the policy and the operator requeues the failure: a new run, linked to it,
    // syncs from the store's current data and the chip flips.
    w.set_policy(json!({"destination_vat_ledger_account_id": account})).await;
    let failed_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM events WHERE tenant_id = $1 AND state = 'failed'")
        .bind(w.tenant)
        .fetch_one(&w.app.db.pool)
        .await
        .unwrap();
    let resp = w
        .app
        .http
        .post(format!("{}/api/v1/events/{failed_id}/requeue", w.app.base_url))
        .bearer_auth(test_support::OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::ACCEPTED);
    let rerun: uuid::Uuid = resp.json::<Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap();
    test_support::eventually("the requeued run syncs", std::time::Duration::from_secs(60), || async {
        let row: (String, Option<uuid::Uuid>) = sqlx::query_as("SELECT state, rerun_of FROM events WHERE id = $1")
            .bind(rerun)
            .fetch_one(&w.app.db.pool)
            .await
            .unwrap();
        (row.0 == "synced").then_some(row)
    })
    .await;
    let rerun_of: Option<uuid::Uuid> = sqlx::query_scalar("SELECT rerun_of FROM events WHERE id = $1")
        .bind(rerun)
        .fetch_one(&w.app.db.pool)
        .await
        .unwrap();
    assert_eq!(rerun_of, Some(failed_id));
    w.delivered().await;
    let rows = w.chips(2).await;
    let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c}");
    let invoices = w.records("sales_invoices").await;
    assert_eq!(invoices.len(), 2, "{invoices:#?}");
    assert_eq!(c["provider_entity_id"], sage_invoice(&invoices, &rows, inv["invoice_id"].as_u64().unwrap())["id"]);
}

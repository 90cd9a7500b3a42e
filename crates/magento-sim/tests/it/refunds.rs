//! Refunds stay within what an invoice can refund (as Magento's credit memo validation), via the API
//! and the scenario driver; `/_sim/fixtures` carries the totals a test checks a sync against.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::*;

async fn entities(c: &reqwest::Client, base: &str, body: Value) -> (u16, Value) {
    post(c, &format!("{base}/_sim/entities"), &body).await
}

async fn paid_invoice(c: &reqwest::Client, base: &str) -> u64 {
    let (s, v) = entities(c, base, json!({"action": "create_invoice", "paid": true})).await;
    assert_eq!(s, 200, "{v}");
    v["invoice_id"].as_u64().expect("invoice_id")
}

/// Credit memo grand totals per invoice, and whether any product was refunded twice on one invoice.
fn refunds_by_invoice(fx: &Value) -> BTreeMap<u64, Decimal> {
    let mut out = BTreeMap::new();
    for m in fx["credit_memos"].as_array().expect("credit_memos") {
        if let Some(i) = m["invoice_id"].as_u64() {
            *out.entry(i).or_default() += dec(&m["grand_total"]);
        }
    }
    out
}

fn assert_within_invoices(fx: &Value) {
    let totals: BTreeMap<u64, Decimal> = fx["invoices"]
        .as_array()
        .expect("invoices")
        .iter()
        .map(|i| (i["id"].as_u64().expect("id"), dec(&i["grand_total"])))
        .collect();
    for (invoice, refunded) in refunds_by_invoice(fx) {
        assert!(refunded <= totals[&invoice], "invoice {invoice}: refunded {refunded} of {}", totals[&invoice]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_invoice_refunded_until_nothing_is_left_is_then_refused() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let invoice = paid_invoice(&c, &base).await;
    let mut refunds = 0;
    let refusal = loop {
        let (s, v) = entities(&c, &base, json!({"action": "refund", "invoice_id": invoice})).await;
        if s != 200 {
            break (s, v);
        }
        refunds += 1;
        assert!(refunds <= 5, "an invoice of at most four lines is refunded after at most four credit memos");
    };
    assert_eq!(refusal, (400, json!({"error": "We can't create creditmemo for the invoice."})));
    assert!(refunds >= 1);
    let fx = sim_get(&c, &format!("{base}/_sim/fixtures")).await;
    assert_within_invoices(&fx);
    let inv = fx["invoices"].as_array().unwrap().iter().find(|i| i["id"] == invoice).unwrap().clone();
    assert_eq!(dec(&inv["refundable"]), dec(&inv["grand_total"]) - refunds_by_invoice(&fx)[&invoice]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_above_the_refundable_amount_or_of_an_unpaid_invoice_is_refused() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let invoice = paid_invoice(&c, &base).await;
    let fx = sim_get(&c, &format!("{base}/_sim/fixtures")).await;
    let total = dec(&fx["invoices"].as_array().unwrap().iter().find(|i| i["id"] == invoice).unwrap()["grand_total"]);
    let (s, v) = entities(
        &c,
        &base,
        json!({"action": "refund", "invoice_id": invoice, "adjustment_positive": (total + Decimal::ONE).to_string()}),
    )
    .await;
    assert_eq!((s, v), (400, json!({"error": format!("The most money available to refund is {total:.2}.")})));
    let (s, v) = entities(&c, &base, json!({"action": "create_invoice", "paid": false})).await;
    assert_eq!(s, 200);
    let (s, v) = entities(&c, &base, json!({"action": "refund", "invoice_id": v["invoice_id"]})).await;
    assert_eq!(
        (s, v),
        (400, json!({"error": "We can't create creditmemo for the invoice."})),
        "open invoices are not refundable"
    );
    assert_eq!(
        sim_get(&c, &format!("{base}/_sim/state")).await["counts"]["credit_memos"],
        fx["credit_memos"].as_array().unwrap().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_driver_never_refunds_beyond_an_invoice() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    let (s, _) = post(&c, &format!("{base}/_sim/scenario"), &json!({"rate": 400, "duration_s": 1.5, "seed": 7})).await;
    assert_eq!(s, 200);
    let progress = eventually("the scenario to finish", || async {
        let p = sim_get(&c, &format!("{base}/_sim/scenario")).await;
        (p["running"] == false).then_some(p)
    })
    .await;
    assert!(progress["actions"]["refund"].as_u64().unwrap_or(0) >= 20, "{progress}");
    assert_eq!(progress["errors"], 0, "every refund the driver picks is possible: {progress}");
    assert_within_invoices(&sim_get(&c, &format!("{base}/_sim/fixtures")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_carry_the_totals_of_invoices_and_credit_memos() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, "http://127.0.0.1:9").await;
    let fx = sim_get(&c, &format!("{base}/_sim/fixtures")).await;
    let rest = format!("{base}/rest/V1/byte8");
    for f in fx["invoices"].as_array().expect("invoices") {
        let (s, inv, _) = get(&c, &format!("{rest}/invoice/{}", f["id"]), &token()).await;
        assert_eq!(s, 200);
        for key in [
            "increment_id",
            "order_id",
            "order_increment_id",
            "currency",
            "subtotal",
            "tax_amount",
            "shipping_amount",
            "shipping_tax_amount",
            "discount_amount",
            "grand_total",
        ] {
            assert_eq!(f[key], inv[key], "invoice {} {key}", f["id"]);
        }
    }
    let memos = fx["credit_memos"].as_array().expect("credit_memos");
    assert!(memos.iter().any(|m| m["invoice_id"].is_u64()) && memos.iter().any(|m| m["invoice_id"].is_null()));
    for f in memos {
        let (s, cm, _) = get(&c, &format!("{rest}/creditmemo/{}", f["id"]), &token()).await;
        assert_eq!(s, 200);
        for key in [
            "increment_id",
            "invoice_increment_id",
            "currency",
            "shipping_amount",
            "shipping_tax_amount",
            "adjustment_positive",
            "adjustment_negative",
            "grand_total",
        ] {
            assert_eq!(f[key], cm.get(key).cloned().unwrap_or(Value::Null), "credit memo {} {key}", f["id"]);
        }
        let lines = cm["lines"].as_array().expect("lines");
        let subtotal: Decimal = lines.iter().map(|l| dec(&l["line_subtotal"])).sum();
        let tax: Decimal = lines.iter().map(|l| dec(&l["line_tax"])).sum();
        assert_eq!((dec(&f["subtotal"]), dec(&f["tax_amount"])), (subtotal, tax), "credit memo {}", f["id"]);
        assert!(dec(&f["grand_total"]) > Decimal::ZERO, "credit memo {} refunds something", f["id"]);
    }
}

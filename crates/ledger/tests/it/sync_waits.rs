//! The sync engine when things are not ready or go wrong: work parks without a Sage connection and
//! resumes by itself after connect; a lost refresh token parks it until a reconnect; a lapsed
//! subscription parks it; a 429 pauses the business and parks its work until the pause ends; tiers skip
//! what they cannot hold; an answer lost after Sage committed a create does not duplicate it.
use std::time::Duration;

use chrono::Timelike;
use ledger_domain::RetryPolicy;
use reqwest::Method;
use serde_json::json;
use test_support::{TestAppOptions, eventually};

use crate::sync::{World, chip};

/// Retries quick enough for a test: a transient failure is tried again within a second.
pub fn quick() -> TestAppOptions {
    TestAppOptions {
        retry: RetryPolicy { base: Duration::from_millis(300), cap: Duration::from_secs(2), ..RetryPolicy::events() },
        ..TestAppOptions::default()
    }
}

async fn wait_for_state(w: &World, what: &str, check: impl Fn(&[(String, String, Option<String>, i32)]) -> bool) {
    eventually(what, Duration::from_secs(60), || async {
        let states = w.states().await;
        check(&states).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_waits_for_a_sage_connection_and_runs_when_it_is_made() {
    let mut w = World::unconnected(quick()).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    wait_for_state(&w, "parked for want of a connection", |s| {
        s.len() == 1 && s[0].1 == "pending" && s[0].2.as_deref() == Some("sage_not_connected")
    })
    .await;
    let states = w.states().await;
    assert_eq!(states[0].3, 0, "parking spends no attempt: {states:?}");

    w.connect("Plus").await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c}");
    assert_eq!(w.records("sales_invoices").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_parks_work_until_the_merchant_reconnects() {
    let mut w = World::unconnected(quick()).await;
    w.connect("Plus").await;
    w.sage_control(Method::POST, "/auth", Some(json!({"action": "stale_refresh"}))).await;
    w.sage_control(Method::POST, "/auth", Some(json!({"action": "expire_tokens"}))).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    wait_for_state(&w, "parked until a reconnect", |s| {
        s.len() == 1 && s[0].1 == "pending" && s[0].2.as_deref() == Some("reconnect_required")
    })
    .await;
    let binding = ledger_store::bindings::sage(&w.app.db.pool, w.tenant).await.unwrap().unwrap();
    assert_eq!(binding.status.as_str(), "reconnect_required");
    assert_eq!(w.states().await[0].3, 0, "no attempt spent");

    w.connect("Plus").await;
    let rows = w.chips(1).await;
    assert_eq!(chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap())["sync_status"], "synced");
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE state = 'dead_lettered'")
        .fetch_one(&w.app.db.pool)
        .await
        .unwrap();
    assert_eq!(dead, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_subscription_parks_work_without_spending_attempts() {
    let mut w = World::unconnected(quick()).await;
    w.connect("Plus").await;
    let business = w.business.clone();
    w.sage_control(Method::POST, "/auth", Some(json!({"action": "mse", "business": business}))).await;
    w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    wait_for_state(&w, "parked as suspended", |s| {
        s.len() == 1 && s[0].1 == "pending" && s[0].2.as_deref() == Some("suspended")
    })
    .await;
    assert_eq!(w.states().await[0].3, 0);
    assert!(w.records("sales_invoices").await.is_empty());
    let binding = ledger_store::bindings::sage(&w.app.db.pool, w.tenant).await.unwrap().unwrap();
    assert_eq!(binding.status.as_str(), "suspended", "the binding shows the lapsed subscription");

    // The merchant renews and reconnects: the parked invoice runs by itself.
    w.sage_control(Method::POST, "/auth", Some(json!({"action": "clear", "business": business}))).await;
    w.connect("Plus").await;
    let rows = w.chips(1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["sync_status"], "synced", "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_the_business_and_its_work_runs_by_itself_after_the_pause() {
    let w = World::start_with("Plus", quick()).await;
    let business = w.business.clone();
    w.sage_control(Method::PUT, "/faults", Some(json!({"business": business, "rate_429": 1.0, "retry_after_s": 4})))
        .await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    wait_for_state(&w, "parked as rate_limited", |s| {
        s.len() == 1 && s[0].1 == "pending" && s[0].2.as_deref() == Some("rate_limited")
    })
    .await;
    assert_eq!(w.states().await[0].3, 0, "a 429 spends no attempt");
    let until = ledger_store::sage_budget::paused_until(&w.app.db.pool, &business).await.unwrap();
    assert!(until.is_some(), "the business is paused in the database, for every process");
    // Sage is fine again, but the pause holds until Retry-After; then the parked work runs by itself.
    w.sage_control(Method::PUT, "/faults", Some(json!({}))).await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let calls = w.sage_control(Method::GET, "/calls", None).await;
    let refused: u64 =
        calls.as_array().unwrap().iter().filter(|c| c["status"] == 429).map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(refused, 1, "one 429, and no retry hammering: {calls}");
    let invoices = w.records("sales_invoices").await;
    let created: chrono::DateTime<chrono::Utc> = invoices[0]["created_at"].as_str().unwrap().parse().unwrap();
    // sage-sim stamps whole seconds.
    let until = until.unwrap().with_nanosecond(0).unwrap();
    assert!(created >= until, "the invoice was written after the pause ({created} < {until})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiers_skip_what_their_subscription_cannot_hold() {
    let w = World::start("Start").await;
    let product = w.fire(json!({"action": "save_product", "product_type": "simple"})).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true})).await;
    w.drain().await;
    let refund = w.fire(json!({"action": "refund", "invoice_id": inv["invoice_id"]})).await;
    w.drain().await;
    let rows = w.chips(3).await;
    let c = chip(&rows, "product", product["product_id"].as_u64().unwrap());
    assert_eq!(
        (c["sync_status"].as_str(), c["skip_reason"].as_str()),
        (Some("skipped"), Some("tier_without_products"))
    );
    let c = chip(&rows, "creditmemo", refund["creditmemo_id"].as_u64().unwrap());
    assert_eq!((c["sync_status"].as_str(), c["skip_reason"].as_str()), (Some("skipped"), Some("tier_without_refunds")));
    let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_becomes_a_credit_note_settled_against_its_invoice() {
    let w = World::start("Plus").await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true})).await;
    w.drain().await;
    w.chips(1).await;
    let refund = w.fire(json!({"action": "refund", "invoice_id": inv["invoice_id"]})).await;
    w.drain().await;
    let rows = w.chips(2).await;
    let c = chip(&rows, "creditmemo", refund["creditmemo_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c}");
    let notes = w.records("sales_credit_notes").await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["id"], c["provider_entity_id"]);
    let invoice = &w.records("sales_invoices").await[0];
    assert_eq!(notes[0]["contact"]["id"], invoice["contact"]["id"], "the original invoice's contact");
    // The invoice was paid, so the credit is paid back: one receipt and one refund.
    let payments = w.records("contact_payments").await;
    let kinds: Vec<&str> = payments.iter().filter_map(|p| p["transaction_type"]["id"].as_str()).collect();
    assert!(kinds.contains(&"CUSTOMER_REFUND"), "{payments:#?}");
    assert_eq!(notes[0]["outstanding_amount"].as_str().map(|s| s.parse::<f64>().unwrap()), Some(0.0), "{notes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_waits_for_its_invoices_unfinished_events_before_settling() {
    let w = World::start_with("Plus", quick()).await;
    let business = w.business.clone();
    // Every Sage call takes 1.5 s: the paid invoice's run (contact, invoice, receipt) stays unfinished
    // for seconds, and the refund arrives meanwhile.
    w.sage_control(Method::PUT, "/faults", Some(json!({"business": business, "latency_ms": [1500, 1500]}))).await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": true})).await;
    w.drain().await;
    wait_for_state(&w, "the invoice running", |s| s.iter().any(|e| e.0 == "invoice.created" && e.1 == "running")).await;
    let refund = w.fire(json!({"action": "refund", "invoice_id": inv["invoice_id"]})).await;
    w.drain().await;
    wait_for_state(&w, "the refund parked behind its invoice", |s| {
        s.iter().any(|e| e.0 == "creditmemo.created" && e.2.as_deref() == Some("awaiting_prior"))
    })
    .await;
    assert!(w.records("sales_credit_notes").await.is_empty(), "nothing settled while the invoice is unfinished");
    w.sage_control(Method::PUT, "/faults", Some(json!({}))).await;

    let rows = w.chips(2).await;
    let c = chip(&rows, "creditmemo", refund["creditmemo_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    assert_eq!(chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap())["sync_status"], "synced");
    let states = w.states().await;
    assert!(states.iter().all(|e| e.1 == "synced" && e.3 == 1), "each event ran once, parks spent nothing: {states:?}");
    // The receipt went in first, so the credit is paid back: one receipt, one refund, nothing left open.
    let payments = w.records("contact_payments").await;
    let mut kinds: Vec<&str> = payments.iter().filter_map(|p| p["transaction_type"]["id"].as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["CUSTOMER_RECEIPT", "CUSTOMER_REFUND"], "{payments:#?}");
    let zero = |v: &serde_json::Value| v["outstanding_amount"].as_str().map(|s| s.parse::<f64>().unwrap());
    assert_eq!(zero(&w.records("sales_invoices").await[0]), Some(0.0));
    assert_eq!(zero(&w.records("sales_credit_notes").await[0]), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_lost_after_sage_committed_does_not_duplicate_the_invoice() {
    let w = World::start_with("Plus", quick()).await;
    let business = w.business.clone();
    w.sage_control(
        Method::PUT,
        "/faults",
        Some(json!({"business": business, "rate_hang_after_commit": 1.0, "hold_ms": 300})),
    )
    .await;
    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await;
    wait_for_state(&w, "a failed first attempt", |s| s.len() == 1 && s[0].3 >= 1 && s[0].1 == "pending").await;
    w.sage_control(Method::PUT, "/faults", Some(json!({}))).await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c}");
    assert_eq!(w.records("sales_invoices").await.len(), 1, "the retry got the committed invoice back");
    assert_eq!(w.sage_control(Method::GET, "/duplicates", None).await, json!([]));
}

/// `ledger tenant pause|resume` against the test app's database.
fn tenant_cli(w: &World, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("tenant")
        .args(args)
        .arg("--json")
        .env_remove("DATABASE_URL")
        .env("LEDGER_DATABASE__URL", &w.app.db.url)
        .env("LEDGER_CRYPTO__KEYS__K1", secrecy::ExposeSecret::expose_secret(&ledger_store::Keyring::generate_key()))
        .env("LEDGER_LOG__LEVEL", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "tenant {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_tenant_keeps_accepting_events_and_syncs_them_when_resumed() {
    let w = World::start_with("Plus", quick()).await;
    let tenant = w.tenant.to_string();
    let paused = tenant_cli(&w, &["pause", &tenant, "--reason", "month-end close"]);
    assert_eq!(paused["paused_reason"], "month-end close");

    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    w.drain().await; // accepted (202) while paused
    wait_for_state(&w, "parked while paused", |s| {
        s.len() == 1 && s[0].1 == "pending" && s[0].2.as_deref() == Some("tenant_paused")
    })
    .await;
    assert_eq!(w.states().await[0].3, 0, "no attempt spent");
    assert!(w.records("sales_invoices").await.is_empty(), "nothing reached Sage while paused");

    let resumed = tenant_cli(&w, &["resume", &tenant]);
    assert_eq!(resumed["woken"], 1);
    let rows = w.chips(1).await;
    assert_eq!(chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap())["sync_status"], "synced");
    assert_eq!(w.records("sales_invoices").await.len(), 1);
}

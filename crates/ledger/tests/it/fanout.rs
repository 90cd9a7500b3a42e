//! Fan-out (magento-protocol.md §8): a store with two provider modules sends each event once, and the
//! ledger runs it for every active binding of the tenant, reporting to each provider's chip. The second
//! provider here is a stand-in registered through the engine's `AccountingProvider` seam; Sage is the
//! real engine against sage-sim.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger_domain::processing::BoxFuture;
use ledger_domain::{ClaimedEvent, ErrorClass, EventName, ParkReason, RunFailure, RunOutcome, RunResult};
use ledger_store::bindings::Binding;
use ledger_store::tenants::Tenant;
use ledger_sync::engine::AccountingProvider;
use serde_json::{Value, json};
use test_support::{TestAppOptions, eventually};

use crate::sync::World;
use crate::sync_waits::quick;

/// A second provider: "writes" invoices by naming them, and fails the first `fail_first` runs with a
/// transient error.
#[derive(Default)]
struct Stand {
    fail_first: Mutex<usize>,
    runs: Mutex<Vec<(EventName, u64)>>,
}

impl AccountingProvider for Stand {
    fn key(&self) -> &'static str {
        "xero"
    }

    fn sync<'a>(&'a self, event: &'a ClaimedEvent, _: &'a Tenant, _: &'a Binding) -> BoxFuture<'a, RunResult> {
        Box::pin(async move {
            let id = event.envelope.magento_entity_id;
            self.runs.lock().unwrap().push((event.name, id));
            let mut fail = self.fail_first.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(RunFailure::new(ErrorClass::Transient, "the stand-in provider is briefly down"));
            }
            Ok(match event.name {
                EventName::InvoiceCreated => RunOutcome::synced(format!("XERO-{id}"), Some(format!("INV-{id}"))),
                _ => RunOutcome::skipped("not_supported_by_stand_in"),
            })
        })
    }
}

async fn bind_stand_in(w: &World, status: &str) {
    sqlx::query(
        "INSERT INTO bindings (id, tenant_id, provider, status, connected_at) VALUES (gen_random_uuid(), $1, 'xero', $2, now())
         ON CONFLICT (tenant_id, provider) DO UPDATE SET status = excluded.status",
    )
    .bind(w.tenant)
    .bind(status)
    .execute(&w.app.db.pool)
    .await
    .unwrap();
}

fn provider_chip<'a>(rows: &'a [Value], provider: &str, entity_type: &str, id: u64) -> &'a Value {
    rows.iter()
        .find(|r| r["provider"] == provider && r["entity_type"] == entity_type && r["magento_id"] == id)
        .unwrap_or_else(|| panic!("no {provider} {entity_type} {id} chip in {rows:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_reaches_every_bound_provider_and_each_chip_says_what_its_provider_made() {
    let stand = Arc::new(Stand { fail_first: Mutex::new(1), ..Stand::default() });
    let w = World::start_with("Plus", TestAppOptions { providers: vec![stand.clone()], ..quick() }).await;
    bind_stand_in(&w, "active").await;

    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    let id = inv["invoice_id"].as_u64().unwrap();
    w.drain().await;
    w.settled(1).await;
    w.delivered().await;
    let states = w.states().await;
    // The stand-in failed the first attempt: the event retried, and Sage's invoice was made once.
    assert_eq!((states[0].1.as_str(), states[0].3), ("synced", 2), "{:#?}", w.events().await);
    assert_eq!(stand.runs.lock().unwrap().len(), 2);
    let invoices = w.records("sales_invoices").await;
    assert_eq!(invoices.len(), 1, "the retry made no second Sage invoice: {invoices:#?}");
    assert_eq!(w.duplicates().await, json!([]));

    let rows = w.chips(2).await;
    let sage = provider_chip(&rows, "sage_accounting", "invoice", id);
    assert_eq!(sage["sync_status"], "synced", "{rows:#?}");
    assert_eq!(sage["provider_entity_id"], invoices[0]["id"]);
    assert_eq!(sage["provider_reference"], invoices[0]["invoice_number"]);
    let other = provider_chip(&rows, "xero", "invoice", id);
    assert_eq!(
        (other["sync_status"].as_str(), other["provider_entity_id"].as_str(), other["provider_reference"].as_str()),
        (Some("synced"), Some(format!("XERO-{id}").as_str()), Some(format!("INV-{id}").as_str())),
        "{rows:#?}"
    );
    // The event's row names Sage's record.
    let sage_id: Option<String> = sqlx::query_scalar("SELECT sage_id FROM events WHERE tenant_id = $1")
        .bind(w.tenant)
        .fetch_one(&w.app.db.pool)
        .await
        .unwrap();
    assert_eq!(sage_id.as_deref(), invoices[0]["id"].as_str());
    // Sage's chip was reported by the failed first attempt already, and again (unchanged) by the second.
    let reported: Vec<(String, i64)> = sqlx::query_as(
        "SELECT provider, count(*) FROM callbacks WHERE tenant_id = $1 GROUP BY provider ORDER BY provider",
    )
    .bind(w.tenant)
    .fetch_all(&w.app.db.pool)
    .await
    .unwrap();
    assert_eq!(reported, [("sage_accounting".to_owned(), 2), ("xero".to_owned(), 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_waiting_for_a_reconnect_parks_the_event_without_holding_back_the_others_chip() {
    let stand = Arc::new(Stand::default());
    let w = World::start_with("Plus", TestAppOptions { providers: vec![stand.clone()], ..quick() }).await;
    bind_stand_in(&w, "reconnect_required").await;

    let inv = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    let id = inv["invoice_id"].as_u64().unwrap();
    w.drain().await;
    eventually("parked for the other provider's reconnect", Duration::from_secs(60), || async {
        let s = w.states().await;
        (s.len() == 1 && s[0].1 == "pending" && s[0].2.as_deref() == Some("reconnect_required")).then_some(())
    })
    .await;
    w.delivered().await;
    // Sage synced and said so; the parked provider was not called and has no chip yet.
    let rows = w.chips(1).await;
    assert_eq!(provider_chip(&rows, "sage_accounting", "invoice", id)["sync_status"], "synced", "{rows:#?}");
    assert!(rows.iter().all(|r| r["provider"] != "xero"), "{rows:#?}");
    assert!(stand.runs.lock().unwrap().is_empty());

    // The other provider reconnects: the event runs by itself, Sage's part a no-op.
    bind_stand_in(&w, "active").await;
    ledger_store::runs::wake_parked(&w.app.db.pool, w.tenant, &[ParkReason::ReconnectRequired]).await.unwrap();
    w.settled(1).await;
    w.delivered().await;
    assert_eq!(w.states().await[0].1, "synced", "{:#?}", w.events().await);
    let rows = w.chips(2).await;
    assert_eq!(provider_chip(&rows, "xero", "invoice", id)["sync_status"], "synced", "{rows:#?}");
    assert_eq!(w.records("sales_invoices").await.len(), 1);
    assert_eq!(w.calls_to("POST", "/v3.1/sales_invoices").await, 1, "the second run found Sage's invoice by its xref");
}

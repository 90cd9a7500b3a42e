//! No run outlives its lease: runs stop at their deadline, panics and expiring leases count attempts up
//! to the cap, runs of one entity never overlap (enforced by the database), and a trigger fetched by a
//! worker that died before claiming is re-pushed within seconds. Leases are moved in SQL, never slept out.
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger_domain::{ErrorClass, EventState, RetryPolicy, RunFailure, RunOutcome};
use ledger_store::runs::{self, Outcome};
use ledger_worker::WorkerConfig;
use ledger_worker::handler::{HandlerContext, run_one};
use test_support::{Scripted, TestApp, TestTenant, envelope};
use uuid::Uuid;

use crate::worker::STALE;

/// Three attempts, retried after a millisecond: the cap is reached without waiting.
fn short_policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 3, base: Duration::from_millis(1), cap: Duration::from_millis(1), jitter: 0.0 }
}

fn handler(app: &TestApp, processor: Scripted, lease: Duration) -> HandlerContext {
    let config = WorkerConfig { lease, retry: short_policy(), ..WorkerConfig::new("test-handler") };
    config.handler_context(app.db.pool.clone(), Arc::new(processor))
}

async fn post(app: &TestApp, t: &TestTenant, event: &str, entity: u64) -> Uuid {
    let resp = app.post_event(t, event, &format!("{event}:{entity}"), &envelope(entity)).await;
    assert_eq!(resp.status(), 202);
    resp.json::<serde_json::Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap()
}

async fn exec(app: &TestApp, sql: &'static str, id: Uuid) {
    sqlx::query(sql).bind(id).execute(&app.db.pool).await.unwrap();
}

async fn row(app: &TestApp, t: &TestTenant, id: Uuid) -> ledger_store::events::EventRow {
    ledger_store::events::get(&app.db.pool, t.id, id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_its_deadline_is_stopped_before_the_lease_ends_and_retried() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = post(&app, &t, "invoice.created", 1).await;
    let lease = Duration::from_secs(1);
    let ctx = handler(&app, Scripted::default().hanging("invoice.created"), lease);
    let started = Instant::now();
    let outcome = run_one(&ctx, id).await.unwrap().expect("the run is recorded under its own lease");
    assert!(started.elapsed() < lease, "stopped at the deadline, inside the lease: {:?}", started.elapsed());
    assert!(
        matches!(&outcome, Outcome::Retry { failure, .. } if failure.class == ErrorClass::Transient),
        "{outcome:?}"
    );
    let r = row(&app, &t, id).await;
    assert_eq!((r.state, r.last_error_class), (EventState::Pending, Some(ErrorClass::Transient)));
    assert!(r.last_error.unwrap_or_default().contains("deadline"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_that_panics_is_retried_then_dead_lettered_at_the_cap() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = post(&app, &t, "product.upserted", 7).await;
    let ctx = handler(&app, Scripted::default().panicking("product.upserted"), Duration::from_secs(30));
    for attempt in 1..=3 {
        exec(&app, "UPDATE events SET next_attempt_at = now() WHERE id = $1", id).await;
        let outcome = run_one(&ctx, id).await.unwrap().expect("a panic is recorded, not lost");
        let want = if attempt < 3 { EventState::Pending } else { EventState::DeadLettered };
        assert_eq!(outcome.state(), want, "attempt {attempt}");
    }
    let r = row(&app, &t, id).await;
    assert_eq!((r.state, r.attempt, r.last_error_class), (EventState::DeadLettered, 3, Some(ErrorClass::Internal)));
    assert!(r.last_error.unwrap_or_default().contains("panicked"));
    let callback: (String, Option<String>) =
        sqlx::query_as("SELECT sync_status, error_code FROM callbacks").fetch_one(&app.db.pool).await.unwrap();
    assert_eq!(callback, ("failed".into(), Some("internal".into())), "the store's chip shows the failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_keeps_expiring_counts_attempts_and_dead_letters_at_the_cap() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = post(&app, &t, "customer.upserted", 3).await;
    // Three workers claim the event and die with it: each claim is an attempt. (The trigger is dated
    // back with the lease, as if the runs had taken their minutes.)
    for worker in ["w1", "w2", "w3"] {
        assert!(runs::claim(&app.db.pool, id, worker, Duration::from_secs(60)).await.unwrap().is_some());
        let expire = "UPDATE events SET lease_expires_at = now() - interval '1 second',
                                        task_pushed_at = now() - interval '1 minute' WHERE id = $1";
        exec(&app, expire, id).await;
    }
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 1, "the expired lease gets a trigger");
    let processor = Arc::new(Scripted::default());
    let config = WorkerConfig { retry: short_policy(), ..WorkerConfig::new("w4") };
    let ctx: HandlerContext = config.handler_context(app.db.pool.clone(), processor.clone());
    let outcome = run_one(&ctx, id).await.unwrap().expect("recorded");
    assert_eq!(outcome.state(), EventState::DeadLettered);
    assert_eq!(processor.runs(), 0, "a claim past the cap does not run the event again");
    let r = row(&app, &t, id).await;
    assert_eq!((r.state, r.attempt), (EventState::DeadLettered, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_one_entity_never_overlap_and_the_waiting_one_is_triggered_when_the_first_ends() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let created = post(&app, &t, "invoice.created", 5).await;
    let paid = post(&app, &t, "invoice.paid", 5).await;
    let other = post(&app, &t, "customer.upserted", 5).await;
    let first = runs::claim(&app.db.pool, created, "w1", Duration::from_secs(60)).await.unwrap().expect("claimed");
    assert!(
        runs::claim(&app.db.pool, paid, "w2", Duration::from_secs(60)).await.unwrap().is_none(),
        "invoice.paid waits while invoice.created of the same invoice runs"
    );
    assert!(
        runs::claim(&app.db.pool, other, "w2", Duration::from_secs(60)).await.unwrap().is_some(),
        "another entity type with the same Magento id is not held up"
    );
    let forced =
        sqlx::query("UPDATE events SET state = 'running' WHERE id = $1").bind(paid).execute(&app.db.pool).await;
    let constraint = forced.unwrap_err().into_database_error().and_then(|d| d.constraint().map(str::to_owned));
    assert_eq!(constraint.as_deref(), Some("events_one_running_per_entity"), "the database enforces it");
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 0, "nothing to re-push while it runs");

    // The waiting run's trigger was spent on the refused claim; the first run's finish pushes a new one.
    sqlx::query("UPDATE apalis.jobs SET status = 'Done', done_at = now()").execute(&app.db.pool).await.unwrap();
    let done = Outcome::Done(RunOutcome::received("test"));
    assert!(runs::finish(&app.db.pool, created, first.lease_token, &done).await.unwrap());
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs j JOIN events e ON e.task_id = j.id WHERE e.id = $1 AND j.status = 'Pending'",
    )
    .bind(paid)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(live, 1, "the waiting sibling has a fresh trigger at once, not after the reconciler");
    assert!(runs::claim(&app.db.pool, paid, "w2", Duration::from_secs(60)).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_fetched_by_a_worker_that_died_before_claiming_is_repushed() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = post(&app, &t, "invoice.created", 9).await;
    // A worker fetched the trigger (apalis marks it Running under the worker's name) and beat recently.
    sqlx::raw_sql(
        "INSERT INTO apalis.workers (id, worker_type, storage_name) VALUES ('w-gone', 'ledger.events', 'PgStorage');
         INSERT INTO worker_heartbeats (worker_id, last_seen) VALUES ('w-gone', now());
         UPDATE apalis.jobs SET status = 'Running', lock_by = 'w-gone', lock_at = now();",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 0, "a beating worker still holds it");
    // It dies: its heartbeat goes stale long before apalis's own orphan timeout.
    sqlx::query("UPDATE worker_heartbeats SET last_seen = now() - interval '20 seconds' WHERE worker_id = 'w-gone'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 1, "the event gets a new trigger");
    let r = row(&app, &t, id).await;
    assert_eq!(r.state, EventState::Pending);
    assert_eq!(app.task_count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_subscription_parks_the_event_without_spending_attempts() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = post(&app, &t, "invoice.created", 4).await;
    let lapsed = RunFailure::new(ErrorClass::Subscription, "subscription expired (MSE)").with_http_status(401);
    let ctx = handler(&app, Scripted::default().failing("invoice.created", lapsed), Duration::from_secs(30));
    for _ in 0..5 {
        exec(&app, "UPDATE events SET next_attempt_at = now() WHERE id = $1", id).await;
        let outcome = run_one(&ctx, id).await.unwrap().expect("recorded");
        assert!(matches!(outcome, Outcome::Park { .. }), "{outcome:?}");
    }
    let r = row(&app, &t, id).await;
    assert_eq!(r.state, EventState::Pending, "five runs past a three-attempt cap and still waiting");
    assert_eq!((r.attempt, r.last_error_class, r.last_http_status), (0, Some(ErrorClass::Subscription), Some(401)));
    assert_eq!(app.count("callbacks").await, 0, "nothing is reported while parked");
}

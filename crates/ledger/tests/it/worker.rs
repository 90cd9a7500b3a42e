//! The worker pool: events run to `received`, lost triggers are re-pushed, stale workers cannot ack, and
//! retries keep what the provider said.
use std::time::Duration;

use ledger_domain::{ErrorClass, EventState, RunFailure, RunOutcome};
use ledger_store::runs::{self, Outcome};
use test_support::{TestApp, TestAppOptions, envelope, eventually};

/// How old a heartbeat may be before a fetched trigger counts as abandoned, in these tests.
pub const STALE: Duration = Duration::from_secs(15);

async fn state_of(app: &TestApp, key: &str) -> (String, i32) {
    sqlx::query_as("SELECT state, attempt FROM events WHERE idempotency_key = $1")
        .bind(key)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_events_are_run_to_received() {
    let app = TestApp::spawn_with(TestAppOptions { worker: true, ..Default::default() }).await;
    let t = app.create_tenant("shop").await;
    for i in 1..=5u64 {
        assert_eq!(
            app.post_event(&t, "invoice.created", &format!("invoice.created:{i}"), &envelope(i)).await.status(),
            202
        );
    }
    eventually("all five received", Duration::from_secs(60), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE state = 'received'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (n == 5).then_some(())
    })
    .await;
    let (state, attempt) = state_of(&app, "invoice.created:1").await;
    assert_eq!((state.as_str(), attempt), ("received", 1));
    let attempts: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT a.worker, a.outcome FROM event_attempts a JOIN events e ON e.id = a.event_id WHERE e.idempotency_key = 'invoice.created:1'")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(attempts.len(), 1, "one audited attempt");
    assert_eq!(attempts[0].1.as_deref(), Some("received"));
    let ready = app.http.get(format!("{}/health/ready", app.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), 200, "the worker heartbeat counts towards readiness");
    let unknown_holders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs j
          WHERE j.lock_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM worker_heartbeats h WHERE h.worker_id = j.lock_by)",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(unknown_holders, 0, "apalis locks triggers under the name the worker beats with");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_repushes_a_lost_trigger() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    assert_eq!(app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await.status(), 202);
    sqlx::query("DELETE FROM apalis.jobs").execute(&app.db.pool).await.unwrap();
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 1);
    assert_eq!(app.task_count().await, 1);
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 0, "a live task is not pushed twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_worker_cannot_record_an_outcome() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let resp = app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await;
    let id: uuid::Uuid =
        resp.json::<serde_json::Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap();
    let first = runs::claim(&app.db.pool, id, "w1", Duration::from_secs(60)).await.unwrap().expect("first claim");
    assert!(runs::claim(&app.db.pool, id, "w2", Duration::from_secs(60)).await.unwrap().is_none(), "w1 holds it");
    sqlx::query("UPDATE events SET lease_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert!(
        runs::claim(&app.db.pool, id, "w2", Duration::from_secs(60)).await.unwrap().is_some(),
        "w1's lease ran out"
    );
    let done = Outcome::Done(RunOutcome::received("test"));
    assert!(
        !runs::finish(&app.db.pool, id, first.lease_token, &done).await.unwrap(),
        "the fenced-off worker is refused"
    );
    let second_token = first.lease_token + 1;
    assert!(runs::finish(&app.db.pool, id, second_token, &done).await.unwrap());
    let (state, attempt) = state_of(&app, "invoice.created:1").await;
    assert_eq!((state.as_str(), attempt), ("received", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_scheduled_with_its_own_trigger_and_dead_letters_at_the_end() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let resp = app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await;
    let id: uuid::Uuid =
        resp.json::<serde_json::Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap();
    let claim = runs::claim(&app.db.pool, id, "w1", Duration::from_secs(60)).await.unwrap().unwrap();
    let failure = RunFailure::new(ErrorClass::Transient, "sage 503").with_http_status(503);
    let retry = Outcome::Retry { failure, delay: Duration::from_secs(30) };
    assert!(runs::finish(&app.db.pool, id, claim.lease_token, &retry).await.unwrap());
    let (state, due_in, status): (String, f64, Option<i32>) = sqlx::query_as(
        "SELECT state, extract(epoch FROM next_attempt_at - now())::float8, last_http_status FROM events WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(state, "pending");
    assert_eq!(status, Some(503), "the provider's status is kept on the row");
    assert!((25.0..=31.0).contains(&due_in), "due in about 30 s, got {due_in}");
    assert_eq!(app.task_count().await, 2, "the retry has its own delayed trigger");
    assert!(runs::claim(&app.db.pool, id, "w1", Duration::from_secs(60)).await.unwrap().is_none(), "not due yet");
    sqlx::query("UPDATE events SET next_attempt_at = now() WHERE id = $1")
        .bind(id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let claim = runs::claim(&app.db.pool, id, "w1", Duration::from_secs(60)).await.unwrap().unwrap();
    let dead =
        Outcome::Fail { state: EventState::DeadLettered, failure: RunFailure::new(ErrorClass::Transient, "gave up") };
    assert!(runs::finish(&app.db.pool, id, claim.lease_token, &dead).await.unwrap());
    let audit = runs::attempts(&app.db.pool, t.id, id).await.unwrap();
    let outcomes: Vec<_> = audit.iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, [Some(EventState::Pending), Some(EventState::DeadLettered)]);
    assert_eq!(audit[0].error_class, Some(ErrorClass::Transient));
    assert_eq!(audit[0].http_status, Some(503));
    assert_eq!(audit[0].provider_detail, Some(serde_json::json!({"http_status": 503})));
    let row = ledger_store::events::get(&app.db.pool, t.id, id).await.unwrap().unwrap();
    assert_eq!((row.state, row.last_error_class), (EventState::DeadLettered, Some(ErrorClass::Transient)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_drops_expired_jtis_and_old_finished_triggers_only() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    for i in 1..=2u64 {
        assert_eq!(
            app.post_event(&t, "invoice.created", &format!("invoice.created:{i}"), &envelope(i)).await.status(),
            202
        );
    }
    sqlx::query("UPDATE jwt_replay SET expires_at = now() - interval '2 minutes' WHERE jti IN (SELECT jti FROM jwt_replay LIMIT 1)")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(ledger_store::db::purge_expired_jti(&app.db.pool, chrono::Utc::now()).await.unwrap(), 1);
    assert_eq!(app.count("jwt_replay").await, 1, "live jtis stay");
    sqlx::query("UPDATE apalis.jobs SET status = 'Done', done_at = now() - interval '2 hours' WHERE id IN (SELECT id FROM apalis.jobs LIMIT 1)")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(ledger_store::db::purge_finished_tasks(&app.db.pool).await.unwrap(), 1);
    assert_eq!(app.task_count().await, 1, "pending triggers stay");
    assert_eq!(app.count("events").await, 2, "event rows are the record and stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_delayed_trigger_gets_a_fresh_one() {
    // apalis wakes its workers when a trigger is inserted, not when a delayed one comes due: in a quiet
    // queue a retry would wait for apalis's own slow poll, so the reconciler replaces overdue triggers.
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    assert_eq!(app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await.status(), 202);
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 0, "a fresh trigger is alive");
    sqlx::query("UPDATE apalis.jobs SET run_at = now() - interval '1 second'").execute(&app.db.pool).await.unwrap();
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 0, "due a moment ago: still alive");
    sqlx::query("UPDATE apalis.jobs SET run_at = now() - interval '10 seconds'").execute(&app.db.pool).await.unwrap();
    sqlx::query("UPDATE events SET next_attempt_at = now() - interval '10 seconds', task_pushed_at = now() - interval '10 seconds'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 1, "overdue: replaced");
    assert_eq!(app.task_count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_waiting_behind_runs_in_flight_is_not_replaced() {
    // While runs are in flight the workers keep fetching: a trigger queued behind a backlog is waiting
    // its turn, and replacing it (500 rows locked per pass) slowed every claim in `bench sync`.
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    for i in 1..=2u64 {
        let key = format!("invoice.created:{i}");
        assert_eq!(app.post_event(&t, "invoice.created", &key, &envelope(i)).await.status(), 202);
    }
    sqlx::query("UPDATE apalis.jobs SET run_at = now() - interval '10 seconds'").execute(&app.db.pool).await.unwrap();
    sqlx::query("UPDATE events SET next_attempt_at = now() - interval '10 seconds', task_pushed_at = now() - interval '10 seconds'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let first: uuid::Uuid = sqlx::query_scalar("SELECT id FROM events WHERE idempotency_key = 'invoice.created:1'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let claim = runs::claim(&app.db.pool, first, "busy-worker", Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 0, "a run is in flight: the trigger waits");
    let done = Outcome::Done(RunOutcome::Received { detail: "done".into() });
    assert!(runs::finish(&app.db.pool, first, claim.lease_token, &done).await.unwrap());
    assert_eq!(runs::reconcile(&app.db.pool, 100, STALE).await.unwrap(), 1, "the queue went idle: replaced");
}

async fn waiting_for_share(app: &TestApp, id: uuid::Uuid) -> (bool, Option<String>) {
    sqlx::query_as("SELECT waiting_for_share, task_id FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_holds_at_most_its_share_of_runs_and_each_finish_hands_a_place_on() {
    let app = TestApp::spawn().await;
    let (noisy, quiet) = (app.create_tenant("noisy").await, app.create_tenant("quiet").await);
    let mut ids = Vec::new();
    for i in 1..=4u64 {
        let resp = app.post_event(&noisy, "invoice.created", &format!("invoice.created:{i}"), &envelope(i)).await;
        ids.push(resp.json::<serde_json::Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap());
    }
    let resp = app.post_event(&quiet, "invoice.created", "invoice.created:1", &envelope(1)).await;
    let quiet_id: uuid::Uuid =
        resp.json::<serde_json::Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap();
    let (share, lease) = (2, Duration::from_secs(60));
    let claim = |id| runs::claim_within_share(&app.db.pool, id, "w", lease, share);

    let first = claim(ids[0]).await.unwrap().expect("within the share");
    let second = claim(ids[1]).await.unwrap().expect("within the share");
    assert!(claim(ids[2]).await.unwrap().is_none(), "a third run of the tenant is declined");
    assert!(claim(ids[3]).await.unwrap().is_none());
    assert!(waiting_for_share(&app, ids[2]).await.0 && waiting_for_share(&app, ids[3]).await.0);
    assert!(claim(quiet_id).await.unwrap().is_some(), "another tenant is not held up");
    assert!(!waiting_for_share(&app, quiet_id).await.0);
    assert_eq!(
        runs::reconcile_within_share(&app.db.pool, 100, STALE, share).await.unwrap(),
        0,
        "no place is free: the waiting runs are not re-pushed"
    );

    // A finish hands its place to the oldest waiting run, with a fresh trigger.
    let before = waiting_for_share(&app, ids[2]).await.1;
    let done = Outcome::Done(RunOutcome::Received { detail: "done".into() });
    assert!(runs::finish(&app.db.pool, ids[0], first.lease_token, &done).await.unwrap());
    let (waiting, task) = waiting_for_share(&app, ids[2]).await;
    assert!(!waiting && task != before, "the oldest waiting run got a trigger");
    assert!(waiting_for_share(&app, ids[3]).await.0, "only one place was freed");
    let third = claim(ids[2]).await.unwrap().expect("its place");

    // Places nobody handed on (a run that died, say) are filled by the reconciler, no more than free.
    sqlx::query("UPDATE events SET state = 'failed', lease_expires_at = NULL, finished_at = now() WHERE id = ANY($1)")
        .bind([ids[1], ids[2]])
        .execute(&app.db.pool)
        .await
        .unwrap();
    let _ = (second, third);
    assert_eq!(runs::reconcile_within_share(&app.db.pool, 100, STALE, share).await.unwrap(), 1);
    assert!(!waiting_for_share(&app, ids[3]).await.0);
    assert!(claim(ids[3]).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_one_tenants_events_runs_through_its_share_without_the_reconciler() {
    // No reconciler within the test: every run must get its place from a claim or a finish, none may be
    // left waiting with nobody to wake it.
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        tenant_share: 2,
        reconcile_interval: Duration::from_secs(3600),
        ..TestAppOptions::default()
    })
    .await;
    let tenant = app.create_tenant("bursty").await;
    let n = 60u64;
    let posts = (1..=n).map(|i| {
        let (app, tenant) = (&app, &tenant);
        async move { app.post_event(tenant, "invoice.created", &format!("invoice.created:{i}"), &envelope(i)).await }
    });
    for resp in futures::future::join_all(posts).await {
        assert_eq!(resp.status(), reqwest::StatusCode::ACCEPTED);
    }
    eventually("every run of the burst finishes", Duration::from_secs(60), || async {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE tenant_id = $1 AND state = 'received'")
            .bind(tenant.id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (done == n as i64).then_some(())
    })
    .await;
}

//! Operator actions on event runs over HTTP: requeue (a new run linked by `rerun_of` that takes over
//! the idempotency key and runs), discard (with a reason, never a running run, no callback), and the
//! states each refuses.
use std::sync::Arc;
use std::time::Duration;

use ledger_domain::{ErrorClass, RetryPolicy, RunFailure, RunOutcome};
use ledger_store::runs::{self, Outcome};
use serde_json::Value;
use test_support::{Scripted, TestApp, TestAppOptions, envelope, eventually};
use uuid::Uuid;

use crate::operator_events::{dead_letter, get, ingest, park, post, run_to};

async fn state(app: &TestApp, id: Uuid) -> String {
    get(app, &format!("/api/v1/events/{id}")).await.1["state"].as_str().unwrap().to_owned()
}

async fn callbacks_of(app: &TestApp, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM callbacks WHERE event_id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requeued_dead_letter_runs_again_as_a_linked_run() {
    let first_fails = Scripted::default().in_turn(
        "invoice.created",
        vec![
            Err(RunFailure::new(ErrorClass::Transient, "Sage answered 503")),
            Ok(RunOutcome::synced("sage-inv-{entity}", Some("SI-1".into()))),
        ],
    );
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        processor: Arc::new(first_fails),
        retry: RetryPolicy { max_attempts: 1, ..RetryPolicy::events() },
        ..Default::default()
    })
    .await;
    let t = app.create_tenant("shop").await;
    let old = ingest(&app, &t, "invoice.created", 7).await;
    eventually("the first run is dead-lettered", Duration::from_secs(60), || async {
        (state(&app, old).await == "dead_lettered").then_some(())
    })
    .await;

    let (status, body) = post(&app, &format!("/api/v1/events/{old}/requeue"), None).await;
    assert_eq!(status, 202, "{body}");
    let new: Uuid = body["sync_run_id"].as_str().unwrap().parse().unwrap();
    assert_ne!(new, old);
    eventually("the new run is synced", Duration::from_secs(60), || async {
        (state(&app, new).await == "synced").then_some(())
    })
    .await;
    let (_, d) = get(&app, &format!("/api/v1/events/{new}")).await;
    assert_eq!(d["rerun_of"], old.to_string());
    assert_eq!((d["sage_id"].as_str(), d["sage_reference"].as_str()), (Some("sage-inv-7"), Some("SI-1")));
    assert_eq!((d["attempt"].as_i64(), d["increment_id"].as_str()), (Some(1), Some("000000007")));
    let (_, o) = get(&app, &format!("/api/v1/events/{old}")).await;
    assert_eq!(o["payload"], d["payload"], "the same envelope");
    assert_eq!(o["state"], "dead_lettered", "the old run keeps its history");

    // The store delivering the event again finds the new run: the idempotency key moved to it.
    let again = app.post_event(&t, "invoice.created", "invoice.created:7", &envelope(7)).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["sync_run_id"], new.to_string());

    let (status, body) = post(&app, &format!("/api/v1/events/{old}/requeue"), None).await;
    assert_eq!((status, body["type"].as_str()), (409, Some("/problems/superseded")));
    assert!(body["detail"].as_str().unwrap().contains(&new.to_string()), "names the newer run: {body}");
    let (status, body) = post(&app, &format!("/api/v1/events/{new}/requeue"), None).await;
    assert_eq!((status, body["type"].as_str()), (409, Some("/problems/not_requeueable")));
    assert!(body["detail"].as_str().unwrap().contains("synced"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_runs_are_neither_requeued_nor_discarded() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = ingest(&app, &t, "invoice.created", 1).await;
    runs::claim(&app.db.pool, id, "w1", Duration::from_secs(60)).await.unwrap().expect("claimed");
    let (status, body) = post(&app, &format!("/api/v1/events/{id}/requeue"), None).await;
    assert_eq!((status, body["type"].as_str()), (409, Some("/problems/not_requeueable")));
    assert!(body["detail"].as_str().unwrap().contains("running"), "{body}");
    let (status, body) = post(&app, &format!("/api/v1/events/{id}/discard"), Some(r#"{"reason":"stuck"}"#)).await;
    assert_eq!((status, body["type"].as_str()), (409, Some("/problems/not_discardable")));
    assert!(body["detail"].as_str().unwrap().contains("running"), "{body}");
    let pending = ingest(&app, &t, "invoice.created", 2).await;
    let (status, _) = post(&app, &format!("/api/v1/events/{pending}/requeue"), None).await;
    assert_eq!(status, 409, "a pending run is not requeued either");
    assert_eq!(state(&app, id).await, "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_sets_a_run_aside_with_a_reason_and_no_callback() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let pending = ingest(&app, &t, "invoice.created", 1).await;
    let path = format!("/api/v1/events/{pending}/discard");

    let long = format!(r#"{{"reason":"{}"}}"#, "x".repeat(501));
    for (body, status, kind) in [
        ("{}", 422, "invalid_reason"),
        (r#"{"reason":""}"#, 422, "invalid_reason"),
        (r#"{"reason":"   "}"#, 422, "invalid_reason"),
        (r#"{"reason":5}"#, 422, "invalid_reason"),
        (r#"{"reason":"x","also":1}"#, 422, "invalid_reason"),
        (long.as_str(), 422, "invalid_reason"),
        (r#"{"reason":"#, 400, "bad-request"),
        ("not json", 400, "bad-request"),
    ] {
        let (got, problem) = post(&app, &path, Some(body)).await;
        assert_eq!((got, problem["type"].as_str()), (status, Some(format!("/problems/{kind}").as_str())), "{body}");
    }
    let (status, _) = post(&app, &path, None).await;
    assert_eq!(status, 415, "a body without a JSON content type");
    assert_eq!(state(&app, pending).await, "pending", "refused discards change nothing");

    let (status, item) = post(&app, &path, Some(r#"{"reason":"  test order, never invoiced  "}"#)).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(
        (item["state"].as_str(), item["discard_reason"].as_str()),
        (Some("discarded"), Some("test order, never invoiced"))
    );
    assert!(item["finished_at"].is_string());
    assert!(
        runs::claim(&app.db.pool, pending, "w1", Duration::from_secs(60)).await.unwrap().is_none(),
        "its queued trigger finds it not pending and does nothing"
    );
    assert_eq!(callbacks_of(&app, pending).await, 0, "no callback for a discard");
    let again = app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await;
    assert_eq!(
        (again.status().as_u16(), again.json::<Value>().await.unwrap()["sync_run_id"].as_str()),
        (200, Some(pending.to_string().as_str())),
        "a duplicate from the store does not undo a person's discard"
    );
    let (status, body) = post(&app, &path, Some(r#"{"reason":"twice"}"#)).await;
    assert_eq!((status, body["type"].as_str()), (409, Some("/problems/not_discardable")));

    let parked = ingest(&app, &t, "customer.upserted", 2).await;
    run_to(&app, parked, park()).await;
    let (status, item) = post(&app, &format!("/api/v1/events/{parked}/discard"), Some(r#"{"reason":"old"}"#)).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!((item["state"].as_str(), item["parked_reason"].clone()), (Some("discarded"), Value::Null));

    let dead = ingest(&app, &t, "invoice.created", 3).await;
    run_to(&app, dead, dead_letter()).await;
    let callbacks_before = callbacks_of(&app, dead).await;
    let (status, _) =
        post(&app, &format!("/api/v1/events/{dead}/discard"), Some(r#"{"reason":"handled in Sage"}"#)).await;
    assert_eq!(status, 200);
    assert_eq!(callbacks_of(&app, dead).await, callbacks_before, "discard adds no callback");

    let synced = ingest(&app, &t, "invoice.created", 4).await;
    run_to(&app, synced, Outcome::Done(RunOutcome::synced("s-4", None))).await;
    let (status, body) = post(&app, &format!("/api/v1/events/{synced}/discard"), Some(r#"{"reason":"x"}"#)).await;
    assert_eq!((status, body["type"].as_str()), (409, Some("/problems/not_discardable")));
    assert!(body["detail"].as_str().unwrap().contains("synced"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discarded_run_can_be_requeued_and_gets_a_trigger() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = ingest(&app, &t, "invoice.paid", 9).await;
    let (status, _) = post(&app, &format!("/api/v1/events/{id}/discard"), Some(r#"{"reason":"oops"}"#)).await;
    assert_eq!(status, 200);
    let tasks = app.task_count().await;
    let (status, body) = post(&app, &format!("/api/v1/events/{id}/requeue"), None).await;
    assert_eq!(status, 202, "{body}");
    let new: Uuid = body["sync_run_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(app.task_count().await, tasks + 1, "the new run's trigger is pushed with it");
    let (_, d) = get(&app, &format!("/api/v1/events/{new}")).await;
    assert_eq!(
        (d["state"].as_str(), d["attempt"].as_i64(), d["event"].as_str()),
        (Some("pending"), Some(0), Some("invoice.paid"))
    );
    assert_eq!(d["rerun_of"], id.to_string());
    assert!(runs::claim(&app.db.pool, new, "w1", Duration::from_secs(60)).await.unwrap().is_some(), "and it can run");
}

//! Retention through `ledger purge` on a real database: an old finished run loses its payload (the increment id kept), snapshots and Sage call bodies while its row, state, outcome and call statuses stay; recent and pending runs keep theirs; delivered callbacks, alerts, sent mail and finished bulk actions past their windows go; `--dry-run` counts the same and changes nothing; a second pass finds nothing; the event detail endpoint still answers for a purged run.
use std::process::{Command, Output};

use ledger_domain::RunOutcome;
use ledger_store::Keyring;
use ledger_store::runs::Outcome;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use test_support::TestApp;
use uuid::Uuid;

use crate::operator_events::{get, ingest, run_to};

fn purge(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("purge")
        .args(args)
        .env_remove("DATABASE_URL")
        .env("LEDGER_DATABASE__URL", &app.db.url)
        .env("LEDGER_CRYPTO__KEYS__K1", Keyring::generate_key().expose_secret())
        .env("LEDGER_LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

fn counts(out: &Output) -> Value {
    assert!(out.status.success(), "ledger purge: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["purged"].clone()
}

/// A synced run whose attempt has a snapshot and one Sage call with bodies, finished `days_ago`.
async fn finished_run(app: &TestApp, t: &test_support::TestTenant, entity: u64, days_ago: i32) -> Uuid {
    let id = ingest(app, t, "invoice.created", entity).await;
    let lease =
        run_to(app, id, Outcome::Done(RunOutcome::synced(format!("sage-{entity}"), Some(format!("SI-{entity}")))))
            .await;
    let pool = &app.db.pool;
    sqlx::query("UPDATE event_attempts SET snapshot = $2 WHERE event_id = $1")
        .bind(id)
        .bind(json!({"increment_id": format!("{entity:09}"), "email": "jo@example.com"}))
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sage_calls (event_id, lease_token, seq, started_at, method, path, status, latency_ms,
                                 request_body, response_body)
         VALUES ($1, $2, 1, now(), 'POST', '/sales_invoices', 201, 12, '{\"contact\":\"jo\"}', '{\"id\":\"x\"}')",
    )
    .bind(id)
    .bind(lease)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE events SET finished_at = now() - make_interval(days => $2) WHERE id = $1")
        .bind(id)
        .bind(days_ago)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE callbacks SET state = 'delivered', delivered_at = now() - make_interval(days => $2) WHERE event_id = $1")
        .bind(id)
        .bind(days_ago)
        .execute(pool)
        .await
        .unwrap();
    id
}

async fn bodies(app: &TestApp, id: Uuid) -> (Value, Option<Value>, Option<Value>, Option<i32>) {
    let payload: Value =
        sqlx::query_scalar("SELECT payload FROM events WHERE id = $1").bind(id).fetch_one(&app.db.pool).await.unwrap();
    let snapshot: Option<Value> = sqlx::query_scalar("SELECT snapshot FROM event_attempts WHERE event_id = $1")
        .bind(id)
        .fetch_optional(&app.db.pool)
        .await
        .unwrap()
        .flatten();
    let call: Option<(Option<Value>, Option<i32>)> =
        sqlx::query_as("SELECT request_body, status FROM sage_calls WHERE event_id = $1")
            .bind(id)
            .fetch_optional(&app.db.pool)
            .await
            .unwrap();
    let (request, status) = call.unwrap_or((None, None));
    (payload, snapshot, request, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_clears_old_finished_bodies_only_and_dry_run_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("retained shop").await;
    let old = finished_run(&app, &t, 1, 100).await; // past every window
    let middle = finished_run(&app, &t, 2, 40).await; // past call_body_days (30) only
    let recent = finished_run(&app, &t, 3, 1).await;
    let pending = ingest(&app, &t, "invoice.created", 4).await;
    sqlx::query("UPDATE events SET received_at = now() - interval '200 days' WHERE id = $1")
        .bind(pending)
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO alerts (tenant_id, condition, day, detail, created_at)
         VALUES ($1, 'dead_letters', current_date - 100, 'old', now() - interval '100 days'),
                ($1, 'dead_letters', current_date, 'today', now())",
    )
    .bind(t.id)
    .execute(&app.db.pool)
    .await
    .unwrap();
    // Mail: sent or given up 40 days ago goes; unsent mail (however old) and recent mail stay.
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, subject, body, created_at, sent_at, failed_at) VALUES
           ('a@x.test', 'old sent', 'b', now() - interval '41 days', now() - interval '40 days', NULL),
           ('a@x.test', 'old given up', 'b', now() - interval '41 days', NULL, now() - interval '40 days'),
           ('a@x.test', 'old unsent', 'b', now() - interval '41 days', NULL, NULL),
           ('a@x.test', 'recent sent', 'b', now() - interval '2 days', now() - interval '1 day', NULL)",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    // Bulk actions: finished 100 days ago goes; a running one and a recent one stay.
    for (filters, state, finished_days) in
        [("old", "finished", Some(100)), ("running", "running", None), ("recent", "finished", Some(1))]
    {
        sqlx::query(
            "INSERT INTO bulk_actions (id, tenant_id, actor_email, action, filters, event_ids, total, state,
                                       created_at, finished_at)
             VALUES ($1, $2, 'm@x.test', 'requeue', $3, '{}', 0, $4, now() - interval '200 days',
                     now() - make_interval(days => $5))",
        )
        .bind(Uuid::new_v4())
        .bind(t.id)
        .bind(filters)
        .bind(state)
        .bind(finished_days)
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    let before =
        [bodies(&app, old).await, bodies(&app, middle).await, bodies(&app, recent).await, bodies(&app, pending).await];

    let expected = json!({"payloads": 1, "snapshots": 1, "call_bodies": 2, "callbacks": 2, "alerts": 1, "mail": 2,
                          "bulk_actions": 1});
    let dry = counts(&purge(&app, &["--dry-run", "--json"]));
    for (kind, n) in expected.as_object().unwrap() {
        assert_eq!(&dry[kind], n, "dry-run {kind}: {dry}");
    }
    let after_dry =
        [bodies(&app, old).await, bodies(&app, middle).await, bodies(&app, recent).await, bodies(&app, pending).await];
    assert_eq!(before, after_dry, "a dry run changes nothing");

    let done = counts(&purge(&app, &["--json"]));
    for (kind, n) in expected.as_object().unwrap() {
        assert_eq!(&done[kind], n, "purge {kind}: {done}");
    }
    let (payload, snapshot, request, status) = bodies(&app, old).await;
    assert_eq!(payload["purged"], "retention.payload_days", "{payload}");
    assert_eq!(payload["payload"]["increment_id"], before[0].0["payload"]["increment_id"], "the increment id stays");
    assert!(payload.get("magento_entity_id").is_none(), "{payload}");
    assert_eq!((snapshot, request, status), (None, None, Some(201)), "bodies go, the call's status stays");
    let (payload, snapshot, request, _) = bodies(&app, middle).await;
    assert_eq!((payload, snapshot), (before[1].0.clone(), before[1].1.clone()), "payload window not reached");
    assert_eq!(request, None, "call bodies past their 30 days");
    assert_eq!(bodies(&app, recent).await, before[2], "a recent run keeps everything");
    assert_eq!(bodies(&app, pending).await, before[3], "pending work is never touched");
    let (state, sage_id): (String, Option<String>) = sqlx::query_as("SELECT state, sage_id FROM events WHERE id = $1")
        .bind(old)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!((state.as_str(), sage_id.as_deref()), ("synced", Some("sage-1")), "state and outcome stay");
    let alerts: Vec<String> = sqlx::query_scalar("SELECT detail FROM alerts").fetch_all(&app.db.pool).await.unwrap();
    assert_eq!(alerts, ["today"]);
    let mail: Vec<String> =
        sqlx::query_scalar("SELECT subject FROM mail_outbox ORDER BY id").fetch_all(&app.db.pool).await.unwrap();
    assert_eq!(mail, ["old unsent", "recent sent"], "unsent and recent mail stay");
    let bulk: Vec<String> =
        sqlx::query_scalar("SELECT filters FROM bulk_actions ORDER BY filters").fetch_all(&app.db.pool).await.unwrap();
    assert_eq!(bulk, ["recent", "running"], "running and recent bulk actions stay");
    let callbacks: i64 = sqlx::query_scalar("SELECT count(*) FROM callbacks").fetch_one(&app.db.pool).await.unwrap();
    assert_eq!(callbacks, 1, "only the recent run's delivered callback stays");

    // The run's detail still answers; its payload says it was purged.
    let (status, detail) = get(&app, &format!("/api/v1/events/{old}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["payload"]["purged"], "retention.payload_days");
    assert_eq!(detail["increment_id"], "000000001", "{detail}");

    // While another process holds the purge lock, a pass does nothing and says so.
    let mut holder = app.db.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(ledger_store::retention::LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    let refused = purge(&app, &["--json"]);
    assert!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("another process is purging")
    );
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(ledger_store::retention::LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    drop(holder);

    // Nothing is left to purge.
    let again = counts(&purge(&app, &["--json"]));
    for kind in ["payloads", "snapshots", "call_bodies", "callbacks", "alerts", "mail", "bulk_actions"] {
        assert_eq!(again[kind], 0, "second pass {kind}: {again}");
    }
    let text = purge(&app, &["--dry-run"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("would purge        0 payloads"));
}

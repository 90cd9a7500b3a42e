//! The event log pages: filters and the live rows fragment, the detail page, retry, discard with a
//! reason (refused beside the field without one), bulk retry after a dry-run count, and the operator
//! audit log those actions write.
use ledger_domain::RunOutcome;
use ledger_store::runs::Outcome;
use uuid::Uuid;

use crate::support::{Browser, dead_letter, ingest, owned_tenant, run_to, spawn, state_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_filters_refreshes_its_rows_and_shows_a_run() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let t = owned_tenant(&app, "ann's shop", ann_id).await;
    let synced = ingest(&app, &t, "invoice.created", 7).await;
    run_to(&app, synced, Outcome::Done(RunOutcome::synced("sage-inv-7", Some("SI-7".into())))).await;
    let dead = ingest(&app, &t, "invoice.created", 8).await;
    run_to(&app, dead, dead_letter("Sage answered 503")).await;
    ingest(&app, &t, "customer.upserted", 9).await;
    let base = format!("/stores/{}/events", t.id);

    let all = ann.get(&base).await;
    assert_eq!(all.status, 200);
    for inc in ["000000007", "000000008", "#9"] {
        assert!(all.body.contains(inc), "{inc} listed");
    }
    assert!(all.body.contains(r#"class="chip chip-synced""#) && all.body.contains("SI-7"));
    assert!(all.body.contains(r#"hx-trigger="every 2s""#), "the rows refresh themselves");
    assert!(all.body.contains(&format!(r#"hx-get="/stores/{}/events/rows?""#, t.id)));

    let dead_only = ann.get(&format!("{base}?state=dead_lettered")).await;
    assert!(dead_only.body.contains("000000008") && !dead_only.body.contains("000000007"));
    assert!(dead_only.body.contains("Sage answered 503"));
    let by_increment = ann.get(&format!("{base}?q=000000007")).await;
    assert!(by_increment.body.contains("000000007") && !by_increment.body.contains("000000008"));
    let by_event = ann.get(&format!("{base}?event=customer.upserted")).await;
    assert!(by_event.body.contains("#9") && !by_event.body.contains("000000007"));
    let today = chrono::Utc::now().date_naive();
    let dated = ann.get(&format!("{base}?from={today}&to={today}")).await;
    assert!(dated.body.contains("000000007"), "to includes the day named");
    let tomorrow = today.succ_opt().unwrap();
    let later = ann.get(&format!("{base}?from={tomorrow}")).await;
    assert!(later.body.contains("No events match."));
    let bad = ann.get(&format!("{base}?state=done")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("state `done`"), "the bad filter is named");

    // The fragment the page polls: only the table body, with the current states.
    run_to(
        &app,
        ingest(&app, &t, "invoice.created", 10).await,
        Outcome::Done(RunOutcome::synced("s-10", Some("SI-10".into()))),
    )
    .await;
    let rows = ann.get(&format!("{base}/rows")).await;
    assert_eq!(rows.status, 200);
    assert!(rows.body.starts_with("<tbody") && rows.body.contains("SI-10"), "{}", rows.body);

    let detail = ann.get(&format!("/events/{dead}")).await;
    assert_eq!(detail.status, 200);
    assert!(
        detail.body.contains("Attempt 1")
            && detail.body.contains("Sage answered 503")
            && detail.body.contains("HTTP 503")
    );
    assert!(
        detail.body.contains(r#"action="/events/"#)
            && detail.body.contains("Retry")
            && detail.body.contains("Reason to discard")
    );
    let synced_page = ann.get(&format!("/events/{synced}")).await;
    assert!(synced_page.body.contains("SI-7") && !synced_page.body.contains(">Retry<"), "a synced run offers no retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_and_discard_from_the_detail_page() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let t = owned_tenant(&app, "ann's shop", ann_id).await;
    let dead = ingest(&app, &t, "invoice.created", 8).await;
    run_to(&app, dead, dead_letter("Sage answered 503")).await;
    let page = format!("/events/{dead}");

    let retried = ann.submit(&page, &format!("/events/{dead}/retry"), &[]).await;
    assert_eq!(retried.status, 303);
    let new: Uuid = retried.location.unwrap().trim_start_matches("/events/").parse().unwrap();
    assert_ne!(new, dead);
    assert_eq!(state_of(&app, new).await, "pending", "a new run waits for a worker");
    let new_page = ann.get(&format!("/events/{new}")).await;
    assert!(new_page.body.contains(&format!("/events/{dead}")), "it links to the run it retries");
    let again = ann.submit(&page, &format!("/events/{dead}/retry"), &[]).await;
    assert_eq!(again.status, 400, "a superseded run is not retried twice");
    assert!(again.body.contains("newer run"));

    let empty = ann.submit(&format!("/events/{new}"), &format!("/events/{new}/discard"), &[("reason", "   ")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains(r#"id="reason-error""#), "the message sits beside the field");
    assert_eq!(state_of(&app, new).await, "pending");
    let done = ann
        .submit(&format!("/events/{new}"), &format!("/events/{new}/discard"), &[("reason", "duplicate order")])
        .await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some(format!("/events/{new}").as_str())));
    assert_eq!(state_of(&app, new).await, "discarded");
    assert!(ann.get(&format!("/events/{new}")).await.body.contains("duplicate order"));
    assert_eq!(app.count("operator_audit").await, 0, "merchants' own actions are not operator actions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_retry_counts_first_and_operators_are_audited() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let t = owned_tenant(&app, "ann's shop", ann_id).await;
    let mut dead = Vec::new();
    for entity in 1..=3 {
        let id = ingest(&app, &t, "invoice.created", entity).await;
        run_to(&app, id, dead_letter("Sage answered 503")).await;
        dead.push(id);
    }
    let synced = ingest(&app, &t, "invoice.created", 4).await;
    run_to(&app, synced, Outcome::Done(RunOutcome::synced("s-4", None))).await;
    let pending = ingest(&app, &t, "customer.upserted", 5).await;
    let log = format!("/stores/{}/events", t.id);
    let bulk = format!("/stores/{}/events/retry", t.id);

    let count = ann.submit(&log, &bulk, &[]).await;
    assert_eq!(count.status, 200);
    assert!(count.body.contains("<strong>3</strong> failed or dead-lettered events match"), "{}", count.body);
    assert_eq!(app.count("events").await, 5, "the dry run changes nothing");
    // Narrowed by a filter, and a filter naming no retryable state.
    let narrowed = ann.submit(&log, &bulk, &[("q", "000000002")]).await;
    assert!(narrowed.body.contains("<strong>1</strong>"));
    assert_eq!(ann.submit(&log, &bulk, &[("state", "pending,running")]).await.status, 400);

    let op = Browser::operator(&app, "ops@ledger.example").await;
    let queued = op.submit(&log, &bulk, &[("confirm", "yes")]).await;
    assert_eq!(queued.status, 303, "the retry runs as a background job");
    let progress_page = queued.location.clone().unwrap();
    assert!(progress_page.starts_with(&format!("/stores/{}/bulk/", t.id)), "{progress_page}");
    let before = op.get(&progress_page).await;
    assert!(
        before.body.contains("0 of 3 events handled") && before.body.contains(r#"hx-trigger="every 1s""#),
        "{}",
        before.body
    );
    assert!(before.body.contains(r#"<progress id="bulk-bar" value="0" max="3""#), "{}", before.body);
    assert_eq!(ann.get(&progress_page).await.status, 200, "the store's owner follows it too");
    let (bob, _) = Browser::merchant(&app, "bob@shop.example").await;
    assert_eq!(bob.get(&progress_page).await.status, 404, "another merchant does not");
    // A worker process works the job (here: the same service, called directly).
    while ledger_sync::bulk::process_next(&app.db.pool).await.unwrap() {}
    let done = op.get(&format!("{progress_page}/progress")).await;
    assert_eq!(done.status, 200);
    assert!(
        done.body.contains("3 of 3 events handled") && done.body.contains("3 events queued again"),
        "{}",
        done.body
    );
    assert!(!done.body.contains("hx-trigger"), "a finished job stops refreshing: {}", done.body);
    for id in &dead {
        assert_eq!(state_of(&app, *id).await, "dead_lettered", "the old runs keep their history");
    }
    let reruns: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE rerun_of = ANY($1)")
        .bind(&dead)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(reruns, 3);
    assert_eq!((state_of(&app, synced).await, state_of(&app, pending).await), ("synced".into(), "pending".into()));

    // Single actions by the operator are audited too.
    let one = ingest(&app, &t, "invoice.created", 6).await;
    run_to(&app, one, dead_letter("Sage answered 503")).await;
    let d = op.submit(&format!("/events/{one}"), &format!("/events/{one}/discard"), &[("reason", "test order")]).await;
    assert_eq!(d.status, 303);
    let audit = op.get("/ops/audit").await;
    assert!(
        audit.body.contains("ops@ledger.example")
            && audit.body.contains("bulk_requeue")
            && audit.body.contains("discard")
    );
    assert!(audit.body.contains("test order"));
    let rows: Vec<(String, i32)> = sqlx::query_as("SELECT action, affected FROM operator_audit ORDER BY id")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, vec![("bulk_requeue".into(), 3), ("discard".into(), 1)]);

    // The console shows each tenant's share of today's Sage budget (yesterday's calls do not count).
    for (seq, day) in [(1, "now()"), (2, "now()"), (3, "now() - interval '2 days'")] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sage_calls (event_id, lease_token, seq, started_at, latency_ms, method, path)
             VALUES ($1, 1, {seq}, {day}, 5, 'GET', '/contacts')"
        )))
        .bind(dead[0])
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    let console = op.get("/ops?sort=budget").await;
    assert!(console.body.contains("Sage budget today") && console.body.contains("2 calls"), "{}", console.body);

    let failures = op.get("/ops/failures").await;
    assert!(failures.body.contains("transient"), "{}", failures.body);
    let group = op.get("/ops/failures?class=transient&code=").await;
    assert!(group.body.contains(&format!("/events/{}", dead[0])), "the group lists its runs");
    assert!(!group.body.contains(&format!("/events/{one}")), "a discarded run has left the failures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_run_still_shows_its_detail_page() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let t = owned_tenant(&app, "ann's shop", ann_id).await;
    let old = ingest(&app, &t, "invoice.created", 7).await;
    run_to(&app, old, Outcome::Done(RunOutcome::synced("sage-inv-7", Some("SI-7".into())))).await;
    sqlx::query("UPDATE events SET finished_at = now() - interval '100 days' WHERE id = $1")
        .bind(old)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let windows = ledger_store::retention::Windows {
        payload_days: 90,
        call_body_days: 30,
        callbacks_days: 7,
        alerts_days: 90,
        mail_days: 30,
        bulk_days: 90,
        batch_size: 10,
    };
    let counts = ledger_store::retention::purge(&app.db.pool, &windows, chrono::Utc::now()).await.unwrap().unwrap();
    assert_eq!(counts.by_kind().find(|(k, _)| *k == "payloads"), Some(("payloads", 1)));
    let page = ann.get(&format!("/events/{old}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("SI-7") && page.body.contains("retention.payload_days"), "{}", page.body);
    let log = ann.get(&format!("/stores/{}/events?q=000000007", t.id)).await;
    assert!(log.body.contains("SI-7"), "a purged run is still found by its increment id");
}

//! Bulk actions as background jobs: an operator's requeue and discard across tenants from the console's
//! failures page (dry-run counts per tenant, the job moving exactly the matching runs, runs that
//! changed meanwhile refused, one audit entry each), and a merchant's bulk discard by the log's
//! filters, kept to the merchant's own store.
use ledger_domain::{ErrorClass, EventState, RunFailure, RunOutcome, SageErrorDetail, TenantId};
use ledger_store::runs::Outcome;
use test_support::{TestApp, TestTenant};
use uuid::Uuid;

use crate::support::{Browser, dead_letter, ingest, owned_tenant, run_to, spawn, state_of};

/// A Sage validation refusal with `$dataCode` `code`, ending the run in `state`.
fn refused(code: &str, state: EventState) -> Outcome {
    let failure = RunFailure::new(ErrorClass::Validation, format!("Sage refused: {code}"))
        .with_http_status(422)
        .with_sage(SageErrorDetail { data_code: Some(code.into()), ..Default::default() });
    Outcome::Fail { state, failure }
}

async fn failed_run(app: &TestApp, t: &TestTenant, entity: u64, outcome: Outcome) -> Uuid {
    let id = ingest(app, t, "invoice.created", entity).await;
    run_to(app, id, outcome).await;
    id
}

async fn reruns_of(app: &TestApp, ids: &[Uuid]) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = sqlx::query_scalar("SELECT rerun_of FROM events WHERE rerun_of = ANY($1)")
        .bind(ids)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    v.sort();
    v
}

async fn work_jobs(app: &TestApp) {
    while ledger_sync::bulk::process_next(&app.db.pool).await.unwrap() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_requeues_and_discards_a_failure_group_across_tenants() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let (_bob, bob_id) = Browser::merchant(&app, "bob@shop.example").await;
    let a = owned_tenant(&app, "ann's shop", ann_id).await;
    let b = owned_tenant(&app, "bob's shop", bob_id).await;
    let dl = EventState::DeadLettered;
    // The group validation / RecordInvalid: four current runs in ann's store, two in bob's.
    let a1 = failed_run(&app, &a, 1, refused("RecordInvalid", dl)).await;
    let a2 = failed_run(&app, &a, 2, refused("RecordInvalid", dl)).await;
    let a3_failed = failed_run(&app, &a, 3, refused("RecordInvalid", EventState::Failed)).await;
    // Entity 4 failed, was retried, and failed again: only its newest run counts.
    let a4_old = failed_run(&app, &a, 4, refused("RecordInvalid", dl)).await;
    let a4 = ledger_sync::operations::requeue(&app.db.pool, a4_old).await.unwrap();
    run_to(&app, a4, refused("RecordInvalid", dl)).await;
    let b1 = failed_run(&app, &b, 1, refused("RecordInvalid", dl)).await;
    let b2 = failed_run(&app, &b, 2, refused("RecordInvalid", dl)).await;
    // Outside the group: another class, another code, a synced run.
    let a5_transient = failed_run(&app, &a, 5, dead_letter("Sage answered 503")).await;
    let b3_other = failed_run(&app, &b, 3, refused("Duplicate", dl)).await;
    let a6 = ingest(&app, &a, "invoice.created", 6).await;
    run_to(&app, a6, Outcome::Done(RunOutcome::synced("s-6", None))).await;
    let events_before = app.count("events").await;

    let op = Browser::operator(&app, "ops@ledger.example").await;
    let group = "/ops/failures?class=validation&code=RecordInvalid";
    let page = op.get(group).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Requeue all matching") && page.body.contains("Discard all matching"),
        "an open group offers both: {}",
        page.body
    );
    assert!(page.body.contains(&format!(r#"<option value="{}">bob's shop</option>"#, b.id)), "tenants to narrow to");
    let narrowed = op.get(&format!("{group}&tenant={}", b.id)).await;
    assert!(narrowed.body.contains(&format!("/events/{b1}")) && !narrowed.body.contains(&format!("/events/{a1}")));
    assert_eq!(op.get(&format!("{group}&state=synced")).await.status, 400, "a bad state is refused");

    let bulk = "/ops/failures/bulk";
    let filter = [("class", "validation"), ("code", "RecordInvalid")];
    let dry = op.submit(group, bulk, &[&filter[..], &[("action", "requeue")]].concat()).await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(dry.body.contains(r#"<strong id="bulk-count">6</strong>"#), "{}", dry.body);
    assert!(dry.body.contains("in 2 tenants"), "{}", dry.body);
    let per_tenant = |body: &str, name: &str| {
        let at = body.find(&format!("{name}<br>")).unwrap_or_else(|| panic!("{name} listed: {body}"));
        let from = at + body[at..].find(r#"<td class="tenant-count">"#).unwrap() + 25;
        body[from..from + body[from..].find('<').unwrap()].parse::<usize>().unwrap()
    };
    assert_eq!((per_tenant(&dry.body, "ann's shop"), per_tenant(&dry.body, "bob's shop")), (4, 2));
    assert_eq!(app.count("events").await, events_before, "the dry run changes nothing");
    assert_eq!(app.count("bulk_actions").await, 0);
    let one_tenant =
        op.submit(group, bulk, &[&filter[..], &[("action", "requeue"), ("tenant", &b.id.to_string())]].concat()).await;
    assert!(one_tenant.body.contains(r#"<strong id="bulk-count">2</strong>"#), "{}", one_tenant.body);
    let failed_only =
        op.submit(group, bulk, &[&filter[..], &[("action", "requeue"), ("state", "failed")]].concat()).await;
    assert!(failed_only.body.contains(r#"<strong id="bulk-count">1</strong>"#), "{}", failed_only.body);

    // A merchant cannot reach the console; a form without the session's token changes nothing.
    let anns_csrf = ann.get("/dashboard").await.csrf();
    assert_eq!(ann.get(group).await.status, 403);
    let as_ann = [&filter[..], &[("csrf", anns_csrf.as_str()), ("action", "requeue"), ("confirm", "yes")]].concat();
    assert_eq!(ann.post(bulk, &as_ann).await.status, 403);
    let forged = [&filter[..], &[("csrf", "forged"), ("action", "requeue"), ("confirm", "yes")]].concat();
    assert_eq!(op.post(bulk, &forged).await.status, 403);
    let tokenless = [&filter[..], &[("action", "requeue"), ("confirm", "yes")]].concat();
    assert_eq!(op.post(bulk, &tokenless).await.status, 403);
    assert_eq!(app.count("bulk_actions").await, 0, "refused forms queue nothing");
    let nothing = op
        .submit(
            group,
            bulk,
            &[&filter[..], &[("action", "requeue"), ("tenant", &TenantId::new().to_string()), ("confirm", "yes")]]
                .concat(),
        )
        .await;
    assert_eq!(nothing.status, 200, "nothing matching: the count again, no job");
    assert!(nothing.body.contains(r#"<strong id="bulk-count">0</strong>"#), "{}", nothing.body);
    assert_eq!(app.count("bulk_actions").await, 0);

    // Requeue the dead-lettered ones; one of bob's is discarded by hand before the job reaches it.
    let queued = op
        .submit(
            group,
            bulk,
            &[&filter[..], &[("action", "requeue"), ("state", "dead_lettered"), ("confirm", "yes")]].concat(),
        )
        .await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let job_page = queued.location.unwrap();
    assert!(job_page.starts_with("/ops/bulk/"), "{job_page}");
    let before = op.get(&job_page).await;
    assert!(
        before.body.contains("0 of 5 events handled") && before.body.contains(r#"hx-trigger="every 1s""#),
        "{}",
        before.body
    );
    assert!(before.body.contains(&format!(r#"hx-get="{job_page}/progress""#)), "{}", before.body);
    assert_eq!(ann.get(&job_page).await.status, 403, "a merchant does not see operator jobs");
    let job_id = job_page.trim_start_matches("/ops/bulk/");
    assert_eq!(ann.get(&format!("/stores/{}/bulk/{job_id}", a.id)).await.status, 404, "nor through a store's pages");
    ledger_sync::operations::discard(&app.db.pool, b2, "handled by hand").await.unwrap();
    work_jobs(&app).await;
    let done = op.get(&format!("{job_page}/progress")).await;
    assert!(
        done.body.contains("5 of 5 events handled")
            && done.body.contains("4 events queued again")
            && done.body.contains("1 had changed since the count"),
        "{}",
        done.body
    );
    assert!(!done.body.contains("hx-trigger"), "a finished job stops refreshing");
    // a4_old's rerun is the one made by hand above; the job made one each for the rest.
    let mut expected = vec![a1, a2, a4_old, a4, b1];
    expected.sort();
    let all = [a1, a2, a3_failed, a4_old, a4, b1, b2, a5_transient, b3_other, a6];
    assert_eq!(reruns_of(&app, &all).await, expected, "exactly the matching current runs were requeued");
    assert_eq!(state_of(&app, b2).await, "discarded", "the changed run was not forced");

    // Discard another group across both tenants, with a reason.
    let dup = failed_run(&app, &a, 7, refused("Duplicate", dl)).await;
    let dup_group = "/ops/failures?class=validation&code=Duplicate";
    let dup_filter = [("class", "validation"), ("code", "Duplicate")];
    let no_reason = op
        .submit(
            dup_group,
            bulk,
            &[&dup_filter[..], &[("action", "discard"), ("reason", " "), ("confirm", "yes")]].concat(),
        )
        .await;
    assert_eq!(no_reason.status, 422, "{}", no_reason.body);
    assert!(no_reason.body.contains(r#"id="reason-error""#), "the message sits beside the field");
    assert_eq!(app.count("bulk_actions").await, 1, "nothing queued without a reason");
    let discarding = op
        .submit(
            dup_group,
            bulk,
            &[&dup_filter[..], &[("action", "discard"), ("reason", "duplicates of old orders"), ("confirm", "yes")]]
                .concat(),
        )
        .await;
    assert_eq!(discarding.status, 303, "{}", discarding.body);
    work_jobs(&app).await;
    let finished = op.get(&discarding.location.unwrap()).await;
    assert!(finished.body.contains("2 events discarded") && finished.body.contains("duplicates of old orders"));
    for id in [dup, b3_other] {
        assert_eq!(state_of(&app, id).await, "discarded");
    }
    let reasons: Vec<Option<String>> = sqlx::query_scalar("SELECT discard_reason FROM events WHERE id = ANY($1)")
        .bind([dup, b3_other])
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(reasons, vec![Some("duplicates of old orders".to_owned()); 2]);
    assert_eq!(state_of(&app, a3_failed).await, "failed", "other groups are untouched");

    // One audit entry per bulk action, shown in the console.
    let audit: Vec<(String, String, i32, String)> =
        sqlx::query_as("SELECT action, target, affected, detail FROM operator_audit ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!((audit[0].0.as_str(), audit[0].1.as_str(), audit[0].2), ("bulk_requeue", "all tenants", 4));
    assert!(
        audit[0].3.contains("class=validation&code=RecordInvalid&state=dead_lettered")
            && audit[0].3.contains("1 refused")
    );
    assert_eq!((audit[1].0.as_str(), audit[1].2), ("bulk_discard", 2));
    assert!(audit[1].3.contains("reason: duplicates of old orders"));
    let log = op.get("/ops/audit").await;
    assert!(log.body.contains("bulk_requeue") && log.body.contains("bulk_discard") && log.body.contains(&job_page));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_discards_in_bulk_by_filter_in_their_own_store_only() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let (bob, bob_id) = Browser::merchant(&app, "bob@shop.example").await;
    let a = owned_tenant(&app, "ann's shop", ann_id).await;
    let b = owned_tenant(&app, "bob's shop", bob_id).await;
    let mut dead = Vec::new();
    for entity in 1..=3 {
        dead.push(failed_run(&app, &a, entity, dead_letter("Sage answered 503")).await);
    }
    let failed = failed_run(&app, &a, 4, refused("RecordInvalid", EventState::Failed)).await;
    let synced = ingest(&app, &a, "invoice.created", 5).await;
    run_to(&app, synced, Outcome::Done(RunOutcome::synced("s-5", None))).await;
    let pending = ingest(&app, &a, "customer.upserted", 6).await;
    let bobs = failed_run(&app, &b, 1, dead_letter("Sage answered 503")).await;
    let log = format!("/stores/{}/events", a.id);
    let discard = format!("/stores/{}/events/discard", a.id);

    let page = ann.get(&log).await;
    assert!(page.body.contains(&format!(r#"action="{discard}""#)) && page.body.contains("Discard in bulk"));
    let count = ann.submit(&log, &discard, &[("reason", "test orders")]).await;
    assert_eq!(count.status, 200, "{}", count.body);
    assert!(count.body.contains("<strong>4</strong> events in failed or dead-lettered state match"), "{}", count.body);
    let narrowed = ann.submit(&log, &discard, &[("state", "dead_lettered"), ("reason", "test orders")]).await;
    assert!(narrowed.body.contains("<strong>3</strong>"), "{}", narrowed.body);
    let pending_only = ann.submit(&log, &discard, &[("state", "pending,running"), ("reason", "x")]).await;
    assert!(pending_only.body.contains("<strong>1</strong>"), "pending when asked for: {}", pending_only.body);
    assert_eq!(ann.submit(&log, &discard, &[("state", "synced"), ("reason", "x")]).await.status, 400);
    let no_reason = ann.submit(&log, &discard, &[("reason", ""), ("confirm", "yes")]).await;
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.body.contains(r#"id="reason-error""#), "{}", no_reason.body);
    assert_eq!(ann.post(&discard, &[("reason", "test orders"), ("confirm", "yes")]).await.status, 403, "no token");
    assert_eq!(app.count("bulk_actions").await, 0, "counting and refusals queue nothing");
    assert_eq!(state_of(&app, dead[0]).await, "dead_lettered");

    let queued = ann.submit(&log, &discard, &[("reason", "test orders"), ("confirm", "yes")]).await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let progress = queued.location.unwrap();
    assert!(progress.starts_with(&format!("/stores/{}/bulk/", a.id)), "{progress}");
    let before = ann.get(&progress).await;
    assert!(
        before.body.contains("Discarding events") && before.body.contains("0 of 4 events handled"),
        "{}",
        before.body
    );
    assert_eq!(bob.get(&progress).await.status, 404, "another merchant's session");
    assert_eq!(bob.get(&format!("{progress}/progress")).await.status, 404);
    let job_id = progress.rsplit('/').next().unwrap();
    assert_eq!(
        bob.get(&format!("/stores/{}/bulk/{job_id}", b.id)).await.status,
        404,
        "not under their own store either"
    );
    // One of them is retried before the job gets to it: it changed, so it is left alone.
    ledger_sync::operations::requeue(&app.db.pool, dead[2]).await.unwrap();
    work_jobs(&app).await;
    let done = ann.get(&format!("{progress}/progress")).await;
    assert!(
        done.body.contains("4 of 4 events handled")
            && done.body.contains("3 events discarded")
            && done.body.contains("1 had changed since the count"),
        "{}",
        done.body
    );
    for id in [dead[0], dead[1], failed] {
        assert_eq!(state_of(&app, id).await, "discarded");
    }
    assert_eq!(state_of(&app, dead[2]).await, "dead_lettered", "the retried run keeps its history");
    assert_eq!(
        (state_of(&app, synced).await, state_of(&app, pending).await, state_of(&app, bobs).await),
        ("synced".into(), "pending".into(), "dead_lettered".into())
    );
    assert_eq!(app.count("operator_audit").await, 0, "a merchant's own action is not an operator action");
}

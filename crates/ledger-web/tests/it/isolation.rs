//! Tenant isolation: a merchant who names another merchant's store or event gets 404 on every route,
//! reads nothing and changes nothing; the owner (and an operator) get the pages.
use crate::support::{Browser, dead_letter, ingest, owned_tenant, run_to, spawn, state_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_merchant_route_answers_404_for_someone_elses_ids() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let (bob, bob_id) = Browser::merchant(&app, "bob@shop.example").await;
    let t = owned_tenant(&app, "ann's shop", ann_id).await;
    owned_tenant(&app, "bob's shop", bob_id).await;
    let failed = ingest(&app, &t, "invoice.created", 41).await;
    run_to(&app, failed, dead_letter("Sage answered 503")).await;
    let pending = ingest(&app, &t, "invoice.created", 42).await;
    let bobs_csrf = bob.get("/dashboard").await.csrf();
    let tenant = t.id.to_string();

    let gets = [
        format!("/stores/{tenant}/events"),
        format!("/stores/{tenant}/events?state=dead_lettered"),
        format!("/stores/{tenant}/events/rows"),
        format!("/events/{failed}"),
        format!("/events/{pending}"),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/stores/{tenant}/events/retry"), vec![]),
        (format!("/stores/{tenant}/events/retry"), vec![("confirm", "yes")]),
        (format!("/stores/{tenant}/events/discard"), vec![("reason", "not mine")]),
        (format!("/stores/{tenant}/events/discard"), vec![("reason", "not mine"), ("confirm", "yes")]),
        (format!("/events/{failed}/retry"), vec![]),
        (format!("/events/{failed}/discard"), vec![("reason", "not mine")]),
        (format!("/events/{pending}/discard"), vec![("reason", "not mine")]),
    ];
    for path in &gets {
        let page = bob.get(path).await;
        assert_eq!(page.status, 404, "GET {path} as another merchant");
        assert!(!page.body.contains("ann's shop") && !page.body.contains("000000041"), "GET {path} leaks");
        assert_eq!(ann.get(path).await.status, 200, "GET {path} as the owner");
    }
    for (path, fields) in &posts {
        let mut form = vec![("csrf", bobs_csrf.as_str())];
        form.extend(fields.iter().copied());
        assert_eq!(bob.post(path, &form).await.status, 404, "POST {path} as another merchant");
    }
    assert_eq!(state_of(&app, failed).await, "dead_lettered", "nothing was requeued");
    assert_eq!(state_of(&app, pending).await, "pending", "nothing was discarded");
    assert_eq!(app.count("events").await, 2, "no new run");
    assert_eq!(app.count("bulk_actions").await, 0, "no bulk job");
    let dash = bob.get("/dashboard").await;
    assert!(
        dash.body.contains("bob's shop") && !dash.body.contains("ann's shop"),
        "the dashboard lists only bob's stores"
    );

    // Unknown and malformed ids look the same as someone else's.
    for path in [
        "/stores/00000000-0000-0000-0000-000000000000/events",
        "/stores/nope/events",
        "/events/nope",
        "/events/00000000-0000-0000-0000-000000000000",
    ] {
        assert_eq!(bob.get(path).await.status, 404, "{path}");
    }
    // An operator sees every tenant.
    let op = Browser::operator(&app, "ops@ledger.example").await;
    assert_eq!(op.get(&format!("/stores/{tenant}/events")).await.status, 200);
    assert_eq!(op.get(&format!("/events/{failed}")).await.status, 200);
    let console = op.get("/ops").await;
    assert!(console.body.contains("ann's shop") && console.body.contains("bob's shop"));
}

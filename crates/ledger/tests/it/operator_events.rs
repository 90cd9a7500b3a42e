//! Operator JSON for event runs over HTTP and a real Postgres: filters, keyset paging without gaps or
//! duplicates, search by increment id (payload or snapshot) and Magento id, the detail with its audit
//! trail and diff, and the errors (401, 404, bad filters).
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::{ErrorClass, EventState, ParkReason, RunFailure, RunOutcome};
use ledger_store::audit::{self, SageCall};
use ledger_store::runs::{self, Outcome};
use serde_json::{Value, json};
use test_support::{OPERATOR_TOKEN, TestApp, TestTenant, envelope};
use uuid::Uuid;

pub async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.http.get(format!("{}{path}", app.base_url)).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn post(app: &TestApp, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut req = app.http.post(format!("{}{path}", app.base_url)).bearer_auth(OPERATOR_TOKEN);
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body.to_owned());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Posts `event` for `entity` as the module does and returns the run id.
pub async fn ingest(app: &TestApp, t: &TestTenant, event: &str, entity: u64) -> Uuid {
    let body = match event {
        "invoice.created" | "invoice.paid" | "creditmemo.created" => envelope(entity),
        _ => format!(
            r#"{{"magento_entity_id":{entity},"website_id":1,"store_id":0,"occurred_at":"2026-01-01T00:00:00Z","payload":{{}}}}"#
        ),
    };
    let r = app.post_event(t, event, &format!("{event}:{entity}"), &body).await;
    assert!(r.status().is_success(), "ingest answered {}", r.status());
    r.json::<Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap()
}

/// Claims `id` as a worker would and ends the run with `outcome`; returns the attempt's lease token.
pub async fn run_to(app: &TestApp, id: Uuid, outcome: Outcome) -> i64 {
    let claim = runs::claim(&app.db.pool, id, "test", Duration::from_secs(60)).await.unwrap().expect("claimable");
    assert!(runs::finish(&app.db.pool, id, claim.lease_token, &outcome).await.unwrap());
    claim.lease_token
}

pub fn dead_letter() -> Outcome {
    let mut failure = RunFailure::new(ErrorClass::Transient, "Sage answered 503");
    failure.detail.http_status = Some(503);
    Outcome::Fail { state: EventState::DeadLettered, failure }
}

pub fn park() -> Outcome {
    Outcome::Park {
        reason: ParkReason::SageNotConnected,
        failure: RunFailure::new(ErrorClass::Auth, "no Sage binding"),
        delay: Duration::from_secs(3600),
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

async fn list(app: &TestApp, t: &TestTenant, query: &str) -> Value {
    let (status, body) = get(app, &format!("/api/v1/tenants/{}/events?{query}", t.id)).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_the_listing_and_errors_show_what_failed() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let other = app.create_tenant("other").await;
    let pending = ingest(&app, &t, "invoice.created", 1).await;
    let dead = ingest(&app, &t, "invoice.created", 2).await;
    let synced = ingest(&app, &t, "creditmemo.created", 3).await;
    let parked = ingest(&app, &t, "customer.upserted", 4).await;
    ingest(&app, &other, "invoice.created", 1).await;
    run_to(&app, dead, dead_letter()).await;
    run_to(&app, synced, Outcome::Done(RunOutcome::synced("sage-cn-1", Some("SCN-1".into())))).await;
    run_to(&app, parked, park()).await;

    let all = list(&app, &t, "").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4, "only this tenant's runs: {all}");
    assert_eq!(all["next_cursor"], Value::Null);
    let by_id = |id: Uuid| all["items"].as_array().unwrap().iter().find(|i| i["id"] == id.to_string()).unwrap();
    let d = by_id(dead);
    assert_eq!((d["state"].as_str(), d["attempt"].as_i64()), (Some("dead_lettered"), Some(1)));
    assert_eq!(
        d["error"],
        json!({"class": "transient", "message": "Sage answered 503", "http_status": 503, "detail": {"http_status": 503}})
    );
    assert!(d["finished_at"].is_string());
    let s = by_id(synced);
    assert_eq!((s["sage_id"].as_str(), s["sage_reference"].as_str()), (Some("sage-cn-1"), Some("SCN-1")));
    assert_eq!((s["error"].clone(), s["event"].as_str()), (Value::Null, Some("creditmemo.created")));
    let p = by_id(parked);
    assert_eq!(
        (p["state"].as_str(), p["parked_reason"].as_str(), p["attempt"].as_i64()),
        (Some("pending"), Some("sage_not_connected"), Some(0))
    );
    assert_eq!(by_id(pending)["increment_id"], "000000001", "taken from the payload");
    assert_eq!(p["increment_id"], Value::Null, "customers carry none");

    assert_eq!(ids(&list(&app, &t, "state=dead_lettered").await), vec![dead.to_string()]);
    let mut both = ids(&list(&app, &t, "state=pending,synced").await);
    both.sort();
    let mut want = vec![pending.to_string(), synced.to_string(), parked.to_string()];
    want.sort();
    assert_eq!(both, want, "a comma-separated list of states");
    assert_eq!(ids(&list(&app, &t, "event=creditmemo.created").await), vec![synced.to_string()]);
    assert_eq!(ids(&list(&app, &t, "event=invoice.created&state=pending").await), vec![pending.to_string()]);
    assert_eq!(ids(&list(&app, &t, "q=000000002").await), vec![dead.to_string()], "by increment id");
    assert_eq!(ids(&list(&app, &t, "q=3").await), vec![synced.to_string()], "by Magento id");
    assert!(ids(&list(&app, &t, "q=99").await).is_empty());
    assert!(ids(&list(&app, &t, "from=2999-01-01T00:00:00Z").await).is_empty());
    assert_eq!(ids(&list(&app, &t, "to=2999-01-01T00:00:00Z").await).len(), 4);

    for (query, named) in [
        ("state=done", "state"),
        ("event=order.created", "event"),
        ("limit=0", "limit"),
        ("limit=500", "limit"),
        ("from=yesterday", "from"),
        ("cursor=bogus", "cursor"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = get(&app, &format!("/api/v1/tenants/{}/events?{query}", t.id)).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["type"], "/problems/invalid_filter", "{query}");
        assert!(body["detail"].as_str().unwrap().contains(named), "{query}: {body}");
    }
    let (status, body) = get(&app, &format!("/api/v1/tenants/{}/events", Uuid::new_v4())).await;
    assert_eq!((status, body["type"].as_str()), (404, Some("/problems/unknown_tenant")));
    assert_eq!(get(&app, "/api/v1/tenants/not-a-tenant/events").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_each_other_without_gaps_or_duplicates() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let mut runs = Vec::new();
    for entity in 1..=7 {
        runs.push(ingest(&app, &t, "invoice.created", entity).await);
    }
    // Three runs received in the same microsecond: the id breaks the tie, also across a page boundary.
    let tied: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
    sqlx::query("UPDATE events SET received_at = $1 WHERE id = ANY($2)")
        .bind(tied)
        .bind(&runs[2..5])
        .execute(&app.db.pool)
        .await
        .unwrap();
    let everything = ids(&list(&app, &t, "limit=200").await);
    assert_eq!(everything.len(), 7);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_owned(),
        };
        let page = list(&app, &t, &query).await;
        pages += 1;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(pages, 4, "2 + 2 + 2 + 1");
    assert_eq!(seen, everything, "the pages together are the whole listing, in order, once each");
    let received: Vec<DateTime<Utc>> = list(&app, &t, "limit=200").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["received_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(received.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // A new event arriving between pages does not shift the later pages.
    let first = list(&app, &t, "limit=3").await;
    ingest(&app, &t, "invoice.created", 8).await;
    let rest = list(&app, &t, &format!("limit=200&cursor={}", first["next_cursor"].as_str().unwrap())).await;
    assert_eq!(ids(&rest), everything[3..].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_shows_attempts_snapshots_calls_and_the_diff() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let customer = ingest(&app, &t, "customer.upserted", 42).await;
    let claim = runs::claim(&app.db.pool, customer, "w1", Duration::from_secs(60)).await.unwrap().unwrap();
    let snapshot = json!({"magento_id": 42, "increment_id": "C-42", "email": "ada@example.com"});
    audit::record_snapshot(&app.db.pool, customer, claim.lease_token, &snapshot).await.unwrap();
    let call = |method: &str, status: i32, body: Value| SageCall {
        started_at: Utc::now(),
        method: method.into(),
        path: "/contacts".into(),
        status: Some(status),
        latency_ms: 12,
        x_request_id: Some("req-1".into()),
        request_body: Some(body),
        response_body: Some(json!({"id": "c-1"})),
        error: None,
    };
    let sent = json!({"contact": {"name": "Ada", "email": "ada@example.com"}});
    let calls =
        [call("GET", 200, Value::Null), call("POST", 422, json!({"contact": {}})), call("POST", 201, sent.clone())];
    audit::record_calls(&app.db.pool, customer, claim.lease_token, &calls).await.unwrap();
    let done = Outcome::Done(RunOutcome::synced("c-1", Some("ADA1".into())));
    assert!(runs::finish(&app.db.pool, customer, claim.lease_token, &done).await.unwrap());

    let (status, d) = get(&app, &format!("/api/v1/events/{customer}")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!((d["id"].as_str(), d["state"].as_str()), (Some(customer.to_string().as_str()), Some("synced")));
    assert_eq!(d["tenant_id"], t.id.to_string());
    assert_eq!(d["rerun_of"], Value::Null);
    assert_eq!(d["increment_id"], "C-42", "no increment id in a customer's payload: the snapshot's");
    assert_eq!(d["payload"]["magento_entity_id"], 42);
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!((attempts[0]["worker"].as_str(), attempts[0]["outcome"].as_str()), (Some("w1"), Some("synced")));
    assert_eq!(attempts[0]["snapshot"], snapshot);
    let sage_calls = attempts[0]["sage_calls"].as_array().unwrap();
    assert_eq!(sage_calls.len(), 3);
    assert_eq!(sage_calls.iter().map(|c| c["status"].as_i64().unwrap()).collect::<Vec<_>>(), vec![200, 422, 201]);
    assert_eq!(d["diff"]["magento"], snapshot);
    assert_eq!(d["diff"]["sage"], sent, "the request of the last successful write, not the refused one");
    assert_eq!(d["diff"]["sage_call"], "POST /contacts");

    let fresh = ingest(&app, &t, "invoice.created", 5).await;
    let (status, d) = get(&app, &format!("/api/v1/events/{fresh}")).await;
    assert_eq!(status, 200);
    assert_eq!((d["attempts"].as_array().unwrap().len(), d["diff"].clone()), (0, Value::Null));
    assert_eq!(ids(&list(&app, &t, "q=c-42").await), vec![customer.to_string()], "q finds the snapshot's id too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404_and_every_route_needs_the_operator_bearer() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let id = ingest(&app, &t, "invoice.created", 1).await;
    for path in [format!("/api/v1/events/{}", Uuid::new_v4()), "/api/v1/events/not-a-uuid".to_owned()] {
        let (status, body) = get(&app, &path).await;
        assert_eq!((status, body["type"].as_str()), (404, Some("/problems/unknown_event")), "{path}");
    }
    let (status, _) = post(&app, &format!("/api/v1/events/{}/requeue", Uuid::new_v4()), None).await;
    assert_eq!(status, 404);
    let (status, _) =
        post(&app, &format!("/api/v1/events/{}/discard", Uuid::new_v4()), Some(r#"{"reason":"x"}"#)).await;
    assert_eq!(status, 404);

    let routes = [
        ("GET", format!("/api/v1/tenants/{}/events", t.id)),
        ("GET", format!("/api/v1/events/{id}")),
        ("POST", format!("/api/v1/events/{id}/requeue")),
        ("POST", format!("/api/v1/events/{id}/discard")),
    ];
    for (method, path) in &routes {
        for bearer in [None, Some("wrong-token-wrong-token"), Some(t.token().as_str())] {
            let url = format!("{}{path}", app.base_url);
            let mut req = if *method == "GET" { app.http.get(url) } else { app.http.post(url) };
            req = req.header("content-type", "application/json").body(r#"{"reason":"x"}"#);
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {bearer:?}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
    }
    let (_, d) = get(&app, &format!("/api/v1/events/{id}")).await;
    assert_eq!(d["state"], "pending", "nothing changed by the refused calls");
}

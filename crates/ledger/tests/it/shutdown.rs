//! Graceful shutdown of a real `ledger serve` under load: SIGTERM closes intake (webhooks 503, so the
//! store keeps them; readiness 503), runs in flight past the deadline are handed back, pending with
//! their attempt given back, and the process exits; the process started in its place runs the rest.
//! Nothing is lost and nothing reaches Sage twice.
use std::process::Command;
use std::time::{Duration, Instant};

use ledger_domain::TenantId;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use test_support::{TestDb, eventually, http_client};

use crate::connect_sim::Served;
use crate::magento::control;

async fn ready_status(http: &reqwest::Client, port: u16) -> Option<u16> {
    let r = http.get(format!("http://127.0.0.1:{port}/health/ready")).send().await.ok()?;
    Some(r.status().as_u16())
}

/// (state, count) of the tenant's events.
async fn states(db: &TestDb, tenant: TenantId) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT state, count(*) FROM events WHERE tenant_id = $1 GROUP BY state ORDER BY state")
        .bind(tenant)
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

async fn count(db: &TestDb, sql: &str, tenant: TenantId) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant).fetch_one(&db.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_refuses_new_webhooks_hands_runs_back_and_nothing_is_lost_or_doubled() {
    let http = http_client();
    // time_scale 60: the module's first retry after a 5xx is due in one second, not sixty.
    let w = Served::connect(60.0).await;
    let (sage_url, store_url) = (w.sage.base_url(), w.store.base_url());
    let (db, key, port, tenant, business) = (&w.db, &w.key, w.port, w.tenant, &w.business);

    // Every Sage call takes 1.5 s, so a run (a contact lookup and create, the invoice) outlives the
    // 2-second shutdown deadline: the runs in flight at SIGTERM are the ones handed back.
    let faults = format!("{sage_url}/_sim/faults");
    control(&http, Method::PUT, faults.clone(), Some(json!({"business": null, "latency_ms": [1500, 1500]}))).await;
    let a = w.serve(
        &[
            ("LEDGER_WORKER__CONCURRENCY", "4"),
            ("LEDGER_WORKER__LEASE_SECS", "120"),
            ("LEDGER_WORKER__SHUTDOWN_DEADLINE_SECS", "2"),
            ("LEDGER_SERVER__SHUTDOWN_GRACE_SECS", "4"),
        ],
        "ledger-shutdown-a.log",
    );
    eventually("A ready", Duration::from_secs(60), || async {
        (ready_status(&http, port).await == Some(200)).then_some(())
    })
    .await;

    let entities = format!("{store_url}/_sim/entities");
    let drain = format!("{store_url}/_sim/drain");
    for _ in 0..30 {
        control(&http, Method::POST, entities.clone(), Some(json!({"action": "create_invoice", "paid": false}))).await;
    }
    let sent = control(&http, Method::POST, drain.clone(), None).await;
    let first: Vec<&Value> = sent["sent"].as_array().unwrap().iter().collect();
    assert!(!first.is_empty() && first.iter().all(|d| d["status_code"] == 202), "{sent}");
    let accepted_before = count(db, "SELECT count(*) FROM events WHERE tenant_id = $1", tenant).await;

    eventually("A has runs in flight", Duration::from_secs(30), || async {
        let running = count(db, "SELECT count(*) FROM events WHERE tenant_id = $1 AND state = 'running'", tenant).await;
        (running >= 2).then_some(())
    })
    .await;
    let probe = |port: u16| {
        Command::new(env!("CARGO_BIN_EXE_ledger"))
            .args(["health", "--url", &format!("http://127.0.0.1:{port}")])
            .env("LEDGER_CRYPTO__KEYS__K1", key.expose_secret())
            .output()
            .unwrap()
    };
    assert!(probe(port).status.success(), "`ledger health` passes while A serves");
    let pid = a.0.id().to_string();
    let term_at = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    // Intake closes at once: readiness and new webhooks answer 503, and the store keeps the events.
    eventually("A reports not ready", Duration::from_secs(10), || async {
        (ready_status(&http, port).await == Some(503)).then_some(())
    })
    .await;
    let probed = probe(port);
    assert!(!probed.status.success(), "`ledger health` fails once intake is closed");
    assert!(String::from_utf8_lossy(&probed.stdout).contains("\"intake\":\"closed\""));
    for _ in 0..5 {
        control(&http, Method::POST, entities.clone(), Some(json!({"action": "create_invoice", "paid": false}))).await;
    }
    let refused = control(&http, Method::POST, drain.clone(), None).await;
    let refused = refused["sent"].as_array().unwrap().clone();
    assert!(!refused.is_empty(), "the new events were posted");
    assert!(refused.iter().all(|d| d["status_code"] == 503), "a closing process answers 503: {refused:?}");
    let dead = control(&http, Method::GET, format!("{store_url}/_sim/outbox?status=dead_lettered"), None).await;
    assert_eq!(dead.as_array().map(Vec::len), Some(0), "503 never dead-letters in the module: {dead}");
    assert_eq!(
        count(db, "SELECT count(*) FROM events WHERE tenant_id = $1", tenant).await,
        accepted_before,
        "nothing was stored from the refused posts"
    );

    // A exits by itself once its runs are handed back (2 s) and the grace (4 s) is over.
    let mut a = a;
    let status = tokio::task::spawn_blocking(move || a.0.wait().unwrap()).await.unwrap();
    let took = term_at.elapsed();
    assert!(status.success(), "A exits cleanly after SIGTERM: {status}");
    assert!(took < Duration::from_secs(30), "A took {took:?} to stop");
    assert_eq!(
        count(db, "SELECT count(*) FROM events WHERE tenant_id = $1 AND state = 'running'", tenant).await,
        0,
        "no run is left holding a lease: {:?}",
        states(db, tenant).await
    );
    let handed_back = count(
        db,
        "SELECT count(*) FROM event_attempts a JOIN events e ON e.id = a.event_id
          WHERE e.tenant_id = $1 AND a.detail LIKE 'handed back%'",
        tenant,
    )
    .await;
    assert!(handed_back >= 2, "the runs in flight were handed back: {handed_back}");
    let spent =
        count(db, "SELECT count(*) FROM events WHERE tenant_id = $1 AND state = 'pending' AND attempt > 0", tenant)
            .await;
    assert_eq!(spent, 0, "a handed-back run keeps its attempt");

    // B takes A's place (a rolling restart) at full speed; the store retries the refused events.
    control(&http, Method::PUT, faults, Some(json!({}))).await;
    let _b = w.serve(&[], "ledger-shutdown-b.log");
    eventually("B ready", Duration::from_secs(60), || async {
        (ready_status(&http, port).await == Some(200)).then_some(())
    })
    .await;
    let total = eventually("the store's retries are accepted", Duration::from_secs(60), || async {
        control(&http, Method::POST, drain.clone(), None).await;
        let pending = control(&http, Method::GET, format!("{store_url}/_sim/outbox?status=pending"), None).await;
        let stored = count(db, "SELECT count(*) FROM events WHERE tenant_id = $1", tenant).await;
        (pending.as_array().is_some_and(Vec::is_empty) && stored > accepted_before).then_some(stored)
    })
    .await;
    eventually("every event synced", Duration::from_secs(120), || async {
        let s = states(db, tenant).await;
        (s == vec![("synced".to_owned(), total)]).then_some(())
    })
    .await;
    assert_eq!(total, 35, "30 events accepted before SIGTERM, 5 refused and retried");

    let invoices =
        control(&http, Method::GET, format!("{sage_url}/_sim/records?business={business}&type=sales_invoices"), None)
            .await;
    let invoices = invoices["items"].as_array().unwrap();
    let mut references: Vec<&str> = invoices.iter().map(|i| i["reference"].as_str().unwrap()).collect();
    references.sort_unstable();
    references.dedup();
    assert_eq!(references.len(), 35, "every Magento invoice once in Sage");
    assert_eq!(invoices.len(), 35, "and none twice");
    let duplicates = control(&http, Method::GET, format!("{sage_url}/_sim/duplicates"), None).await;
    assert_eq!(duplicates, json!([]), "nothing was created twice in Sage");
    let finished_twice = count(
        db,
        "SELECT count(*) FROM (SELECT a.event_id FROM event_attempts a JOIN events e ON e.id = a.event_id
                                 WHERE e.tenant_id = $1 AND a.outcome = 'synced'
                                 GROUP BY a.event_id HAVING count(*) > 1) twice",
        tenant,
    )
    .await;
    assert_eq!(finished_twice, 0, "no event ran to completion twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_hands_runs_back_at_once_instead_of_waiting_for_the_deadline() {
    let http = http_client();
    let w = Served::connect(60.0).await;
    let (db, tenant) = (&w.db, w.tenant);
    // Runs take many seconds (3 s per Sage call) and the deadline is a minute: only the second signal
    // can stop the process soon.
    let faults = json!({"business": null, "latency_ms": [3000, 3000]});
    control(&http, Method::PUT, format!("{}/_sim/faults", w.sage.base_url()), Some(faults)).await;
    let a = w.serve(
        &[("LEDGER_WORKER__SHUTDOWN_DEADLINE_SECS", "60"), ("LEDGER_SERVER__SHUTDOWN_GRACE_SECS", "1")],
        "ledger-shutdown-force.log",
    );
    eventually("ready", Duration::from_secs(60), || async {
        (ready_status(&http, w.port).await == Some(200)).then_some(())
    })
    .await;
    for _ in 0..4 {
        let action = json!({"action": "create_invoice", "paid": false});
        control(&http, Method::POST, format!("{}/_sim/entities", w.store.base_url()), Some(action)).await;
    }
    control(&http, Method::POST, format!("{}/_sim/drain", w.store.base_url()), None).await;
    eventually("runs in flight", Duration::from_secs(30), || async {
        let running = count(db, "SELECT count(*) FROM events WHERE tenant_id = $1 AND state = 'running'", tenant).await;
        (running >= 1).then_some(())
    })
    .await;
    let pid = a.0.id().to_string();
    let term_at = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    eventually("intake closed", Duration::from_secs(10), || async {
        (ready_status(&http, w.port).await == Some(503)).then_some(())
    })
    .await;
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut a = a;
    let status = tokio::task::spawn_blocking(move || a.0.wait().unwrap()).await.unwrap();
    assert!(status.success(), "{status}");
    assert!(
        term_at.elapsed() < Duration::from_secs(30),
        "stopped long before the 60 s deadline: {:?}",
        term_at.elapsed()
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM events WHERE tenant_id = $1 AND state = 'running'", tenant).await,
        0,
        "the runs in flight were handed back, not left under their lease"
    );
}

//! Real `ledger` processes on one database: a worker killed with SIGKILL after claiming an event and
//! before finishing it, which another process runs again, once; and an API process beside a worker process.
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use ledger_domain::TenantId;
use ledger_magento::ApiKey;
use ledger_store::{Keyring, tenants};
use secrecy::{ExposeSecret, SecretString};
use test_support::{ChildGuard, TestDb, TestTenant, envelope, eventually, http_client};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn_ledger(db: &TestDb, key: &SecretString, port: u16, extra: &[(&str, &str)], log: &str) -> ChildGuard {
    spawn_role(db, key, port, "all", extra, log)
}

pub(crate) fn spawn_role(
    db: &TestDb,
    key: &SecretString,
    port: u16,
    role: &str,
    extra: &[(&str, &str)],
    log: &str,
) -> ChildGuard {
    let log_file = std::fs::File::create(std::env::temp_dir().join(log)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledger"));
    cmd.args(["serve", "--role", role])
        .env_remove("DATABASE_URL")
        .env("LEDGER_DATABASE__URL", &db.url)
        .env("LEDGER_CRYPTO__KEYS__K1", key.expose_secret())
        .env("LEDGER_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("LEDGER_WORKER__LEASE_SECS", "2")
        .env("LEDGER_WORKER__RECONCILE_INTERVAL_MS", "200")
        .env("LEDGER_LOG__LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(log_file);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    ChildGuard(cmd.spawn().expect("start ledger"))
}

/// A database, the keyring key the processes share, and a tenant created with it.
pub(crate) async fn setup(name: &str) -> (TestDb, SecretString, TestTenant) {
    let db = TestDb::new().await;
    let key = Keyring::generate_key();
    let keyring = Keyring::new(&BTreeMap::from([("k1".to_owned(), key.clone())]), None).unwrap();
    let tenant = TestTenant { id: TenantId::new(), api_key: ApiKey::generate() };
    tenants::create(&db.pool, &keyring, tenant.id, name, &SecretString::from(tenant.api_key.expose())).await.unwrap();
    (db, key, tenant)
}

/// `invoice.created` for entity 1, signed like the module, to the process on `port`.
pub(crate) async fn post_invoice(http: &reqwest::Client, port: u16, tenant: &TestTenant) -> reqwest::Response {
    http.post(format!("http://127.0.0.1:{port}/webhooks/magento/{}/invoice.created", tenant.id))
        .bearer_auth(tenant.token())
        .header("content-type", "application/json")
        .header("idempotency-key", "invoice.created:1")
        .body(envelope(1))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn wait_ready(http: &reqwest::Client, port: u16) {
    eventually("ledger ready", Duration::from_secs(60), || async {
        let r = http.get(format!("http://127.0.0.1:{port}/health/ready")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_hands_the_event_to_another_process_once() {
    let (db, key, tenant) = setup("crash").await;
    let http = http_client();

    // Process A can claim but never record an outcome: the database refuses to let a run finish
    // until the test lifts the rule, so A is killed while its run is open (no hook in the binary).
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_finish() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'finishing is refused by the test'; END $$;
         CREATE TRIGGER refuse_finish BEFORE UPDATE ON events FOR EACH ROW
             WHEN (OLD.state = 'running' AND NEW.state <> 'running') EXECUTE FUNCTION refuse_finish();",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let port_a = free_port();
    let mut a = spawn_ledger(&db, &key, port_a, &[], "ledger-crash-a.log");
    wait_ready(&http, port_a).await;
    let resp = post_invoice(&http, port_a, &tenant).await;
    assert_eq!(resp.status(), 202);
    let id: uuid::Uuid =
        resp.json::<serde_json::Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap();
    let holder: String = eventually("process A claims the event", Duration::from_secs(30), || async {
        sqlx::query_scalar::<_, Option<String>>("SELECT leased_by FROM events WHERE id = $1 AND state = 'running'")
            .bind(id)
            .fetch_optional(&db.pool)
            .await
            .unwrap()
            .flatten()
    })
    .await;
    a.0.kill().expect("SIGKILL process A");
    a.0.wait().unwrap();
    sqlx::raw_sql("DROP TRIGGER refuse_finish ON events").execute(&db.pool).await.unwrap();

    let port_b = free_port();
    let _b = spawn_ledger(&db, &key, port_b, &[], "ledger-crash-b.log");
    // The tenant has no Sage connection, so B's run ends parked for want of one (no attempt spent).
    eventually("process B runs the event to its outcome", Duration::from_secs(60), || async {
        let parked: Option<String> =
            sqlx::query_scalar("SELECT parked_reason FROM events WHERE id = $1 AND state = 'pending'")
                .bind(id)
                .fetch_optional(&db.pool)
                .await
                .unwrap()
                .flatten();
        (parked.as_deref() == Some("sage_not_connected")).then_some(())
    })
    .await;
    let rows: Vec<(String, Option<String>, i32)> =
        sqlx::query_as("SELECT worker, outcome, attempt FROM event_attempts WHERE event_id = $1 ORDER BY lease_token")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2, "claimed by A, then once by B: {rows:?}");
    assert_eq!(rows[0].0, holder);
    assert_eq!(rows[0].1, None, "A never finished");
    assert_ne!(rows[1].0, holder, "another process ran it");
    assert_eq!((rows[1].1.as_deref(), rows[1].2), (Some("pending"), 2), "B's run ended (parked)");
    let attempt: i32 =
        sqlx::query_scalar("SELECT attempt FROM events WHERE id = $1").bind(id).fetch_one(&db.pool).await.unwrap();
    assert_eq!(attempt, 1, "A's claim counts; B's parked run gives its attempt back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_worker_roles_split_across_processes() {
    let (db, key, tenant) = setup("roles").await;
    let http = http_client();
    let (api_port, worker_port) = (free_port(), free_port());
    let _api = spawn_role(&db, &key, api_port, "api", &[], "ledger-roles-api.log");
    let operator = [("LEDGER_ADMIN__TOKENS", "[\"roles-operator-token-0001\"]")];
    let _worker = spawn_role(&db, &key, worker_port, "worker", &operator, "ledger-roles-worker.log");
    wait_ready(&http, api_port).await;
    wait_ready(&http, worker_port).await;
    let api_ready: serde_json::Value =
        http.get(format!("http://127.0.0.1:{api_port}/health/ready")).send().await.unwrap().json().await.unwrap();
    assert!(api_ready["checks"].get("worker_heartbeat_age_s").is_none(), "the API role is not judged by a heartbeat");
    let worker_ready: serde_json::Value =
        http.get(format!("http://127.0.0.1:{worker_port}/health/ready")).send().await.unwrap().json().await.unwrap();
    assert!(worker_ready["checks"]["worker_heartbeat_age_s"].is_number(), "the worker role is: {worker_ready}");
    let on_worker = http
        .post(format!("http://127.0.0.1:{worker_port}/webhooks/magento/{}/invoice.created", tenant.id))
        .bearer_auth(tenant.token())
        .send()
        .await
        .unwrap();
    assert_eq!(on_worker.status(), 404, "a worker process serves no webhooks");
    // It serves its metrics behind the operator bearer.
    let metrics = format!("http://127.0.0.1:{worker_port}/metrics");
    assert_eq!(http.get(&metrics).send().await.unwrap().status(), 401);
    let scraped = http.get(&metrics).bearer_auth("roles-operator-token-0001").send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("ledger_sage_throttled_total 0"), "the worker's series");
    let resp = post_invoice(&http, api_port, &tenant).await;
    assert_eq!(resp.status(), 202);
    eventually("the worker process runs the event", Duration::from_secs(30), || async {
        let parked: Option<String> =
            sqlx::query_scalar("SELECT parked_reason FROM events").fetch_one(&db.pool).await.unwrap();
        (parked.as_deref() == Some("sage_not_connected")).then_some(())
    })
    .await;
}

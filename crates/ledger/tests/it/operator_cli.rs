//! `ledger events …` as a real process on the test database: list (one tenant, all tenants), show,
//! requeue (refused from synced), and bulk discard with a dry run first.
use std::process::{Command, Output};

use ledger_domain::RunOutcome;
use ledger_store::Keyring;
use ledger_store::runs::Outcome;
use secrecy::ExposeSecret;
use serde_json::Value;
use test_support::TestApp;
use uuid::Uuid;

use crate::operator_events::{dead_letter, get, ingest, run_to};

fn events(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("events")
        .args(args)
        .env_remove("DATABASE_URL")
        .env("LEDGER_DATABASE__URL", &app.db.url)
        .env("LEDGER_CRYPTO__KEYS__K1", Keyring::generate_key().expose_secret())
        .env("LEDGER_LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

fn json(app: &TestApp, args: &[&str]) -> Value {
    let out = events(app, args);
    assert!(out.status.success(), "ledger events {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_commands_list_show_requeue_and_discard() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let other = app.create_tenant("other").await;
    let dead = ingest(&app, &t, "invoice.created", 1).await;
    let synced = ingest(&app, &t, "invoice.created", 2).await;
    let pending = [ingest(&app, &t, "customer.upserted", 3).await, ingest(&app, &t, "product.upserted", 4).await];
    let elsewhere = ingest(&app, &other, "invoice.created", 1).await;
    run_to(&app, dead, dead_letter()).await;
    run_to(&app, synced, Outcome::Done(RunOutcome::synced("s-2", None))).await;
    let tenant = t.id.to_string();

    let listed = json(&app, &["list", "--tenant", &tenant, "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    let mut all: Vec<String> = [dead, synced, pending[0], pending[1], elsewhere].iter().map(Uuid::to_string).collect();
    all.sort();
    assert_eq!(ids(&json(&app, &["list", "--json"])), all, "every tenant without --tenant");
    assert_eq!(ids(&json(&app, &["list", "--state", "dead_lettered", "--json"])), vec![dead.to_string()]);
    let mut want = vec![elsewhere.to_string(), dead.to_string(), synced.to_string()];
    want.sort();
    assert_eq!(ids(&json(&app, &["list", "--event", "invoice.created", "--json"])), want);
    let text = events(&app, &["list", "--tenant", &tenant]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("Sage answered 503"), "the table shows the error");
    let bad = events(&app, &["list", "--state", "done"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("state `done`"));

    let shown = json(&app, &["show", &dead.to_string(), "--json"]);
    assert_eq!((shown["state"].as_str(), shown["attempts"].as_array().unwrap().len()), (Some("dead_lettered"), 1));

    let requeued = json(&app, &["requeue", &dead.to_string(), "--json"]);
    let new: Uuid = requeued["sync_run_id"].as_str().unwrap().parse().unwrap();
    let (_, d) = get(&app, &format!("/api/v1/events/{new}")).await;
    assert_eq!((d["rerun_of"].as_str(), d["state"].as_str()), (Some(dead.to_string().as_str()), Some("pending")));
    let refused = events(&app, &["requeue", &synced.to_string()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("synced"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Bulk: the two pending runs of the tenant plus the requeued one; the dry run changes nothing.
    let args = ["discard", "--tenant", tenant.as_str(), "--state", "pending", "--reason", "test data", "--json"];
    let dry = json(&app, &[&args[..], &["--dry-run"]].concat());
    assert_eq!(dry["ids"].as_array().unwrap().len(), 3, "{dry}");
    assert_eq!(get(&app, &format!("/api/v1/events/{}", pending[0])).await.1["state"], "pending");
    let out = events(&app, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3, "one JSON line per run");
    for id in [pending[0], pending[1], new] {
        let (_, d) = get(&app, &format!("/api/v1/events/{id}")).await;
        assert_eq!((d["state"].as_str(), d["discard_reason"].as_str()), (Some("discarded"), Some("test data")));
    }
    let (_, e) = get(&app, &format!("/api/v1/events/{elsewhere}")).await;
    assert_eq!(e["state"], "pending", "another tenant's runs are untouched");
    // A bulk run that meets a refusal still does the rest, reports each run, and exits non-zero.
    let mixed = events(&app, &["requeue", "--tenant", &tenant, "--state", "synced,discarded", "--json"]);
    assert!(!mixed.status.success(), "a refused run makes the command fail");
    let lines: Vec<Value> =
        String::from_utf8_lossy(&mixed.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().filter(|l| l["ok"] == true).count(), 3, "{lines:?}");
    let refused: Vec<_> = lines.iter().filter(|l| l["ok"] == false).collect();
    assert_eq!((refused.len(), refused[0]["id"].as_str()), (1, Some(synced.to_string().as_str())));
    assert_eq!(refused[0]["error"], "not_requeueable");
    let none = events(&app, &["discard", "--reason", "x"]);
    assert!(!none.status.success(), "an id or --tenant and --state is required");
}

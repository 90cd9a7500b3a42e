//! The token custody across real processes: two `ledger` processes sharing one binding's 2-second
//! tokens for a minute never present a dead refresh token; a process SIGKILLed at each critical point of
//! the refresh protocol leaves the binding working (before the token call, after the commit) or, in the
//! documented window between Sage's answer and our commit, `reconnect_required`; `ledger sage check`.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ledger_domain::TenantId;
use ledger_store::Keyring;
use secrecy::SecretString;
use serde_json::Value;
use test_support::{TestDb, eventually, http_client};

use crate::connect_sim::{TRUST, ledger};

pub(crate) struct Connected {
    pub sage: sage_sim::RunningSim,
    _magento: magento_sim::RunningSim,
    pub db: TestDb,
    key: SecretString,
    pub tenant: TenantId,
}

/// A store paired and its Plus business connected by `dev connect-sim`, Sage issuing `ttl` tokens.
pub(crate) async fn connected(ttl: Duration) -> Connected {
    let loopback = "127.0.0.1:0".parse().unwrap();
    let config = sage_sim::SimConfig { auto_approve: true, access_token_ttl: ttl, ..Default::default() };
    let sage = sage_sim::spawn(config, loopback).await.unwrap();
    let magento =
        magento_sim::spawn(magento_sim::SimConfig { cron: false, ..Default::default() }, loopback).await.unwrap();
    let db = TestDb::new().await;
    let key = Keyring::generate_key();
    let out = ledger(&db, &key, &sage.base_url())
        .args(["dev", "connect-sim", "--sage-url", &sage.base_url(), "--magento-url", &magento.base_url(), "--json"])
        .envs(TRUST)
        .output()
        .unwrap();
    assert!(out.status.success(), "connect-sim: {}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tenant = printed["tenant_id"].as_str().unwrap().parse().unwrap();
    Connected { sage, _magento: magento, db, key, tenant }
}

impl Connected {
    pub fn ledger(&self, args: &[&str]) -> Command {
        let mut cmd = ledger(&self.db, &self.key, &self.sage.base_url());
        cmd.args(args).envs(TRUST);
        cmd
    }

    fn check(&self) -> (bool, Value) {
        let tenant = self.tenant.to_string();
        let out = self.ledger(&["sage", "check", "--tenant", &tenant, "--json"]).output().unwrap();
        let printed = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("check printed no JSON: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.success(), printed)
    }

    /// `ledger sage check` stopped at `point` of its refresh: returns once it is parked there.
    async fn check_paused_at(&self, point: &str, marker: &Path) -> Child {
        let tenant = self.tenant.to_string();
        let child = self
            .ledger(&["sage", "check", "--tenant", &tenant, "--json"])
            .env("TEST_HOOK_REFRESH_PAUSE", point)
            .env("TEST_HOOK_REFRESH_PAUSE_FILE", marker)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        eventually(&format!("the check pauses at {point}"), Duration::from_secs(60), || async {
            marker.exists().then_some(())
        })
        .await;
        child
    }

    async fn token_answers(&self, status: u64) -> u64 {
        let calls: Value = http_client()
            .get(format!("{}/_sim/calls", self.sage.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["path"] == "/token" && c["status"] == status)
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    }

    async fn status(&self) -> String {
        let binding = ledger_store::bindings::sage(&self.db.pool, self.tenant).await.unwrap().unwrap();
        binding.status.as_str().to_owned()
    }
}

fn marker() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ledger-refresh-pause-{}", uuid::Uuid::new_v4()))
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no rollback of our own, the connection just drops
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_of_eight_tasks_share_two_second_tokens_for_a_minute_without_invalid_grant() {
    let c = connected(Duration::from_secs(2)).await;
    let granted_before = c.token_answers(200).await;
    let tenant = c.tenant.to_string();
    let spawn = || {
        c.ledger(&["bench", "sage-refresh", "--tenant", &tenant, "--tasks", "8", "--duration-s", "60", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = tokio::task::spawn_blocking(move || (a.wait_with_output().unwrap(), b.wait_with_output().unwrap()))
        .await
        .unwrap();
    let mut calls = 0;
    let mut refreshes = 0;
    for out in [&a, &b] {
        assert!(out.status.success(), "a process failed: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["failed"], serde_json::json!({}), "every call authorised: {report}");
        assert!(report["seconds"].as_f64().unwrap() >= 60.0);
        calls += report["calls"].as_u64().unwrap();
        refreshes += report["refreshes"].as_u64().unwrap();
    }
    assert_eq!(c.token_answers(400).await, 0, "no refresh token was ever presented dead (invalid_grant)");
    let granted = c.token_answers(200).await - granted_before;
    assert_eq!(granted, refreshes, "every refresh Sage granted was one of ours");
    // 2-second tokens refreshed 0.4 s early: about 38 a minute; never one per call.
    assert!((20..=80).contains(&refreshes), "{refreshes} refreshes for {calls} calls");
    assert!(calls > 10 * refreshes, "{calls} calls, {refreshes} refreshes");
    assert_eq!(c.status().await, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_holding_the_refresh_lock_before_the_token_call_loses_nothing() {
    let c = connected(Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // the stored token is due
    let child = c.check_paused_at("before_token", &marker()).await;
    kill(child);
    let (ok, report) = c.check();
    assert!(ok, "the binding works after the crash: {report}");
    assert_eq!(report["status"], "active");
    assert_eq!(c.token_answers(400).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_just_after_its_commit_loses_nothing() {
    let c = connected(Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let child = c.check_paused_at("after_commit", &marker()).await;
    kill(child);
    tokio::time::sleep(Duration::from_secs(2)).await; // the pair it stored is due again: refresh with it
    let (ok, report) = c.check();
    assert!(ok, "the binding works after the crash: {report}");
    assert_eq!(report["status"], "active");
    assert_eq!(c.token_answers(400).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_between_sages_answer_and_its_commit_leaves_the_binding_reconnect_required() {
    let c = connected(Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let child = c.check_paused_at("before_commit", &marker()).await;
    kill(child);
    // The documented unrecoverable case: Sage rotated the pair, our copy of it died with the process.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ok, report) = c.check();
    assert!(!ok, "the stored refresh token is dead: {report}");
    assert_eq!(report["error"], "auth", "{report}");
    assert_eq!(c.status().await, "reconnect_required", "shown to operators, work parks");
    assert_eq!(c.token_answers(400).await, 1, "one invalid_grant, then no more refresh attempts");
    let (ok, _) = c.check();
    assert!(!ok);
    assert_eq!(c.token_answers(400).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sage_check_reports_the_business_and_refreshes_when_due() {
    let c = connected(Duration::from_secs(300)).await;
    let (ok, report) = c.check();
    assert!(ok, "{report}");
    let binding = ledger_store::bindings::sage(&c.db.pool, c.tenant).await.unwrap().unwrap();
    assert_eq!(report["tenant_id"], c.tenant.to_string());
    assert_eq!(report["binding_id"], binding.id.to_string());
    assert_eq!(report["business_id"], binding.business_id.unwrap().to_string());
    assert_eq!(report["business_name"], binding.business_name.unwrap());
    assert_eq!((report["tier"].as_str(), report["status"].as_str()), (Some("plus"), Some("active")));
    let expires: chrono::DateTime<chrono::Utc> = report["access_expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires > chrono::Utc::now() + chrono::Duration::seconds(200), "the stored 5-minute token, not refreshed");
    assert_eq!(c.token_answers(200).await, 1, "only the connect's exchange");

    // A tenant without Sage: a clear failure, exit non-zero.
    let other = TenantId::new();
    let out = c.ledger(&["sage", "check", "--tenant", &other.to_string()]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no Sage connection"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Sage says the subscription lapsed: the check fails and the binding shows it.
    let business = report["business_id"].as_str().unwrap();
    http_client()
        .post(format!("{}/_sim/auth", c.sage.base_url()))
        .json(&serde_json::json!({"action": "mse", "business": business}))
        .send()
        .await
        .unwrap();
    let (ok, report) = c.check();
    assert!(!ok);
    assert_eq!(report["error"], "subscription", "{report}");
    assert_eq!(c.status().await, "suspended");
}

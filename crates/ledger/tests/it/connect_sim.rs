//! `ledger dev connect-sim` as a real process against the two simulators: it pairs the store, connects
//! Sage and binds the business asked for; run again it re-pairs the same tenant; it refuses a Sage that
//! the configuration does not point at, and simulators the configuration does not trust.
use std::collections::BTreeMap;
use std::process::{Command, Output};

use ledger_domain::{BindingStatus, TenantId, Tier};
use ledger_store::Keyring;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use test_support::{TestDb, http_client};

struct Sims {
    sage: sage_sim::RunningSim,
    magento: magento_sim::RunningSim,
}

async fn sims() -> Sims {
    let loopback = "127.0.0.1:0".parse().unwrap();
    let sage =
        sage_sim::spawn(sage_sim::SimConfig { auto_approve: true, ..Default::default() }, loopback).await.unwrap();
    let magento =
        magento_sim::spawn(magento_sim::SimConfig { cron: false, ..Default::default() }, loopback).await.unwrap();
    Sims { sage, magento }
}

fn connect_sim(db: &TestDb, key: &SecretString, sage_base: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = ledger(db, key, sage_base);
    cmd.args(["dev", "connect-sim"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A store connected through `dev connect-sim` for a `ledger serve` process on `port`: sage-sim
/// (auto-approving), a magento-sim store without cron whose module retries come `time_scale` times
/// sooner, a fresh database, and the store paired with `http://127.0.0.1:{port}` and bound to the Plus
/// business.
pub(crate) struct Served {
    pub sage: sage_sim::RunningSim,
    pub store: magento_sim::RunningSim,
    pub db: TestDb,
    pub key: SecretString,
    pub port: u16,
    pub tenant: TenantId,
    pub business: String,
}

impl Served {
    pub async fn connect(time_scale: f64) -> Self {
        let loopback = "127.0.0.1:0".parse().unwrap();
        let sage =
            sage_sim::spawn(sage_sim::SimConfig { auto_approve: true, ..Default::default() }, loopback).await.unwrap();
        let store =
            magento_sim::spawn(magento_sim::SimConfig { cron: false, time_scale, ..Default::default() }, loopback)
                .await
                .unwrap();
        let (db, key, port) = (TestDb::new().await, Keyring::generate_key(), crate::processes::free_port());
        let (sage_url, store_url) = (sage.base_url(), store.base_url());
        let out = ledger(&db, &key, &sage_url)
            .args(["dev", "connect-sim", "--sage-url", &sage_url, "--magento-url", &store_url, "--json"])
            .envs(TRUST)
            .env("LEDGER_SERVER__BIND", format!("127.0.0.1:{port}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "connect-sim: {}", String::from_utf8_lossy(&out.stderr));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let tenant = printed["tenant_id"].as_str().unwrap().parse().unwrap();
        let business = printed["business_id"].as_str().unwrap().to_owned();
        Self { sage, store, db, key, port, tenant, business }
    }

    /// `ledger serve` on the paired port with `extra` settings, its log in the temp dir as `log`.
    pub fn serve(&self, extra: &[(&str, &str)], log: &str) -> test_support::ChildGuard {
        let log = std::fs::File::create(std::env::temp_dir().join(log)).unwrap();
        let mut cmd = ledger(&self.db, &self.key, &self.sage.base_url());
        cmd.arg("serve")
            .envs(TRUST)
            .env("LEDGER_SERVER__BIND", format!("127.0.0.1:{}", self.port))
            .env("LEDGER_LOG__LEVEL", "info")
            .env("LEDGER_WORKER__RECONCILE_INTERVAL_MS", "200")
            .envs(extra.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(log);
        test_support::ChildGuard(cmd.spawn().expect("start ledger"))
    }
}

/// The `ledger` binary on `db`, sealing with `key`, its `sage.*` endpoints on the simulator at `sage_base`.
pub(crate) fn ledger(db: &TestDb, key: &SecretString, sage_base: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledger"));
    cmd.env_remove("DATABASE_URL")
        .env("LEDGER_DATABASE__URL", &db.url)
        .env("LEDGER_CRYPTO__KEYS__K1", key.expose_secret())
        .env("LEDGER_LOG__LEVEL", "warn")
        .env("LEDGER_SAGE__AUTHORIZE_URL", format!("{sage_base}/oauth2/auth/central"))
        .env("LEDGER_SAGE__TOKEN_URL", format!("{sage_base}/token"))
        .env("LEDGER_SAGE__REVOKE_URL", format!("{sage_base}/revoke"))
        .env("LEDGER_SAGE__API_BASE", format!("{sage_base}/v3.1"))
        .env("LEDGER_SAGE__CLIENT_ID", "sage-sim")
        .env("LEDGER_SAGE__CLIENT_SECRET", "sage-sim-secret");
    cmd
}

pub(crate) const TRUST: [(&str, &str); 2] =
    [("LEDGER_OUTBOUND__ALLOW_HTTP", "true"), ("LEDGER_OUTBOUND__ALLOW_CIDRS", "[\"127.0.0.0/8\"]")];

pub(crate) async fn business_of_tier(sage: &str, tier: &str) -> String {
    let state: Value = http_client().get(format!("{sage}/_sim/state")).send().await.unwrap().json().await.unwrap();
    state["businesses"].as_array().unwrap().iter().find(|b| b["tier"] == tier).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sim_pairs_connects_and_binds_the_business_asked_for() {
    let s = sims().await;
    let db = TestDb::new().await;
    let key = Keyring::generate_key();
    let keyring = Keyring::new(&BTreeMap::from([("k1".to_owned(), key.clone())]), None).unwrap();
    let (sage, magento) = (s.sage.base_url(), s.magento.base_url());

    let out = connect_sim(&db, &key, &sage, &["--sage-url", &sage, "--magento-url", &magento, "--json"], &TRUST);
    assert!(out.status.success(), "connect-sim failed: {}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tenant: TenantId = printed["tenant_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(printed["business_id"], business_of_tier(&sage, "Plus").await.as_str(), "Plus by default");
    let binding = ledger_store::bindings::sage(&db.pool, tenant).await.unwrap().unwrap();
    assert_eq!(printed["binding_id"], binding.id.to_string());
    assert_eq!((binding.status, binding.tier), (BindingStatus::Active, Some(Tier::Plus)));
    assert!(ledger_store::credentials::load(&db.pool, &keyring, binding.id).await.unwrap().is_some(), "tokens stored");
    let policy = ledger_domain::SyncPolicy::parse(&binding.policy).expect("a valid demo policy");
    for code in ["checkmo", "banktransfer", "stripe_payments", "paypal_express", "purchaseorder"] {
        assert!(policy.payment_method_map.contains_key(code), "{code} is mapped: {:?}", binding.policy);
    }
    assert!(policy.bank_account_id.is_some() && policy.destination_vat_ledger_account_id.is_some());
    let state: Value = http_client().get(format!("{magento}/_sim/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["tenant_id"], tenant.to_string(), "the store is paired with the tenant");

    let args = ["--sage-url", sage.as_str(), "--magento-url", magento.as_str(), "--business", "start", "--json"];
    let out = connect_sim(&db, &key, &sage, &args, &TRUST);
    assert!(out.status.success(), "second run failed: {}", String::from_utf8_lossy(&out.stderr));
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["tenant_id"], tenant.to_string(), "the same store re-pairs the same tenant");
    assert_eq!(again["business_id"], business_of_tier(&sage, "Start").await.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sim_refuses_an_unconfigured_sage_and_untrusted_simulators() {
    let s = sims().await;
    let db = TestDb::new().await;
    let key = Keyring::generate_key();
    let (sage, magento) = (s.sage.base_url(), s.magento.base_url());
    let args = ["--sage-url", sage.as_str(), "--magento-url", magento.as_str()];

    let out = connect_sim(&db, &key, "https://oauth.example", &args, &TRUST);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sage.authorize_url"), "names the endpoint that points elsewhere: {err}");

    let out = connect_sim(&db, &key, &sage, &args, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dev.simulators"), "{err}");
    let calls: Value = http_client().get(format!("{sage}/_sim/calls")).send().await.unwrap().json().await.unwrap();
    assert_eq!(calls, serde_json::json!([]), "nothing was sent to the simulator");
}

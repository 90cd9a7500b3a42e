//! The binary with its embedded default: no database configured, commands share one private cluster;
//! `tenant create` leaves it running, the `serve` that started it stops it on SIGTERM.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ledger_pgcluster::{Cluster, ClusterOptions};
use serde_json::Value;
use test_support::{ChildGuard, eventually, http_client};

fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new("/var/tmp").join(format!("ledger-cli-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn ledger(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledger"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("LEDGER_DATABASE__URL")
        .env_remove("LEDGER_CRYPTO__KEYS__K1")
        .env("LEDGER_LOG__LEVEL", "warn");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let out = ledger(dir, args).output().unwrap();
    assert!(out.status.success(), "ledger {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_needs_no_configuration() {
    let dir = work_dir("embedded");
    let created: Value =
        serde_json::from_slice(&run(&dir, &["tenant", "create", "--name", "Shop One", "--json"]).stdout).unwrap();
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    assert!(created["api_key"].as_str().unwrap().starts_with("byte8_lk_"));
    let key_file = dir.join(".ledger/secret.key");
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600,
        "the generated key is private"
    );

    let cluster = Cluster::ensure(&ClusterOptions::new(dir.join(".ledger/pg"))).unwrap();
    assert!(!cluster.started_here(), "tenant create left the cluster running for the next command");
    let listed: Value = serde_json::from_slice(&run(&dir, &["tenant", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["id"], tenant.as_str());
    assert_eq!(listed[0]["name"], "Shop One");
    let api_key: Option<String> = {
        let pool = sqlx::PgPool::connect(&cluster.url("ledger")).await.unwrap();
        let enc: Vec<u8> = sqlx::query_scalar("SELECT api_key_enc FROM tenants").fetch_one(&pool).await.unwrap();
        pool.close().await;
        String::from_utf8(enc).ok()
    };
    assert!(api_key.is_none_or(|s| !s.contains("byte8_lk_")), "the api_key is stored encrypted");
    cluster.force_stop().unwrap();

    // serve starts the cluster again (data kept), and stops it on SIGTERM because it started it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = ChildGuard(
        ledger(&dir, &["serve"])
            .env("LEDGER_SERVER__BIND", format!("127.0.0.1:{port}"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = http_client();
    eventually("serve is ready", Duration::from_secs(60), || async {
        let r = http.get(format!("http://127.0.0.1:{port}/health/ready")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let shown: Value = serde_json::from_slice(&run(&dir, &["tenant", "show", &tenant, "--json"]).stdout).unwrap();
    assert_eq!(shown["name"], "Shop One", "data survived the restart");
    Command::new("kill").args(["-TERM", &serve.0.id().to_string()]).status().unwrap();
    let status = serve.0.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM");
    assert!(!cluster.data_dir().join("postmaster.pid").exists(), "the serve that started the cluster stopped it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_configuration_names_the_key() {
    let dir = work_dir("config");
    let out = ledger(&dir, &["tenant", "list"]).env("LEDGER_SERVER__BIND", "not-an-address").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.bind"), "{err}");
    let out =
        ledger(&dir, &["tenant", "list"]).env("LEDGER_DATABASE__URL", "postgres://x@127.0.0.1:1/x").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("crypto.keys"), "an external database needs a configured key: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

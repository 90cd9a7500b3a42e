//! `ledger keys status|rotate` through the binary: values sealed by the old key keep reading while a new
//! key is active, rotation re-seals every one of them, after it the old key can go, and a `pg_dump`
//! holds none of the secrets in plain text.
use std::collections::BTreeMap;
use std::time::Duration;

use ledger_store::{Keyring, credentials, tenants};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::refresh::connected;

fn run(cmd: &mut std::process::Command) -> (bool, Value, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let printed = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), printed, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_reseals_every_secret_under_the_new_key_and_the_old_key_can_then_go() {
    let c = connected(Duration::from_secs(300)).await;
    let k2 = Keyring::generate_key();
    let tenant = c.tenant.to_string();
    let both = |args: &[&str]| {
        let mut cmd = c.ledger(args);
        cmd.env("LEDGER_CRYPTO__KEYS__K2", k2.expose_secret());
        cmd
    };

    let (ok, status, err) = run(&mut c.ledger(&["keys", "status", "--json"]));
    assert!(ok, "{err}");
    assert_eq!(status["active_key"], "k1");
    assert_eq!(status["usage"]["tenants.api_key_enc"]["k1"], 1, "{status}");
    assert_eq!(status["usage"]["binding_credentials.refresh_token_enc"]["k1"], 1, "{status}");

    // k2 configured (the greatest id, so active) but nothing rotated yet: k1's values still read.
    let (ok, check, err) = run(&mut both(&["sage", "check", "--tenant", &tenant, "--json"]));
    assert!(ok, "old values read with a new active key: {check} {err}");

    let (ok, report, err) = run(&mut both(&["keys", "rotate", "--batch", "1", "--json"]));
    assert!(ok, "{err}");
    assert_eq!(report["active_key"], "k2");
    assert_eq!(report["under_other_keys"], 0, "{report}");
    assert_eq!(report["resealed"]["tenants.api_key_enc"], 1, "{report}");
    assert_eq!(report["resealed"]["binding_credentials.access_token_enc"], 1, "{report}");
    assert_eq!(report["resealed"]["binding_credentials.refresh_token_enc"], 1, "{report}");
    assert!(report["total"].as_u64().unwrap() >= 3);
    let sealed_by: Vec<String> = sqlx::query_scalar(
        "SELECT ledger_secret_key_id(api_key_enc) FROM tenants
         UNION ALL SELECT ledger_secret_key_id(access_token_enc) FROM binding_credentials
         UNION ALL SELECT ledger_secret_key_id(refresh_token_enc) FROM binding_credentials
         UNION ALL SELECT ledger_secret_key_id(pkce_verifier_enc) FROM oauth_states",
    )
    .fetch_all(&c.db.pool)
    .await
    .unwrap();
    assert!(!sealed_by.is_empty() && sealed_by.iter().all(|id| id == "k2"), "{sealed_by:?}");

    // A second run has nothing left to do.
    let (ok, again, _) = run(&mut both(&["keys", "rotate", "--json"]));
    assert!(ok);
    assert_eq!(again["total"], 0);

    // k1 removed from the configuration: everything still reads.
    let mut only_k2 = c.ledger(&["sage", "check", "--tenant", &tenant, "--json"]);
    only_k2.env_remove("LEDGER_CRYPTO__KEYS__K1").env("LEDGER_CRYPTO__KEYS__K2", k2.expose_secret());
    let (ok, check, err) = run(&mut only_k2);
    assert!(ok, "reads with k2 alone after rotation: {check} {err}");
    let ring = Keyring::new(&BTreeMap::from([("k2".to_owned(), k2.clone())]), None).unwrap();
    let secret = tenants::secret(&c.db.pool, &ring, c.tenant).await.unwrap().expect("the tenant's key");
    let binding = ledger_store::bindings::sage(&c.db.pool, c.tenant).await.unwrap().unwrap();
    let tokens = credentials::load(&c.db.pool, &ring, binding.id).await.unwrap().expect("tokens").tokens;

    // A dump of the database holds none of them in plain text.
    let pg_dump = pg_dump();
    let out = std::process::Command::new(pg_dump).arg("--data-only").arg(&c.db.url).output().unwrap();
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains("binding_credentials") && dump.contains("tenants"));
    let plain: [(&str, &SecretString); 3] = [
        ("api_key", &secret.api_key),
        ("access token", &tokens.access_token),
        ("refresh token", &tokens.refresh_token),
    ];
    for (what, value) in plain {
        assert!(value.expose_secret().len() >= 16, "{what} is a real value");
        assert!(!dump.contains(value.expose_secret()), "the {what} is in the dump in plain text");
    }
    assert!(!dump.contains("sage-sim-secret"), "the OAuth client secret is not stored");
}

/// pg_dump from the PostgreSQL binaries on the machine (PATH, else Debian's versioned directories).
fn pg_dump() -> std::path::PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("pg_dump")).collect::<Vec<_>>())
        .unwrap_or_default();
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).map(|d| d.path().join("bin/pg_dump")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path.into_iter().chain(debian).find(|p| p.is_file()).expect("pg_dump on this machine")
}

//! `ledger operator create`, `ledger tenant assign` and `ledger tenant embed-origin` as real processes on
//! the test database: a one-time argon2id password that must be changed, a refused duplicate, a tenant
//! given to an account by email, and the origin allowed to frame its embedded log.
use std::process::{Command, Output};

use ledger_store::Keyring;
use secrecy::ExposeSecret;
use serde_json::Value;
use test_support::TestApp;

fn ledger(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("LEDGER_DATABASE__URL", &app.db.url)
        .env("LEDGER_CRYPTO__KEYS__K1", Keyring::generate_key().expose_secret())
        .env("LEDGER_LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_are_created_with_a_one_time_password_and_tenants_assigned_by_email() {
    let app = TestApp::spawn().await;
    let out = ledger(&app, &["operator", "create", "--email", " Ops@Ledger.example ", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["email"], "Ops@Ledger.example");
    let password = created["password"].as_str().unwrap();
    assert!(password.len() >= 32, "a long random password");
    let (role, must_change, hash): (String, bool, String) =
        sqlx::query_as("SELECT role, must_change_password, password_hash FROM accounts")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!((role.as_str(), must_change), ("operator", true));
    assert!(hash.starts_with("$argon2id$") && !hash.contains(password));

    let again = ledger(&app, &["operator", "create", "--email", "ops@ledger.example"]);
    assert!(!again.status.success(), "the email is taken, whatever its case");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let t = app.create_tenant("shop").await;
    let tenant = t.id.to_string();
    let unknown = ledger(&app, &["tenant", "assign", &tenant, "--merchant", "nobody@shop.example"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no dashboard account"));
    let assigned = ledger(&app, &["tenant", "assign", &tenant, "--merchant", "ops@ledger.example"]);
    assert!(assigned.status.success(), "{}", String::from_utf8_lossy(&assigned.stderr));
    let owner: Option<uuid::Uuid> = sqlx::query_scalar("SELECT merchant_id FROM tenants WHERE id = $1")
        .bind(t.id.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let account: uuid::Uuid = sqlx::query_scalar("SELECT id FROM accounts").fetch_one(&app.db.pool).await.unwrap();
    assert_eq!(owner, Some(account));

    let refused = ledger(&app, &["tenant", "embed-origin", &tenant, "--origin", "https://admin.shop.example/path"]);
    assert!(!refused.status.success(), "an origin has no path");
    let set = ledger(&app, &["tenant", "embed-origin", &tenant, "--origin", "https://admin.shop.example"]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let origin = ledger_store::tenants::embed_origin(&app.db.pool, t.id).await.unwrap();
    assert_eq!(origin.as_deref(), Some("https://admin.shop.example"));
    assert!(ledger(&app, &["tenant", "embed-origin", &tenant]).status.success());
    assert_eq!(ledger_store::tenants::embed_origin(&app.db.pool, t.id).await.unwrap(), None);
}

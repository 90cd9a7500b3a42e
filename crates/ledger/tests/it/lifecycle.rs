//! Offboarding a tenant with the real binary: `ledger tenant export` prints everything it owns (no
//! secret), `erase --match` replaces a customer's data in payloads, snapshots and Sage call bodies,
//! `delete` refuses without --confirm, then revokes the Sage refresh token and removes every row.
use std::process::{Command, Output};

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::sync::World;

fn tenant_cli(w: &World, args: &[&str]) -> Output {
    let sage = w.sage.base_url();
    Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("tenant")
        .args(args)
        .env_remove("DATABASE_URL")
        .env("LEDGER_DATABASE__URL", &w.app.db.url)
        .env("LEDGER_CRYPTO__KEYS__T1", w.app.secret_key.expose_secret())
        .env("LEDGER_LOG__LEVEL", "warn")
        .env("LEDGER_SAGE__TOKEN_URL", format!("{sage}/token"))
        .env("LEDGER_SAGE__REVOKE_URL", format!("{sage}/revoke"))
        .env("LEDGER_SAGE__API_BASE", format!("{sage}/v3.1"))
        .env("LEDGER_SAGE__CLIENT_ID", "sage-sim")
        .env("LEDGER_SAGE__CLIENT_SECRET", "sage-sim-secret")
        .env("LEDGER_OUTBOUND__ALLOW_HTTP", "true")
        .env("LEDGER_OUTBOUND__ALLOW_CIDRS", "[\"127.0.0.0/8\"]")
        .output()
        .unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

async fn count(w: &World, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(w.tenant).fetch_one(&w.app.db.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_is_exported_a_customer_erased_and_the_tenant_deleted_with_its_sage_tokens_revoked() {
    let w = World::start("Plus").await;
    let customer = w.fire(json!({"action": "save_customer", "country": "GB"})).await;
    let customer_id = customer["customer_id"].as_u64().unwrap();
    w.fire(json!({"action": "create_invoice", "customer_id": customer_id, "paid": true})).await;
    w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": false})).await;
    w.drain().await;
    w.chips(3).await;
    let contacts = w.records("contacts").await;
    let email = contacts
        .iter()
        .filter_map(|c| c["email"].as_str().or_else(|| c["main_contact_person"]["email"].as_str()))
        .find(|e| !e.is_empty())
        .expect("a synced contact carries its email")
        .to_owned();
    let tenant = w.tenant.to_string();

    // Export: one JSON document with the tenant, its binding and xrefs, and each run's audit trail.
    let out = tenant_cli(&w, &["export", &tenant]);
    let export = ok_json(&out);
    assert_eq!(export["tenant"]["id"], tenant);
    assert!(export["tenant"].get("api_key_enc").is_none(), "no key material: {}", export["tenant"]);
    assert_eq!(export["bindings"].as_array().unwrap().len(), 1);
    assert!(!export["sage_xrefs"].as_array().unwrap().is_empty());
    let events = export["events"].as_array().unwrap();
    assert_eq!(events.len() as i64, count(&w, "SELECT count(*) FROM events WHERE tenant_id = $1").await);
    assert!(events.iter().all(|e| !e["attempts"].as_array().unwrap().is_empty()), "every run with its attempts");
    assert!(events.iter().any(|e| !e["sage_calls"].as_array().unwrap().is_empty()), "and its Sage calls");
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.contains(&email.to_lowercase()), "the export holds the customer's data");
    for secret in ["access_token", "refresh_token", "api_key\""] {
        assert!(!text.contains(secret), "no {secret} in the export");
    }

    // Erase: a dry run counts, the real run replaces every body that holds the email.
    let dry = ok_json(&tenant_cli(&w, &["erase", &tenant, "--match", &email, "--dry-run", "--json"]));
    let found = &dry["erased"];
    assert!(found["snapshots"].as_u64().unwrap() > 0 && found["sage_call_bodies"].as_u64().unwrap() > 0, "{dry}");
    let holding = "SELECT count(*) FROM event_attempts a JOIN events e ON e.id = a.event_id
                    WHERE e.tenant_id = $1 AND strpos(lower(a.snapshot::text), lower($2)) > 0";
    let still = |sql: &'static str| {
        let (w, email) = (&w, email.clone());
        async move { sqlx::query_scalar::<_, i64>(sql).bind(w.tenant).bind(email).fetch_one(&w.app.db.pool).await.unwrap() }
    };
    assert_eq!(still(holding).await as u64, found["snapshots"].as_u64().unwrap(), "the dry run changed nothing");
    let done = ok_json(&tenant_cli(&w, &["erase", &tenant, "--match", &email, "--json"]));
    assert_eq!(done["erased"], dry["erased"], "the run erased what the dry run counted");
    assert_eq!(still(holding).await, 0, "no snapshot holds the email any more");
    assert_eq!(
        still(
            "SELECT count(*) FROM sage_calls c JOIN events e ON e.id = c.event_id
              WHERE e.tenant_id = $1 AND strpos(lower(c.request_body::text || c.response_body::text), lower($2)) > 0"
        )
        .await,
        0,
        "no Sage call body holds it"
    );
    let synced = count(&w, "SELECT count(*) FROM events WHERE tenant_id = $1 AND state = 'synced'").await;
    assert_eq!(synced, events.len() as i64, "states and outcomes stay");

    // Delete: refused without --confirm; then the Sage token is revoked and nothing of the tenant stays.
    let refused = tenant_cli(&w, &["delete", &tenant]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--confirm"));
    assert_eq!(count(&w, "SELECT count(*) FROM tenants WHERE id = $1").await, 1);
    let deleted = ok_json(&tenant_cli(&w, &["delete", &tenant, "--confirm", "--json"]));
    assert_eq!(deleted["sage_tokens_revoked"], true, "{deleted}");
    assert_eq!(deleted["deleted"]["events"].as_i64().unwrap(), events.len() as i64);
    for table in [
        "tenants WHERE id = $1",
        "events WHERE tenant_id = $1",
        "callbacks WHERE tenant_id = $1",
        "bindings WHERE tenant_id = $1",
        "sage_xrefs WHERE tenant_id = $1",
    ] {
        assert_eq!(count(&w, &format!("SELECT count(*) FROM {table}")).await, 0, "{table}");
    }
    let revoked =
        crate::magento::control(&w.app.http, reqwest::Method::GET, format!("{}/_sim/calls", w.sage.base_url()), None)
            .await;
    assert!(
        revoked.as_array().unwrap().iter().any(|c| c["path"] == "/revoke" && c["status"] == 200),
        "Sage was asked to revoke the refresh token: {revoked}"
    );
    // The store's next webhook is refused: the tenant is gone.
    let missing = tenant_cli(&w, &["show", &tenant]);
    assert!(!missing.status.success());
}

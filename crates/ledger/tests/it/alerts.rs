//! Alerts to people through a real `ledger serve --role worker`: a store that refuses the ledger's key
//! and dead letters piling up are mailed to the operators and posted to the alert webhook with a valid
//! `Ledger-Signature`, at most once per condition and day; the next day raises it again.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use test_support::{TestDb, eventually, http_client};

use crate::processes::{free_port, post_invoice, setup, spawn_role, wait_ready};

const SECRET: &str = "alert-webhook-secret-0001";

type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver on port 0 keeping each (signature header, body); answers 200.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                let signature = headers.get("ledger-signature").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let body = String::from_utf8(body.to_vec()).unwrap();
                keep.lock().unwrap().push((signature.clone(), Value::String(body)));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// Checks `t=…,v1=…` against the body with the shared secret, as a receiver would; returns the body.
fn verified(signature: &str, body: &str) -> Value {
    let (t, v1) = signature.split_once(',').expect("t=…,v1=…");
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v1, expected, "the signature matches the body");
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "signed just now: {age}s");
    serde_json::from_str(body).unwrap()
}

fn types(got: &Received) -> Vec<String> {
    got.lock()
        .unwrap()
        .iter()
        .map(|(s, b)| verified(s, b.as_str().unwrap())["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn mails(db: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as("SELECT recipient, subject FROM mail_outbox ORDER BY id").fetch_all(&db.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_are_told_once_a_day_by_mail_and_signed_webhook() {
    let (db, key, tenant) = setup("alerting shop").await;
    let (hook, got) = receiver().await;
    sqlx::query("UPDATE tenants SET magento_connection_status = 'token_revoked' WHERE id = $1")
        .bind(tenant.id)
        .execute(&db.pool)
        .await
        .unwrap();
    let port = free_port();
    let _worker = spawn_role(
        &db,
        &key,
        port,
        "all",
        &[
            ("LEDGER_ALERTS__CHECK_INTERVAL_SECS", "1"),
            ("LEDGER_ALERTS__DEAD_LETTER_THRESHOLD", "1"),
            ("LEDGER_ALERTS__OPERATOR_EMAILS", "[\"ops@ledger.example\"]"),
            ("LEDGER_ALERTS__WEBHOOK_URL", &hook),
            ("LEDGER_ALERTS__WEBHOOK_SECRET", SECRET),
            ("LEDGER_OUTBOUND__ALLOW_HTTP", "true"),
        ],
        "ledger-alerts.log",
    );
    let http = http_client();
    wait_ready(&http, port).await;
    eventually("the revoked store's alert is posted", Duration::from_secs(60), || async {
        (types(&got) == ["store_token_revoked"]).then_some(())
    })
    .await;
    let sent = mails(&db).await;
    assert_eq!(sent.len(), 1, "one mail to the one operator: {sent:?}");
    assert_eq!(sent[0].0, "ops@ledger.example");
    assert!(sent[0].1.contains("alerting shop") && sent[0].1.contains("refuses"), "{sent:?}");

    // A dead letter: the next check raises it; by then the revoked store was checked again and again
    // without a second message.
    assert_eq!(post_invoice(&http, port, &tenant).await.status(), 202);
    sqlx::query("UPDATE events SET state = 'dead_lettered', finished_at = now() WHERE tenant_id = $1")
        .bind(tenant.id)
        .execute(&db.pool)
        .await
        .unwrap();
    eventually("the dead letters' alert is posted", Duration::from_secs(60), || async {
        (types(&got) == ["store_token_revoked", "dead_letters"]).then_some(())
    })
    .await;
    let (signature, body) = got.lock().unwrap()[1].clone();
    let body = verified(&signature, body.as_str().unwrap());
    assert_eq!(body["tenant_id"], tenant.id.to_string());
    assert!(body["detail"].as_str().unwrap().starts_with("1 events were dead-lettered"), "{body}");
    assert_eq!(mails(&db).await.len(), 2, "one mail per alert, not per check");
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts").fetch_one(&db.pool).await.unwrap();
    assert_eq!(alerts, 2);

    // The next day the store still refuses the key: told again, once.
    sqlx::query("UPDATE alerts SET day = day - 1").execute(&db.pool).await.unwrap();
    eventually("both are raised again on a new day", Duration::from_secs(60), || async {
        (got.lock().unwrap().len() == 4).then_some(())
    })
    .await;
    let mut again = types(&got)[2..].to_vec();
    again.sort();
    assert_eq!(again, ["dead_letters", "store_token_revoked"]);
    // The receiver answered before the sender recorded the delivery: wait for the record.
    eventually("every webhook delivery recorded as sent", Duration::from_secs(30), || async {
        let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts WHERE webhook_state = 'sent'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (sent == 4).then_some(())
    })
    .await;
}

//! The mail outbox goes out by SMTP: a real `ledger serve` with `mail.smtp_url` sends an alert's mail
//! to a minimal SMTP server in the test (it speaks just enough of RFC 5321 to accept messages); an
//! unreachable server leaves the message queued for a retry with the error recorded.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use test_support::{TestApp, eventually, http_client};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::processes::{free_port, setup, spawn_role, wait_ready};

type Inbox = Arc<Mutex<Vec<String>>>;

/// Accepts SMTP sessions on port 0 and keeps each message's DATA.
async fn smtp_server() -> (u16, Inbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Arc::default();
    let keep = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test-smtp ready\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(message) = data.as_mut() {
                        if line == "." {
                            keep.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-test-smtp\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, inbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_mail_goes_out_by_smtp() {
    let (db, key, tenant) = setup("mailing shop").await;
    let (smtp_port, inbox) = smtp_server().await;
    sqlx::query("UPDATE tenants SET magento_connection_status = 'token_revoked' WHERE id = $1")
        .bind(tenant.id)
        .execute(&db.pool)
        .await
        .unwrap();
    let port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let _ledger = spawn_role(
        &db,
        &key,
        port,
        "worker",
        &[
            ("LEDGER_ALERTS__CHECK_INTERVAL_SECS", "1"),
            ("LEDGER_ALERTS__OPERATOR_EMAILS", "[\"ops@ledger.example\"]"),
            ("LEDGER_MAIL__SMTP_URL", &smtp_url),
            ("LEDGER_MAIL__FROM", "Ledger Alerts <alerts@ledger.example>"),
        ],
        "ledger-mail.log",
    );
    wait_ready(&http_client(), port).await;
    let message = eventually("the alert reaches the SMTP server", Duration::from_secs(60), || async {
        inbox.lock().unwrap().first().cloned()
    })
    .await;
    assert!(message.contains("To: ops@ledger.example"), "{message}");
    assert!(message.contains("From: \"Ledger Alerts\" <alerts@ledger.example>"), "{message}");
    assert!(message.contains("Subject: [Ledger] mailing shop"), "{message}");
    assert!(message.contains("Pair the store again"), "the body says what to do: {message}");
    eventually("the outbox row is marked sent", Duration::from_secs(30), || async {
        let sent: Option<bool> =
            sqlx::query_scalar("SELECT sent_at IS NOT NULL FROM mail_outbox").fetch_optional(&db.pool).await.unwrap();
        sent.filter(|s| *s).map(|_| ())
    })
    .await;
    assert_eq!(inbox.lock().unwrap().len(), 1, "sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_leaves_the_message_queued_for_a_retry() {
    let app = TestApp::spawn().await;
    sqlx::query("INSERT INTO mail_outbox (recipient, subject, body) VALUES ('a@b.example', 's', 'b')")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let closed = free_port();
    let mailer = ledger_sync::mail::Mailer::new(&format!("smtp://127.0.0.1:{closed}"), "x@ledger.example").unwrap();
    assert_eq!(ledger_sync::mail::send_due(&app.db.pool, &mailer).await.unwrap(), 0);
    let (attempts, error, sent, retry_in): (i32, Option<String>, bool, f64) = sqlx::query_as(
        "SELECT attempts, last_error, sent_at IS NOT NULL, extract(epoch FROM next_attempt_at - now())::float8 FROM mail_outbox",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!((attempts, sent), (1, false));
    assert!(error.unwrap_or_default().starts_with("SMTP"), "the error is kept");
    assert!((20.0..=31.0).contains(&retry_in), "retried in about 30 s: {retry_in}");
    assert_eq!(ledger_sync::mail::send_due(&app.db.pool, &mailer).await.unwrap(), 0);
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM mail_outbox").fetch_one(&app.db.pool).await.unwrap();
    assert_eq!(attempts, 1, "not tried again before it is due");
}

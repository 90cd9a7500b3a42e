//! What the logs say about a request: the parsed tenant id, never the raw path segment (a text log
//! line could be forged through a percent-encoded newline in it).
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use test_support::{TestApp, envelope};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary from now on, as text logs are written in production.
fn captured() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("info,tower_http=debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_tenant_segment_is_never_logged() {
    let logs = captured();
    let app = TestApp::spawn().await;
    let t = app.create_tenant("a").await;
    let marker = format!("forged-line-{}", uuid::Uuid::new_v4().simple());
    let injected = format!("x%0A{marker}");
    let resp =
        app.post_event_with_token(&injected, "invoice.created", "invoice.created:1", &envelope(1), &t.token()).await;
    assert_eq!(resp.status(), 401);
    // A real id spelled differently (upper case) is logged as parsed.
    let upper = t.id.to_string().to_uppercase();
    let resp =
        app.post_event_with_token(&upper, "invoice.created", "invoice.created:1", &envelope(1), &t.token()).await;
    assert_eq!(resp.status(), 401, "the token's sub must equal the URL's tenant exactly");

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(text.contains(&marker), "the request was logged (its encoded path)");
    assert!(
        !text.contains(&format!("\n{marker}")) && !text.contains(&format!("\\n{marker}")),
        "the decoded raw segment reached the log:\n{text}"
    );
    assert!(text.contains(&format!("tenant_id={}", t.id)), "the parsed id is logged");
    assert!(!text.contains(&format!("tenant_id={upper}")), "the raw spelling is not");
}

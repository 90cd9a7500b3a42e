//! Secrets stay secret: the logs of a code exchange plus refreshes name no token, and a `pg_dump` of
//! the database holds no token or api_key in plain text.
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger_sage::AccessTokens;
use secrecy::ExposeSecret;

use crate::custody::world;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_of_an_exchange_and_refreshes_and_a_database_dump_hold_no_token() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The capture is this thread's subscriber, while the other tests of this binary run on other threads
    // with none. With only one live dispatcher registered, tracing computes the interest of a callsite
    // first reached on another thread from *that* thread's (empty) default and caches "never", and this
    // capture then misses the custody's log lines. A second live dispatcher keeps tracing asking every
    // registered one (our interest wins as "sometimes"), wherever a callsite is first reached.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);

    let w = world(Duration::from_secs(1)).await;
    let custody = w.custody();
    let tokens = custody.tokens(w.tenant, w.binding);
    let mut seen = vec![tokens.access_token().await.unwrap()];
    while custody.refreshes() < 2 {
        let t = tokens.access_token().await.unwrap();
        if t.expose_secret() != seen.last().unwrap().expose_secret() {
            seen.push(t);
        }
        tokio::task::yield_now().await;
    }
    seen.push(tokens.after_unauthorized(seen.last().unwrap()).await.unwrap());
    let stored = ledger_store::credentials::load(&w.db.pool, &w.keyring, w.binding).await.unwrap().unwrap();
    let mut secrets: Vec<String> = seen.iter().map(|s| s.expose_secret().to_owned()).collect();
    secrets.push(stored.tokens.refresh_token.expose_secret().to_owned());
    secrets.push("sage-sim-secret".to_owned());

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("refreshed the Sage access token"), "the capture saw the refreshes");
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a secret reached the logs");
    }

    // pg_dump from the PostgreSQL binaries on the machine (PATH, else Debian's versioned directories).
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("pg_dump")).collect::<Vec<_>>())
        .unwrap_or_default();
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).map(|d| d.path().join("bin/pg_dump")).collect::<Vec<_>>())
        .unwrap_or_default();
    let pg_dump = on_path.into_iter().chain(debian).find(|p| p.is_file()).expect("pg_dump on this machine");
    let out = std::process::Command::new(pg_dump).arg("--data-only").arg(&w.db.url).output().unwrap();
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains("binding_credentials"), "the dump has the credentials table");
    secrets.push(w.api_key.clone());
    for s in &secrets {
        assert!(!dump.contains(s.as_str()), "a secret is in the dump in plain text");
    }
}

//! Test harness: a fresh migrated database per test (`TestDb`), the API and worker in-process on port 0
//! (`TestApp`), and `eventually` for polling with a deadline instead of sleeping.
mod app;
mod db;
mod scripted;

pub use app::{ExtraRoutes, OPERATOR_TOKEN, TestApp, TestAppOptions, TestTenant, envelope};
pub use db::TestDb;
pub use scripted::Scripted;

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An HTTP client for tests (installs the rustls provider reqwest is built without).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client")
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves nothing running.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

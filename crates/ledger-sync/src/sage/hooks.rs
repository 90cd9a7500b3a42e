//! Test-only pauses at the refresh protocol's critical points (cargo feature `test-hooks`, off in every
//! normal build). With `LEDGER_TEST_REFRESH_PAUSE=before_token|after_commit` the process writes
//! `LEDGER_TEST_REFRESH_PAUSE_FILE` and stops at that point for good, so a test can SIGKILL it there.

#[cfg(feature = "test-hooks")]
pub fn pause(point: &str) {
    if std::env::var("LEDGER_TEST_REFRESH_PAUSE").ok().as_deref() == Some(point) {
        if let Some(path) = std::env::var_os("LEDGER_TEST_REFRESH_PAUSE_FILE") {
            let _ = std::fs::write(path, point);
        }
        loop {
            std::thread::park();
        }
    }
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn pause(_point: &str) {}

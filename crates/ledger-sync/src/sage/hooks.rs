//! Test-only pauses at the refresh protocol's critical points (cargo feature `test-hooks`, off in every
//! normal build). With `TEST_HOOK_REFRESH_PAUSE=before_token|before_commit|after_commit` (not under
//! `LEDGER_`, which the configuration owns) the process writes `TEST_HOOK_REFRESH_PAUSE_FILE` and stops
//! at that point for good, so a test can SIGKILL it there.

#[cfg(feature = "test-hooks")]
pub fn pause(point: &str) {
    if std::env::var("TEST_HOOK_REFRESH_PAUSE").ok().as_deref() == Some(point) {
        if let Some(path) = std::env::var_os("TEST_HOOK_REFRESH_PAUSE_FILE") {
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

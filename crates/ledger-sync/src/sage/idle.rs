//! The idle refresher the worker role runs: refresh tokens of bindings nobody used lately are renewed
//! well before Sage's 31-day limit, so a quiet shop does not have to reconnect.
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Custody;

/// Refresh a binding whose refresh token has less than this left (a week of slack for outages).
pub const IDLE_MARGIN_DAYS: i64 = 7;

/// Runs until `stop`: every `every`, refreshes the bindings within [`IDLE_MARGIN_DAYS`] of expiry.
pub async fn run_idle_refresher(custody: Arc<Custody>, every: Duration, stop: CancellationToken) {
    loop {
        match custody.refresh_idle(chrono::Duration::days(IDLE_MARGIN_DAYS)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(refreshed = n, "refreshed idle Sage bindings"),
            Err(e) => tracing::warn!(error = %e, "idle Sage refresh pass failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

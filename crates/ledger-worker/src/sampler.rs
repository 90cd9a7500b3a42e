//! The metrics sampler: every `interval` it reads the database-derived gauges (runs by state, backlog ages, callbacks, the Sage budget) once, so scrapes never query the database.
use std::time::Duration;

use ledger_store::{PgPool, gauges};
use metrics::gauge;
use tokio_util::sync::CancellationToken;

/// Every state a run can be in: each is published, 0 when it has no runs, so a rate or an alert
/// never sees a series vanish.
const STATES: [&str; 8] =
    ["pending", "running", "received", "synced", "skipped", "failed", "dead_lettered", "discarded"];

/// Samples until `shutdown`. `daily_budget` is `sage.daily_budget`, published beside the day's use.
pub async fn run(pool: PgPool, interval: Duration, daily_budget: u64, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        match gauges::sample(&pool).await {
            Ok(sample) => publish(&sample, daily_budget),
            Err(e) => {
                metrics::counter!("ledger_sampler_errors_total").increment(1);
                tracing::warn!(error = %e, "metrics sampler failed");
            }
        }
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn publish(sample: &gauges::Sample, daily_budget: u64) {
    for state in STATES {
        let n = sample.events_by_state.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
        gauge!("ledger_events", "state" => state).set(n as f64);
    }
    let dead = sample.events_by_state.iter().find(|(s, _)| s == "dead_lettered").map_or(0, |(_, n)| *n);
    gauge!("ledger_dead_letters").set(dead as f64);
    for reason in ledger_domain::ParkReason::ALL {
        let n = sample.parked.iter().find(|(r, _)| r == reason.as_str()).map_or(0, |(_, n)| *n);
        gauge!("ledger_events_parked", "reason" => reason.as_str()).set(n as f64);
    }
    gauge!("ledger_oldest_pending_age_seconds").set(sample.oldest_pending_secs);
    // Only the top tenants are named; a tenant that leaves the top is dropped by the recorder's idle
    // timeout for gauges (a few sampling intervals), so the label set stays bounded.
    for (tenant, age) in &sample.oldest_pending_by_tenant {
        gauge!("ledger_tenant_oldest_pending_age_seconds", "tenant_id" => tenant.to_string()).set(*age);
    }
    gauge!("ledger_callbacks_backlog").set(sample.callback_backlog as f64);
    gauge!("ledger_callbacks_oldest_age_seconds").set(sample.callback_oldest_secs);
    gauge!("ledger_callbacks_dead_lettered").set(sample.callbacks_dead_lettered as f64);
    gauge!("ledger_sage_budget_used_requests").set(sample.sage_budget_reserved_today as f64);
    gauge!("ledger_sage_budget_daily_requests").set(daily_budget as f64);
    gauge!("ledger_sampler_last_success_timestamp_seconds").set(chrono::Utc::now().timestamp() as f64);
}

//! The metrics sampler: every `interval` it reads the database-derived gauges (runs by state, backlog ages, callbacks, the Sage budget) once, so scrapes never query the database.
use std::time::Duration;

use ledger_store::{PgPool, gauges};
use metrics::gauge;
use tokio_util::sync::CancellationToken;

/// Every state a run can be in: each is published, 0 when it has no runs, so a rate or an alert
/// never sees a series vanish.
const STATES: [&str; 8] =
    ["pending", "running", "received", "synced", "skipped", "failed", "dead_lettered", "discarded"];

/// Every state is counted on the first sample and every this many after (a scan of `events`: about
/// 5 minutes at the default 15 s); the other samples count only the active states and dead letters.
const ALL_STATES_EVERY: u64 = 20;

/// Samples until `shutdown`. `daily_budget` is `sage.daily_budget`, published beside the day's use.
pub async fn run(pool: PgPool, interval: Duration, daily_budget: u64, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
    let (mut samples, mut by_state) = (0u64, Vec::<(String, i64)>::new());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let all_states = samples % ALL_STATES_EVERY == 0;
        match gauges::sample(&pool, all_states).await {
            Ok(sample) => {
                samples += 1;
                // Terminal states keep their last full count between full samples (re-published so the
                // recorder's idle timeout keeps them).
                for (state, n) in &sample.events_by_state {
                    match by_state.iter_mut().find(|(s, _)| s == state) {
                        Some(kept) => kept.1 = *n,
                        None => by_state.push((state.clone(), *n)),
                    }
                }
                if all_states {
                    by_state.retain(|(s, _)| sample.events_by_state.iter().any(|(t, _)| t == s));
                } else {
                    // An active state with no runs now has none (the partial count omits it).
                    for (state, n) in &mut by_state {
                        if matches!(state.as_str(), "pending" | "running")
                            && !sample.events_by_state.iter().any(|(t, _)| t == state)
                        {
                            *n = 0;
                        }
                    }
                }
                publish(&sample, &by_state, daily_budget);
            }
            Err(e) => {
                metrics::counter!("ledger_sampler_errors_total").increment(1);
                tracing::warn!(error = %e, "metrics sampler failed");
            }
        }
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn publish(sample: &gauges::Sample, by_state: &[(String, i64)], daily_budget: u64) {
    for state in STATES {
        let n = by_state.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
        gauge!("ledger_events", "state" => state).set(n as f64);
    }
    let dead = by_state.iter().find(|(s, _)| s == "dead_lettered").map_or(0, |(_, n)| *n);
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

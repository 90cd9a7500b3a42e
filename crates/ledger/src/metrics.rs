//! The process's Prometheus recorder: installed once, rendered by `/metrics` on the main listener (behind the operator bearer) or on `metrics.bind`.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use ledger_api::MetricsRender;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use tokio_util::sync::CancellationToken;

/// Latency buckets (seconds) of every histogram: webhook answers and Sage calls.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (the first call; later ones, e.g. a second in-process service, share it) and
/// returns the renderer. Gauges not set for four sampling intervals are dropped, so a tenant that left
/// the top-5 oldest backlog stops being exported.
pub fn install(sample_every: Duration) -> anyhow::Result<MetricsRender> {
    if HANDLE.get().is_none() {
        let handle = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .context("histogram buckets")?
            .idle_timeout(MetricKindMask::GAUGE, Some(sample_every * 4))
            .install_recorder()
            .context("installing the metrics recorder")?;
        let upkeep = handle.clone();
        // Drains histogram buffers and applies the idle timeout; a thread, so it outlives any runtime.
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .context("starting the metrics upkeep thread")?;
        let _ = HANDLE.set(handle);
        describe();
    }
    let handle = HANDLE.get().context("metrics recorder")?.clone();
    Ok(Arc::new(move || handle.render()))
}

/// Serves `/metrics` without authentication on `bind` until `shutdown` (`metrics.bind`).
pub async fn serve_unauthenticated(
    bind: std::net::SocketAddr,
    render: MetricsRender,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding metrics.bind = {bind}"))?;
    tracing::info!(addr = %listener.local_addr()?, "metrics listening (no authentication)");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = render.clone();
            async move { ledger_api::metrics::render(Some(&render)) }
        }),
    );
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    Ok(())
}

/// Help text for every series, and a zero for the counters whose label sets are known up front, so a
/// rate or an alert sees them from the first scrape rather than after the first event of their kind.
fn describe() {
    use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("ledger_ingest_requests_total", "Webhook requests answered, by outcome");
    describe_histogram!("ledger_ingest_duration_seconds", Unit::Seconds, "Webhook answer latency, by outcome");
    describe_counter!("ledger_attempts_total", "Event run attempts recorded, by outcome and error class");
    describe_counter!("ledger_callback_deliveries_total", "Sync-state callback deliveries to Magento, by outcome");
    describe_counter!("ledger_token_refreshes_total", "Sage access-token refreshes, by outcome");
    describe_counter!("ledger_sage_calls_total", "Calls to Sage, by status class and status code");
    describe_histogram!("ledger_sage_call_duration_seconds", Unit::Seconds, "Sage call latency, by status class");
    describe_counter!("ledger_sage_throttled_total", "Sage answers 429 Too Many Requests");
    describe_counter!("ledger_sampler_errors_total", "Failed samples of the database-derived gauges");
    describe_counter!("ledger_purged_total", "Rows whose bodies retention cleared or deleted, by kind");
    describe_gauge!("ledger_events", "Event runs by state (sampled)");
    describe_gauge!("ledger_events_parked", "Pending runs set aside (tenant paused, Sage to reconnect...) (sampled)");
    describe_gauge!("ledger_dead_letters", "Dead-lettered event runs (sampled)");
    describe_gauge!(
        "ledger_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the oldest unparked pending run (sampled)"
    );
    describe_gauge!(
        "ledger_tenant_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the oldest unparked pending run of the 5 tenants with the oldest (sampled)"
    );
    describe_gauge!("ledger_callbacks_backlog", "Callbacks not yet delivered (sampled)");
    describe_gauge!(
        "ledger_callbacks_oldest_age_seconds",
        Unit::Seconds,
        "Age of the oldest undelivered callback (sampled)"
    );
    describe_gauge!("ledger_callbacks_dead_lettered", "Callbacks that gave up (sampled)");
    describe_gauge!(
        "ledger_sage_budget_used_requests",
        "Sage requests reserved today from the app-wide daily budget (sampled)"
    );
    describe_gauge!("ledger_sage_budget_daily_requests", "The app-wide daily Sage budget (sage.daily_budget)");
    describe_gauge!(
        "ledger_sampler_last_success_timestamp_seconds",
        Unit::Seconds,
        "When the gauges were last sampled"
    );
    for outcome in ["accepted", "duplicate", "overloaded", "error"] {
        counter!("ledger_ingest_requests_total", "outcome" => outcome).increment(0);
    }
    for outcome in ["ok", "invalid_grant", "error"] {
        counter!("ledger_token_refreshes_total", "outcome" => outcome).increment(0);
    }
    for outcome in ["delivered", "retry", "dead_lettered"] {
        counter!("ledger_callback_deliveries_total", "outcome" => outcome).increment(0);
    }
    counter!("ledger_sage_throttled_total").increment(0);
    counter!("ledger_sampler_errors_total").increment(0);
    for kind in ledger_store::retention::KINDS {
        counter!("ledger_purged_total", "kind" => kind).increment(0);
    }
}

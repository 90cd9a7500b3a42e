//! `ledger serve`: the HTTP API and/or the worker pool against one database, until SIGINT/SIGTERM.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use ledger_api::{ApiConfig, AppState, OperatorTokens, Outbound, Readiness};
use ledger_worker::{Shutdown, WorkerConfig};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::database::Database;
use crate::outbound::{self, DevSimulators};

/// How often the worker role looks for bindings whose refresh token nears Sage's 31-day limit.
const IDLE_REFRESH_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// HTTP API and worker pool.
    All,
    /// HTTP API only.
    Api,
    /// Worker pool only (serves /health/* on server.bind).
    Worker,
}

pub fn api_config(config: &Config) -> anyhow::Result<ApiConfig> {
    Ok(ApiConfig {
        jwt_skew: Duration::from_secs(config.ingest.jwt_skew_secs),
        idempotency_window: Duration::from_secs(config.ingest.idempotency_window_days * 24 * 3600),
        max_body_bytes: config.ingest.max_body_bytes,
        max_in_flight: config.ingest.max_in_flight,
        request_timeout: Duration::from_millis(config.ingest.request_timeout_ms),
        operator_tokens: OperatorTokens::new(config.admin.tokens.clone())
            .context("configuration key `admin.tokens`")?,
        ..ApiConfig::default()
    })
}

/// The dashboard's settings from `[web]`; plain-http simulators (`dev.simulators`) cannot keep a
/// `Secure` cookie, so they turn it off.
pub fn web_config(config: &Config) -> ledger_web::WebConfig {
    ledger_web::WebConfig {
        secure_cookies: config.web.secure_cookies && !config.dev.simulators,
        log_mail_inline: secrecy::ExposeSecret::expose_secret(&config.mail.smtp_url).is_empty(),
        sage_daily_budget: config.sage.daily_budget,
        session_ttl: Duration::from_secs(config.web.session_ttl_hours * 3600),
        throttle: ledger_web::Throttle {
            window: Duration::from_secs(config.web.signin_window_secs),
            per_account: config.web.signin_max_per_account,
            per_ip: config.web.signin_max_per_ip,
        },
    }
}

/// The alert checks of `[alerts]`; the dashboard links point at `server.public_url`.
pub fn alert_config(config: &Config) -> ledger_sync::alerts::AlertConfig {
    let a = &config.alerts;
    ledger_sync::alerts::AlertConfig {
        rules: ledger_store::alerts::AlertRules {
            dead_letter_threshold: i64::from(a.dead_letter_threshold),
            operator_emails: a.operator_emails.clone(),
            webhook: !a.webhook_url.is_empty(),
            dashboard_url: config.public_url(),
        },
        interval: Duration::from_secs(a.check_interval_secs),
        webhook: (!a.webhook_url.is_empty()).then(|| ledger_sync::alerts::AlertWebhook {
            url: a.webhook_url.clone(),
            secret: a.webhook_secret.clone(),
        }),
    }
}

/// The retention windows of `[retention]`.
pub fn retention_windows(config: &Config) -> ledger_store::retention::Windows {
    let r = &config.retention;
    ledger_store::retention::Windows {
        payload_days: r.payload_days,
        call_body_days: r.call_body_days,
        callbacks_days: r.callbacks_days,
        alerts_days: r.alerts_days,
        mail_days: r.mail_days,
        bulk_days: r.bulk_days,
        batch_size: r.batch_size,
    }
}

/// The client alert webhooks are posted with: an operator's own endpoint (not merchant-typed), with a
/// deadline and no redirects.
fn alert_http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

pub async fn run(mut config: Config, role: Role) -> anyhow::Result<()> {
    let simulators = if config.dev.simulators { Some(DevSimulators::start(&mut config).await?) } else { None };
    tracing::info!(authorize = %config.sage.authorize_url, token = %config.sage.token_url, api = %config.sage.api_base,
        client_id_set = !config.sage.client_id.is_empty(), client_secret_set = !config.sage.client_secret.expose_secret().is_empty(),
        "Sage endpoints");
    let database = Database::open(&config).await?;
    let result = serve(&config, &database, role).await;
    database.close(true).await;
    drop(simulators);
    result
}

async fn serve(config: &Config, database: &Database, role: Role) -> anyhow::Result<()> {
    let shutdown = Shutdown::default();
    tokio::spawn(signal_on(shutdown.clone()));
    serve_until(config, database, role, shutdown).await
}

/// Serves `role` until `shutdown.stop` is cancelled (a signal, or a command that runs the service
/// in-process), then shuts down gracefully: webhooks answer 503 at once, runs in flight finish (for at
/// most `worker.shutdown_deadline_secs`, or until `shutdown.force`) or are handed back, and the
/// listener closes once they have and `server.shutdown_grace_secs` have passed.
pub async fn serve_until(
    config: &Config,
    database: &Database,
    role: Role,
    shutdown: impl Into<Shutdown>,
) -> anyhow::Result<()> {
    let Shutdown { stop: shutdown, force } = shutdown.into();
    let worker_id = format!("{}-{}-{:04x}", hostname(), std::process::id(), rand::random::<u16>());
    let runs_worker = matches!(role, Role::All | Role::Worker);
    let readiness = Readiness {
        worker_id: runs_worker.then(|| worker_id.clone()),
        max_heartbeat_age: ledger_api::router::HEARTBEAT_STALE,
    };
    let clients = outbound::clients(config, &database.pool, database.keyring.clone())?;
    let outbound = Outbound {
        clients: clients.clone(),
        public_url: config.server.public_url.as_ref().map(|u| u.as_str().trim_end_matches('/').to_owned()),
        bind_url: format!("http://{}", config.server.bind),
        allow_http: config.outbound.allow_http || config.dev.simulators,
    };
    if config.admin.tokens.is_empty() {
        tracing::info!("admin.tokens is empty: operator routes (/api/v1/stores/...) refuse every request");
    }
    let clock = ledger_domain::clock::system_clock();
    let state = AppState::new(
        database.pool.clone(),
        database.keyring.clone(),
        api_config(config)?,
        clock.clone(),
        readiness,
        outbound,
    );
    let gate = crate::sage::call_gate(config, &database.pool);
    // The calls made at connect pass the same app-wide budget as the sync's.
    let sage = crate::sage::connect_service(config, &database.pool, database.keyring.clone())?.with_gate(gate.clone());
    let custody = crate::sage::custody(config, &database.pool, database.keyring.clone())?;
    let engine = Arc::new(crate::sage::sync_engine(config, &database.pool, clients.clone(), custody.clone(), gate)?);
    let render = crate::metrics::install(Duration::from_secs(config.metrics.sample_secs))?;
    let state = state.with_sage(Arc::new(sage)).with_engine(engine.clone()).with_metrics(render.clone());
    let state_intake = state.intake.clone();
    let app = match role {
        Role::Worker => ledger_api::router::health_router(state),
        Role::All | Role::Api => ledger_api::router(state.clone()).merge(ledger_web::router(state, web_config(config))),
    };
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .with_context(|| format!("binding server.bind = {}", config.server.bind))?;
    tracing::info!(addr = %listener.local_addr()?, public_url = %config.public_url(), ?role, "listening");

    let worker_done = CancellationToken::new();
    let maintenance = tokio::spawn(ledger_worker::maintenance(database.pool.clone(), clock.clone(), shutdown.clone()));
    let sampler = tokio::spawn(ledger_worker::sampler::run(
        database.pool.clone(),
        Duration::from_secs(config.metrics.sample_secs),
        config.sage.daily_budget,
        shutdown.clone(),
    ));
    let metrics_listener = match config.metrics.bind {
        Some(bind) => {
            let listener = crate::metrics::serve_unauthenticated(bind, render, shutdown.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = listener.await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let worker = runs_worker.then(|| {
        let wc = WorkerConfig {
            concurrency: config.worker.concurrency,
            tenant_share: i64::from(config.worker.tenant_share),
            lease: Duration::from_secs(config.worker.lease_secs),
            reconcile_interval: Duration::from_millis(config.worker.reconcile_interval_ms),
            heartbeat_interval: Duration::from_millis(config.worker.heartbeat_interval_ms),
            shutdown_deadline: Duration::from_secs(config.worker.shutdown_deadline_secs),
            ..WorkerConfig::new(worker_id.clone())
        };
        tracing::info!(worker_id = %wc.worker_id, concurrency = wc.concurrency, "worker pool starting");
        let run = ledger_worker::run(
            database.pool.clone(),
            wc,
            engine.clone(),
            clients.clone(),
            Shutdown { stop: shutdown.clone(), force: force.clone() },
        );
        let done = worker_done.clone();
        tokio::spawn(async move {
            let result = run.await;
            done.cancel();
            result
        })
    });
    if worker.is_none() {
        worker_done.cancel();
    }

    // The worker role's background loops; each stops on `shutdown` and is awaited after the listener.
    let mut loops = tokio::task::JoinSet::new();
    let mailer = ledger_sync::mail::Mailer::new(config.mail.smtp_url.expose_secret(), &config.mail.from)?;
    if runs_worker {
        let pool = &database.pool;
        loops.spawn(ledger_sync::mail::run(pool.clone(), mailer, shutdown.clone()));
        loops.spawn(ledger_sync::bulk::run(pool.clone(), shutdown.clone()));
        loops.spawn(ledger_sync::alerts::run(pool.clone(), alert_http(), alert_config(config), shutdown.clone()));
        loops.spawn(ledger_worker::retention(
            pool.clone(),
            retention_windows(config),
            Duration::from_secs(config.retention.interval_mins * 60),
            shutdown.clone(),
        ));
        loops.spawn(ledger_sync::sage::run_idle_refresher(custody.clone(), IDLE_REFRESH_EVERY, shutdown.clone()));
    }

    let (stop, intake, drained) = (shutdown.clone(), state_intake, worker_done.clone());
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let closing = async move {
        stop.cancelled().await;
        intake.close();
        tracing::info!(grace_s = grace.as_secs(), "shutting down: webhooks now answer 503; waiting for runs in flight");
        tokio::join!(tokio::time::sleep(grace), drained.cancelled());
        tracing::info!("closing the listener");
    };
    // The peer address feeds the dashboard's per-address sign-in throttle.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(closing);
    let served = server.await;
    shutdown.cancel();
    if let Some(worker) = worker {
        match worker.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "worker pool stopped with an error"),
            Err(e) => tracing::error!(error = %e, "worker pool panicked"),
        }
    }
    while loops.join_next().await.is_some() {}
    let _ = maintenance.await;
    let _ = sampler.await;
    if let Some(listener) = metrics_listener {
        let _ = listener.await;
    }
    served.context("serving HTTP")?;
    tracing::info!("stopped");
    Ok(())
}

/// The first SIGINT/SIGTERM starts a graceful shutdown; a second one hands runs in flight back at once.
async fn signal_on(shutdown: Shutdown) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "SIGTERM cannot be watched; only Ctrl-C stops the service");
            let _ = tokio::signal::ctrl_c().await;
            shutdown.stop.cancel();
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("signal received: shutting down (a second signal stops runs in flight at once)");
    shutdown.stop.cancel();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::warn!("second signal: runs in flight are handed back now");
    shutdown.force.cancel();
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "ledger".into())
}

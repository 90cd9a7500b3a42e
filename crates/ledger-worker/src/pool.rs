//! Starting and stopping the worker role: the apalis worker, the reconciler, heartbeats and cleanup.
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{Monitor, WorkerBuilder, WorkerBuilderExt};
use apalis_postgres::{Config, PostgresStorage};
use ledger_domain::SharedClock;
use ledger_store::events::EventTask;
use ledger_store::{EVENT_QUEUE, PgPool, db, health, runs};
use tokio_util::sync::CancellationToken;

use crate::EventProcessor;
use crate::handler::{HandlerContext, handle};
use ledger_domain::RetryPolicy;
use ledger_sync::MagentoClients;
use ledger_sync::delivery::{self, CallbackConfig};

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub worker_id: String,
    /// Events handled at once.
    pub concurrency: usize,
    /// Runs one tenant may have in flight at once, across every process (see
    /// `ledger_store::runs::claim_within_share`).
    pub tenant_share: i64,
    /// How long a claim holds an event before another worker may take it over.
    pub lease: Duration,
    pub reconcile_interval: Duration,
    pub heartbeat_interval: Duration,
    /// How event runs are retried.
    pub retry: RetryPolicy,
    pub callbacks: CallbackConfig,
    /// After the stop signal, how long runs in flight may go on before they are handed back.
    pub shutdown_deadline: Duration,
}

/// How the worker role stops. `stop`: no new run starts (fetched triggers are left for the
/// reconciler), runs in flight go on. `force` (fired by the caller, or `shutdown_deadline` after
/// `stop`): runs still in flight are stopped and handed back, pending with their attempt given back,
/// with a fresh trigger for whichever process is alive.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    pub stop: CancellationToken,
    pub force: CancellationToken,
}

impl From<CancellationToken> for Shutdown {
    fn from(stop: CancellationToken) -> Self {
        Self { stop, force: CancellationToken::new() }
    }
}

impl WorkerConfig {
    pub fn new(worker_id: impl Into<String>) -> Self {
        Self {
            worker_id: worker_id.into(),
            concurrency: 8,
            tenant_share: 4,
            lease: Duration::from_secs(120),
            reconcile_interval: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(5),
            retry: RetryPolicy::events(),
            callbacks: CallbackConfig::default(),
            shutdown_deadline: Duration::from_secs(20),
        }
    }

    /// How long one run may take: four fifths of the lease, so a run is stopped before its lease can
    /// pass to another worker.
    pub fn run_deadline(&self) -> Duration {
        self.lease.mul_f64(0.8)
    }

    /// How old a worker's heartbeat may be before the triggers it fetched count as abandoned.
    pub fn heartbeat_stale(&self) -> Duration {
        (self.heartbeat_interval * 3).max(Duration::from_secs(1))
    }

    /// The handler's context for this configuration.
    pub fn handler_context(&self, pool: PgPool, processor: Arc<dyn EventProcessor>) -> HandlerContext {
        HandlerContext {
            pool,
            worker_id: self.worker_id.clone(),
            tenant_share: self.tenant_share,
            lease: self.lease,
            run_deadline: self.run_deadline(),
            retry: self.retry,
            processor,
            shutdown: Shutdown::default(),
        }
    }
}

/// Runs the worker role until `shutdown.stop` is cancelled; in-flight runs then finish, or are handed
/// back when `shutdown.force` fires (at the latest `shutdown_deadline` after the stop).
pub async fn run(
    pool: PgPool,
    config: WorkerConfig,
    processor: Arc<dyn EventProcessor>,
    clients: MagentoClients,
    shutdown: impl Into<Shutdown>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let Shutdown { stop: shutdown, force } = shutdown.into();
    let deadline = config.shutdown_deadline;
    let (stopped, forced) = (shutdown.clone(), force.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = forced.cancelled() => return,
            () = stopped.cancelled() => {}
        }
        tokio::select! {
            () = forced.cancelled() => {}
            () = tokio::time::sleep(deadline) => {
                tracing::warn!(deadline_s = deadline.as_secs_f64(), "runs still in flight at the shutdown deadline are handed back");
                forced.cancel();
            }
        }
    });
    let mut ctx = config.handler_context(pool.clone(), processor);
    ctx.shutdown = Shutdown { stop: shutdown.clone(), force: force.clone() };
    let ctx = Arc::new(ctx);
    health::heartbeat(&pool, &config.worker_id).await?;
    let background = tokio::spawn(background_loops(pool.clone(), config.clone(), shutdown.clone()));
    let dispatcher = tokio::spawn(delivery::run(pool.clone(), clients, config.callbacks.clone(), shutdown.clone()));

    let storage_config = Config::default().queue(EVENT_QUEUE).batch_size(config.concurrency.max(1));
    let worker_name = config.worker_id.clone();
    let concurrency = config.concurrency.max(1);
    let apalis_pool = pool.clone();
    let monitor = Monitor::new().register(move |_| {
        let backend = PostgresStorage::<EventTask>::new(&apalis_pool).with_config(storage_config.clone()).with_pubsub();
        WorkerBuilder::new(worker_name.clone())
            .backend(backend)
            .concurrency(concurrency)
            .data(ctx.clone())
            .build(handle)
    });
    let stop = shutdown.clone();
    let result = monitor.run_with_signal(async move {
        stop.cancelled().await;
        Ok(())
    });
    let outcome = result.await;
    shutdown.cancel();
    // Once every run has ended, nothing of this worker is in flight any more.
    force.cancel();
    let _ = background.await;
    let _ = dispatcher.await;
    // Triggers this worker fetched and never ran count as abandoned at once, not after its heartbeat
    // goes stale: the reconciler of any live process re-pushes them.
    if let Err(e) = health::forget_worker(&pool, &config.worker_id).await {
        tracing::warn!(error = %e, "could not remove the worker's heartbeat");
    }
    outcome.map_err(|e| e.to_string().into())
}

async fn background_loops(pool: PgPool, config: WorkerConfig, shutdown: CancellationToken) {
    let mut reconcile = tokio::time::interval(config.reconcile_interval);
    let mut beat = tokio::time::interval(config.heartbeat_interval);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = reconcile.tick() => match runs::reconcile_within_share(&pool, 500, config.heartbeat_stale(), config.tenant_share).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pushed = n, "reconciler re-pushed triggers"),
                Err(e) => tracing::warn!(error = %e, "reconciler failed"),
            },
            _ = beat.tick() => if let Err(e) = health::heartbeat(&pool, &config.worker_id).await {
                tracing::warn!(error = %e, "heartbeat failed");
            },
        }
    }
}

/// Housekeeping every process runs, whatever its role: expired JWT ids (judged by `clock`, the one
/// token verification uses) and finished apalis triggers (the event rows keep the history) are
/// deleted once a minute.
pub async fn maintenance(pool: PgPool, clock: SharedClock, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        match db::purge_expired_jti(&pool, clock.now()).await {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "expired jti purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "jti cleanup failed"),
        }
        match db::purge_finished_tasks(&pool).await {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "finished triggers purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "trigger cleanup failed"),
        }
    }
}

/// Retention: every `interval` (the first pass one interval after start), clears the bodies of
/// finished work past its window and deletes delivered callbacks and old alerts, in batches; one
/// process at a time (an advisory lock: the others skip the pass). Counts go to
/// `ledger_purged_total{kind}`.
pub async fn retention(
    pool: PgPool,
    windows: ledger_store::retention::Windows,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        match ledger_store::retention::purge(&pool, &windows, chrono::Utc::now()).await {
            Ok(Some(counts)) => {
                count_purged(&counts);
                if counts.total() > 0 {
                    tracing::info!(?counts, "retention purged");
                }
            }
            Ok(None) => tracing::debug!("another process is purging"),
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
    }
}

/// Adds a purge's counts to `ledger_purged_total{kind}`.
pub fn count_purged(counts: &ledger_store::retention::Counts) {
    for (kind, n) in counts.by_kind() {
        metrics::counter!("ledger_purged_total", "kind" => kind).increment(n);
    }
}

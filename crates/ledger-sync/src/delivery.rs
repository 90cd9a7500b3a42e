//! Delivers sync-state callbacks to Magento: claims due rows in order per entity, posts them, and records
//! delivered, retry (own schedule) or dead letter. A 401 marks the binding `token_revoked`.
use std::time::Duration;

use futures::future::join_all;
use ledger_domain::magento::{SyncEntityType, SyncState, SyncStatus};
use ledger_domain::{MagentoEntityId, TenantId};
use tracing::Instrument;

use ledger_magento::MagentoError;
use ledger_store::callbacks::{self, CallbackJob, Delivery};
use ledger_store::{PgPool, tenants};
use tokio_util::sync::CancellationToken;

use crate::tenant_clients::MagentoClients;

#[derive(Clone, Debug)]
pub struct CallbackConfig {
    pub poll_interval: Duration,
    pub batch: i64,
    pub lease: Duration,
    /// Delays before attempts 2, 3, …; the last repeats until `max_attempts`.
    pub schedule: Vec<Duration>,
    pub max_attempts: i32,
}

impl Default for CallbackConfig {
    fn default() -> Self {
        let secs = [2, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
        Self {
            poll_interval: Duration::from_millis(250),
            batch: 50,
            lease: Duration::from_secs(60),
            schedule: secs.into_iter().map(Duration::from_secs).collect(),
            // About two days of hourly attempts after the ramp.
            max_attempts: 60,
        }
    }
}

impl CallbackConfig {
    fn delay_after(&self, attempt: i32) -> Duration {
        let i = usize::try_from(attempt.max(1) - 1).unwrap_or(0);
        self.schedule.get(i).or(self.schedule.last()).copied().unwrap_or(Duration::from_secs(60))
    }
}

pub async fn run(pool: PgPool, clients: MagentoClients, config: CallbackConfig, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(config.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let jobs = match callbacks::claim_due(&pool, config.batch, config.lease).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim callbacks");
                continue;
            }
        };
        join_all(jobs.into_iter().map(|job| deliver_one(&pool, &clients, &config, job))).await;
    }
}

async fn deliver_one(pool: &PgPool, clients: &MagentoClients, config: &CallbackConfig, job: CallbackJob) {
    let tenant = job.tenant_id;
    let span = tracing::info_span!("callback", callback_id = job.id, tenant_id = %tenant, attempt = job.attempt);
    let outcome = match body(&job) {
        Some(state) => post(pool, clients, tenant, &job, &state).instrument(span.clone()).await,
        None => Err((false, "unsupported entity type or status, or a non-positive entity id".to_owned())),
    };
    let _enter = span.enter();
    let delivery = match outcome {
        Ok(()) => Delivery::Delivered,
        Err((true, error)) if job.attempt < config.max_attempts => {
            Delivery::Retry { delay: config.delay_after(job.attempt), error }
        }
        Err((_, error)) => Delivery::DeadLettered { error },
    };
    match callbacks::record(pool, job.id, job.lease_token, &delivery).await {
        Ok(true) => tracing::info!(?delivery, "callback recorded"),
        Ok(false) => tracing::warn!("callback lease lost; outcome dropped"),
        Err(e) => tracing::warn!(error = %e, "could not record the callback outcome; the lease will expire"),
    }
}

/// Posts one callback. `Err((retryable, message))` on failure.
async fn post(
    pool: &PgPool,
    clients: &MagentoClients,
    tenant: TenantId,
    job: &CallbackJob,
    state: &SyncState,
) -> Result<(), (bool, String)> {
    let client =
        clients.get(tenant, &job.magento_base_url, job.key_version).await.map_err(|e| (true, e.to_string()))?;
    match client.post_sync_state(state).await {
        Ok(()) => {
            if job.magento_connection_status != "active"
                && let Err(e) = tenants::set_connection_status(pool, tenant, "active").await
            {
                tracing::warn!(error = %e, "could not update the connection status");
            }
            Ok(())
        }
        Err(e) => {
            let status = match &e {
                MagentoError::Status { status, .. } => Some(*status),
                _ => None,
            };
            if status == Some(401) {
                let _ = tenants::set_connection_status(pool, tenant, "token_revoked").await;
            }
            // Magento refused our body (400): sending it again cannot help.
            let retryable = !matches!(status, Some(400)) && !matches!(e, MagentoError::InvalidSyncState(_));
            Err((retryable, e.to_string()))
        }
    }
}

fn body(job: &CallbackJob) -> Option<SyncState> {
    let entity_type = match job.entity_type.as_str() {
        "invoice" => SyncEntityType::Invoice,
        "creditmemo" => SyncEntityType::Creditmemo,
        "customer" => SyncEntityType::Customer,
        "product" => SyncEntityType::Product,
        _ => return None,
    };
    let sync_status = match job.sync_status {
        ledger_domain::SyncStatus::Synced => SyncStatus::Synced,
        ledger_domain::SyncStatus::Skipped => SyncStatus::Skipped,
        ledger_domain::SyncStatus::Failed => SyncStatus::Failed,
    };
    Some(SyncState {
        entity_type,
        magento_entity_id: MagentoEntityId::new(job.magento_entity_id).ok()?,
        provider: job.provider.clone(),
        sync_status,
        provider_entity_id: job.provider_entity_id.clone(),
        provider_reference: job.provider_reference.clone(),
        skip_reason: job.skip_reason.clone(),
        error_code: job.error_code.clone(),
    })
}

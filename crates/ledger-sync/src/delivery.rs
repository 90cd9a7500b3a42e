//! Delivers sync-state callbacks to Magento: claims due rows (one in flight per store, in order per
//! entity), posts each as its own task under a global bound so a store that hangs never holds up the
//! others, and records delivered, retry (on [`RetryPolicy::callbacks`]) or dead letter. A 401 marks the
//! binding `token_revoked` and is retried (re-pairing fixes it); 400, 403 and 404 end at once.
use std::sync::Arc;
use std::time::Duration;

use ledger_domain::error_class::{ErrorClass, RetryPolicy};
use ledger_domain::magento::{SyncEntityType, SyncState, SyncStatus};
use ledger_domain::{MagentoEntityId, TenantId};
use ledger_magento::{HttpError, MagentoError};
use ledger_store::callbacks::{self, CallbackJob, Delivery};
use ledger_store::tenants::ConnectionStatus;
use ledger_store::{PgPool, tenants};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::tenant_clients::MagentoClients;

#[derive(Clone, Debug)]
pub struct CallbackConfig {
    pub poll_interval: Duration,
    /// Deliveries in flight at once in this process (each to a different store).
    pub concurrency: usize,
    pub lease: Duration,
    pub retry: RetryPolicy,
}

impl Default for CallbackConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(250),
            concurrency: 32,
            lease: Duration::from_secs(60),
            retry: RetryPolicy::callbacks(),
        }
    }
}

/// Runs the dispatcher until `shutdown`; deliveries still in flight then are abandoned (their leases
/// expire and they are delivered again: Magento's sync-state upsert makes that harmless).
pub async fn run(pool: PgPool, clients: MagentoClients, config: CallbackConfig, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let finished = Arc::new(Notify::new());
    let mut in_flight = JoinSet::new();
    let mut tick = tokio::time::interval(config.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
            // A store finished: its next callback may be due now.
            _ = finished.notified() => {}
        }
        while in_flight.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free == 0 {
            continue;
        }
        let claiming = std::time::Instant::now();
        let jobs = match callbacks::claim_due(&pool, i64::try_from(free).unwrap_or(i64::MAX), config.lease).await {
            Ok(jobs) => {
                tracing::debug!(claimed = jobs.len(), free, ms = claiming.elapsed().as_millis(), "callbacks claimed");
                jobs
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not claim callbacks");
                continue;
            }
        };
        for job in jobs {
            let Ok(slot) = slots.clone().try_acquire_owned() else { break };
            let (pool, clients, retry, finished) = (pool.clone(), clients.clone(), config.retry, finished.clone());
            in_flight.spawn(async move {
                deliver_one(&pool, &clients, &retry, job).await;
                drop(slot);
                finished.notify_one();
            });
        }
    }
    in_flight.shutdown().await;
}

async fn deliver_one(pool: &PgPool, clients: &MagentoClients, retry: &RetryPolicy, job: CallbackJob) {
    let tenant = job.tenant_id;
    let span = tracing::info_span!("callback", callback_id = job.id, tenant_id = %tenant, attempt = job.attempt);
    let started = std::time::Instant::now();
    let outcome = match body(&job) {
        Some(state) => post(pool, clients, tenant, &job, &state).instrument(span.clone()).await,
        None => Err(Failure {
            class: ErrorClass::Validation,
            hint: None,
            error: "unsupported entity type or status, or a non-positive entity id".into(),
        }),
    };
    let _enter = span.enter();
    let posted_ms = started.elapsed().as_millis();
    let delivery = match outcome {
        Ok(()) => Delivery::Delivered,
        Err(f) => match retry.next_delay(f.class, job.attempt, f.hint) {
            Some(delay) => Delivery::Retry { delay: retry.jittered(delay, rand::random::<f64>()), error: f.error },
            None => Delivery::DeadLettered { error: f.error },
        },
    };
    let label = match &delivery {
        Delivery::Delivered => "delivered",
        Delivery::Retry { .. } => "retry",
        Delivery::DeadLettered { .. } => "dead_lettered",
    };
    metrics::counter!("ledger_callback_deliveries_total", "outcome" => label).increment(1);
    match callbacks::record(pool, job.id, job.lease_token, &delivery).await {
        Ok(true) => tracing::info!(?delivery, posted_ms, total_ms = started.elapsed().as_millis(), "callback recorded"),
        Ok(false) => tracing::warn!("callback lease lost or cancelled; outcome dropped"),
        Err(e) => tracing::warn!(error = %e, "could not record the callback outcome; the lease will expire"),
    }
}

/// Why a delivery failed, classed for the retry policy.
struct Failure {
    class: ErrorClass,
    hint: Option<Duration>,
    error: String,
}

/// The class a failed callback is retried under. A 401 means the store holds another key: re-pairing
/// fixes that, so it is retried like an outage; so is a TLS failure (a lapsed certificate gets
/// renewed). 400, 403 and 404 (refused body, blocked or missing route) cannot change by retrying.
fn retry_class(e: &MagentoError) -> ErrorClass {
    match e {
        MagentoError::Status { status: 401, .. } | MagentoError::Http(HttpError::Tls(_)) => ErrorClass::Transient,
        other => other.class(),
    }
}

async fn post(
    pool: &PgPool,
    clients: &MagentoClients,
    tenant: TenantId,
    job: &CallbackJob,
    state: &SyncState,
) -> Result<(), Failure> {
    let client = clients.get(tenant, &job.magento_base_url, job.key_version).await.map_err(|e| Failure {
        class: ErrorClass::Transient,
        hint: None,
        error: e.to_string(),
    })?;
    match client.post_sync_state(state).await {
        Ok(()) => {
            if job.magento_connection_status != ConnectionStatus::Active
                && let Err(e) = tenants::set_connection_status(pool, tenant, ConnectionStatus::Active).await
            {
                tracing::warn!(error = %e, "could not update the connection status");
            }
            Ok(())
        }
        Err(e) => {
            if matches!(e, MagentoError::Status { status: 401, .. })
                && let Err(e) = tenants::set_connection_status(pool, tenant, ConnectionStatus::TokenRevoked).await
            {
                tracing::warn!(error = %e, "could not update the connection status");
            }
            Err(Failure { class: retry_class(&e), hint: e.retry_after(), error: e.to_string() })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> MagentoError {
        MagentoError::Status { status: code, message: None, retry_after: None }
    }

    #[test]
    fn refusals_end_at_once_and_outages_are_retried() {
        let policy = RetryPolicy::callbacks();
        for code in [400, 403, 404] {
            assert_eq!(policy.next_delay(retry_class(&status(code)), 1, None), None, "HTTP {code} is final");
        }
        for code in [401, 500, 503] {
            assert!(policy.next_delay(retry_class(&status(code)), 1, None).is_some(), "HTTP {code} is retried");
        }
        assert!(policy.next_delay(retry_class(&MagentoError::Http(HttpError::Timeout)), 1, None).is_some());
        assert_eq!(policy.next_delay(retry_class(&status(503)), policy.max_attempts, None), None, "until the last");
    }
}

//! Runs the bulk actions of the dashboard and the console in the background (requeue or discard): a
//! batch at a time under a lease, so any worker process may carry a job on after another stopped, and
//! the progress bar moves as it goes. Each run is acted on only while it is still in a state the job
//! matched it in (and, for a discard, still its event's current run); one that changed meanwhile is
//! refused, never forced. A batch cut short by a crash is taken again: its runs already acted on are
//! then refused (a requeued run is superseded, a discarded one no longer in its state), so nothing is
//! done twice; only the counts lean to "refused".
use std::time::Duration;

use ledger_store::bulk::BulkAction;
use ledger_store::{PgPool, StoreError, bulk, console};
use tokio_util::sync::CancellationToken;

use crate::operations::{self, OpsError};

const BATCH: i32 = 50;
const LEASE: Duration = Duration::from_secs(60);

/// Works one batch of the oldest running job; false when there was none.
pub async fn process_next(pool: &PgPool) -> Result<bool, StoreError> {
    let Some((job, ids)) = bulk::claim_batch(pool, BATCH, LEASE).await? else { return Ok(false) };
    let states = job.states();
    let (mut done, mut refused) = (0, 0);
    for id in &ids {
        let outcome = match (job.action.as_str(), job.reason.as_deref()) {
            ("discard", Some(reason)) => operations::discard_from(pool, *id, reason, &states).await,
            _ => operations::requeue_from(pool, *id, &states).await.map(|_| ()),
        };
        match outcome {
            Ok(()) => done += 1,
            Err(OpsError::Store(e)) => return Err(e),
            // Moved on since the count (running again, superseded, acted on already): left alone.
            Err(_) => refused += 1,
        }
    }
    if bulk::record_batch(pool, job.id, done, refused).await? {
        let finished = BulkAction { done: job.done + done, refused: job.refused + refused, ..job };
        tracing::info!(bulk_id = %finished.id, tenant_id = ?finished.tenant_id, action = %finished.action,
            done = finished.done, refused = finished.refused, "bulk action finished");
        audit(pool, &finished).await?;
    }
    Ok(true)
}

/// An operator's finished job goes to the operator audit log: one entry with who, what, the filter,
/// and how many were done and refused.
async fn audit(pool: &PgPool, job: &BulkAction) -> Result<(), StoreError> {
    let (true, Some(account)) = (job.operator, job.account_id) else { return Ok(()) };
    let target = match job.tenant_id {
        Some(tenant) => format!("tenant {tenant}"),
        None => "all tenants".to_owned(),
    };
    let mut detail =
        format!("filters: {}; {} done, {} refused (changed since the count)", job.filters, job.done, job.refused);
    if let Some(reason) = &job.reason {
        detail.push_str(&format!("; reason: {reason}"));
    }
    console::record_action(
        pool,
        account,
        &job.actor_email,
        &format!("bulk_{}", job.action),
        &target,
        job.done,
        Some(&detail),
    )
    .await
}

/// Works bulk jobs until `shutdown`: batch after batch while there are any, else a look every second.
pub async fn run(pool: PgPool, shutdown: CancellationToken) {
    loop {
        let worked = match process_next(&pool).await {
            Ok(worked) => worked,
            Err(e) => {
                tracing::warn!(error = %e, "bulk action batch failed; its lease runs out and it is taken again");
                false
            }
        };
        let pause = if worked { Duration::ZERO } else { Duration::from_secs(1) };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

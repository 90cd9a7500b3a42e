//! Runs the dashboard's bulk actions in the background: a batch at a time under a lease, so any
//! worker process may carry a job on after another stopped, and the progress bar moves as it goes.
//! A batch cut short by a crash is taken again: its runs already requeued are then refused (a
//! requeued run is not requeueable twice), so nothing is done twice; only the counts lean to
//! "refused".
use std::time::Duration;

use ledger_store::{PgPool, StoreError, bulk, console};
use tokio_util::sync::CancellationToken;

use crate::operations::{self, OpsError};

const BATCH: i32 = 50;
const LEASE: Duration = Duration::from_secs(60);

/// Works one batch of the oldest running job; false when there was none.
pub async fn process_next(pool: &PgPool) -> Result<bool, StoreError> {
    let Some((job, ids)) = bulk::claim_batch(pool, BATCH, LEASE).await? else { return Ok(false) };
    let (mut done, mut refused) = (0, 0);
    for id in &ids {
        match operations::requeue(pool, *id).await {
            Ok(_) => done += 1,
            Err(OpsError::Store(e)) => return Err(e),
            // Moved on since the count (running again, superseded, requeued already): left alone.
            Err(_) => refused += 1,
        }
    }
    let finished = bulk::record_batch(pool, job.id, done, refused).await?;
    if finished {
        let done = job.done + done;
        let refused = job.refused + refused;
        tracing::info!(bulk_id = %job.id, tenant_id = %job.tenant_id, done, refused, "bulk retry finished");
        if let (true, Some(account)) = (job.operator, job.account_id) {
            let detail = format!("filters: {}; {refused} no longer retryable", job.filters);
            console::record_action(
                pool,
                account,
                &job.actor_email,
                "bulk_requeue",
                &format!("tenant {}", job.tenant_id),
                done,
                Some(&detail),
            )
            .await?;
        }
    }
    Ok(true)
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

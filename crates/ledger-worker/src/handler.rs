//! The apalis task handler. The task is only a trigger: the handler claims the event row by
//! compare-and-set, runs the processor with no transaction open, and records the outcome under its
//! fencing token. Business failures never reach apalis (its tasks have one attempt; retries are ours).
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use ledger_store::events::EventTask;
use ledger_store::{PgPool, runs};
use tracing::Instrument;

use crate::EventProcessor;

pub struct HandlerContext {
    pub pool: PgPool,
    pub worker_id: String,
    pub lease: Duration,
    pub processor: Arc<dyn EventProcessor>,
    /// Test hook: sleep this long after claiming (to kill a worker mid-run). Never set in production.
    pub stall_after_claim: Option<Duration>,
}

pub async fn handle(task: EventTask, ctx: Data<Arc<HandlerContext>>) -> Result<(), BoxDynError> {
    let span = tracing::info_span!("event", event_id = %task.event_id, tenant_id = tracing::field::Empty,
        attempt = tracing::field::Empty);
    run_one(&ctx, task).instrument(span).await;
    Ok(())
}

async fn run_one(ctx: &HandlerContext, task: EventTask) {
    let claim = match runs::claim(&ctx.pool, task.event_id, &ctx.worker_id, ctx.lease).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::debug!("event not due or held by another worker; nothing to do");
            return;
        }
        Err(e) => {
            // The reconciler re-pushes a trigger for the still-pending row.
            tracing::warn!(error = %e, "could not claim the event");
            return;
        }
    };
    let span = tracing::Span::current();
    span.record("tenant_id", tracing::field::display(claim.tenant_id));
    span.record("attempt", claim.attempt);
    if let Some(stall) = ctx.stall_after_claim {
        tracing::warn!(?stall, "stalling after claim (test hook)");
        tokio::time::sleep(stall).await;
    }
    let outcome = ctx.processor.process(&claim).await;
    match runs::finish(&ctx.pool, claim.event_id, claim.lease_token, &outcome).await {
        Ok(true) => tracing::info!(?outcome, "event run finished"),
        Ok(false) => tracing::warn!("lease lost before finishing; the outcome was dropped"),
        Err(e) => {
            tracing::error!(error = %e, "could not record the outcome; the lease will expire and the event run again")
        }
    }
}

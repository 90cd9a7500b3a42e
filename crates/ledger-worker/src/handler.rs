//! The apalis task handler. The task is only a trigger: the handler claims the event row by
//! compare-and-set, runs the processor with no transaction open (under a deadline shorter than the
//! lease, catching panics), and records the outcome under its fencing token. Business failures never
//! reach apalis (its tasks have one attempt; retries are ours).
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use futures::FutureExt;
use ledger_domain::{ClaimedEvent, EventState, RetryPolicy, RunFailure, RunResult};
use ledger_store::events::EventTask;
use ledger_store::runs::{self, Outcome};
use ledger_store::{PgPool, StoreError};
use tracing::Instrument;
use uuid::Uuid;

use crate::EventProcessor;
use crate::pool::Shutdown;
use crate::processor::{deadline_exceeded, decide, exhausted};

pub struct HandlerContext {
    pub pool: PgPool,
    pub worker_id: String,
    /// Runs one tenant may have in flight at once (see `runs::claim_within_share`).
    pub tenant_share: i64,
    pub lease: Duration,
    /// How long a run may take; shorter than the lease, so no run outlives it.
    pub run_deadline: Duration,
    pub retry: RetryPolicy,
    pub processor: Arc<dyn EventProcessor>,
    /// Whether to start runs, and when to stop those in flight.
    pub shutdown: Shutdown,
}

pub async fn handle(task: EventTask, ctx: Data<Arc<HandlerContext>>) -> Result<(), BoxDynError> {
    let mut next = Some(task.event_id);
    while let Some(event_id) = next.take() {
        let span = tracing::info_span!("event", %event_id, tenant_id = tracing::field::Empty,
            attempt = tracing::field::Empty);
        match run_handing_on(&ctx, event_id).instrument(span).await {
            // The run freed a place in its tenant's share and the tenant's next waiting event got it:
            // this worker runs it now, unless the process is stopping.
            Ok((_, Some(handed))) if !ctx.shutdown.stop.is_cancelled() => next = Some(handed),
            Ok((_, Some(handed))) => hand_back(&ctx, handed).await,
            Ok((_, None)) => {}
            // The lease expires (or the row stays pending) and the reconciler pushes a new trigger.
            Err(e) => tracing::warn!(%event_id, error = %e, "event run not recorded"),
        }
    }
    Ok(())
}

async fn hand_back(ctx: &HandlerContext, event_id: Uuid) {
    if let Err(e) = runs::hand_back(&ctx.pool, event_id).await {
        // It is pending without a live trigger: the reconciler gives it one.
        tracing::warn!(%event_id, error = %e, "could not hand the next run back");
    }
}

/// Claims event `event_id`, runs it and records how it went. `Ok(None)` when there was nothing to do
/// (not due, held by another worker, a run of the same entity in progress, or its tenant's share of the
/// runs in flight taken), or when the lease was lost before the outcome could be recorded. An event
/// the finish handed on gets its trigger.
pub async fn run_one(ctx: &HandlerContext, event_id: Uuid) -> Result<Option<Outcome>, StoreError> {
    let (outcome, handed) = run_handing_on(ctx, event_id).await?;
    if let Some(handed) = handed {
        hand_back(ctx, handed).await;
    }
    Ok(outcome)
}

/// [`run_one`], and the event the finish handed on for the caller to run (see
/// `runs::finish_handing_on`).
async fn run_handing_on(ctx: &HandlerContext, event_id: Uuid) -> Result<(Option<Outcome>, Option<Uuid>), StoreError> {
    if ctx.shutdown.stop.is_cancelled() {
        // Fetched after the stop: left unclaimed for the reconciler of a live process.
        tracing::debug!("stopping: the event is left for another worker");
        return Ok((None, None));
    }
    let Some(claim) =
        runs::claim_within_share(&ctx.pool, event_id, &ctx.worker_id, ctx.lease, ctx.tenant_share).await?
    else {
        tracing::debug!(
            "event not due, held by another worker, waiting for a run of its entity or for its tenant's share"
        );
        return Ok((None, None));
    };
    let span = tracing::Span::current();
    span.record("tenant_id", tracing::field::display(claim.tenant_id));
    span.record("attempt", claim.attempt);
    let outcome = match (exhausted(claim.attempt, &ctx.retry), claim.event()) {
        (Some(dead), _) => dead,
        // A stored event that no longer parses will not parse on a retry either.
        (None, Err(e)) => Outcome::Fail {
            state: EventState::Failed,
            failure: RunFailure::internal(format!("the stored event no longer parses: {e}")),
        },
        (None, Ok(event)) => {
            let Some(result) = run_guarded(ctx, &event).await else {
                // Stopped by the shutdown: whatever reached Sage is found again by the next run's
                // lookups by our own keys, as after a deadline.
                if runs::release(&ctx.pool, claim.event_id, claim.lease_token).await? {
                    tracing::info!("shutting down: the run was stopped and handed back");
                }
                return Ok((None, None));
            };
            decide(result, claim.attempt, &ctx.retry, rand::random::<f64>())
        }
    };
    let finished = runs::finish_handing_on(&ctx.pool, claim.event_id, claim.lease_token, &outcome, true).await?;
    if finished.recorded {
        count_attempt(&outcome);
        tracing::info!(state = %outcome.state(), ?outcome, "event run finished");
        Ok((Some(outcome), finished.handed_on))
    } else {
        tracing::warn!("lease lost before finishing; the outcome was dropped");
        Ok((None, finished.handed_on))
    }
}

/// Runs the processor under the deadline, turning a panic into an internal failure and a run past the
/// deadline into a transient one (its future is dropped, so it stops before the lease runs out).
/// `None`: the shutdown forced the run to stop.
async fn run_guarded(ctx: &HandlerContext, event: &ClaimedEvent) -> Option<RunResult> {
    let run = AssertUnwindSafe(async { ctx.processor.process(event).await }).catch_unwind();
    let guarded = tokio::time::timeout(ctx.run_deadline, run);
    let result = tokio::select! {
        biased;
        finished = guarded => finished,
        () = ctx.shutdown.force.cancelled() => return None,
    };
    Some(match result {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(RunFailure::internal(format!("the processor panicked: {}", message(&*panic)))),
        Err(_) => Err(deadline_exceeded(ctx.run_deadline)),
    })
}

fn message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// `ledger_attempts_total{outcome, error_class}`: one per recorded attempt (`retry` and `parked` are
/// runs left pending; `error_class` is `none` for a success).
fn count_attempt(outcome: &Outcome) {
    let (label, failure) = match outcome {
        Outcome::Done(_) => (outcome.state().as_str(), None),
        Outcome::Retry { failure, .. } => ("retry", Some(failure)),
        Outcome::Park { failure, .. } => ("parked", Some(failure)),
        Outcome::Fail { state, failure } => (state.as_str(), Some(failure)),
    };
    let class = failure.map_or("none", |f| f.class.as_str());
    metrics::counter!("ledger_attempts_total", "outcome" => label, "error_class" => class).increment(1);
}

//! The processor seam lives in `ledger-domain` (so the sync engine implements it without depending on
//! the worker); this module re-exports it and turns what a processor returns into a recorded outcome.
use std::time::Duration;

use ledger_domain::{ErrorClass, EventState, ParkReason, RetryPolicy, RunFailure, RunResult};
use ledger_store::runs::Outcome;

pub use ledger_domain::{ClaimedEvent, EventProcessor, ReceiveOnly, RunOutcome};

/// The worker's one decision about a run: success is recorded as is; a failure is retried after the
/// policy's jittered delay (`unit` is a random number in `[0, 1)`), ends `failed` at once when its
/// class is not retryable, and ends `dead_lettered` when `attempt` was the last one allowed. Work that
/// waits for something outside the event (a connection, a subscription, a rate-limit pause) is parked
/// without spending an attempt.
pub fn decide(result: RunResult, attempt: i32, policy: &RetryPolicy, unit: f64) -> Outcome {
    match result {
        Ok(outcome) => Outcome::Done(outcome),
        Err(failure) => match park_reason(&failure) {
            // Waiting for something outside the event: no attempt is spent. A rate-limit pause waits
            // for its hint (at least the policy's first delay); the others wait for the policy's longest
            // delay, and are woken sooner by what clears them (a connect, a resume).
            Some(reason) => {
                let delay = match reason {
                    // Woken when the earlier event finishes; the first delay only bounds a missed wake.
                    ParkReason::RateLimited | ParkReason::AwaitingPrior => policy.jittered(policy.base, unit),
                    _ => policy.jittered(policy.cap, unit),
                }
                .max(failure.retry_after.unwrap_or_default());
                Outcome::Park { reason, failure, delay }
            }
            None => match policy.next_delay_jittered(failure.class, attempt, failure.retry_after, unit) {
                Some(delay) => Outcome::Retry { failure, delay },
                None if !failure.class.is_retryable() => Outcome::Fail { state: EventState::Failed, failure },
                None => Outcome::Fail { state: EventState::DeadLettered, failure },
            },
        },
    }
}

/// Why a failure parks its event rather than counting as an attempt: the processor's own reason, or
/// the class (a lapsed subscription suspends the binding; a 429 pauses its business).
fn park_reason(failure: &RunFailure) -> Option<ParkReason> {
    failure.park.or(match failure.class {
        ErrorClass::Subscription => Some(ParkReason::Suspended),
        ErrorClass::RateLimited => Some(ParkReason::RateLimited),
        _ => None,
    })
}

/// The outcome of a claim whose attempt is past the policy's last: earlier runs kept ending without an
/// outcome (their workers died or their leases ran out), so the event is dead-lettered without a run.
pub fn exhausted(attempt: i32, policy: &RetryPolicy) -> Option<Outcome> {
    (attempt > policy.max_attempts).then(|| Outcome::Fail {
        state: EventState::DeadLettered,
        failure: RunFailure::internal(format!(
            "attempt {attempt} is past the last allowed ({}): earlier runs ended without an outcome",
            policy.max_attempts
        )),
    })
}

/// The failure recorded when a run outlives its deadline.
pub fn deadline_exceeded(deadline: Duration) -> RunFailure {
    RunFailure::new(ErrorClass::Transient, format!("the run exceeded its deadline of {deadline:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 3, base: Duration::from_secs(10), cap: Duration::from_secs(60), jitter: 0.2 }
    }

    #[test]
    fn failures_retry_fail_or_dead_letter_by_class_and_attempt() {
        let transient = || Err(RunFailure::new(ErrorClass::Transient, "sage 503"));
        match decide(transient(), 1, &policy(), 0.5) {
            Outcome::Retry { delay, .. } => assert_eq!(delay, Duration::from_secs(10)),
            other => panic!("{other:?}"),
        }
        match decide(transient(), 1, &policy(), 0.0) {
            Outcome::Retry { delay, .. } => assert_eq!(delay, Duration::from_secs(8), "jitter spreads the delay"),
            other => panic!("{other:?}"),
        }
        let state = |o: Outcome| o.state();
        assert_eq!(state(decide(transient(), 3, &policy(), 0.5)), EventState::DeadLettered);
        let refused = Err(RunFailure::new(ErrorClass::Validation, "bad sku"));
        assert_eq!(state(decide(refused, 1, &policy(), 0.5)), EventState::Failed, "not retryable: failed at once");
        let hinted = Err(RunFailure::new(ErrorClass::RateLimited, "429").with_retry_after(Duration::from_secs(45)));
        match decide(hinted, 3, &policy(), 0.0) {
            Outcome::Park { reason: ParkReason::RateLimited, delay, .. } => {
                assert_eq!(delay, Duration::from_secs(45), "the hint is a floor, and a 429 is never an attempt")
            }
            other => panic!("{other:?}"),
        }
        let unconnected = Err(RunFailure::new(ErrorClass::Auth, "no binding").parked(ParkReason::SageNotConnected));
        match decide(unconnected, 3, &policy(), 0.5) {
            Outcome::Park { reason: ParkReason::SageNotConnected, delay, .. } => {
                assert_eq!(delay, Duration::from_secs(60))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(state(decide(Ok(RunOutcome::skipped("x")), 1, &policy(), 0.5)), EventState::Skipped);
        let lapsed = || Err(RunFailure::new(ErrorClass::Subscription, "MSE"));
        match decide(lapsed(), 3, &policy(), 0.5) {
            Outcome::Park { reason: ParkReason::Suspended, delay, .. } => {
                assert_eq!(delay, Duration::from_secs(60), "parked, even at the last attempt")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_claim_past_the_last_attempt_is_dead_lettered() {
        assert!(exhausted(3, &policy()).is_none());
        assert_eq!(exhausted(4, &policy()).map(|o| o.state()), Some(EventState::DeadLettered));
    }
}

//! Failures of the engine's collaborators as the worker's classified `RunFailure`, and Sage call records
//! as audit rows.
use ledger_domain::mapping::{MapError, SkipReason};
use ledger_domain::{ErrorClass, RunFailure, RunOutcome, RunResult};
use ledger_magento::MagentoError;
use ledger_sage::{CallRecord, SageClientError};
use ledger_store::{StoreError, audit};
use serde::Serialize;
use serde_json::Value;

/// Our own database failed: retried like any transient failure.
pub(super) fn store_failure(e: StoreError) -> RunFailure {
    RunFailure::new(ErrorClass::Transient, format!("ledger database: {e}"))
}

/// A failed call to the store's REST API, with what the store said.
pub(super) fn magento_failure(e: MagentoError) -> RunFailure {
    let mut failure = RunFailure::new(e.class(), format!("Magento: {e}"));
    if let MagentoError::Status { status, message, .. } = &e {
        failure = failure.with_http_status(*status);
        if let Some(m) = message {
            failure = failure.with_magento(m.clone());
        }
    }
    if let Some(hint) = e.retry_after() {
        failure = failure.with_retry_after(hint);
    }
    failure
}

/// A document that could not be mapped needs a person (the policy or the store's data), so it is not
/// retried. Skips are outcomes: see [`skip_or_fail`].
pub(super) fn map_failure(e: MapError) -> RunFailure {
    RunFailure::new(ErrorClass::Validation, format!("{} ({})", e, e.code()))
}

pub(super) fn sage_failure(e: SageClientError) -> RunFailure {
    RunFailure::from(&e)
}

pub(super) fn audit_call(c: CallRecord) -> audit::SageCall {
    audit::SageCall {
        started_at: c.started_at,
        method: c.method,
        path: c.path,
        status: c.status.map(i32::from),
        latency_ms: i32::try_from(c.latency_ms).unwrap_or(i32::MAX),
        x_request_id: c.x_request_id,
        request_body: c.request_body,
        response_body: c.response_body,
        error: c.transport_error,
    }
}

/// How a step of a run ends early: a deliberate skip, or a failure.
#[derive(Debug)]
pub(super) enum StepEnd {
    Skip(SkipReason),
    Fail(RunFailure),
}

pub(super) type Step<T> = Result<T, StepEnd>;

impl From<RunFailure> for StepEnd {
    fn from(f: RunFailure) -> Self {
        Self::Fail(f)
    }
}

impl From<SkipReason> for StepEnd {
    fn from(r: SkipReason) -> Self {
        Self::Skip(r)
    }
}

impl From<MapError> for StepEnd {
    fn from(e: MapError) -> Self {
        match e.skip_reason() {
            Some(r) => Self::Skip(r),
            None => Self::Fail(map_failure(e)),
        }
    }
}

/// A step's end as the run's result.
pub(super) fn outcome(step: Step<RunOutcome>) -> RunResult {
    match step {
        Ok(outcome) => Ok(outcome),
        Err(StepEnd::Skip(reason)) => Ok(RunOutcome::skipped(reason.as_str())),
        Err(StepEnd::Fail(failure)) => Err(failure),
    }
}

/// What a cross-reference keeps of a record, as JSON.
pub(super) fn xref_detail<T: Serialize>(record: &T) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

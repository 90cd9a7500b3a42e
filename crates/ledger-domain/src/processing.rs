//! The seam between the worker and whatever turns an event into Sage records: a typed claimed event
//! in, a run outcome or a classified failure out. The worker alone turns a failure into a retry delay
//! (through [`RetryPolicy`](crate::RetryPolicy)), so processors never schedule anything themselves.
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Envelope, ErrorClass, EventName, ParkReason, SyncReport, TenantId};

/// An event a worker holds under its lease, parsed back into domain types.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedEvent {
    pub event_id: Uuid,
    pub tenant_id: TenantId,
    pub name: EventName,
    pub envelope: Envelope,
    /// 1 for the first run, counting every claim (a run whose worker died counts too).
    pub attempt: i32,
    /// The fencing token of this claim: it names the attempt in the audit trail.
    pub lease_token: i64,
}

/// How a run that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Written to Sage; Magento's chip flips to synced with these ids.
    Synced(SyncReport),
    /// Deliberately not synced; Magento shows the reason, and the Sage record the event's entity has
    /// when there is one (an `invoice.paid` whose receipt is skipped still names its invoice).
    Skipped { reason: String, provider_entity_id: Option<String>, provider_reference: Option<String> },
    /// Processed with nothing synced (no sync engine yet): no callback. Goes once the engine lands.
    Received { detail: String },
}

impl RunOutcome {
    pub fn synced(provider_entity_id: impl Into<String>, provider_reference: Option<String>) -> Self {
        Self::Synced(SyncReport {
            provider_entity_id: Some(provider_entity_id.into()),
            provider_reference,
            skip_reason: None,
        })
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::Skipped { reason: reason.into(), provider_entity_id: None, provider_reference: None }
    }

    /// Skipped, with the Sage record the entity already has.
    pub fn skipped_with(
        reason: impl Into<String>,
        provider_entity_id: impl Into<String>,
        provider_reference: Option<String>,
    ) -> Self {
        Self::Skipped { reason: reason.into(), provider_entity_id: Some(provider_entity_id.into()), provider_reference }
    }

    pub fn received(detail: impl Into<String>) -> Self {
        Self::Received { detail: detail.into() }
    }
}

/// Sage's error entry (`$source`, `$dataCode`, `$message`), as far as the failing call returned it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SageErrorDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What the provider said when a run failed; kept on the event row and its attempt for operators.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Boxed: a failure stays small enough to return by value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sage: Option<Box<SageErrorDetail>>,
    /// Magento's error message, when the failing call went to the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub magento: Option<String>,
}

impl ProviderDetail {
    pub fn is_empty(&self) -> bool {
        self.http_status.is_none() && self.sage.is_none() && self.magento.is_none()
    }
}

/// A classified failure of a run. The class decides whether it is retried; `retry_after` is the
/// provider's hint (a `Retry-After`), honoured as a floor of the worker's backoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub class: ErrorClass,
    pub message: String,
    pub detail: ProviderDetail,
    pub retry_after: Option<Duration>,
    /// Set when the work cannot run for a reason outside the event (no Sage connection, a lapsed
    /// subscription, a rate-limit pause): the event waits, pending, without spending an attempt.
    pub park: Option<ParkReason>,
}

impl RunFailure {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self { class, message: message.into(), detail: ProviderDetail::default(), retry_after: None, park: None }
    }

    /// A bug or an unexpected state on our side (a panic, a corrupt stored event).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Internal, message)
    }

    pub fn with_http_status(mut self, status: u16) -> Self {
        self.detail.http_status = Some(status);
        self
    }

    pub fn with_sage(mut self, sage: SageErrorDetail) -> Self {
        self.detail.sage = Some(Box::new(sage));
        self
    }

    pub fn with_magento(mut self, message: impl Into<String>) -> Self {
        self.detail.magento = Some(message.into());
        self
    }

    pub fn with_retry_after(mut self, hint: Duration) -> Self {
        self.retry_after = Some(hint);
        self
    }

    /// The work waits for `reason` to clear instead of failing.
    pub fn parked(mut self, reason: ParkReason) -> Self {
        self.park = Some(reason);
        self
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

pub type RunResult = Result<RunOutcome, RunFailure>;

/// A boxed future, so processors are object-safe without an async-trait dependency.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Turns a claimed event into an outcome. Implemented by the sync engine (and by test doubles);
/// the worker runs it under a deadline shorter than its lease and catches its panics.
pub trait EventProcessor: Send + Sync + 'static {
    fn process<'a>(&'a self, event: &'a ClaimedEvent) -> BoxFuture<'a, RunResult>;
}

/// The processor until the sync engine exists: every event ends `received`, and nothing pretends to sync.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReceiveOnly;

impl EventProcessor for ReceiveOnly {
    fn process<'a>(&'a self, _event: &'a ClaimedEvent) -> BoxFuture<'a, RunResult> {
        Box::pin(async { Ok(RunOutcome::received("no sync configured yet")) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_detail_serialises_only_what_is_known() {
        let f = RunFailure::new(ErrorClass::Validation, "refused")
            .with_http_status(422)
            .with_sage(SageErrorDetail { data_code: Some("RecordInvalid".into()), ..Default::default() });
        assert_eq!(
            serde_json::to_value(&f.detail).unwrap(),
            serde_json::json!({"http_status": 422, "sage": {"data_code": "RecordInvalid"}})
        );
        assert!(RunFailure::internal("x").detail.is_empty());
        assert_eq!(f.to_string(), "validation: refused");
        assert!(size_of::<RunFailure>() <= 128, "clippy's large-error threshold");
    }
}

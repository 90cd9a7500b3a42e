//! What operators read about event runs (the JSON of the API and of `ledger events … --json`), and the
//! opaque listing cursor.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ledger_domain::{ErrorClass, EventName, EventState, ParkReason, TenantId};
use ledger_store::audit::SageCall;
use ledger_store::operations::EventSummary;
use ledger_store::runs::Attempt;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// One run in a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventItem {
    pub id: Uuid,
    pub event: EventName,
    pub magento_entity_id: i64,
    pub increment_id: Option<String>,
    pub state: EventState,
    pub parked_reason: Option<ParkReason>,
    pub discard_reason: Option<String>,
    pub attempt: i32,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub sage_id: Option<String>,
    pub sage_reference: Option<String>,
    pub error: Option<RunError>,
}

/// The last failure of a run: our class and message, the provider's HTTP status and detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunError {
    pub class: Option<ErrorClass>,
    pub message: Option<String>,
    pub http_status: Option<i32>,
    pub detail: Option<Value>,
}

impl From<EventSummary> for EventItem {
    fn from(s: EventSummary) -> Self {
        let failed = s.last_error_class.is_some() || s.last_error.is_some();
        let error = failed.then_some(RunError {
            class: s.last_error_class,
            message: s.last_error,
            http_status: s.last_http_status,
            detail: s.last_error_detail,
        });
        Self {
            id: s.id,
            event: s.event_name,
            magento_entity_id: s.magento_entity_id,
            increment_id: s.increment_id,
            state: s.state,
            parked_reason: s.parked_reason,
            discard_reason: s.discard_reason,
            attempt: s.attempt,
            received_at: s.received_at,
            finished_at: s.finished_at,
            sage_id: s.sage_id,
            sage_reference: s.sage_reference,
            error,
        }
    }
}

/// A page of a listing; `next_cursor` is absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventPage {
    pub items: Vec<EventItem>,
    pub next_cursor: Option<String>,
}

/// One run with its audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct EventDetail {
    #[serde(flatten)]
    pub item: EventItem,
    pub tenant_id: TenantId,
    pub rerun_of: Option<Uuid>,
    /// The envelope the module sent.
    pub payload: Value,
    pub attempts: Vec<AttemptView>,
    /// What the store said beside what Sage got, for the latest attempt that fetched the entity.
    pub diff: Option<Diff>,
}

/// One claim of the run, with the snapshot it started from and the Sage calls it made.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    #[serde(flatten)]
    pub attempt: Attempt,
    pub snapshot: Option<Value>,
    pub sage_calls: Vec<SageCall>,
}

/// The latest snapshot beside the body of the attempt's last successful create or update in Sage
/// (`sage` is null when that attempt wrote nothing, e.g. it found the record already there).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// The attempt (its lease token) both sides come from.
    pub lease_token: i64,
    pub magento: Value,
    pub sage: Option<Value>,
    /// `METHOD path` of the Sage call whose request body is `sage`.
    pub sage_call: Option<String>,
}

/// Builds the diff from the attempts: the latest one with a snapshot, and its last 2xx POST or PUT.
pub(crate) fn diff(attempts: &[AttemptView]) -> Option<Diff> {
    let latest = attempts.iter().rev().find(|a| a.snapshot.is_some())?;
    let write = latest.sage_calls.iter().rev().find(|c| {
        matches!(c.method.to_ascii_uppercase().as_str(), "POST" | "PUT")
            && c.status.is_some_and(|s| (200..300).contains(&s))
            && c.request_body.is_some()
    });
    Some(Diff {
        lease_token: latest.attempt.lease_token,
        magento: latest.snapshot.clone().unwrap_or(Value::Null),
        sage: write.and_then(|c| c.request_body.clone()),
        sage_call: write.map(|c| format!("{} {}", c.method.to_ascii_uppercase(), c.path)),
    })
}

/// The position after the last item of a page: its (received_at, id), opaque to clients.
pub(crate) fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", at.timestamp_micros(), id.simple()))
}

pub(crate) fn decode_cursor(raw: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (micros, id) = text.split_once('.')?;
    Some((DateTime::from_timestamp_micros(micros.parse().ok()?)?, Uuid::try_parse(id).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode_cursor(&encode_cursor(at, id)), Some((at, id)));
        for bad in ["", "not base64!", &URL_SAFE_NO_PAD.encode("12.nope"), &URL_SAFE_NO_PAD.encode("x.y")] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}

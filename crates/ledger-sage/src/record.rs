//! The audit trail of Sage calls: one [`CallRecord`] per HTTP request (success or failure, including the
//! retry after a 401), handed to a [`CallObserver`]. It holds what was sent and received, never the bearer
//! token or any other header but `x_request_id`.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One HTTP request to Sage and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub started_at: DateTime<Utc>,
    pub method: String,
    /// Relative to the API base, with its query (`/contacts?page=2&items_per_page=200`).
    pub path: String,
    /// The `X-Business` we sent (none for `/businesses` and `/user`).
    pub business: Option<String>,
    /// `None` when no answer came (timeout, connection error).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Sage's request id, for its support desk.
    pub x_request_id: Option<String>,
    pub request_body: Option<serde_json::Value>,
    /// The body as JSON, or as a JSON string when it was not JSON.
    pub response_body: Option<serde_json::Value>,
    /// Why the call failed when there was no HTTP answer (timeout, connection refused, …).
    pub transport_error: Option<String>,
    /// This request repeated the previous one after a 401 and one token refresh.
    pub after_unauthorized: bool,
}

impl CallRecord {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }
}

/// Receives every call record; the sync engine keeps them with the attempt that made them.
pub trait CallObserver: Send + Sync {
    fn record(&self, call: CallRecord);
}

/// An observer that keeps records in memory until taken (one per attempt, say).
#[derive(Clone, Debug, Default)]
pub struct CallLog(Arc<Mutex<Vec<CallRecord>>>);

impl CallLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The records so far, leaving the log empty.
    pub fn take(&self) -> Vec<CallRecord> {
        self.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }

    /// A copy of the records so far.
    pub fn snapshot(&self) -> Vec<CallRecord> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl CallObserver for CallLog {
    fn record(&self, call: CallRecord) {
        if let Ok(mut v) = self.0.lock() {
            v.push(call);
        }
    }
}

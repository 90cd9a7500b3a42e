//! The module's local outbox (`byte8_event_outbox`): enqueue rules, due-row selection, outcomes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::wire::{iso_z, php_json_string, rfc3339_ms};

/// Retry delay after the n-th transient failure (index n−1), spec 3.4.
pub const RETRY_DELAYS_S: [i64; 9] = [60, 300, 1_800, 7_200, 21_600, 43_200, 86_400, 86_400, 86_400];
/// Transient failures after which a row is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 10;
/// Rows one drain run picks.
pub const BATCH: usize = 50;
/// Cap on the stored response body of a 4xx.
pub const ERROR_BODY_CAP: usize = 8_192;

/// Outbox row status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Succeeded,
    DeadLettered,
}

/// One outbox row.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub entity_id: u64,
    pub idempotency_key: String,
    pub event_name: String,
    /// The exact JSON body sent.
    pub payload: String,
    pub status: Status,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    #[serde(serialize_with = "opt_time")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_time")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "time")]
    pub created_at: DateTime<Utc>,
    /// The unscaled schedule delay chosen at the last transient failure (simulator extra).
    pub retry_delay_s: Option<i64>,
}

fn opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339_ms(*t)),
        None => s.serialize_none(),
    }
}

fn time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_ms(*t))
}

/// A scalar in an event's `payload` object.
#[derive(Debug, Clone)]
pub enum PayloadValue {
    Str(String),
    Bool(bool),
}

/// The five-key envelope, byte-for-byte as the module's `json_encode` writes it.
pub fn envelope(
    entity_id: u64,
    website_id: u32,
    store_id: u32,
    occurred_at: DateTime<Utc>,
    payload: &[(&str, PayloadValue)],
) -> String {
    let body = if payload.is_empty() {
        "{}".to_owned()
    } else {
        let fields: Vec<String> = payload
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    PayloadValue::Str(s) => php_json_string(s),
                    PayloadValue::Bool(b) => b.to_string(),
                };
                format!("{}:{v}", php_json_string(k))
            })
            .collect();
        format!("{{{}}}", fields.join(","))
    };
    format!(
        r#"{{"magento_entity_id":{entity_id},"website_id":{website_id},"store_id":{store_id},"occurred_at":"{}","payload":{body}}}"#,
        iso_z(occurred_at)
    )
}

/// The outbox table.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    rows: Vec<OutboxRow>,
    by_key: HashMap<String, usize>,
}

/// What happened to one delivery attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// 2xx.
    Success(u16),
    /// 4xx with the response body.
    Permanent(u16, String),
    /// 5xx/1xx/3xx, timeout or connect error, with a message.
    Transient(String),
}

impl Outbox {
    /// Inserts a pending row unless a row with the key exists (any status); true if inserted.
    pub fn enqueue(&mut self, key: &str, event: &str, body: String, now: DateTime<Utc>) -> bool {
        if self.by_key.contains_key(key) {
            return false;
        }
        let id = self.rows.len() as u64 + 1;
        self.rows.push(OutboxRow {
            entity_id: id,
            idempotency_key: key.to_owned(),
            event_name: event.to_owned(),
            payload: body,
            status: Status::Pending,
            attempts: 0,
            last_status_code: None,
            last_attempt_at: None,
            next_attempt_at: None,
            last_error: None,
            created_at: now,
            retry_delay_s: None,
        });
        self.by_key.insert(key.to_owned(), self.rows.len() - 1);
        true
    }

    /// Up to [`BATCH`] pending rows due at `now`, oldest first.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<OutboxRow> {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Pending && r.next_attempt_at.is_none_or(|t| t <= now))
            .take(BATCH)
            .cloned()
            .collect()
    }

    /// All rows, optionally filtered by status.
    pub fn rows(&self, status: Option<Status>) -> Vec<OutboxRow> {
        self.rows.iter().filter(|r| status.is_none_or(|s| r.status == s)).cloned().collect()
    }

    /// One row by id.
    pub fn get(&self, id: u64) -> Option<&OutboxRow> {
        id.checked_sub(1).and_then(|i| self.rows.get(i as usize))
    }

    /// Number of rows with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// Records an attempt's outcome; `time_scale` divides the retry delay.
    pub fn record(&mut self, id: u64, outcome: &Outcome, now: DateTime<Utc>, time_scale: f64) {
        let Some(row) = id.checked_sub(1).and_then(|i| self.rows.get_mut(i as usize)) else {
            return;
        };
        row.attempts += 1;
        row.last_attempt_at = Some(now);
        match outcome {
            Outcome::Success(code) => {
                row.status = Status::Succeeded;
                row.last_status_code = Some(*code);
                row.next_attempt_at = None;
                row.last_error = None;
            }
            Outcome::Permanent(code, body) => {
                row.status = Status::DeadLettered;
                row.last_status_code = Some(*code);
                row.next_attempt_at = None;
                row.last_error = Some(format!("HTTP {code}: {}", crate::wire::truncate_bytes(body, ERROR_BODY_CAP)));
            }
            Outcome::Transient(msg) => {
                row.last_status_code = None;
                if row.attempts >= MAX_ATTEMPTS {
                    row.status = Status::DeadLettered;
                    row.next_attempt_at = None;
                    row.last_error = Some(format!("transient_exhausted: {msg}"));
                } else {
                    let delay = RETRY_DELAYS_S[(row.attempts as usize - 1).min(8)];
                    row.retry_delay_s = Some(delay);
                    row.next_attempt_at = Some(now + scaled(delay, time_scale));
                    row.last_error = Some(msg.clone());
                }
            }
        }
    }
}

/// `secs / time_scale` as a duration (millisecond resolution, at least 1 ms).
pub fn scaled(secs: i64, time_scale: f64) -> Duration {
    let ms = (secs as f64 * 1000.0 / time_scale.max(f64::MIN_POSITIVE)).round();
    Duration::milliseconds((ms as i64).max(1))
}

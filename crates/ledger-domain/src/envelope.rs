//! The five-key event envelope the Magento module posts, and the five event names.
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The events the module emits (spec §1.2). Anything else is rejected at the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventName {
    #[serde(rename = "invoice.created")]
    InvoiceCreated,
    #[serde(rename = "invoice.paid")]
    InvoicePaid,
    #[serde(rename = "creditmemo.created")]
    CreditmemoCreated,
    #[serde(rename = "customer.upserted")]
    CustomerUpserted,
    #[serde(rename = "product.upserted")]
    ProductUpserted,
}

impl EventName {
    pub const ALL: [EventName; 5] = [
        Self::InvoiceCreated,
        Self::InvoicePaid,
        Self::CreditmemoCreated,
        Self::CustomerUpserted,
        Self::ProductUpserted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvoiceCreated => "invoice.created",
            Self::InvoicePaid => "invoice.paid",
            Self::CreditmemoCreated => "creditmemo.created",
            Self::CustomerUpserted => "customer.upserted",
            Self::ProductUpserted => "product.upserted",
        }
    }

    /// The Magento entity type the event is about (the sync-state `entity_type`).
    pub fn entity_type(self) -> &'static str {
        match self {
            Self::InvoiceCreated | Self::InvoicePaid => "invoice",
            Self::CreditmemoCreated => "creditmemo",
            Self::CustomerUpserted => "customer",
            Self::ProductUpserted => "product",
        }
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown event name; expected one of invoice.created, invoice.paid, creditmemo.created, customer.upserted, product.upserted"
)]
pub struct UnknownEvent;

impl FromStr for EventName {
    type Err = UnknownEvent;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|e| e.as_str() == s).ok_or(UnknownEvent)
    }
}

/// The body of every webhook (spec §1.2), validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Envelope {
    pub magento_entity_id: u64,
    pub website_id: u64,
    pub store_id: u64,
    pub occurred_at: DateTime<Utc>,
    pub payload: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body must be a JSON object")]
    NotObject,
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("field `{0}` must be {1}")]
    Type(&'static str, &'static str),
    #[error("unknown field `{0}`")]
    Unknown(String),
    #[error("`occurred_at` must be UTC in the form YYYY-MM-DDTHH:MM:SSZ")]
    OccurredAt,
    #[error("payload field `{0}` must be {1}")]
    Payload(&'static str, &'static str),
    #[error("strings must not contain \\u0000")]
    NulCharacter,
}

const FIELDS: [&str; 5] = ["magento_entity_id", "website_id", "store_id", "occurred_at", "payload"];

impl Envelope {
    /// Parses and validates a body for `event`. Unknown top-level keys are refused (the module sends
    /// exactly five); unknown payload keys are tolerated for forward compatibility.
    pub fn parse(event: EventName, body: &[u8]) -> Result<Self, EnvelopeError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| EnvelopeError::Json(short(&e)))?;
        let Value::Object(mut obj) = value else {
            return Err(EnvelopeError::NotObject);
        };
        if let Some(extra) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(EnvelopeError::Unknown(extra.clone()));
        }
        let magento_entity_id = uint(&obj, "magento_entity_id")?;
        if magento_entity_id == 0 {
            return Err(EnvelopeError::Type("magento_entity_id", "a positive integer"));
        }
        let website_id = uint(&obj, "website_id")?;
        let store_id = uint(&obj, "store_id")?;
        let occurred_at = match obj.get("occurred_at") {
            None => return Err(EnvelopeError::Missing("occurred_at")),
            Some(Value::String(s)) => parse_occurred_at(s)?,
            Some(_) => return Err(EnvelopeError::Type("occurred_at", "a string")),
        };
        let payload = match obj.remove("payload") {
            None => return Err(EnvelopeError::Missing("payload")),
            Some(Value::Object(p)) => p,
            // PHP's json_encode of an empty array; the module promises `{}`, but accept `[]` as empty.
            Some(Value::Array(a)) if a.is_empty() => Map::new(),
            Some(_) => return Err(EnvelopeError::Type("payload", "an object")),
        };
        check_payload(event, &payload)?;
        if payload.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)) {
            return Err(EnvelopeError::NulCharacter);
        }
        Ok(Self { magento_entity_id, website_id, store_id, occurred_at, payload })
    }

    pub fn increment_id(&self) -> Option<&str> {
        self.payload.get("increment_id").and_then(Value::as_str)
    }
}

fn short(e: &serde_json::Error) -> String {
    format!("line {} column {}", e.line(), e.column())
}

/// A non-negative integer that fits the database's `bigint`: larger ones are refused, never clamped
/// (clamping would fold distinct entities into one).
fn uint(obj: &Map<String, Value>, key: &'static str) -> Result<u64, EnvelopeError> {
    match obj.get(key) {
        None => Err(EnvelopeError::Missing(key)),
        Some(v) => match v.as_u64() {
            Some(n) if i64::try_from(n).is_ok() => Ok(n),
            Some(_) => Err(EnvelopeError::Type(key, "at most 9223372036854775807")),
            None => Err(EnvelopeError::Type(key, "a non-negative integer")),
        },
    }
}

/// Whether a `\u0000` hides anywhere in `v` (PostgreSQL's jsonb and text refuse it).
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(holds_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn parse_occurred_at(s: &str) -> Result<DateTime<Utc>, EnvelopeError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").map(|n| n.and_utc()).map_err(|_| EnvelopeError::OccurredAt)
}

fn check_payload(event: EventName, payload: &Map<String, Value>) -> Result<(), EnvelopeError> {
    let needs_increment =
        matches!(event, EventName::InvoiceCreated | EventName::InvoicePaid | EventName::CreditmemoCreated);
    // The ledger refetches every entity, so a missing increment id is tolerated; a wrong type is not.
    if needs_increment {
        match payload.get("increment_id") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 64 => {}
            None => {}
            Some(_) => return Err(EnvelopeError::Payload("increment_id", "a non-empty string")),
        }
    }
    if event == EventName::InvoiceCreated {
        match payload.get("paid") {
            Some(Value::Bool(_)) | None => {}
            Some(_) => return Err(EnvelopeError::Payload("paid", "a boolean")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"magento_entity_id":42,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{"increment_id":"000000042","paid":false}}"#;

    #[test]
    fn parses_spec_example() {
        let env = Envelope::parse(EventName::InvoiceCreated, EXAMPLE.as_bytes()).unwrap();
        assert_eq!(env.magento_entity_id, 42);
        assert_eq!(env.increment_id(), Some("000000042"));
        assert_eq!(env.occurred_at.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    }

    #[test]
    fn rejects_bad_bodies() {
        let cases: &[(&str, EnvelopeError)] = &[
            ("[1]", EnvelopeError::NotObject),
            (
                r#"{"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{}}"#,
                EnvelopeError::Missing("magento_entity_id"),
            ),
            (
                r#"{"magento_entity_id":"42","website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{}}"#,
                EnvelopeError::Type("magento_entity_id", "a non-negative integer"),
            ),
            (
                r#"{"magento_entity_id":4.5,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{}}"#,
                EnvelopeError::Type("magento_entity_id", "a non-negative integer"),
            ),
            (
                r#"{"magento_entity_id":4,"website_id":1,"store_id":1,"occurred_at":"2026-01-01 00:00:00","payload":{}}"#,
                EnvelopeError::OccurredAt,
            ),
            (
                r#"{"magento_entity_id":4,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":"x"}"#,
                EnvelopeError::Type("payload", "an object"),
            ),
            (
                r#"{"magento_entity_id":4,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{},"x":1}"#,
                EnvelopeError::Unknown("x".into()),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(Envelope::parse(EventName::CustomerUpserted, body.as_bytes()).unwrap_err(), *want, "{body}");
        }
        let bad_increment = r#"{"magento_entity_id":4,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{"increment_id":7}}"#;
        assert_eq!(
            Envelope::parse(EventName::InvoicePaid, bad_increment.as_bytes()).unwrap_err(),
            EnvelopeError::Payload("increment_id", "a non-empty string")
        );
        let bad_paid = r#"{"magento_entity_id":4,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{"increment_id":"7","paid":"no"}}"#;
        assert_eq!(
            Envelope::parse(EventName::InvoiceCreated, bad_paid.as_bytes()).unwrap_err(),
            EnvelopeError::Payload("paid", "a boolean")
        );
        let empty_array =
            r#"{"magento_entity_id":4,"website_id":0,"store_id":0,"occurred_at":"2026-01-01T00:00:00Z","payload":[]}"#;
        assert!(Envelope::parse(EventName::ProductUpserted, empty_array.as_bytes()).is_ok());
    }

    #[test]
    fn ids_past_bigint_are_refused_not_clamped() {
        let body = |id: &str| {
            format!(
                r#"{{"magento_entity_id":{id},"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{{}}}}"#
            )
        };
        let max = Envelope::parse(EventName::CustomerUpserted, body("9223372036854775807").as_bytes()).unwrap();
        assert_eq!(max.magento_entity_id, 9_223_372_036_854_775_807);
        for past in ["9223372036854775808", "18446744073709551615"] {
            assert_eq!(
                Envelope::parse(EventName::CustomerUpserted, body(past).as_bytes()).unwrap_err(),
                EnvelopeError::Type("magento_entity_id", "at most 9223372036854775807"),
                "{past}"
            );
        }
        let store = body("1").replace(r#""store_id":1"#, r#""store_id":9223372036854775808"#);
        assert!(matches!(
            Envelope::parse(EventName::CustomerUpserted, store.as_bytes()),
            Err(EnvelopeError::Type("store_id", _))
        ));
    }

    #[test]
    fn a_nul_character_anywhere_in_the_payload_is_refused() {
        let with = |payload: &str| {
            format!(
                r#"{{"magento_entity_id":4,"website_id":1,"store_id":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{payload}}}"#
            )
        };
        for payload in
            [r#"{"increment_id":"0001\u0000"}"#, r#"{"note\u0000":1}"#, r#"{"deep":[{"x":["a","b\u0000c"]}]}"#]
        {
            assert_eq!(
                Envelope::parse(EventName::InvoicePaid, with(payload).as_bytes()).unwrap_err(),
                EnvelopeError::NulCharacter,
                "{payload}"
            );
        }
        // An escaped backslash followed by `u0000` is six ordinary characters.
        assert!(Envelope::parse(EventName::InvoicePaid, with(r#"{"increment_id":"a\\u0000"}"#).as_bytes()).is_ok());
    }

    #[test]
    fn event_names_round_trip() {
        for e in EventName::ALL {
            assert_eq!(e.as_str().parse::<EventName>().unwrap(), e);
        }
        assert!("order.created".parse::<EventName>().is_err());
    }
}

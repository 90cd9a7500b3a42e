//! Sage's error bodies (spec §4.1: a JSON array of `$severity`, `$dataCode`, `$message`, `$source`), the
//! client's error type, and the class each failure means for our retry policy (spec §4.2): by HTTP status
//! first, refined only by the `$message`/`$dataCode` values Sage documents (`(MSE)`, `RecordNotFound`).
//! The simulator's own codes (`TooManyRequests`, `SubscriptionFeatureUnavailable`, …) are never matched.
use std::time::Duration;

use ledger_domain::{CallbackErrorCode, ErrorClass, ParkReason, RunFailure, SageErrorDetail};
use serde::{Deserialize, Serialize};

use crate::auth::TokenError;
use crate::gate::GateRefusal;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SageErrorItem {
    #[serde(rename = "$severity", default)]
    pub severity: String,
    #[serde(rename = "$dataCode", default)]
    pub data_code: String,
    #[serde(rename = "$message", default)]
    pub message: String,
    #[serde(rename = "$source", default)]
    pub source: String,
}

/// A call Sage answered with an error status: the status, its error items, its `Retry-After` (429) and
/// the `x_request_id` to quote to Sage support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SageError {
    pub status: u16,
    pub items: Vec<SageErrorItem>,
    pub retry_after: Option<Duration>,
    pub request_id: Option<String>,
}

impl SageError {
    /// Parses a body leniently: an array of items, one item, or nothing recognisable.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        let items = serde_json::from_slice::<Vec<SageErrorItem>>(body)
            .or_else(|_| serde_json::from_slice::<SageErrorItem>(body).map(|i| vec![i]))
            .unwrap_or_default();
        Self { status, items, retry_after: None, request_id: None }
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.items.iter().any(|i| i.data_code == code)
    }

    /// `401 No active subscription. (MSE)`: the subscription lapsed; not a token problem.
    pub fn is_subscription_lapsed(&self) -> bool {
        self.status == 401 && self.items.iter().any(|i| i.message.contains("(MSE)"))
    }

    pub fn class(&self) -> ErrorClass {
        match self.status {
            401 if self.is_subscription_lapsed() => ErrorClass::Subscription,
            401 => ErrorClass::Auth,
            403 => ErrorClass::Permission,
            404 => ErrorClass::NotFound,
            429 => ErrorClass::RateLimited,
            // "Couldn't find record." for a bad referenced id: Sage's status for it is undocumented.
            400 | 422 if self.has_code("RecordNotFound") => ErrorClass::NotFound,
            400 | 405 | 409 | 415 | 422 => ErrorClass::Validation,
            408 | 500..=599 => ErrorClass::Transient,
            _ => ErrorClass::Internal,
        }
    }

    /// The first item's message, for people (Sage's messages are English only).
    pub fn message(&self) -> Option<&str> {
        self.items.first().map(|i| i.message.as_str())
    }

    /// The first item's `$source` (the field Sage blames, `line_items.tax_amount`, `base`, …).
    pub fn source(&self) -> Option<&str> {
        self.items.first().map(|i| i.source.as_str())
    }

    /// The first item's `$dataCode`.
    pub fn data_code(&self) -> Option<&str> {
        self.items.first().map(|i| i.data_code.as_str())
    }

    fn summary(&self) -> String {
        match self.items.first() {
            Some(i) if i.source.is_empty() => format!("{} {}", i.data_code, i.message),
            Some(i) => format!("{} {} ({})", i.data_code, i.message, i.source),
            None => "no error details".to_owned(),
        }
    }
}

impl std::fmt::Display for SageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sage answered {}: {}", self.status, self.summary())
    }
}

/// Every way a call through [`crate::SageClient`] can fail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SageClientError {
    #[error("{0}")]
    Api(SageError),
    #[error("the Sage call timed out")]
    Timeout,
    #[error("could not reach Sage: {0}")]
    Connect(String),
    #[error("the Sage call failed in transit: {0}")]
    Transport(String),
    /// The call gate would not admit the call (rate budget, 429 pause); nothing was sent.
    #[error(transparent)]
    Gate(#[from] GateRefusal),
    /// No usable access token; nothing was sent.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Sage served the call for another business than the one we named (`X-Business` response header):
    /// never accepted silently, since the data would land in the wrong books.
    #[error("Sage answered for business {got:?} instead of {expected}")]
    BusinessMismatch { expected: String, got: Option<String> },
    #[error("unreadable Sage response: {0}")]
    Decode(String),
    #[error("refusing Sage URL: {0}")]
    Url(String),
}

impl SageClientError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api(e) => e.class(),
            Self::Timeout | Self::Connect(_) | Self::Transport(_) => ErrorClass::Transient,
            Self::Gate(GateRefusal::Paused { .. } | GateRefusal::BudgetExhausted { .. } | GateRefusal::Busy) => {
                ErrorClass::RateLimited
            }
            Self::Gate(GateRefusal::Unavailable(_)) => ErrorClass::Transient,
            Self::Token(TokenError::Unavailable(_)) => ErrorClass::Transient,
            Self::Token(TokenError::ReconnectRequired(_) | TokenError::NotActive(_)) => ErrorClass::Auth,
            Self::BusinessMismatch { .. } => ErrorClass::Permission,
            Self::Decode(_) | Self::Url(_) => ErrorClass::Internal,
        }
    }

    /// Sage's error, when it answered with one.
    pub fn sage(&self) -> Option<&SageError> {
        match self {
            Self::Api(e) => Some(e),
            _ => None,
        }
    }

    /// How long to wait before trying again, when Sage (429 `Retry-After`) or the gate said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(e) => e.retry_after,
            Self::Gate(GateRefusal::Paused { until } | GateRefusal::BudgetExhausted { until }) => {
                (*until - chrono::Utc::now()).to_std().ok()
            }
            _ => None,
        }
    }

    /// The module's `error_code` for a `failed` callback (magento-protocol §5.3), from the class.
    pub fn callback_error_code(&self) -> CallbackErrorCode {
        CallbackErrorCode::from(self.class())
    }
}

/// The worker's view of a failed Sage call: its class, a message for people, Sage's status and error
/// entry (`$source`, `$dataCode`, `$message`), and the `Retry-After` hint.
impl From<&SageClientError> for RunFailure {
    fn from(e: &SageClientError) -> Self {
        let mut failure = RunFailure::new(e.class(), e.to_string());
        if let Some(sage) = e.sage() {
            failure = failure.with_http_status(sage.status);
            if let Some(first) = sage.items.first() {
                let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
                failure = failure.with_sage(SageErrorDetail {
                    source: text(&first.source),
                    data_code: text(&first.data_code),
                    message: text(&first.message),
                });
            }
        }
        if let Some(hint) = e.retry_after() {
            failure = failure.with_retry_after(hint);
        }
        // No token to be had is nothing the event did: it waits for the merchant to (re)connect.
        match e {
            SageClientError::Token(TokenError::ReconnectRequired(_)) => failure.parked(ParkReason::ReconnectRequired),
            SageClientError::Token(TokenError::NotActive(_)) => failure.parked(ParkReason::SageNotConnected),
            _ => failure,
        }
    }
}

//! Sage's error bodies (spec §4.1: a JSON array of `$severity`, `$dataCode`, `$message`, `$source`) and
//! the error class each status and code means for our retry policy (spec §4.2).
use ledger_domain::ErrorClass;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

/// A failed API call: the status and whatever error items the body carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SageError {
    pub status: u16,
    pub items: Vec<SageErrorItem>,
}

impl SageError {
    /// Parses a body leniently: an array of items, one item, or nothing recognisable.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        let items = serde_json::from_slice::<Vec<SageErrorItem>>(body)
            .or_else(|_| serde_json::from_slice::<SageErrorItem>(body).map(|i| vec![i]))
            .unwrap_or_default();
        Self { status, items }
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
            400 | 405 | 409 | 415 | 422 => ErrorClass::Validation,
            500..=599 => ErrorClass::Transient,
            _ => ErrorClass::Internal,
        }
    }
}

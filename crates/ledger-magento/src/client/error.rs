//! `MagentoError`: what can go wrong calling a store's REST surface, and the error class of each failure.
use std::time::Duration;

use ledger_domain::error_class::ErrorClass;
use ledger_domain::magento::SyncStateError;
use serde_json::Value;

use crate::ssrf::HttpError;

/// Longest Magento error message kept in an error (characters).
const SNIPPET_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum MagentoError {
    /// Refused by the SSRF guard, or a transport failure (DNS, connect, timeout, TLS, oversized body).
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the store answered HTTP {status}: {}", message.as_deref().unwrap_or("(no Magento message)"))]
    Status { status: u16, message: Option<String>, retry_after: Option<Duration> },
    #[error("the store answered HTTP {status} redirecting to {location}; the store base URL must be exact")]
    Redirect { status: u16, location: String },
    #[error("the store answered a non-JSON body (content type `{content_type}`)")]
    NotJson { content_type: String },
    #[error("the store's {what} JSON does not have the expected shape: {detail}")]
    Shape { what: &'static str, detail: String },
    #[error("invalid sync-state body: {0}")]
    InvalidSyncState(#[from] SyncStateError),
}

impl MagentoError {
    /// How the caller's retry policy treats this failure.
    ///
    /// TLS failures and guard refusals map to `Permission` (via [`HttpError::class`]): they need someone to
    /// fix a certificate or a URL, and `ErrorClass` has no dedicated non-retryable "configuration" class.
    /// A body that parses as JSON but not as the model is `Internal` (our model and Magento disagree, so a
    /// fix on our side lets the queue's retries succeed); non-JSON bodies (a proxy's HTML page) are `Transient`.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Http(e) => e.class(),
            Self::Status { status, .. } => class_of_status(*status),
            Self::Redirect { .. } | Self::InvalidSyncState(_) => ErrorClass::Validation,
            Self::NotJson { .. } => ErrorClass::Transient,
            Self::Shape { .. } => ErrorClass::Internal,
        }
    }

    /// True for certificate and handshake failures.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Http(HttpError::Tls(_)))
    }

    /// The store's `Retry-After` hint on a 429 or 503, when it gave one in seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// 401 → Auth, 403 → Permission, 404 → NotFound, 400/422 and other 4xx → Validation, 429 → RateLimited,
/// 408 and 5xx → Transient.
pub fn class_of_status(status: u16) -> ErrorClass {
    match status {
        401 => ErrorClass::Auth,
        403 => ErrorClass::Permission,
        404 => ErrorClass::NotFound,
        429 => ErrorClass::RateLimited,
        408 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Validation,
    }
}

/// Magento's error message from `{"message": "...", "parameters": ...}`, with `%1` / `%name` placeholders
/// filled in, cut to a short snippet. `None` when the body is not Magento's error JSON.
pub fn magento_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let mut message = v.get("message")?.as_str()?.to_owned();
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    match v.get("parameters") {
        Some(Value::Array(params)) => {
            for (i, p) in params.iter().enumerate().rev() {
                message = message.replace(&format!("%{}", i + 1), &text(p));
            }
        }
        Some(Value::Object(params)) => {
            for (k, p) in params {
                message = message.replace(&format!("%{k}"), &text(p));
            }
        }
        _ => {}
    }
    Some(snippet(&message))
}

fn snippet(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(class_of_status(401), ErrorClass::Auth);
        assert_eq!(class_of_status(403), ErrorClass::Permission);
        assert_eq!(class_of_status(404), ErrorClass::NotFound);
        assert_eq!(class_of_status(400), ErrorClass::Validation);
        assert_eq!(class_of_status(422), ErrorClass::Validation);
        assert_eq!(class_of_status(429), ErrorClass::RateLimited);
        for s in [408, 500, 502, 503, 504] {
            assert_eq!(class_of_status(s), ErrorClass::Transient, "{s}");
        }
    }

    #[test]
    fn magento_messages_with_parameters() {
        assert_eq!(
            magento_message(br#"{"message":"Invalid or expired pairing code."}"#).as_deref(),
            Some("Invalid or expired pairing code.")
        );
        assert_eq!(
            magento_message(br#"{"message":"\"%fieldName\" is required.","parameters":{"fieldName":"tenant_id"}}"#)
                .as_deref(),
            Some("\"tenant_id\" is required.")
        );
        assert_eq!(
            magento_message(br#"{"message":"No such entity with %1 = %2","parameters":["id",12]}"#).as_deref(),
            Some("No such entity with id = 12")
        );
        assert_eq!(magento_message(b"<html>nope</html>"), None);
        assert_eq!(magento_message(b"[]"), None);
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(500));
        assert_eq!(magento_message(long.as_bytes()).unwrap().chars().count(), SNIPPET_CHARS + 1);
    }
}

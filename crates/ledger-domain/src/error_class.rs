//! Classes of outbound-call failures; one place decides how each is retried.
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Network errors, timeouts, 5xx: try again later.
    Transient,
    /// 429 from a provider: try again after its hint or our backoff.
    RateLimited,
    /// Credentials rejected: needs the merchant to reconnect.
    Auth,
    /// Authenticated but not allowed.
    Permission,
    /// The data was refused; retrying the same data cannot help.
    Validation,
    /// The referenced entity does not exist.
    NotFound,
    /// A bug or unexpected state on our side.
    Internal,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::RateLimited => "rate_limited",
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::Validation => "validation",
            Self::NotFound => "not_found",
            Self::Internal => "internal",
        }
    }

    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient | Self::RateLimited | Self::Internal)
    }
}

/// The retry schedule of event runs: exponential from 10 s, capped at one hour, then dead letter.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 8, base: Duration::from_secs(10), cap: Duration::from_secs(3600) }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1`, or `None` when `attempt` was the last one allowed.
    pub fn next_delay(&self, class: ErrorClass, attempt: i32, hint: Option<Duration>) -> Option<Duration> {
        if !class.is_retryable() || attempt >= self.max_attempts {
            return None;
        }
        let exp = self.base.saturating_mul(1u32 << attempt.clamp(0, 16) as u32 >> 1);
        Some(exp.min(self.cap).max(hint.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_grows_and_stops() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(ErrorClass::Transient, 1, None), Some(Duration::from_secs(10)));
        assert_eq!(p.next_delay(ErrorClass::Transient, 2, None), Some(Duration::from_secs(20)));
        assert_eq!(p.next_delay(ErrorClass::Transient, 3, None), Some(Duration::from_secs(40)));
        assert_eq!(
            p.next_delay(ErrorClass::RateLimited, 1, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p.next_delay(ErrorClass::Transient, 8, None), None);
        assert_eq!(p.next_delay(ErrorClass::Validation, 1, None), None);
        assert_eq!(p.next_delay(ErrorClass::Transient, 7, None), Some(Duration::from_secs(640)));
    }
}

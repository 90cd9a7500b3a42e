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
    /// The provider's subscription lapsed (Sage: 401 with `(MSE)`): the binding is suspended and its
    /// work parked until the merchant renews; never an attempt burned.
    Subscription,
    /// The data was refused; retrying the same data cannot help.
    Validation,
    /// The referenced entity does not exist.
    NotFound,
    /// A bug or unexpected state on our side.
    Internal,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 8] = [
        Self::Transient,
        Self::RateLimited,
        Self::Auth,
        Self::Permission,
        Self::Subscription,
        Self::Validation,
        Self::NotFound,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::RateLimited => "rate_limited",
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::Subscription => "subscription",
            Self::Validation => "validation",
            Self::NotFound => "not_found",
            Self::Internal => "internal",
        }
    }

    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient | Self::RateLimited | Self::Internal)
    }
}

crate::text_enum::text_enum!(ErrorClass, "error class");

/// One retry schedule type for everything the ledger retries, with separate parameters per kind of
/// work: exponential from `base`, capped at `cap`, until `max_attempts`. Delays are deterministic;
/// callers spread them with [`RetryPolicy::jittered`] and a random fraction of their own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base: Duration,
    pub cap: Duration,
    /// Share of a delay that jitter may add or remove (0.0 to 1.0).
    pub jitter: f64,
}

impl RetryPolicy {
    /// Event runs: 10 s doubling to an hour, 34 attempts: about 25 hours, so a Sage outage of hours
    /// never dead-letters a backlog.
    pub const fn events() -> Self {
        Self { max_attempts: 34, base: Duration::from_secs(10), cap: Duration::from_secs(3600), jitter: 0.2 }
    }

    /// Sync-state callbacks to Magento: 2 s doubling to an hour, 60 attempts: about two days (the
    /// store's chip stays `pending` meanwhile, so we keep trying longer than for events).
    pub const fn callbacks() -> Self {
        Self { max_attempts: 60, base: Duration::from_secs(2), cap: Duration::from_secs(3600), jitter: 0.1 }
    }

    /// Delay before attempt `attempt + 1`, or `None` when `class` is not retried or `attempt` was the
    /// last one allowed. A provider's hint (`Retry-After`) is honoured when longer than the backoff.
    pub fn next_delay(&self, class: ErrorClass, attempt: i32, hint: Option<Duration>) -> Option<Duration> {
        if !class.is_retryable() || attempt >= self.max_attempts {
            return None;
        }
        let exp = self.base.saturating_mul(1u32 << (attempt.clamp(1, 17) - 1) as u32);
        Some(exp.min(self.cap).max(hint.unwrap_or_default()))
    }

    /// `delay` moved by up to `jitter` of itself; `unit` is a random number in `[0, 1)`.
    pub fn jittered(&self, delay: Duration, unit: f64) -> Duration {
        let factor = 1.0 + self.jitter.clamp(0.0, 1.0) * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        delay.mul_f64(factor.max(0.0))
    }

    /// [`next_delay`](Self::next_delay) spread by jitter (`unit` is a random number in `[0, 1)`), never
    /// shorter than the provider's hint.
    pub fn next_delay_jittered(
        &self,
        class: ErrorClass,
        attempt: i32,
        hint: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        let delay = self.next_delay(class, attempt, hint)?;
        Some(self.jittered(delay, unit).max(hint.unwrap_or_default()))
    }

    /// The time from the first failure to the last attempt, without jitter or hints.
    pub fn total_span(&self) -> Duration {
        (1..self.max_attempts).filter_map(|a| self.next_delay(ErrorClass::Transient, a, None)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_grows_and_stops() {
        let p = RetryPolicy::events();
        assert_eq!(p.next_delay(ErrorClass::Transient, 1, None), Some(Duration::from_secs(10)));
        assert_eq!(p.next_delay(ErrorClass::Transient, 2, None), Some(Duration::from_secs(20)));
        assert_eq!(p.next_delay(ErrorClass::Transient, 3, None), Some(Duration::from_secs(40)));
        assert_eq!(
            p.next_delay(ErrorClass::RateLimited, 1, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p.next_delay(ErrorClass::Transient, 12, None), Some(Duration::from_secs(3600)));
        assert_eq!(p.next_delay(ErrorClass::Transient, p.max_attempts, None), None);
        assert_eq!(p.next_delay(ErrorClass::Validation, 1, None), None);
    }

    #[test]
    fn event_retries_outlast_a_day_and_callbacks_outlast_events() {
        let day = Duration::from_secs(24 * 3600);
        assert!(RetryPolicy::events().total_span() >= day, "{:?}", RetryPolicy::events().total_span());
        assert!(RetryPolicy::callbacks().total_span() > RetryPolicy::events().total_span());
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let p = RetryPolicy::events();
        let d = Duration::from_secs(100);
        assert_eq!(p.jittered(d, 0.5), d);
        assert_eq!(p.jittered(d, 0.0), Duration::from_secs(80));
        assert!(p.jittered(d, 0.999) <= Duration::from_secs(120));
        let hint = Some(Duration::from_secs(30));
        assert_eq!(p.next_delay_jittered(ErrorClass::RateLimited, 1, hint, 0.0), hint, "a hint is a floor");
        assert_eq!(p.next_delay_jittered(ErrorClass::Auth, 1, None, 0.5), None);
    }
}

//! Delivery states: of one event run (the event row is the one authority for it) and of one
//! sync-state callback to Magento.
use serde::{Deserialize, Serialize};

use crate::text_enum::text_enum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Waiting for a worker (first run, or a retry once `next_attempt_at` is due).
    Pending,
    /// Claimed by a worker under a lease with a fencing token.
    Running,
    /// Accepted and processed as far as this build goes (no Sage mapping yet): nothing was synced.
    Received,
    /// Written to Sage.
    Synced,
    /// Deliberately not synced under the merchant's policy.
    Skipped,
    /// Ended with a permanent error.
    Failed,
    /// Retries exhausted; waiting for an operator.
    DeadLettered,
    /// Set aside by a person, with a reason; no callback is sent.
    Discarded,
}

impl EventState {
    pub const ALL: [EventState; 8] = [
        Self::Pending,
        Self::Running,
        Self::Received,
        Self::Synced,
        Self::Skipped,
        Self::Failed,
        Self::DeadLettered,
        Self::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Received => "received",
            Self::Synced => "synced",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
            Self::Discarded => "discarded",
        }
    }

    /// A duplicate delivery of an event in one of these states starts a new run.
    pub fn allows_rerun(self) -> bool {
        matches!(self, Self::Failed | Self::DeadLettered)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

text_enum!(EventState, "event state");

/// Why a pending event waits without spending attempts. Each clears by itself: a connect or reconnect,
/// a renewed subscription, a resumed tenant, the end of a rate-limit pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkReason {
    /// The tenant has no active Sage binding yet.
    SageNotConnected,
    /// Sage refused the refresh token: the merchant must reconnect.
    ReconnectRequired,
    /// Sage says the subscription lapsed (MSE).
    Suspended,
    /// An operator paused the tenant.
    TenantPaused,
    /// Sage asked us to slow down, or the app-wide budget is spent: waits, never an attempt.
    RateLimited,
    /// An earlier event of the same invoice is still unfinished (a credit memo waits for its invoice's
    /// runs, so it settles against what Sage will hold); woken when that event finishes.
    AwaitingPrior,
}

impl ParkReason {
    pub const ALL: [ParkReason; 6] = [
        Self::SageNotConnected,
        Self::ReconnectRequired,
        Self::Suspended,
        Self::TenantPaused,
        Self::RateLimited,
        Self::AwaitingPrior,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SageNotConnected => "sage_not_connected",
            Self::ReconnectRequired => "reconnect_required",
            Self::Suspended => "suspended",
            Self::TenantPaused => "tenant_paused",
            Self::RateLimited => "rate_limited",
            Self::AwaitingPrior => "awaiting_prior",
        }
    }

    /// Cleared by something the ledger sees happen (a connect, a resume, the earlier event finishing),
    /// which wakes the work at once; the others (a rate-limit pause) just wait out their delay.
    pub fn woken_explicitly(self) -> bool {
        !matches!(self, Self::RateLimited)
    }
}

text_enum!(ParkReason, "park reason");

/// Where one sync-state callback to Magento stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// Waiting for its turn (behind an older callback of the same entity) or for its next attempt.
    Pending,
    /// Claimed by a dispatcher under a lease.
    Delivering,
    /// Magento answered 2xx.
    Delivered,
    /// Refused for good or out of attempts; waiting for an operator.
    DeadLettered,
    /// Ended undelivered because the binding was revoked (nothing more is sent to that store).
    Cancelled,
}

impl CallbackState {
    pub const ALL: [CallbackState; 5] =
        [Self::Pending, Self::Delivering, Self::Delivered, Self::DeadLettered, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
            Self::DeadLettered => "dead_lettered",
            Self::Cancelled => "cancelled",
        }
    }
}

text_enum!(CallbackState, "callback state");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_column_text() {
        for s in EventState::ALL {
            assert_eq!(s.as_str().parse::<EventState>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in CallbackState::ALL {
            assert_eq!(s.as_str().parse::<CallbackState>().unwrap(), s);
        }
        assert!("done".parse::<EventState>().is_err());
    }
}

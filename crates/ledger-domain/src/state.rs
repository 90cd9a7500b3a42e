//! The sync state of one event run; the event row is the one authority for it.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
}

impl EventState {
    pub const ALL: [EventState; 7] =
        [Self::Pending, Self::Running, Self::Received, Self::Synced, Self::Skipped, Self::Failed, Self::DeadLettered];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Received => "received",
            Self::Synced => "synced",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
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

impl fmt::Display for EventState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown event state `{0}`")]
pub struct UnknownState(pub String);

impl FromStr for EventState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| UnknownState(s.to_owned()))
    }
}

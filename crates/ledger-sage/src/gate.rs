//! The admission seam every Sage call passes through: the client asks a [`CallGate`] before each call
//! and tells it about 429s. The app-wide budgets (Postgres-backed, shared by processes) implement it
//! outside this crate; [`Unlimited`] admits everything (tests, tools).
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_domain::SageBusinessId;

/// What a call does, for the gate's accounting: creates are serialised per business (Sage asks for no
/// parallel creates per business); reads and updates share the business's in-flight share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    Read,
    Create,
    Update,
    Delete,
}

impl CallKind {
    pub fn is_create(self) -> bool {
        matches!(self, Self::Create)
    }
}

/// Held for the duration of one call; dropping it releases whatever the gate reserved.
pub struct GatePermit(Option<Box<dyn Send + Sync>>);

impl GatePermit {
    /// A permit that holds nothing.
    pub fn free() -> Self {
        Self(None)
    }

    /// A permit that releases its reservation when `guard` is dropped.
    pub fn holding(guard: impl Send + Sync + 'static) -> Self {
        Self(Some(Box::new(guard)))
    }
}

impl std::fmt::Debug for GatePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "GatePermit(held)" } else { "GatePermit(free)" })
    }
}

/// Why the gate would not let a call start. None of these is a failure of the event: the caller parks
/// or delays the work without burning an attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    /// Sage answered 429 for this business recently; calls wait until `until`.
    #[error("Sage asked us to slow down for this business until {until}")]
    Paused { until: DateTime<Utc> },
    /// The app-wide daily budget is spent; calls wait until `until`.
    #[error("the app-wide Sage request budget is spent until {until}")]
    BudgetExhausted { until: DateTime<Utc> },
    /// Every slot this call could use (the app-wide in-flight cap, the business's share, or the one
    /// create a business may have in flight) stayed taken for as long as the gate waits.
    #[error("Sage calls are at their in-flight limit; try again shortly")]
    Busy,
    /// The gate could not decide (its database is unreachable).
    #[error("the Sage call budget is unavailable: {0}")]
    Unavailable(String),
}

pub type GateFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait CallGate: Send + Sync + 'static {
    /// Waits until a call of `kind` for `business` may start (bounded: a gate answers a refusal rather
    /// than waiting for long), and returns the permit to hold during the call.
    fn admit<'a>(
        &'a self,
        business: &'a SageBusinessId,
        kind: CallKind,
    ) -> GateFuture<'a, Result<GatePermit, GateRefusal>>;

    /// Waits until a call that names no business may start: `/businesses` and `/user`, made while
    /// connecting, before a business is chosen. It still costs the app-wide budget; the default admits
    /// at once, for gates that only keep per-business shares.
    fn admit_unscoped(&self, kind: CallKind) -> GateFuture<'_, Result<GatePermit, GateRefusal>> {
        let _ = kind;
        Box::pin(async { Ok(GatePermit::free()) })
    }

    /// Sage answered 429 for `business`, with its `Retry-After` when present.
    fn throttled<'a>(&'a self, business: &'a SageBusinessId, retry_after: Option<Duration>) -> GateFuture<'a, ()>;
}

/// Admits every call at once; for tests and tools that must not touch the shared budget.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unlimited;

impl CallGate for Unlimited {
    fn admit<'a>(&'a self, _: &'a SageBusinessId, _: CallKind) -> GateFuture<'a, Result<GatePermit, GateRefusal>> {
        Box::pin(async { Ok(GatePermit::free()) })
    }

    fn throttled<'a>(&'a self, _: &'a SageBusinessId, _: Option<Duration>) -> GateFuture<'a, ()> {
        Box::pin(async {})
    }
}

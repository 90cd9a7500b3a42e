//! [`PgCallGate`]: the Sage rate budgets shared by every process on one database (the SQL lives in
//! `ledger_store::sage_budget`).
//!
//! - **Daily budget** (`sage.daily_budget`, per UTC day of the injected clock): each process reserves
//!   calls in blocks ([`BudgetConfig::block`]) with one statement and spends them from memory, so a
//!   call costs the database nothing for the budget 99 times in 100. A process that stops keeps what it
//!   reserved and did not spend: at most one block per process per day goes unused.
//! - **In-flight cap** (`sage.max_in_flight`): slot rows `1..=cap`; a call claims one free slot
//!   (`FOR UPDATE SKIP LOCKED`, one statement) for its duration and frees it when its permit drops. A
//!   slot is claimed under a lease ([`BudgetConfig::lease`], longer than any call's timeout), so the
//!   slots of a killed process come back when their leases run out; a slot is freed with its fencing
//!   token, so a late release never frees someone else's claim.
//! - **Per-business share** (`sage.business_max_in_flight`) and **one create at a time per business**:
//!   checked in the same statement, under a transaction-scoped advisory lock per business, so claims of
//!   one business are serialised across processes and two cannot both see room. No connection is held
//!   during the Sage call itself: the claim commits before the call, the release is a new statement.
//! - **429 pauses**: [`CallGate::throttled`] stores the business's pause (until `Retry-After`, else
//!   30 s doubling to 5 min) where every process's claim sees it; a paused business is refused at once
//!   with `Paused { until }`, other businesses are untouched.
//!
//! The gate talks to the database through a small pool of its own whose sessions commit without
//! waiting for the WAL flush (`ledger_store::sage_budget::gate_pool`: these rows are coordination, not
//! records), so a claim is one short round trip and gate traffic never queues behind the application's
//! connections.
//!
//! At a cap, `admit` waits (woken by this process's releases, else polling) up to
//! [`BudgetConfig::max_wait`], then refuses with `Busy`. Creates of one business also queue in the
//! process first, in arrival order, so only the head of the queue asks the database for the business's
//! create slot: without it every release woke every waiting create into a claim that could only fail
//! (at 150 ms a call, about 190 commits per synced invoice instead of 15). Every refusal classes as `rate_limited`: the
//! worker parks the event without spending an attempt, and it comes back by itself after its delay.
//! A database error refuses with `Unavailable` (transient).
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use ledger_domain::SageBusinessId;
use ledger_domain::clock::SharedClock;
use ledger_sage::{CallGate, CallKind, GateFuture, GatePermit, GateRefusal};
use ledger_store::sage_budget::{self, Backoff, Slot, SlotRefusal, SlotRequest};
use ledger_store::{PgPool, StoreError};
use tokio::sync::{Mutex, Notify, OnceCell, OwnedMutexGuard};
use uuid::Uuid;

/// Sage's published limits per app (spec §3).
pub const SAGE_DAILY_BUDGET: u64 = 1_296_000;
pub const SAGE_MAX_IN_FLIGHT: u32 = 150;

/// How the gate counts and waits.
#[derive(Debug, Clone)]
pub struct BudgetConfig {
    /// Calls per UTC day, app-wide (`sage.daily_budget`).
    pub daily_budget: u64,
    /// Calls in flight at once, app-wide (`sage.max_in_flight`).
    pub max_in_flight: u32,
    /// Calls in flight at once for one business (`sage.business_max_in_flight`).
    pub business_max_in_flight: u32,
    /// Calls of the daily budget a process reserves at a time.
    pub block: u64,
    /// How long `admit` waits at a cap before refusing with `Busy`.
    pub max_wait: Duration,
    /// How long a claimed slot stays taken if it is never released (its process died); longer than any
    /// Sage call may last (the client's timeout is 30 s at most).
    pub lease: Duration,
    /// The pause after a 429 without `Retry-After`.
    pub backoff: Backoff,
    /// Connections of the gate's own pool (see `ledger_store::sage_budget::gate_pool`).
    pub connections: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            daily_budget: SAGE_DAILY_BUDGET,
            max_in_flight: SAGE_MAX_IN_FLIGHT,
            business_max_in_flight: 8,
            block: 100,
            max_wait: Duration::from_secs(2),
            lease: Duration::from_secs(90),
            backoff: Backoff {
                base: Duration::from_secs(30),
                cap: Duration::from_secs(300),
                streak: Duration::from_secs(600),
            },
            connections: 4,
        }
    }
}

/// The Postgres-backed [`CallGate`]. One per process; clones share it.
#[derive(Clone)]
pub struct PgCallGate {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    /// This gate's identity on its slots (a process's, in production).
    holder: Uuid,
    config: BudgetConfig,
    clock: SharedClock,
    slots_ready: OnceCell<()>,
    block: Mutex<Block>,
    /// Signalled when this process frees a slot, so its waiters try again at once.
    released: Notify,
    /// This process's queue of creates per business (a fair mutex each: waiters are served in order).
    create_queues: std::sync::Mutex<std::collections::HashMap<String, Arc<Mutex<()>>>>,
}

/// The part of the daily budget this process has reserved and not spent yet.
#[derive(Default)]
struct Block {
    day: Option<NaiveDate>,
    left: u64,
    /// The day the app-wide budget was found spent (refused without asking the database again).
    spent: Option<NaiveDate>,
}

impl std::fmt::Debug for PgCallGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCallGate")
            .field("holder", &self.inner.holder)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: StoreError) -> GateRefusal {
    GateRefusal::Unavailable(e.to_string())
}

/// The first instant of the UTC day after `day`.
pub fn next_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.succ_opt().unwrap_or(day).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

impl PgCallGate {
    /// A gate on `pool`'s database (through a small pool of its own, opened on first use); `clock`
    /// decides which UTC day's budget a call spends.
    pub fn new(pool: PgPool, config: BudgetConfig, clock: SharedClock) -> Self {
        let inner = Inner {
            pool: sage_budget::gate_pool(&pool, config.connections),
            holder: Uuid::new_v4(),
            config,
            clock,
            slots_ready: OnceCell::new(),
            block: Mutex::new(Block::default()),
            released: Notify::new(),
            create_queues: std::sync::Mutex::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    pub fn config(&self) -> &BudgetConfig {
        &self.inner.config
    }

    async fn admit_call(&self, business: Option<&str>, kind: CallKind) -> Result<GatePermit, GateRefusal> {
        let inner = &self.inner;
        inner
            .slots_ready
            .get_or_try_init(|| sage_budget::ensure_slots(&inner.pool, inner.config.max_in_flight))
            .await
            .map_err(unavailable)?;
        let deadline = Instant::now() + inner.config.max_wait;
        let turn = match business.filter(|_| kind.is_create()) {
            Some(business) => {
                let queue = {
                    let mut queues = inner.create_queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    queues.entry(business.to_owned()).or_default().clone()
                };
                match tokio::time::timeout_at(deadline.into(), queue.lock_owned()).await {
                    Ok(turn) => Some(turn),
                    Err(_) => {
                        tracing::debug!(business, "Sage call refused: creates of the business queued too long");
                        return Err(GateRefusal::Busy);
                    }
                }
            }
            None => None,
        };
        let mut step = Duration::from_millis(5);
        loop {
            let day = self.spend_one().await?;
            let released = inner.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let request = SlotRequest {
                holder: inner.holder,
                business,
                create: kind.is_create(),
                cap: inner.config.max_in_flight,
                business_cap: inner.config.business_max_in_flight,
                lease: inner.config.lease,
            };
            let refusal = match sage_budget::claim(&inner.pool, request).await {
                Ok(Ok(slot)) => return Ok(GatePermit::holding(SlotGuard { inner: inner.clone(), slot, turn })),
                Ok(Err(refusal)) => refusal,
                Err(e) => {
                    self.give_back(day).await;
                    return Err(unavailable(e));
                }
            };
            self.give_back(day).await;
            if let SlotRefusal::Paused { until } = refusal {
                tracing::debug!(business = business.unwrap_or_default(), %until, "Sage call refused: business paused");
                return Err(GateRefusal::Paused { until });
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::debug!(business = business.unwrap_or_default(), ?refusal, "Sage call refused: at capacity");
                return Err(GateRefusal::Busy);
            }
            tokio::select! {
                _ = released => {}
                _ = tokio::time::sleep(step.min(deadline - now)) => {}
            }
            step = (step * 2).min(Duration::from_millis(200));
        }
    }

    /// Takes one call of today's budget from this process's block, reserving a new block when it is
    /// empty; returns the day it belongs to.
    async fn spend_one(&self) -> Result<NaiveDate, GateRefusal> {
        let inner = &self.inner;
        let today = inner.clock.now().date_naive();
        let mut block = inner.block.lock().await;
        if block.day != Some(today) {
            *block = Block { day: Some(today), left: 0, spent: block.spent.filter(|d| *d == today) };
        }
        if block.left == 0 {
            if block.spent != Some(today) {
                let want = inner.config.block.clamp(1, inner.config.daily_budget.max(1));
                block.left = sage_budget::reserve(&inner.pool, today, want, inner.config.daily_budget)
                    .await
                    .map_err(unavailable)?;
            }
            if block.left == 0 {
                block.spent = Some(today);
                return Err(GateRefusal::BudgetExhausted { until: next_midnight(today) });
            }
        }
        block.left -= 1;
        Ok(today)
    }

    /// Returns an unspent call (its call was refused) to the block, if the day has not turned.
    async fn give_back(&self, day: NaiveDate) {
        let mut block = self.inner.block.lock().await;
        if block.day == Some(day) {
            block.left += 1;
        }
    }
}

/// A claimed slot, freed when the call's permit drops; a create also holds its business's turn in this
/// process, passed on only once the slot is free in the database (so the next create finds room).
struct SlotGuard {
    inner: Arc<Inner>,
    slot: Slot,
    turn: Option<OwnedMutexGuard<()>>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let (inner, slot, turn) = (self.inner.clone(), self.slot, self.turn.take());
        // Outside a runtime (shutdown) the lease frees the slot instead.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = sage_budget::release(&inner.pool, slot).await {
                    tracing::warn!(error = %e, slot = slot.slot, "could not free a Sage call slot; its lease will");
                }
                drop(turn);
                inner.released.notify_waiters();
            });
        }
    }
}

impl CallGate for PgCallGate {
    fn admit<'a>(
        &'a self,
        business: &'a SageBusinessId,
        kind: CallKind,
    ) -> GateFuture<'a, Result<GatePermit, GateRefusal>> {
        Box::pin(self.admit_call(Some(business.as_str()), kind))
    }

    fn admit_unscoped(&self, kind: CallKind) -> GateFuture<'_, Result<GatePermit, GateRefusal>> {
        Box::pin(self.admit_call(None, kind))
    }

    fn throttled<'a>(&'a self, business: &'a SageBusinessId, retry_after: Option<Duration>) -> GateFuture<'a, ()> {
        Box::pin(async move {
            match sage_budget::pause(&self.inner.pool, business.as_str(), retry_after, self.inner.config.backoff).await
            {
                Ok(until) => {
                    tracing::warn!(business = business.as_str(), %until, ?retry_after, "Sage answered 429: business paused")
                }
                Err(e) => tracing::warn!(error = %e, business = business.as_str(), "could not record a Sage 429 pause"),
            }
        })
    }
}

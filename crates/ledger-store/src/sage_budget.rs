//! The SQL of the Sage rate budgets shared by every process (migration `20261205200000`): daily budget
//! blocks, in-flight slot claims and releases, and per-business 429 pauses.
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

/// The gate's own small pool on `pool`'s database, its sessions with `synchronous_commit = off`: a
/// claim, release or block is then one round trip without waiting for the WAL flush (measured: about
/// 7 ms per commit on a slow disk, against well under 1 ms). The gate's rows are short-lived
/// coordination, not records: a database crash can lose the last fraction of a second of them (a
/// claim, so the cap may be briefly exceeded; a release, which the lease repairs; a budget block, at
/// most one block counted twice; a pause). Event and credential writes keep the application pool and
/// its durable commits. A separate pool also keeps gate traffic from queueing behind the
/// application's connections.
pub fn gate_pool(pool: &PgPool, connections: u32) -> PgPool {
    let options = (*pool.connect_options()).clone().options([("synchronous_commit", "off")]);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections.max(1))
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy_with(options)
}

/// Makes sure in-flight slots `1..=cap` exist (slots above a lowered cap stay unused).
pub async fn ensure_slots(pool: &PgPool, cap: u32) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sage_call_slots (slot) SELECT generate_series(1, $1) ON CONFLICT (slot) DO NOTHING")
        .bind(i32::try_from(cap).unwrap_or(i32::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

/// Reserves up to `want` calls of `day`'s budget of `budget`; returns how many were granted (0: spent).
pub async fn reserve(pool: &PgPool, day: NaiveDate, want: u64, budget: u64) -> Result<u64, StoreError> {
    let granted: i64 = sqlx::query_scalar("SELECT sage_reserve_budget($1, $2, $3)")
        .bind(day)
        .bind(i64::try_from(want).unwrap_or(i64::MAX))
        .bind(i64::try_from(budget).unwrap_or(i64::MAX))
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(granted).unwrap_or(0))
}

/// How many calls of `day` the processes have reserved so far.
pub async fn reserved(pool: &PgPool, day: NaiveDate) -> Result<u64, StoreError> {
    let n: Option<i64> = sqlx::query_scalar("SELECT reserved FROM sage_budget_days WHERE day = $1")
        .bind(day)
        .fetch_optional(pool)
        .await?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// What a slot claim asks for.
#[derive(Debug, Clone, Copy)]
pub struct SlotRequest<'a> {
    /// The process (gate instance) claiming.
    pub holder: Uuid,
    /// `None` for calls that name no business.
    pub business: Option<&'a str>,
    pub create: bool,
    /// App-wide slots (`sage.max_in_flight`).
    pub cap: u32,
    /// Live slots one business may hold (`sage.business_max_in_flight`).
    pub business_cap: u32,
    /// How long the slot stays claimed if never released (its process died).
    pub lease: Duration,
}

/// A claimed slot; released with its fencing token, so a slot re-claimed after its lease ran out is
/// not freed by the late holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub slot: i32,
    pub lease_token: i64,
}

/// Why a claim got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// The business is paused after a 429.
    Paused { until: DateTime<Utc> },
    /// The business already holds its share of slots.
    BusinessBusy,
    /// A create of the business is in flight and this is a create too.
    CreateBusy,
    /// Every app-wide slot is held.
    AppBusy,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    slot: Option<i32>,
    lease_token: Option<i64>,
    refusal: Option<String>,
    paused_until: Option<DateTime<Utc>>,
}

/// Claims one slot for a call (one statement: see `sage_claim_slot` in the migration).
pub async fn claim(pool: &PgPool, req: SlotRequest<'_>) -> Result<Result<Slot, SlotRefusal>, StoreError> {
    let row: ClaimRow = sqlx::query_as("SELECT * FROM sage_claim_slot($1, $2, $3, $4, $5, $6)")
        .bind(req.holder)
        .bind(req.business)
        .bind(req.create)
        .bind(i32::try_from(req.cap).unwrap_or(i32::MAX))
        .bind(i32::try_from(req.business_cap).unwrap_or(i32::MAX))
        .bind(req.lease.as_secs_f64())
        .fetch_one(pool)
        .await?;
    Ok(match (row.slot, row.lease_token, row.refusal.as_deref()) {
        (Some(slot), Some(lease_token), None) => Ok(Slot { slot, lease_token }),
        (_, _, Some("paused")) => {
            Err(SlotRefusal::Paused { until: row.paused_until.ok_or(StoreError::Corrupt("paused_until"))? })
        }
        (_, _, Some("business_busy")) => Err(SlotRefusal::BusinessBusy),
        (_, _, Some("create_busy")) => Err(SlotRefusal::CreateBusy),
        (_, _, Some("app_busy")) => Err(SlotRefusal::AppBusy),
        _ => return Err(StoreError::Corrupt("sage_claim_slot answer")),
    })
}

/// Frees `slot` if it is still the claim made with its token.
pub async fn release(pool: &PgPool, slot: Slot) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sage_call_slots
            SET holder = NULL, business_id = NULL, is_create = false, claimed_at = NULL, expires_at = NULL
          WHERE slot = $1 AND lease_token = $2 AND holder IS NOT NULL",
    )
    .bind(slot.slot)
    .bind(slot.lease_token)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Slots live now (held and within their lease), app-wide.
pub async fn live_slots(pool: &PgPool) -> Result<u64, StoreError> {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sage_call_slots WHERE holder IS NOT NULL AND expires_at > now()")
            .fetch_one(pool)
            .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How a business is paused after a 429 with no `Retry-After`: `base` doubling per pause that follows
/// the previous one within `streak`, up to `cap`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub streak: Duration,
}

/// Pauses `business` until `Retry-After` from now, else by the backoff; returns the pause's end. A
/// pause never shortens one in force, and 429s of calls that were already in flight while a pause was
/// in force do not escalate the backoff (only a 429 after the pause ended does).
pub async fn pause(
    pool: &PgPool,
    business: &str,
    retry_after: Option<Duration>,
    backoff: Backoff,
) -> Result<DateTime<Utc>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sage_business_pauses AS p (business_id, paused_until, strikes)
         VALUES ($1, now() + make_interval(secs => COALESCE($2, $3)), 1)
         ON CONFLICT (business_id) DO UPDATE SET
             strikes = CASE WHEN p.paused_until > now() THEN p.strikes
                            WHEN p.paused_until > now() - make_interval(secs => $5) THEN p.strikes + 1
                            ELSE 1 END,
             paused_until = GREATEST(p.paused_until, now() + make_interval(secs => COALESCE($2,
                 CASE WHEN p.paused_until > now() THEN 0
                      WHEN p.paused_until > now() - make_interval(secs => $5)
                          THEN LEAST($3 * power(2, LEAST(p.strikes, 30)), $4)
                      ELSE $3 END))),
             updated_at = now()
         RETURNING paused_until",
    )
    .bind(business)
    .bind(retry_after.map(|d| d.as_secs_f64()))
    .bind(backoff.base.as_secs_f64())
    .bind(backoff.cap.as_secs_f64())
    .bind(backoff.streak.as_secs_f64())
    .fetch_one(pool)
    .await?)
}

/// When `business`'s pause ends, if it is paused now.
pub async fn paused_until(pool: &PgPool, business: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT paused_until FROM sage_business_pauses WHERE business_id = $1 AND paused_until > now()",
    )
    .bind(business)
    .fetch_optional(pool)
    .await?)
}

//! The database-derived figures the metrics sampler publishes: small indexed queries, run every few seconds by one task per process, never per scrape.
use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use crate::{PgPool, StoreError};

/// How many tenants the oldest-pending gauge names (bounded label cardinality).
pub const TOP_TENANTS: i64 = 5;

/// Parked runs that wait for a person (a connect, a reconnect, a renewal, a resume) do not count as
/// backlog age: the ledger cannot run them and the people concerned are told (alerts to people). A
/// rate-limit pause or a run waiting for an earlier one of its invoice does count.
pub const WAITING_FOR_A_PERSON: [&str; 4] = ["sage_not_connected", "reconnect_required", "suspended", "tenant_paused"];

/// One sample of the database's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Runs per state: every state that has runs, or only the active ones and dead letters.
    pub events_by_state: Vec<(String, i64)>,
    /// Age in seconds of the oldest pending run that is not parked waiting for a person (see
    /// [`WAITING_FOR_A_PERSON`]); 0 without one.
    pub oldest_pending_secs: f64,
    /// The tenants with the oldest such pending runs, oldest first, at most [`TOP_TENANTS`].
    pub oldest_pending_by_tenant: Vec<(Uuid, f64)>,
    /// Pending runs parked, by reason.
    pub parked: Vec<(String, i64)>,
    /// Callbacks not yet delivered (pending or delivering) and the age of the oldest one.
    pub callback_backlog: i64,
    pub callback_oldest_secs: f64,
    /// Callbacks that gave up.
    pub callbacks_dead_lettered: i64,
    /// Sage requests reserved today from the app-wide daily budget.
    pub sage_budget_reserved_today: i64,
}

/// Reads one sample. `all_states`: count the runs of every state, a scan of `events` (156 ms on
/// 300,000 runs, so the sampler does it only every few minutes); otherwise only `pending` and
/// `running` (the `events_active` partial index) and `dead_lettered` (`events_dead_lettered`). The
/// backlog figures read the pending runs only; the callback figures the `callbacks_due` and
/// `callbacks_dead_lettered` partial indexes (docs/operations.md, "Metrics").
pub async fn sample(pool: &PgPool, all_states: bool) -> Result<Sample, StoreError> {
    let events_by_state: Vec<(String, i64)> = if all_states {
        sqlx::query_as("SELECT state, count(*) FROM events GROUP BY state ORDER BY state").fetch_all(pool).await?
    } else {
        sqlx::query_as(
            "SELECT state, count(*) FROM events WHERE state IN ('pending', 'running') GROUP BY state
             UNION ALL
             SELECT 'dead_lettered', count(*) FROM events WHERE state = 'dead_lettered' AND finished_at IS NOT NULL",
        )
        .fetch_all(pool)
        .await?
    };
    let oldest: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM now() - min(received_at))::float8 FROM events
          WHERE state IN ('pending', 'running') AND state = 'pending'
            AND (parked_reason IS NULL
                 OR parked_reason <> ALL($1))",
    )
    .bind(&WAITING_FOR_A_PERSON[..])
    .fetch_one(pool)
    .await?;
    let by_tenant: Vec<(Uuid, f64)> = sqlx::query_as(
        "SELECT tenant_id, EXTRACT(EPOCH FROM now() - min(received_at))::float8 AS age FROM events
          WHERE state IN ('pending', 'running') AND state = 'pending'
            AND (parked_reason IS NULL
                 OR parked_reason <> ALL($1))
          GROUP BY tenant_id ORDER BY age DESC LIMIT $2",
    )
    .bind(&WAITING_FOR_A_PERSON[..])
    .bind(TOP_TENANTS)
    .fetch_all(pool)
    .await?;
    let parked: Vec<(String, i64)> = sqlx::query_as(
        "SELECT parked_reason, count(*) FROM events WHERE state = 'pending' AND parked_reason IS NOT NULL
          GROUP BY parked_reason",
    )
    .fetch_all(pool)
    .await?;
    let (callback_backlog, callback_oldest): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at))::float8 FROM callbacks
          WHERE state IN ('pending', 'delivering')",
    )
    .fetch_one(pool)
    .await?;
    let callbacks_dead_lettered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM callbacks WHERE state = 'dead_lettered'").fetch_one(pool).await?;
    let today: NaiveDate = Utc::now().date_naive();
    let reserved = crate::sage_budget::reserved(pool, today).await?;
    Ok(Sample {
        events_by_state,
        oldest_pending_secs: oldest.unwrap_or(0.0).max(0.0),
        oldest_pending_by_tenant: by_tenant,
        parked,
        callback_backlog,
        callback_oldest_secs: callback_oldest.unwrap_or(0.0).max(0.0),
        callbacks_dead_lettered,
        sage_budget_reserved_today: i64::try_from(reserved).unwrap_or(i64::MAX),
    })
}

//! Retention: bodies of finished runs (event payloads, Magento snapshots, Sage call bodies) are cleared after their windows; delivered callbacks, old alerts, sent or given-up mail and finished bulk actions are deleted, in small batches under one advisory lock; rows, states, outcomes and cross-references stay.
use chrono::{DateTime, Duration, Utc};

use crate::{PgPool, StoreError};

/// The kinds a purge reports, in order.
pub const KINDS: [&str; 9] = [
    "payloads",
    "snapshots",
    "call_bodies",
    "callbacks",
    "alerts",
    "jwt_replay",
    "finished_tasks",
    "mail",
    "bulk_actions",
];

/// The advisory lock one purging process holds (any process may try; the others skip the pass).
pub const LOCK_KEY: i64 = 0x6c65_6467_6572_5250; // "ledgerRP"

/// The windows, in days, and the batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub payload_days: u32,
    pub call_body_days: u32,
    pub callbacks_days: u32,
    pub alerts_days: u32,
    /// Mail that was sent or given up (its body may hold a reset link, single-use and long expired).
    pub mail_days: u32,
    /// Finished bulk actions (the operator audit log keeps who did what).
    pub bulk_days: u32,
    pub batch_size: u32,
}

/// Rows cleared (or, in a dry run, that would be) per kind, in [`KINDS`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts(pub [u64; 9]);

impl Counts {
    pub fn by_kind(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        KINDS.iter().copied().zip(self.0.iter().copied())
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

fn cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - Duration::days(i64::from(days))
}

/// Counts what a purge at `now` would clear, changing nothing.
pub async fn dry_run(pool: &PgPool, w: &Windows, now: DateTime<Utc>) -> Result<Counts, StoreError> {
    let payloads: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE finished_at IS NOT NULL AND payload_purged_at IS NULL AND finished_at < $1",
    )
    .bind(cutoff(now, w.payload_days))
    .fetch_one(pool)
    .await?;
    let snapshots: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM event_attempts a JOIN events e ON e.id = a.event_id
          WHERE e.finished_at IS NOT NULL AND e.payload_purged_at IS NULL AND e.finished_at < $1
            AND a.snapshot IS NOT NULL",
    )
    .bind(cutoff(now, w.payload_days))
    .fetch_one(pool)
    .await?;
    let call_bodies: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sage_calls c JOIN events e ON e.id = c.event_id
          WHERE e.finished_at IS NOT NULL AND e.call_bodies_purged_at IS NULL AND e.finished_at < $1
            AND (c.request_body IS NOT NULL OR c.response_body IS NOT NULL)",
    )
    .bind(cutoff(now, w.call_body_days))
    .fetch_one(pool)
    .await?;
    let callbacks: i64 =
        sqlx::query_scalar("SELECT count(*) FROM callbacks WHERE state = 'delivered' AND delivered_at < $1")
            .bind(cutoff(now, w.callbacks_days))
            .fetch_one(pool)
            .await?;
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts WHERE created_at < $1")
        .bind(cutoff(now, w.alerts_days))
        .fetch_one(pool)
        .await?;
    let jti: i64 = sqlx::query_scalar("SELECT count(*) FROM jwt_replay WHERE expires_at < $1 - interval '1 minute'")
        .bind(now)
        .fetch_one(pool)
        .await?;
    let tasks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = $1 AND status IN ('Done', 'Failed', 'Killed')
           AND COALESCE(done_at, run_at) < now() - interval '1 hour'",
    )
    .bind(crate::EVENT_QUEUE)
    .fetch_one(pool)
    .await?;
    let mail: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE COALESCE(sent_at, failed_at) < $1")
        .bind(cutoff(now, w.mail_days))
        .fetch_one(pool)
        .await?;
    let bulk: i64 =
        sqlx::query_scalar("SELECT count(*) FROM bulk_actions WHERE state = 'finished' AND finished_at < $1")
            .bind(cutoff(now, w.bulk_days))
            .fetch_one(pool)
            .await?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Counts([n(payloads), n(snapshots), n(call_bodies), n(callbacks), n(alerts), n(jti), n(tasks), n(mail), n(bulk)]))
}

/// Purges what is past its window at `now`, batch by batch (each batch its own short transaction),
/// holding the advisory lock on one connection. `None`: another process holds the lock (it is
/// purging now), nothing was done.
pub async fn purge(pool: &PgPool, w: &Windows, now: DateTime<Utc>) -> Result<Option<Counts>, StoreError> {
    let mut conn = pool.acquire().await?;
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(&mut *conn).await?;
    if !locked {
        return Ok(None);
    }
    let result = purge_locked(pool, w, now).await;
    // Released even when a batch failed; a dropped connection releases it too.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY).execute(&mut *conn).await;
    result.map(Some)
}

async fn purge_locked(pool: &PgPool, w: &Windows, now: DateTime<Utc>) -> Result<Counts, StoreError> {
    let batch = i64::from(w.batch_size.max(1));
    let mut counts = Counts::default();
    // Payloads and snapshots, one batch of runs at a time. A payload already replaced by
    // `ledger tenant erase` keeps its erasure marker; the increment id stays for search.
    let payload_cutoff = cutoff(now, w.payload_days);
    loop {
        let mut tx = pool.begin().await?;
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "WITH picked AS (
                 SELECT id FROM events
                  WHERE finished_at IS NOT NULL AND payload_purged_at IS NULL AND finished_at < $1
                  ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
             UPDATE events e SET payload_purged_at = now(),
                    payload = CASE WHEN e.payload ? 'erased' THEN e.payload ELSE
                        jsonb_build_object('purged', 'retention.payload_days', 'at', now())
                        || CASE WHEN e.payload->'payload' ? 'increment_id'
                                THEN jsonb_build_object('payload',
                                         jsonb_build_object('increment_id', e.payload->'payload'->'increment_id'))
                                ELSE '{}'::jsonb END
                    END
               FROM picked WHERE e.id = picked.id
             RETURNING e.id",
        )
        .bind(payload_cutoff)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        let snapshots =
            sqlx::query("UPDATE event_attempts SET snapshot = NULL WHERE event_id = ANY($1) AND snapshot IS NOT NULL")
                .bind(&ids)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        counts.0[0] += ids.len() as u64;
        counts.0[1] += snapshots;
        if (ids.len() as i64) < batch {
            break;
        }
    }
    // Sage call bodies: method, path, status, latency and request id stay.
    let call_cutoff = cutoff(now, w.call_body_days);
    loop {
        let mut tx = pool.begin().await?;
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "WITH picked AS (
                 SELECT id FROM events
                  WHERE finished_at IS NOT NULL AND call_bodies_purged_at IS NULL AND finished_at < $1
                  ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
             UPDATE events e SET call_bodies_purged_at = now() FROM picked WHERE e.id = picked.id
             RETURNING e.id",
        )
        .bind(call_cutoff)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        let calls = sqlx::query(
            "UPDATE sage_calls SET request_body = NULL, response_body = NULL
              WHERE event_id = ANY($1) AND (request_body IS NOT NULL OR response_body IS NOT NULL)",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        counts.0[2] += calls;
        if (ids.len() as i64) < batch {
            break;
        }
    }
    counts.0[3] = delete_batches(
        pool,
        "DELETE FROM callbacks WHERE id IN (
             SELECT id FROM callbacks WHERE state = 'delivered' AND delivered_at < $1 LIMIT $2)",
        cutoff(now, w.callbacks_days),
        batch,
    )
    .await?;
    counts.0[4] = delete_batches(
        pool,
        "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE created_at < $1 LIMIT $2)",
        cutoff(now, w.alerts_days),
        batch,
    )
    .await?;
    counts.0[5] = crate::db::purge_expired_jti(pool, now).await?;
    counts.0[6] = crate::db::purge_finished_tasks(pool).await?;
    counts.0[7] = delete_batches(
        pool,
        "DELETE FROM mail_outbox WHERE id IN (
             SELECT id FROM mail_outbox WHERE COALESCE(sent_at, failed_at) < $1 LIMIT $2)",
        cutoff(now, w.mail_days),
        batch,
    )
    .await?;
    counts.0[8] = delete_batches(
        pool,
        "DELETE FROM bulk_actions WHERE id IN (
             SELECT id FROM bulk_actions WHERE state = 'finished' AND finished_at < $1 LIMIT $2)",
        cutoff(now, w.bulk_days),
        batch,
    )
    .await?;
    Ok(counts)
}

async fn delete_batches(
    pool: &PgPool,
    sql: &'static str,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let n = sqlx::query(sql).bind(cutoff).bind(batch).execute(pool).await?.rows_affected();
        total += n;
        if (n as i64) < batch {
            return Ok(total);
        }
    }
}

//! Password resets (single use, expiring, stored as the token's SHA-256) and the mail outbox that
//! carries their links: the token and its message are written in one transaction.
use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Mail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// Records a reset token for `account` (earlier unused ones of the account stop working) and queues
/// its message; returns the outbox id.
pub async fn create(
    pool: &PgPool,
    account: Uuid,
    token_hash: &[u8],
    ttl: Duration,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<i64, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE password_resets SET used_at = now() WHERE account_id = $1 AND used_at IS NULL")
        .bind(account)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO password_resets (token_hash, account_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(token_hash)
    .bind(account)
    .bind(ttl.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    let id: i64 =
        sqlx::query_scalar("INSERT INTO mail_outbox (recipient, subject, body) VALUES ($1, $2, $3) RETURNING id")
            .bind(recipient)
            .bind(subject)
            .bind(body)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(id)
}

/// Whether `token_hash` names an unused, unexpired reset.
pub async fn is_valid(pool: &PgPool, token_hash: &[u8]) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now())",
    )
    .bind(token_hash)
    .fetch_one(pool)
    .await?)
}

/// Uses the reset up and sets the account's password, ending all its sessions; `None` when the token is
/// unknown, used or expired (nothing changes then).
pub async fn consume(pool: &PgPool, token_hash: &[u8], password_hash: &str) -> Result<Option<Uuid>, StoreError> {
    let mut tx = pool.begin().await?;
    let account: Option<Uuid> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
      RETURNING account_id",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(account) = account else { return Ok(None) };
    sqlx::query("UPDATE accounts SET password_hash = $2, must_change_password = false WHERE id = $1")
        .bind(account)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM web_sessions WHERE account_id = $1").bind(account).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Some(account))
}

/// Messages not sent (nor given up) yet, oldest first.
pub async fn unsent(pool: &PgPool, limit: i64) -> Result<Vec<Mail>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, recipient, subject, body FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL
          ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Records a delivery attempt: sent, or the error.
pub async fn record_delivery(pool: &PgPool, id: i64, error: Option<&str>) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2,
                sent_at = CASE WHEN $2::text IS NULL THEN now() END
          WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims up to `limit` messages that are due, for `lease` (a sender that dies lets them go again).
pub async fn claim_mail(pool: &PgPool, limit: i64, lease: std::time::Duration) -> Result<Vec<Mail>, StoreError> {
    Ok(sqlx::query_as(
        "WITH due AS (
             SELECT id FROM mail_outbox
              WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
                AND (claimed_until IS NULL OR claimed_until < now())
              ORDER BY next_attempt_at, id LIMIT $1
              FOR UPDATE SKIP LOCKED
         )
         UPDATE mail_outbox m SET claimed_until = now() + make_interval(secs => $2)
           FROM due WHERE m.id = due.id
         RETURNING m.id, m.recipient, m.subject, m.body",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await?)
}

/// How sending one message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailDelivery {
    Sent,
    Retry { delay: std::time::Duration, error: String },
    Failed { error: String },
}

/// Records a claimed message's attempt. Returns its attempt count.
pub async fn record_mail(pool: &PgPool, id: i64, outcome: &MailDelivery) -> Result<i32, StoreError> {
    let (delay, error, failed) = match outcome {
        MailDelivery::Sent => (None, None, false),
        MailDelivery::Retry { delay, error } => (Some(delay.as_secs_f64()), Some(error.as_str()), false),
        MailDelivery::Failed { error } => (None, Some(error.as_str()), true),
    };
    Ok(sqlx::query_scalar(
        "UPDATE mail_outbox
            SET attempts = attempts + 1, last_error = $2, claimed_until = NULL,
                sent_at = CASE WHEN $2::text IS NULL THEN now() END,
                failed_at = CASE WHEN $4 THEN now() END,
                next_attempt_at = CASE WHEN $3::float8 IS NULL THEN next_attempt_at
                                       ELSE now() + make_interval(secs => $3) END
          WHERE id = $1
         RETURNING attempts",
    )
    .bind(id)
    .bind(error)
    .bind(delay)
    .bind(failed)
    .fetch_one(pool)
    .await?)
}

/// Attempts a message has had so far.
pub async fn mail_attempts(pool: &PgPool, id: i64) -> Result<i32, StoreError> {
    Ok(sqlx::query_scalar("SELECT attempts FROM mail_outbox WHERE id = $1").bind(id).fetch_one(pool).await?)
}

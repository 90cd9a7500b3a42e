//! Alerts to people: the conditions that need a merchant or an operator (a Sage binding to reconnect
//! or whose subscription lapsed, a store whose key was revoked, dead letters piling up), raised at most
//! once per tenant, condition and UTC day, mailed through `mail_outbox` in the same transaction, and
//! the optional alert webhook's delivery state.
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{PgPool, StoreError};

/// One alert raised now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Alert {
    pub id: i64,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub condition: String,
    pub day: NaiveDate,
    pub detail: String,
    pub created_at: DateTime<Utc>,
    /// The owning dashboard account's e-mail, when the tenant has an owner.
    #[serde(skip)]
    pub merchant_email: Option<String>,
}

/// What the conditions need to know.
#[derive(Debug, Clone)]
pub struct AlertRules {
    /// Dead letters in the last 24 hours at which a tenant's operators and merchant are told.
    pub dead_letter_threshold: i64,
    /// Always told, besides the tenant's merchant.
    pub operator_emails: Vec<String>,
    /// Whether alerts are also posted to the alert webhook.
    pub webhook: bool,
    /// The dashboard's base URL, for links in the mails.
    pub dashboard_url: String,
}

/// Raises every condition that holds now and was not raised yet today (UTC), and queues one mail per
/// recipient for each, in one transaction. Returns the alerts raised.
pub async fn raise(pool: &PgPool, rules: &AlertRules) -> Result<Vec<Alert>, StoreError> {
    let mut tx = pool.begin().await?;
    let raised: Vec<Alert> = sqlx::query_as(
        "WITH conditions AS (
             SELECT b.tenant_id, 'sage_reconnect_required' AS condition,
                    'Sage stopped accepting the stored authorisation (' || COALESCE(b.status_reason, 'no reason given')
                    || '). Sync is paused until the merchant reconnects Sage.' AS detail
               FROM bindings b WHERE b.status = 'reconnect_required'
             UNION ALL
             SELECT b.tenant_id, 'sage_suspended',
                    'The Sage subscription of ' || COALESCE(b.business_name, 'the business')
                    || ' has lapsed. Sync is paused until it is renewed.'
               FROM bindings b WHERE b.status = 'suspended'
             UNION ALL
             SELECT t.id, 'store_token_revoked',
                    'The Magento store refuses the ledger''s key: sync-state updates cannot reach it. Pair the store again.'
               FROM tenants t WHERE t.status = 'active' AND t.magento_connection_status = 'token_revoked'
             UNION ALL
             SELECT e.tenant_id, 'dead_letters',
                    count(*) || ' events were dead-lettered in the last 24 hours. Review them in the event log.'
               FROM events e
              WHERE e.state = 'dead_lettered' AND e.finished_at > now() - interval '24 hours'
              GROUP BY e.tenant_id HAVING count(*) >= $1
         ), raised AS (
             INSERT INTO alerts (tenant_id, condition, day, detail, webhook_state, webhook_next_at)
             SELECT c.tenant_id, c.condition, (now() AT TIME ZONE 'UTC')::date, c.detail,
                    CASE WHEN $2 THEN 'pending' ELSE 'none' END, CASE WHEN $2 THEN now() END
               FROM conditions c JOIN tenants t ON t.id = c.tenant_id
             ON CONFLICT (tenant_id, condition, day) DO NOTHING
             RETURNING id, tenant_id, condition, day, detail, created_at
         )
         SELECT r.id, r.tenant_id, t.name AS tenant_name, r.condition, r.day, r.detail, r.created_at,
                a.email AS merchant_email
           FROM raised r JOIN tenants t ON t.id = r.tenant_id LEFT JOIN accounts a ON a.id = t.merchant_id
          ORDER BY r.id",
    )
    .bind(rules.dead_letter_threshold)
    .bind(rules.webhook)
    .fetch_all(&mut *tx)
    .await?;
    for alert in &raised {
        let subject = format!("[Ledger] {}: {}", alert.tenant_name, headline(&alert.condition));
        let body = format!(
            "{}\n\nStore: {} ({})\nWhat happened: {}\nOpen: {}/stores/{}/events\n\nYou get at most one message a day about this.\n",
            headline(&alert.condition),
            alert.tenant_name,
            alert.tenant_id,
            alert.detail,
            rules.dashboard_url.trim_end_matches('/'),
            alert.tenant_id
        );
        let recipients = alert.merchant_email.iter().chain(rules.operator_emails.iter());
        for to in recipients {
            sqlx::query("INSERT INTO mail_outbox (recipient, subject, body) VALUES ($1, $2, $3)")
                .bind(to)
                .bind(&subject)
                .bind(&body)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(raised)
}

/// A short human headline for a condition.
pub fn headline(condition: &str) -> &'static str {
    match condition {
        "sage_reconnect_required" => "Sage needs to be reconnected",
        "sage_suspended" => "the Sage subscription has lapsed",
        "store_token_revoked" => "the Magento store refuses the ledger",
        "dead_letters" => "events are piling up as dead letters",
        _ => "needs attention",
    }
}

/// Claims up to `limit` alerts whose webhook delivery is due, holding each for `lease`.
pub async fn claim_webhooks(pool: &PgPool, limit: i64, lease: Duration) -> Result<Vec<Alert>, StoreError> {
    Ok(sqlx::query_as(
        "WITH due AS (
             SELECT id FROM alerts
              WHERE webhook_state = 'pending' AND webhook_next_at <= now()
              ORDER BY webhook_next_at, id LIMIT $1
              FOR UPDATE SKIP LOCKED
         ), claimed AS (
             UPDATE alerts a SET webhook_attempts = a.webhook_attempts + 1,
                                 webhook_next_at = now() + make_interval(secs => $2)
               FROM due WHERE a.id = due.id
             RETURNING a.id, a.tenant_id, a.condition, a.day, a.detail, a.created_at
         )
         SELECT c.id, c.tenant_id, t.name AS tenant_name, c.condition, c.day, c.detail, c.created_at,
                NULL::text AS merchant_email
           FROM claimed c JOIN tenants t ON t.id = c.tenant_id ORDER BY c.id",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await?)
}

/// How one webhook delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookDelivery {
    Sent,
    /// Try again after the delay.
    Retry {
        delay: Duration,
        error: String,
    },
    /// Out of attempts.
    Failed {
        error: String,
    },
}

pub async fn record_webhook(pool: &PgPool, id: i64, outcome: &WebhookDelivery) -> Result<(), StoreError> {
    let (state, delay, error) = match outcome {
        WebhookDelivery::Sent => ("sent", None, None),
        WebhookDelivery::Retry { delay, error } => ("pending", Some(delay.as_secs_f64()), Some(error.as_str())),
        WebhookDelivery::Failed { error } => ("failed", None, Some(error.as_str())),
    };
    sqlx::query(
        "UPDATE alerts SET webhook_state = $2, webhook_last_error = $4,
                webhook_next_at = CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $3) END
          WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(delay)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// How many attempts a webhook delivery has had.
pub async fn webhook_attempts(pool: &PgPool, id: i64) -> Result<i32, StoreError> {
    Ok(sqlx::query_scalar("SELECT webhook_attempts FROM alerts WHERE id = $1").bind(id).fetch_one(pool).await?)
}

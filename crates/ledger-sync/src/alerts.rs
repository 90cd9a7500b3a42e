//! Alerts to people: every interval, raise the conditions that hold (at most once per tenant,
//! condition and day; mailed through the mail outbox by the store) and post due alerts to the optional
//! alert webhook, signed with HMAC-SHA256 in `Ledger-Signature: t=<unix>,v1=<hex>` over `"{t}.{body}"`.
use std::time::Duration;

use hmac::{Hmac, Mac};
use ledger_store::alerts::{self, Alert, AlertRules, WebhookDelivery};
use ledger_store::{PgPool, StoreError};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

/// Where alerts are posted besides the mails.
#[derive(Clone, Debug)]
pub struct AlertWebhook {
    pub url: String,
    pub secret: SecretString,
}

#[derive(Clone, Debug)]
pub struct AlertConfig {
    pub rules: AlertRules,
    pub interval: Duration,
    pub webhook: Option<AlertWebhook>,
}

/// The delays between webhook attempts; after the last, the delivery is `failed`.
const WEBHOOK_DELAYS: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(1800),
    Duration::from_secs(7200),
    Duration::from_secs(21600),
];

/// How long a claimed webhook delivery is held (longer than the request timeout).
const WEBHOOK_LEASE: Duration = Duration::from_secs(60);

/// The `Ledger-Signature` value of `body` sent at unix time `t`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// One pass: raises what holds now, then posts the webhooks that are due. Returns the alerts raised.
pub async fn check_once(pool: &PgPool, http: &reqwest::Client, config: &AlertConfig) -> Result<Vec<Alert>, StoreError> {
    let raised = alerts::raise(pool, &config.rules).await?;
    for alert in &raised {
        tracing::warn!(tenant_id = %alert.tenant_id, condition = %alert.condition, detail = %alert.detail, "alert raised");
    }
    if let Some(hook) = &config.webhook {
        for alert in alerts::claim_webhooks(pool, 20, WEBHOOK_LEASE).await? {
            let outcome = post(http, hook, &alert).await;
            let delivery = match outcome {
                Ok(()) => WebhookDelivery::Sent,
                Err(error) => {
                    let attempts = alerts::webhook_attempts(pool, alert.id).await?;
                    match usize::try_from(attempts).ok().and_then(|a| WEBHOOK_DELAYS.get(a.saturating_sub(1))) {
                        Some(delay) => WebhookDelivery::Retry { delay: *delay, error },
                        None => WebhookDelivery::Failed { error },
                    }
                }
            };
            if delivery != WebhookDelivery::Sent {
                tracing::warn!(alert_id = alert.id, ?delivery, "alert webhook not delivered");
            }
            alerts::record_webhook(pool, alert.id, &delivery).await?;
        }
    }
    Ok(raised)
}

async fn post(http: &reqwest::Client, hook: &AlertWebhook, alert: &Alert) -> Result<(), String> {
    let body = serde_json::json!({
        "id": alert.id,
        "type": alert.condition,
        "tenant_id": alert.tenant_id,
        "tenant_name": alert.tenant_name,
        "day": alert.day,
        "detail": alert.detail,
        "created_at": alert.created_at,
    })
    .to_string();
    let t = chrono::Utc::now().timestamp();
    let resp = http
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("ledger-signature", signature(hook.secret.expose_secret().as_bytes(), t, body.as_bytes()))
        .timeout(Duration::from_secs(10))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("alert webhook unreachable: {e}"))?;
    if resp.status().is_success() { Ok(()) } else { Err(format!("alert webhook answered {}", resp.status())) }
}

/// Checks every `config.interval` until `shutdown`.
pub async fn run(pool: PgPool, http: reqwest::Client, config: AlertConfig, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = check_once(&pool, &http, &config).await {
            tracing::warn!(error = %e, "alert check failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_time_and_the_body() {
        let a = signature(b"secret", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,v1="), "{a}");
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(a, signature(b"secret", 1_700_000_001, b"{}"));
        assert_ne!(a, signature(b"secret", 1_700_000_000, b"{ }"));
        assert_ne!(a, signature(b"other", 1_700_000_000, b"{}"));
        assert_eq!(a, signature(b"secret", 1_700_000_000, b"{}"), "deterministic");
    }
}

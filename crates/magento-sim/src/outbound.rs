//! Calls the store makes to the ledger: the outbox drain, the disconnect notice, the health tile.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::{debug, warn};
use uuid::Uuid;

use crate::jwt::mint_outbound;
use crate::outbox::{Outcome, Status};
use crate::store::{Credentials, Store};
use crate::wire::{disconnect_key, raw_url_encode, truncate_bytes};

/// The outbound client: connect timeout 5 s, total 15 s, no redirects, no proxies.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
}

/// One delivery of a drain run.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub outbox_id: u64,
    pub event_name: String,
    pub idempotency_key: String,
    pub url: String,
    /// HTTP status, when the ledger answered.
    pub status_code: Option<u16>,
    /// Row status after the attempt.
    pub result: Status,
    pub attempts: u32,
    pub error: Option<String>,
}

/// What a drain run did.
#[derive(Debug, Clone, Serialize)]
pub struct DrainReport {
    pub paired: bool,
    pub sent: Vec<Delivery>,
}

fn bearer(creds: &Credentials, store: &Store) -> Option<(String, String, String)> {
    let (tenant, key, base) = creds.paired()?;
    let token = mint_outbound(&key, &tenant, store.config.clock.unix(), &Uuid::new_v4().to_string());
    Some((tenant, format!("Bearer {token}"), base))
}

fn classify(result: Result<(u16, String), reqwest::Error>) -> (Outcome, Option<u16>) {
    match result {
        Ok((code, _)) if (200..300).contains(&code) => (Outcome::Success(code), Some(code)),
        Ok((code, body)) if (400..500).contains(&code) => (Outcome::Permanent(code, body), Some(code)),
        Ok((code, body)) => (Outcome::Transient(format!("HTTP {code}: {}", truncate_bytes(&body, 1_024))), Some(code)),
        Err(e) if e.is_timeout() => (Outcome::Transient(format!("timeout: {e}")), None),
        Err(e) if e.is_connect() => (Outcome::Transient(format!("connect error: {e}")), None),
        Err(e) => (Outcome::Transient(format!("transport error: {e}")), None),
    }
}

impl Store {
    /// One run of the cron drain (spec 3.4). Runs are serialised per store.
    pub async fn drain(&self) -> DrainReport {
        let _running = self.drain_lock.lock().await;
        let rows = {
            let st = self.lock();
            if st.creds.paired().is_none() {
                return DrainReport { paired: false, sent: vec![] };
            }
            st.outbox.due(self.now())
        };
        let mut sent = Vec::with_capacity(rows.len());
        for row in rows {
            // The URL and token come from the config as it is at send time.
            let creds = self.lock().creds.clone();
            let Some((tenant, auth, base)) = bearer(&creds, self) else {
                break;
            };
            let url =
                format!("{base}/webhooks/magento/{}/{}", raw_url_encode(&tenant), raw_url_encode(&row.event_name));
            let response = self
                .http
                .post(&url)
                .header(AUTHORIZATION, auth)
                .header(CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", &row.idempotency_key)
                .body(row.payload.clone())
                .send()
                .await;
            let result = match response {
                Ok(r) => {
                    let code = r.status().as_u16();
                    Ok((code, r.text().await.unwrap_or_default()))
                }
                Err(e) => Err(e),
            };
            let (outcome, status_code) = classify(result);
            debug!(store = self.number(), outbox_id = row.entity_id, ?outcome, "outbox delivery");
            let mut st = self.lock();
            st.outbox.record(row.entity_id, &outcome, self.now(), self.config.scale());
            let after = st.outbox.get(row.entity_id).cloned();
            sent.push(Delivery {
                outbox_id: row.entity_id,
                event_name: row.event_name,
                idempotency_key: row.idempotency_key,
                url,
                status_code,
                result: after.as_ref().map_or(Status::Pending, |r| r.status),
                attempts: after.as_ref().map_or(0, |r| r.attempts),
                error: after.and_then(|r| r.last_error),
            });
        }
        DrainReport { paired: true, sent }
    }

    /// The admin Disconnect button (spec 4.3): notify the ledger (failure swallowed), then wipe
    /// tenant, key and pairing state; keep base URL, outbox and mirror.
    pub async fn disconnect(&self) -> Value {
        let creds = self.lock().creds.clone();
        let notice = match bearer(&creds, self) {
            None => json!({ "sent": false }),
            Some((tenant, auth, base)) => {
                let result = self
                    .http
                    .post(format!("{base}/v1/tenant/disconnect"))
                    .header(AUTHORIZATION, auth)
                    .header(CONTENT_TYPE, "application/json")
                    .header("Idempotency-Key", disconnect_key(&tenant))
                    .body("{}")
                    .send()
                    .await;
                match result {
                    Ok(r) => json!({ "sent": true, "status": r.status().as_u16() }),
                    Err(e) => {
                        warn!(store = self.number(), error = %e, "disconnect notice failed (swallowed)");
                        json!({ "sent": true, "error": e.to_string() })
                    }
                }
            }
        };
        let mut st = self.lock();
        st.creds.tenant_id = None;
        st.creds.api_key = None;
        st.pairing.clear();
        json!({ "disconnected": true, "notice": notice, "ledger_base_url": st.creds.base_url })
    }

    /// The dashboard health tile: `GET {base}/v1/tile/health`, answered as seen.
    pub async fn health_tile(&self) -> Value {
        let creds = self.lock().creds.clone();
        let Some((_, auth, base)) = bearer(&creds, self) else {
            return json!({ "reachable": false, "error": "not paired" });
        };
        let result = self
            .http
            .get(format!("{base}/v1/tile/health"))
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/json")
            .send()
            .await;
        match result {
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let ok = (200..300).contains(&status) && body.is_object();
                json!({ "reachable": ok, "status": status, "body": body })
            }
            Err(e) => json!({ "reachable": false, "error": e.to_string() }),
        }
    }
}

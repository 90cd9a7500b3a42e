//! `MagentoClient`: the ledger's authenticated calls to one store's `/rest/V1/byte8/*` surface (spec §5).
//!
//! Built once per tenant binding over the shared [`GuardedHttp`]. Every HTTP attempt carries a freshly minted
//! inbound JWT (its `jti` is single use, so a retried GET needs a new one). GETs are retried a few times in
//! place on transient transport failures and 5xx answers (not on bodies that fail to parse); the sync-state POST is not, because the caller's durable queue retries it.
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ledger_domain::MagentoEntityId;
use ledger_domain::clock::{SharedClock, SystemClock};
use ledger_domain::error_class::ErrorClass;
use ledger_domain::magento::{Contact, CreditMemo, Invoice, Payment, PaymentMethods, Ping, Product, SyncState};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::jwt::mint_inbound;
use crate::keys::TenantKeys;
use crate::ssrf::GuardedHttp;

mod error;
mod pair;

pub use error::{MagentoError, class_of_status, magento_message};
pub use pair::{PairError, PairRequest, normalise_pairing_code, pair};

/// In-place retries of GETs: at most `max_attempts` tries, waiting `backoff`, then twice that, and so on.
#[derive(Clone, Copy, Debug)]
pub struct RetryConfig {
    pub max_attempts: u32,
    pub backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self { max_attempts: 3, backoff: Duration::from_millis(250) }
    }
}

/// `{base}/rest/V1/byte8/{path}`, keeping any path prefix of the base (`http://host/s/2`) and dropping its
/// query and fragment.
pub(crate) fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    let joined = format!("{}/rest/V1/byte8/{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

#[derive(Clone)]
pub struct MagentoClient {
    http: GuardedHttp,
    base: Url,
    tenant_id: String,
    inbound_key: [u8; 32],
    clock: SharedClock,
    retry: RetryConfig,
}

impl fmt::Debug for MagentoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MagentoClient")
            .field("base", &self.base.as_str())
            .field("tenant_id", &self.tenant_id)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl MagentoClient {
    /// A client for the store at `base_url` (its storefront base), signing with the tenant's inbound key.
    pub fn new(http: GuardedHttp, base_url: Url, tenant_id: impl Into<String>, keys: &TenantKeys) -> Self {
        Self {
            http,
            base: base_url,
            tenant_id: tenant_id.into(),
            inbound_key: keys.inbound,
            clock: Arc::new(SystemClock),
            retry: RetryConfig::default(),
        }
    }

    /// The clock the JWT times come from (the ledger's; tests pin or shift it).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// Liveness and auth probe: a 2xx proves the token works; the body is read leniently.
    pub async fn ping(&self) -> Result<Ping, MagentoError> {
        Ok(Ping::from_value(self.get_value("ping").await?))
    }

    pub async fn payment_methods(&self) -> Result<PaymentMethods, MagentoError> {
        Ok(PaymentMethods::from_value(self.get_value("payment-methods").await?))
    }

    pub async fn invoice(&self, id: MagentoEntityId) -> Result<Invoice, MagentoError> {
        self.get_typed(&format!("invoice/{id}"), "invoice").await
    }

    pub async fn creditmemo(&self, id: MagentoEntityId) -> Result<CreditMemo, MagentoError> {
        self.get_typed(&format!("creditmemo/{id}"), "credit memo").await
    }

    /// A customer by id. The guest contact (a [`Contact`] whose `magento_id` is `None`) has no id to pass,
    /// so `/customer/0` cannot be asked for.
    pub async fn customer(&self, id: MagentoEntityId) -> Result<Contact, MagentoError> {
        self.get_typed(&format!("customer/{id}"), "customer").await
    }

    /// The payment of invoice `invoice_id`.
    pub async fn payment(&self, invoice_id: MagentoEntityId) -> Result<Payment, MagentoError> {
        self.get_typed(&format!("payment/{invoice_id}"), "payment").await
    }

    pub async fn product(&self, id: MagentoEntityId) -> Result<Product, MagentoError> {
        self.get_typed(&format!("product/{id}"), "product").await
    }

    /// Reports a terminal sync outcome. One attempt; any 2xx is success whatever its body.
    pub async fn post_sync_state(&self, state: &SyncState) -> Result<(), MagentoError> {
        state.validate()?;
        let url = endpoint(&self.base, "sync-state");
        let response = self.attempt(Method::POST, &url, Some(state), 1).await?;
        // Drain (capped) so the connection can be reused; the body means nothing.
        let _ = self.http.read_capped(response).await;
        Ok(())
    }

    async fn get_typed<T: DeserializeOwned>(&self, path: &str, what: &'static str) -> Result<T, MagentoError> {
        let (content_type, body) = self.get(path).await?;
        serde_json::from_slice(&body).map_err(|e| match serde_json::from_slice::<Value>(&body) {
            Ok(_) => MagentoError::Shape { what, detail: e.to_string() },
            Err(_) => MagentoError::NotJson { content_type },
        })
    }

    /// Any JSON value; an empty body reads as `null`.
    async fn get_value(&self, path: &str) -> Result<Value, MagentoError> {
        let (content_type, body) = self.get(path).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|_| MagentoError::NotJson { content_type })
    }

    /// A GET with in-place retries of transient failures. Returns the content type and the capped body.
    async fn get(&self, path: &str) -> Result<(String, Vec<u8>), MagentoError> {
        let url = endpoint(&self.base, path);
        let mut attempt = 1;
        loop {
            let result = match self.attempt(Method::GET, &url, None, attempt).await {
                Ok(response) => {
                    let content_type = header_text(&response, CONTENT_TYPE);
                    self.http.read_capped(response).await.map(|body| (content_type, body)).map_err(Into::into)
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.class() == ErrorClass::Transient && attempt < self.retry.max_attempts => {
                    tracing::debug!(tenant_id = %self.tenant_id, path, attempt, error = %e, "retrying Magento GET");
                    tokio::time::sleep(self.retry.backoff.saturating_mul(1 << (attempt - 1).min(8))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One HTTP exchange with a fresh token. Non-2xx answers become errors (body read for Magento's message).
    async fn attempt(
        &self,
        method: Method,
        url: &Url,
        json: Option<&SyncState>,
        attempt: u32,
    ) -> Result<Response, MagentoError> {
        let token = mint_inbound(&self.inbound_key, &self.tenant_id, self.clock.now().timestamp());
        let mut request = self.http.request(method, url.clone())?.bearer_auth(token).header(ACCEPT, "application/json");
        if let Some(body) = json {
            request = request.json(body);
        }
        let response = self.http.send(request).await?;
        let status = response.status();
        tracing::debug!(tenant_id = %self.tenant_id, url = %url, attempt, status = status.as_u16(), "Magento call");
        if status.is_success() {
            return Ok(response);
        }
        if status.is_redirection() {
            let location = header_text(&response, LOCATION);
            return Err(MagentoError::Redirect { status: status.as_u16(), location });
        }
        let retry_after = header_text(&response, RETRY_AFTER).trim().parse().ok().map(Duration::from_secs);
        let body = self.http.read_capped(response).await.unwrap_or_default();
        Err(MagentoError::Status { status: status.as_u16(), message: magento_message(&body), retry_after })
    }
}

pub(crate) fn header_text(response: &Response, name: reqwest::header::HeaderName) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_base_path_and_drop_query() {
        let e = |b: &str, p: &str| endpoint(&Url::parse(b).unwrap(), p).to_string();
        assert_eq!(e("https://shop.example", "ping"), "https://shop.example/rest/V1/byte8/ping");
        assert_eq!(e("https://shop.example/", "invoice/12"), "https://shop.example/rest/V1/byte8/invoice/12");
        assert_eq!(e("http://127.0.0.1:8080/s/2", "ping"), "http://127.0.0.1:8080/s/2/rest/V1/byte8/ping");
        assert_eq!(
            e("http://127.0.0.1:8080/s/2/?a=1#f", "sync-state"),
            "http://127.0.0.1:8080/s/2/rest/V1/byte8/sync-state"
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let http = GuardedHttp::new(Default::default(), Arc::new(crate::ssrf::TokioResolver)).unwrap();
        let keys = TenantKeys::derive("byte8_lk_example_master_key");
        let c = MagentoClient::new(http, Url::parse("https://shop.example").unwrap(), "t1", &keys);
        let dbg = format!("{c:?}");
        assert!(dbg.contains("shop.example") && !dbg.contains("inbound_key") && !dbg.contains("43fdf5"));
    }
}

//! The Sage HTTP client core (spec §2): one shared reqwest client with timeouts, the bearer token from
//! [`AccessTokens`] (one 401 → one refresh → one retry), admission through the [`CallGate`] before
//! every request, `X-Business` sent and checked, Sage's errors classified, and a [`CallRecord`] for
//! every request. The typed resource methods live in `resources`; paging in `paging`.
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ledger_domain::SageBusinessId;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::AccessTokens;
use crate::errors::{SageClientError, SageError};
use crate::gate::{CallGate, CallKind, GatePermit};
use crate::record::{CallObserver, CallRecord};

/// Sage's one API host for every country (spec §2.1).
pub const DEFAULT_API_BASE: &str = "https://api.accounting.sage.com/v3.1";

/// Largest response body read (a page of 200 records with every attribute stays far below it).
const MAX_BODY: usize = 32 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct SageConfig {
    /// `https://api.accounting.sage.com/v3.1`, or a simulator's `{base}/v3.1`.
    pub api_base: Url,
    /// Whole-call limit, headers and body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl SageConfig {
    pub fn new(api_base: Url) -> Self {
        Self { api_base, timeout: Duration::from_secs(30), connect_timeout: Duration::from_secs(10) }
    }
}

/// The shared transport: one reqwest client (rustls, no redirects, so a bearer token never follows a
/// `Location`) and the API base. Cheap to clone; build it once at start-up.
#[derive(Clone, Debug)]
pub struct SageHttp {
    client: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl SageHttp {
    pub fn new(config: &SageConfig) -> Result<Self, SageClientError> {
        // reqwest is built without a default crypto provider; installing one twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("byte8-ledger/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SageClientError::Transport(e.to_string()))?;
        Ok(Self::with_client(client, config))
    }

    /// Uses an existing client (its own timeouts stay; every request also carries `config.timeout`).
    pub fn with_client(client: reqwest::Client, config: &SageConfig) -> Self {
        let mut base = config.api_base.clone();
        let trimmed = base.path().trim_end_matches('/').to_owned();
        base.set_path(&trimmed);
        base.set_query(None);
        Self { client, base, timeout: config.timeout }
    }

    pub fn api_base(&self) -> &Url {
        &self.base
    }

    /// `path` (`/contacts?page=2`) under the API base. Sage's relative `$next` links are relative to the
    /// base; a link that already starts with the base's path (`/v3.1/…`) is taken as server-absolute.
    pub fn resolve(&self, path_and_query: &str) -> Result<Url, SageClientError> {
        if path_and_query.starts_with("http://") || path_and_query.starts_with("https://") {
            let url = Url::parse(path_and_query).map_err(|e| SageClientError::Url(format!("{path_and_query}: {e}")))?;
            // The bearer token only ever goes to the configured host.
            if url.origin() != self.base.origin() {
                return Err(SageClientError::Url(format!(
                    "{url} is not on {}",
                    self.base.origin().ascii_serialization()
                )));
            }
            return Ok(url);
        }
        if !path_and_query.starts_with('/') {
            return Err(SageClientError::Url(format!("{path_and_query}: not a path")));
        }
        let base_path = self.base.path();
        let joined = if base_path != "/" && path_and_query.starts_with(&format!("{base_path}/")) {
            path_and_query.to_owned()
        } else {
            format!("{}{path_and_query}", base_path.trim_end_matches('/'))
        };
        self.base.join(&joined).map_err(|e| SageClientError::Url(format!("{path_and_query}: {e}")))
    }

    /// `url` relative to the API base, for records.
    fn relative(&self, url: &Url) -> String {
        let path = url.path().strip_prefix(self.base.path().trim_end_matches('/')).unwrap_or(url.path());
        match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        }
    }
}

/// A client for one Sage connection: the transport, where its tokens come from, the gate its calls pass,
/// and who records them. Business-scoped calls go through [`SageClient::business`].
#[derive(Clone)]
pub struct SageClient {
    pub(crate) http: SageHttp,
    tokens: Arc<dyn AccessTokens>,
    gate: Arc<dyn CallGate>,
    observer: Option<Arc<dyn CallObserver>>,
}

impl std::fmt::Debug for SageClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SageClient").field("api_base", &self.http.base.as_str()).finish_non_exhaustive()
    }
}

/// What one request sends.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: Url,
    pub body: Option<serde_json::Value>,
    pub kind: CallKind,
    /// `None` for `/businesses` and `/user`, which take no `X-Business`.
    pub business: Option<&'a SageBusinessId>,
}

/// What a successful request answered.
pub(crate) struct Answer {
    pub body: bytes::Bytes,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, SageClientError> {
        serde_json::from_slice(&self.body).map_err(|e| SageClientError::Decode(e.to_string()))
    }
}

impl SageClient {
    pub fn new(http: SageHttp, tokens: Arc<dyn AccessTokens>, gate: Arc<dyn CallGate>) -> Self {
        Self { http, tokens, gate, observer: None }
    }

    /// The same client, recording every call to `observer` (e.g. a [`crate::CallLog`] per attempt).
    pub fn observed(&self, observer: Arc<dyn CallObserver>) -> Self {
        Self { observer: Some(observer), ..self.clone() }
    }

    /// Calls scoped to one business (`X-Business`).
    pub fn business(&self, business: SageBusinessId) -> crate::SageBusiness {
        crate::SageBusiness::new(self.clone(), business)
    }

    /// Sends one logical call: gate, token, request; after a 401 that is not MSE, one refresh and one
    /// retry (through the gate again). The gate admits before the token is asked for, so a refused call
    /// never costs a refresh. Errors carry Sage's classification; 429 tells the gate.
    pub(crate) async fn send(&self, req: Request<'_>) -> Result<Answer, SageClientError> {
        let permit = self.admit(&req).await?;
        let token = self.tokens.access_token().await?;
        let first = self.attempt(&req, &token, false).await;
        drop(permit);
        match first {
            Err(SageClientError::Api(e)) if e.status == 401 && !e.is_subscription_lapsed() => {
                let fresh = self.tokens.after_unauthorized(&token).await?;
                let _permit = self.admit(&req).await?;
                self.attempt(&req, &fresh, true).await
            }
            other => other,
        }
    }

    async fn admit(&self, req: &Request<'_>) -> Result<GatePermit, SageClientError> {
        let permit = match req.business {
            Some(business) => self.gate.admit(business, req.kind).await,
            None => self.gate.admit_unscoped(req.kind).await,
        };
        Ok(permit?)
    }

    async fn attempt(
        &self,
        req: &Request<'_>,
        token: &SecretString,
        after_unauthorized: bool,
    ) -> Result<Answer, SageClientError> {
        let mut builder = self
            .http
            .client
            .request(req.method.clone(), req.url.clone())
            .timeout(self.http.timeout)
            .bearer_auth(token.expose_secret())
            .header(ACCEPT, "application/json");
        if let Some(business) = req.business {
            builder = builder.header("X-Business", business.as_str());
        }
        if let Some(body) = &req.body {
            let bytes = serde_json::to_vec(body).map_err(|e| SageClientError::Decode(e.to_string()))?;
            builder = builder.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        let mut record = CallRecord {
            started_at: Utc::now(),
            method: req.method.to_string(),
            path: self.http.relative(&req.url),
            business: req.business.map(|b| b.as_str().to_owned()),
            status: None,
            latency_ms: 0,
            x_request_id: None,
            request_body: req.body.clone(),
            response_body: None,
            transport_error: None,
            after_unauthorized,
        };
        let started = Instant::now();
        let outcome = read(builder).await;
        record.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, headers, body) = match outcome {
            Ok(answer) => answer,
            Err(e) => {
                record.transport_error = Some(e.to_string());
                count_call("transport_error", "none", started.elapsed());
                self.observe(record);
                return Err(e);
            }
        };
        let request_id = header(&headers, "x_request_id").or_else(|| header(&headers, "x-request-id"));
        record.status = Some(status.as_u16());
        count_call(status_class(status), status.as_str(), started.elapsed());
        if status == StatusCode::TOO_MANY_REQUESTS {
            metrics::counter!("ledger_sage_throttled_total").increment(1);
        }
        record.x_request_id = request_id.clone();
        record.response_body = (!body.is_empty()).then(|| {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()))
        });
        tracing::debug!(
            method = %record.method, path = %record.path, status = status.as_u16(),
            latency_ms = record.latency_ms, x_request_id = ?request_id, "sage call"
        );
        self.observe(record);

        if status.is_success() {
            if let Some(expected) = req.business {
                let got = header(&headers, "X-Business");
                if got.as_deref() != Some(expected.as_str()) {
                    return Err(SageClientError::BusinessMismatch { expected: expected.to_string(), got });
                }
            }
            return Ok(Answer { body });
        }
        let mut error = SageError::from_body(status.as_u16(), &body);
        error.request_id = request_id;
        if status == StatusCode::TOO_MANY_REQUESTS {
            error.retry_after = header(&headers, RETRY_AFTER.as_str()).and_then(|v| parse_retry_after(&v));
            if let Some(business) = req.business {
                self.gate.throttled(business, error.retry_after).await;
            }
        }
        Err(SageClientError::Api(error))
    }

    fn observe(&self, record: CallRecord) {
        if let Some(observer) = &self.observer {
            observer.record(record);
        }
    }
}

async fn read(builder: reqwest::RequestBuilder) -> Result<(StatusCode, HeaderMap, bytes::Bytes), SageClientError> {
    let mut resp = builder.send().await.map_err(transport)?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(SageClientError::Transport(format!("response larger than {MAX_BODY} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, bytes::Bytes::from(body)))
}

fn transport(e: reqwest::Error) -> SageClientError {
    if e.is_timeout() {
        SageClientError::Timeout
    } else if e.is_connect() {
        SageClientError::Connect(error_chain(&e))
    } else {
        SageClientError::Transport(error_chain(&e))
    }
}

/// The error with its causes (reqwest's own message hides the interesting part).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    Some((at.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or_default())
}

/// `ledger_sage_calls_total{class, status}` and `ledger_sage_call_duration_seconds{class}`: every
/// call that reached Sage (or failed on the way), by status class and code.
fn count_call(class: &'static str, status: &str, took: std::time::Duration) {
    metrics::counter!("ledger_sage_calls_total", "class" => class, "status" => status.to_owned()).increment(1);
    metrics::histogram!("ledger_sage_call_duration_seconds", "class" => class).record(took.as_secs_f64());
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        429 => "429",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

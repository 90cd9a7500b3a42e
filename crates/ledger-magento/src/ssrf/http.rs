//! The guarded reqwest client: no redirects, no proxies, timeouts, a filtering resolver, URL prechecks, capped reads.
use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use reqwest::{Method, RequestBuilder, Response, redirect};
use url::{Host, Url};

use super::resolve::{GuardResolver, HostResolver, resolve_allowed};
use super::{HttpError, OutboundPolicy, Refusal, ResolveFailure};

/// Builds the one shared client for merchant-supplied URLs. IP-literal hosts skip the resolver, so calls must
/// go through [`GuardedHttp`] (which prechecks them) rather than this client directly.
pub fn build_client(policy: &OutboundPolicy, resolver: Arc<dyn HostResolver>) -> Result<reqwest::Client, HttpError> {
    // reqwest is built without a default crypto provider; installing one twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let guard = GuardResolver { inner: resolver, policy: Arc::new(policy.clone()) };
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        // A proxy would resolve names itself, out of the guard's sight.
        .no_proxy()
        .https_only(!policy.allow_http)
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.timeout)
        .dns_resolver(Arc::new(guard))
        .user_agent(concat!("byte8-ledger/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpError::Build(chain_message(&e)))
}

/// The shared, cheap-to-clone guarded client: every request is prechecked and every body read is capped.
#[derive(Clone)]
pub struct GuardedHttp {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    resolver: Arc<dyn HostResolver>,
}

impl std::fmt::Debug for GuardedHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedHttp").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl GuardedHttp {
    pub fn new(policy: OutboundPolicy, resolver: Arc<dyn HostResolver>) -> Result<Self, HttpError> {
        let client = build_client(&policy, Arc::clone(&resolver))?;
        Ok(Self { client, policy: Arc::new(policy), resolver })
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Refuses what the policy forbids before any connection. Names are resolved once here for an early,
    /// clear error; the connect-time resolver checks again and has the final word.
    pub async fn check_url(&self, url: &Url) -> Result<(), HttpError> {
        self.policy.check_url(url)?;
        if let Some(Host::Domain(host)) = url.host() {
            resolve_allowed(self.resolver.as_ref(), &self.policy, host).await?;
        }
        Ok(())
    }

    /// Starts a request on the guarded client; send it with [`GuardedHttp::send`]. The URL's own checks
    /// (scheme, userinfo, IP literal) run here, because reqwest moves userinfo into a header on the spot.
    pub fn request(&self, method: Method, url: Url) -> Result<RequestBuilder, HttpError> {
        self.policy.check_url(&url)?;
        Ok(self.client.request(method, url))
    }

    /// Prechecks the request's URL, then sends it. Redirects come back as 3xx responses.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, HttpError> {
        let request = request.build().map_err(|e| match e.url().map(|url| self.policy.check_url(url)) {
            // reqwest itself rejects some URLs (`file://`); say what the guard would have said.
            Some(Err(refusal)) => HttpError::Refused(refusal),
            _ => HttpError::Transport(chain_message(&e)),
        })?;
        self.check_url(request.url()).await?;
        self.client.execute(request).await.map_err(map_reqwest)
    }

    /// Reads the body with the policy's size cap.
    pub async fn read_capped(&self, response: Response) -> Result<Vec<u8>, HttpError> {
        read_capped(response, self.policy.max_response_bytes).await
    }
}

/// Reads a response body, failing as soon as it would exceed `limit` bytes.
pub async fn read_capped(mut response: Response, limit: usize) -> Result<Vec<u8>, HttpError> {
    if response.content_length().is_some_and(|len| len > limit as u64) {
        return Err(HttpError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(map_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(HttpError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The errors a failure is made of, outermost first. `io::Error` hides its payload from `source()`, so
/// the walk steps into it explicitly (that is where rustls and resolver errors travel).
fn causes<'a>(err: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e: &&'a (dyn StdError + 'static)| {
        match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        }
    })
}

fn find<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    causes(err).find_map(|e| e.downcast_ref::<T>())
}

fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in causes(err) {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// Sorts a reqwest failure into the guard's classes.
pub(crate) fn map_reqwest(err: reqwest::Error) -> HttpError {
    let e: &(dyn StdError + 'static) = &err;
    if let Some(refusal) = find::<Refusal>(e) {
        return HttpError::Refused(refusal.clone());
    }
    if let Some(failure) = find::<ResolveFailure>(e) {
        return HttpError::Resolve(failure.clone());
    }
    if let Some(tls) = find::<rustls::Error>(e) {
        return HttpError::Tls(tls.to_string());
    }
    if err.is_timeout() {
        return HttpError::Timeout;
    }
    if err.is_connect() {
        return HttpError::Connect(chain_message(e));
    }
    HttpError::Transport(chain_message(e))
}

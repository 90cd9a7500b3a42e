//! Sage's token endpoint (spec sage-api.md §1): the authorize URL with PKCE S256, the code exchange and
//! the refresh (through the `oauth2` crate, credentials in the form body), and the revoke call.
//!
//! Every call has a timeout. Tokens travel as [`SecretString`] and no error carries a response body,
//! so nothing here can put a token into a log line.
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{BasicErrorResponse, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// How long one token-endpoint call may take before it counts as a transient failure.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where Sage's OAuth server lives and who we are to it.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub authorize_url: Url,
    pub token_url: Url,
    pub revoke_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The callback registered for the app; sent on the authorize request and the code exchange.
    pub redirect_uri: Url,
}

/// A token response: the lifetimes are read from each answer, never assumed (spec §1.4).
pub struct TokenSet {
    pub access_token: SecretString,
    pub access_expires_in: Duration,
    pub refresh_token: SecretString,
    pub refresh_expires_in: Duration,
    pub scope: Option<String>,
    pub requested_by_id: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_expires_in", &self.access_expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("scope", &self.scope)
            .field("requested_by_id", &self.requested_by_id)
            .finish_non_exhaustive()
    }
}

/// Why a token-endpoint call failed. The strings are Sage's error descriptions or our own words, never
/// a response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The code or refresh token is expired, used, revoked or unknown: only a new authorization helps.
    #[error("Sage refused the grant (invalid_grant): {0}")]
    InvalidGrant(String),
    /// Our client id or secret is wrong: an operator must fix the configuration.
    #[error("Sage refused our client credentials: {0}")]
    InvalidClient(String),
    /// The user (or Sage on their behalf) declined the authorization.
    #[error("the authorization was declined: {0}")]
    Denied(String),
    /// Network failure, timeout, 429 or 5xx: worth trying again later.
    #[error("Sage's token endpoint is unavailable: {0}")]
    Transient(String),
    /// An answer we cannot use (malformed, missing fields, unsupported request).
    #[error("unexpected answer from Sage's token endpoint: {0}")]
    Protocol(String),
}

impl OAuthError {
    /// The `error=` (and `error_description=`) Sage sends back to the redirect URI instead of a code
    /// (spec §1.2), as one of our classes.
    pub fn from_authorize_error(error: &str, description: Option<&str>) -> Self {
        let text = description.filter(|d| !d.is_empty()).unwrap_or(error).to_owned();
        match error {
            "access_denied" => Self::Denied(text),
            "server_error" | "temporarily_unavailable" => Self::Transient(text),
            "unauthorized_client" => Self::InvalidClient(text),
            _ => Self::Protocol(text),
        }
    }

    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::InvalidGrant(_))
    }
}

/// The PKCE challenge sent on the authorize request (S256); the verifier stays with us until the
/// code exchange.
#[derive(Debug, Clone)]
pub struct PkceChallenge(PkceCodeChallenge);

impl PkceChallenge {
    /// A fresh random verifier (32 bytes, base64url) and its S256 challenge.
    pub fn generate() -> (Self, SecretString) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        (Self(challenge), SecretString::from(verifier.into_secret()))
    }

    /// The S256 challenge of a stored verifier.
    pub fn from_verifier(verifier: &SecretString) -> Self {
        let verifier = PkceCodeVerifier::new(verifier.expose_secret().to_owned());
        Self(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Sage's fields beyond RFC 6749's.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct SageFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token_expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_by_id: Option<String>,
}

impl ExtraTokenFields for SageFields {}

type SageTokenResponse = StandardTokenResponse<SageFields, BasicTokenType>;

type Inner = oauth2::Client<
    BasicErrorResponse,
    SageTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The token endpoint client. Cheap to clone; build one per process and share it.
#[derive(Clone)]
pub struct OAuthClient {
    inner: Inner,
    http: reqwest::Client,
    config: OAuthConfig,
    timeout: Duration,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("token_url", &self.config.token_url.as_str())
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

/// A failed HTTP exchange below the OAuth layer (what `oauth2` calls the request error).
#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("{0}")]
    Transport(String),
    #[error("HTTP status {0}")]
    Status(u16),
}

impl OAuthClient {
    pub fn new(config: OAuthConfig, http: reqwest::Client) -> Self {
        let inner = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose_secret().to_owned()))
            .set_auth_uri(AuthUrl::from_url(config.authorize_url.clone()))
            .set_token_uri(TokenUrl::from_url(config.token_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(config.redirect_uri.clone()))
            // Sage's samples send the client credentials in the form body (spec §1.3).
            .set_auth_type(AuthType::RequestBody);
        Self { inner, http, config, timeout: DEFAULT_TIMEOUT }
    }

    /// Overrides the per-call timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// The URL to send the merchant to: `full_access`, our `state`, the PKCE S256 challenge.
    pub fn authorize_url(&self, state: &str, pkce_challenge: &PkceChallenge) -> Url {
        let state = state.to_owned();
        let (url, _) = self
            .inner
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new("full_access".to_owned()))
            .set_pkce_challenge(pkce_challenge.0.clone())
            .url();
        url
    }

    /// Exchanges a fresh authorization code (it dies 60 s after issue) for the first token pair.
    pub async fn exchange_code(&self, code: &str, verifier: &SecretString) -> Result<TokenSet, OAuthError> {
        let http = Http { client: &self.http, timeout: self.timeout };
        let answer = self
            .inner
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()))
            .request_async(&http)
            .await
            .map_err(classify)?;
        token_set(answer)
    }

    /// Trades the refresh token for a new pair. Sage rotates the refresh token on every refresh: the
    /// one passed in is dead once this returns `Ok`, so the caller must persist the new pair first.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet, OAuthError> {
        let http = Http { client: &self.http, timeout: self.timeout };
        let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
        let answer = self.inner.exchange_refresh_token(&token).request_async(&http).await.map_err(classify)?;
        token_set(answer)
    }

    /// Revokes a refresh token (spec §1.7). Sent directly: `oauth2` refuses non-https revocation URLs,
    /// which the simulator uses.
    pub async fn revoke(&self, refresh_token: &SecretString) -> Result<(), OAuthError> {
        let form = [
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
            ("token", refresh_token.expose_secret()),
        ];
        let resp = self
            .http
            .post(self.config.revoke_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| OAuthError::Transient(transport_text(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        if transient_status(status.as_u16()) {
            return Err(OAuthError::Transient(format!("revoke answered HTTP {}", status.as_u16())));
        }
        let body = resp.bytes().await.unwrap_or_default();
        match serde_json::from_slice::<BasicErrorResponse>(&body) {
            Ok(err) => Err(from_error_response(&err)),
            Err(_) => Err(OAuthError::Protocol(format!("revoke answered HTTP {}", status.as_u16()))),
        }
    }
}

/// The HTTP layer under `oauth2`: our shared reqwest client, a timeout, and 429/5xx turned into
/// transport errors (so they classify as transient rather than as unparseable error bodies).
struct Http<'a> {
    client: &'a reqwest::Client,
    timeout: Duration,
}

type HttpFuture<'c> = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

impl<'c> oauth2::AsyncHttpClient<'c> for Http<'_> {
    type Error = HttpError;
    type Future = HttpFuture<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.client, self.timeout, request))
    }
}

async fn send(
    client: &reqwest::Client,
    timeout: Duration,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let resp = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| HttpError::Transport(transport_text(&e)))?;
    let status = resp.status();
    if transient_status(status.as_u16()) {
        return Err(HttpError::Status(status.as_u16()));
    }
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(|e| HttpError::Transport(transport_text(&e)))?;
    let mut out = http::Response::builder().status(status);
    if let Some(h) = out.headers_mut() {
        *h = headers;
    }
    out.body(bytes.to_vec()).map_err(|e| HttpError::Transport(e.to_string()))
}

fn transient_status(status: u16) -> bool {
    status == 429 || status == 408 || status >= 500
}

/// A transport error in words that cannot carry a token (reqwest's text may include the URL, which
/// for the token endpoint never holds a secret: credentials travel in the body).
fn transport_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        std::error::Error::source(e).map_or_else(|| "request failed".to_owned(), |s| format!("request failed: {s}"))
    }
}

fn from_error_response(err: &BasicErrorResponse) -> OAuthError {
    let text = err.error_description().cloned().unwrap_or_else(|| err.error().to_string());
    match err.error() {
        BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant(text),
        BasicErrorResponseType::InvalidClient => OAuthError::InvalidClient(text),
        BasicErrorResponseType::UnauthorizedClient => OAuthError::InvalidClient(text),
        BasicErrorResponseType::Extension(code) if code == "access_denied" => OAuthError::Denied(text),
        BasicErrorResponseType::Extension(code) if code == "temporarily_unavailable" || code == "server_error" => {
            OAuthError::Transient(text)
        }
        other => OAuthError::Protocol(format!("{other}: {text}")),
    }
}

fn classify(e: RequestTokenError<HttpError, BasicErrorResponse>) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(err) => from_error_response(&err),
        RequestTokenError::Request(HttpError::Transport(t)) => OAuthError::Transient(t),
        RequestTokenError::Request(HttpError::Status(s)) => OAuthError::Transient(format!("HTTP {s}")),
        // The body may hold tokens: name the field that did not parse, never the body.
        RequestTokenError::Parse(err, _body) => {
            OAuthError::Protocol(format!("unreadable response at `{}`", err.path()))
        }
        RequestTokenError::Other(t) => OAuthError::Protocol(t),
    }
}

fn token_set(answer: SageTokenResponse) -> Result<TokenSet, OAuthError> {
    let access_expires_in =
        answer.expires_in().ok_or_else(|| OAuthError::Protocol("the answer has no expires_in".into()))?;
    let refresh_token = answer
        .refresh_token()
        .ok_or_else(|| OAuthError::Protocol("the answer has no refresh_token".into()))?
        .secret()
        .to_owned();
    let extra = answer.extra_fields();
    let refresh_expires_in = extra
        .refresh_token_expires_in
        .map(Duration::from_secs)
        .ok_or_else(|| OAuthError::Protocol("the answer has no refresh_token_expires_in".into()))?;
    let scope = answer.scopes().map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
    Ok(TokenSet {
        access_token: SecretString::from(answer.access_token().secret().to_owned()),
        access_expires_in,
        refresh_token: SecretString::from(refresh_token),
        refresh_expires_in,
        scope,
        requested_by_id: extra.requested_by_id.clone(),
    })
}

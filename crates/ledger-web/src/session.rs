//! Browser sessions: a random token in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` unless turned off
//! for plain-http development) whose SHA-256 names the session row. Signed-in forms carry the session's
//! CSRF token; the sign-in and sign-up forms use a double-submit cookie. Extractors: [`Signed`] (any
//! account), [`OperatorOnly`] (403 for others), [`MaybeSigned`], [`ClientIp`].
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ledger_store::accounts::{self, Account, Role};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{WebError, WebState};

pub use ledger_api::sage::SESSION_COOKIE;
/// The session cookie the embedded log reads inside the Magento admin's iframe (`SameSite=None`).
pub const EMBED_COOKIE: &str = "ledger_embed";
/// The double-submit CSRF cookie of the signed-out forms.
pub const FORM_COOKIE: &str = "ledger_form";

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool, same_site: &str) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite={same_site}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Constant-time comparison of a submitted token with the expected one.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// A signed-in visitor.
#[derive(Debug, Clone)]
pub struct Signed {
    pub account: Account,
    pub csrf: String,
    pub token_hash: Vec<u8>,
}

impl Signed {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if tokens_match(&self.csrf, submitted) { Ok(()) } else { Err(WebError::csrf()) }
    }

    pub fn is_operator(&self) -> bool {
        self.account.role == Role::Operator
    }

    pub fn chrome(&self) -> crate::layout::Chrome<'_> {
        crate::layout::Chrome { account: Some(&self.account), csrf: Some(&self.csrf) }
    }
}

async fn load(parts: &Parts, state: &WebState) -> Result<Option<Signed>, WebError> {
    load_cookie(state, &parts.headers, SESSION_COOKIE).await
}

/// The live session whose token cookie `name` carries.
pub async fn load_cookie(state: &WebState, headers: &HeaderMap, name: &str) -> Result<Option<Signed>, WebError> {
    let Some(token) = cookie(headers, name) else { return Ok(None) };
    let hash = token_hash(&token);
    Ok(accounts::session(&state.app.pool, &hash).await?.map(|s| Signed {
        account: s.account,
        csrf: s.csrf_token,
        token_hash: hash,
    }))
}

/// Where a signed-out visitor goes: the sign-in page, coming back here afterwards (GET only). htmx
/// fragment requests get a bare 401 instead of a page swapped into the table.
fn to_sign_in(parts: &Parts) -> Response {
    if parts.headers.contains_key("hx-request") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/dashboard");
    if parts.method == axum::http::Method::GET {
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        Redirect::to(&format!("/signin?{query}")).into_response()
    } else {
        Redirect::to("/signin").into_response()
    }
}

impl FromRequestParts<WebState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        match load(parts, state).await {
            Err(e) => Err(e.into_response()),
            Ok(None) => Err(to_sign_in(parts)),
            // A one-time password must be replaced before anything else.
            Ok(Some(s))
                if s.account.must_change_password && !matches!(parts.uri.path(), "/account/password" | "/signout") =>
            {
                Err(Redirect::to("/account/password").into_response())
            }
            Ok(Some(s)) => Ok(s),
        }
    }
}

impl OptionalFromRequestParts<WebState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Option<Self>, Self::Rejection> {
        load(parts, state).await.map_err(IntoResponse::into_response)
    }
}

/// A signed-in operator; signed-in merchants get 403.
pub struct OperatorOnly(pub Signed);

impl FromRequestParts<WebState> for OperatorOnly {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let signed = <Signed as FromRequestParts<WebState>>::from_request_parts(parts, state).await?;
        if signed.is_operator() {
            Ok(Self(signed))
        } else {
            Err(WebError::Forbidden("This page is for Ledger operators.").into_response())
        }
    }
}

/// The visitor, when signed in.
pub type MaybeSigned = Option<Signed>;

/// The client's address as the server saw it (the TCP peer; behind a proxy that is the proxy, so the
/// per-address throttle then counts all visitors together — see docs/dashboard.md).
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(Self(ip.unwrap_or_else(|| "unknown".into())))
    }
}

/// Signs `account` in: a new session row and its cookies (the dashboard's, and the embed's for the
/// Magento admin's iframe).
pub async fn start(state: &WebState, account: &Account) -> Result<[HeaderValue; 2], WebError> {
    let token = crate::accounts::random_token();
    let csrf = crate::accounts::random_token();
    let ttl = state.config.session_ttl;
    accounts::create_session(&state.app.pool, &token_hash(&token), account.id, &csrf, ttl).await?;
    Ok([
        set_cookie(SESSION_COOKIE, &token, ttl.as_secs(), state.config.secure_cookies, "Lax"),
        embed_cookie(&token, ttl.as_secs()),
    ])
}

/// The embed's cookie: sent in third-party frames, so `SameSite=None`, which browsers accept only with
/// `Secure` (they treat `http://localhost` as secure for development).
pub fn embed_cookie(token: &str, max_age_secs: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{EMBED_COOKIE}={token}; Path=/embed; Max-Age={max_age_secs}; HttpOnly; SameSite=None; Secure"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; ledger_session=abc; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("ledger_form=xyz"));
        assert_eq!(cookie(&h, "ledger_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "ledger_form").as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "ledger"), None);
    }

    #[test]
    fn cookie_attributes() {
        let v = set_cookie("s", "t", 60, true, "Lax");
        assert_eq!(v.to_str().unwrap(), "s=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        let v = set_cookie("s", "t", 60, false, "Lax");
        assert!(!v.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn csrf_tokens_compare_exactly() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", ""));
        assert!(!tokens_match("", ""), "an empty expected token never matches");
    }
}

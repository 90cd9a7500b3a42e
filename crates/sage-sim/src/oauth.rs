//! OAuth 2.0 server: consent page (`/oauth2/auth/central`), `/token` (code and refresh grants), `/revoke`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::OAuthError;
use crate::state::{AccessToken, AuthCode, RefreshToken, Sim, lock};

type Params = HashMap<String, String>;

/// Whether `uri` is a redirect URI the registered client may use (any loopback, or configured).
fn redirect_allowed(sim: &Sim, uri: &str) -> bool {
    if sim.config.extra_redirect_uris.iter().any(|u| u == uri) {
        return true;
    }
    match url::Url::parse(uri) {
        Ok(u) => {
            matches!(u.scheme(), "http" | "https") && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        }
        Err(_) => false,
    }
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

fn error_redirect(p: &Params, error: &str, description: &str) -> Response {
    let redirect = p.get("redirect_uri").map(String::as_str).unwrap_or_default();
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = p.get("state") {
        pairs.push(("state", s.as_str()));
    }
    redirect_with(redirect, &pairs)
}

/// Validate an authorize request; `Err` is the response to send.
fn check_authorize(sim: &Sim, p: &Params) -> Result<(), Box<Response>> {
    if p.get("client_id") != Some(&sim.config.client_id) {
        return Err(Box::new((StatusCode::BAD_REQUEST, Html("<h1>Unknown client_id</h1>")).into_response()));
    }
    match p.get("redirect_uri") {
        Some(r) if redirect_allowed(sim, r) => {}
        _ => {
            return Err(Box::new(
                (StatusCode::BAD_REQUEST, Html("<h1>redirect_uri not registered</h1>")).into_response(),
            ));
        }
    }
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err(Box::new(error_redirect(p, "unsupported_response_type", "response_type must be code")));
    }
    if let Some(scope) = p.get("scope").or_else(|| p.get("scopes"))
        && scope != "full_access"
        && scope != "readonly"
    {
        return Err(Box::new(error_redirect(p, "invalid_scope", "scope must be full_access or readonly")));
    }
    if let Some(c) = p.get("country")
        && !c.eq_ignore_ascii_case("gb")
    {
        return Err(Box::new(error_redirect(p, "access_denied", "This user's businesses are in GB")));
    }
    if let Some(ch) = p.get("code_challenge") {
        let method = p.get("code_challenge_method").map(String::as_str).unwrap_or("plain");
        if !(43..=128).contains(&ch.len()) || !matches!(method, "S256" | "plain") {
            return Err(Box::new(error_redirect(p, "invalid_request", "bad code_challenge or code_challenge_method")));
        }
    }
    Ok(())
}

/// Issue a code and redirect back to the client.
fn approve(sim: &Sim, p: &Params) -> Response {
    let code = format!("GB/{:032x}", rand::thread_rng().r#gen::<u128>());
    let challenge = p
        .get("code_challenge")
        .map(|c| (c.clone(), p.get("code_challenge_method").cloned().unwrap_or_else(|| "plain".to_owned())));
    let entry = AuthCode {
        client_id: sim.config.client_id.clone(),
        redirect_uri: p.get("redirect_uri").cloned().unwrap_or_default(),
        user_id: sim.user().id,
        scope: p.get("scope").or_else(|| p.get("scopes")).cloned().unwrap_or_else(|| "full_access".to_owned()),
        challenge,
        expires: Instant::now() + sim.config.code_ttl,
        used: false,
    };
    let redirect = entry.redirect_uri.clone();
    lock(&sim.auth).codes.insert(code.clone(), entry);
    let mut pairs = vec![("code", code.as_str()), ("country", "GB")];
    if let Some(s) = p.get("state") {
        pairs.push(("state", s.as_str()));
    }
    redirect_with(&redirect, &pairs)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `GET /oauth2/auth/central`: the consent page, or a straight redirect with `--auto-approve`.
pub async fn authorize(State(sim): State<Arc<Sim>>, Query(p): Query<Params>) -> Response {
    if let Err(resp) = check_authorize(&sim, &p) {
        return *resp;
    }
    if sim.config.auto_approve {
        return approve(&sim, &p);
    }
    let user = sim.user();
    let hidden: String =
        p.iter().map(|(k, v)| format!(r#"<input type="hidden" name="{}" value="{}">"#, escape(k), escape(v))).collect();
    Html(format!(
        "<!doctype html><html><head><title>Sage Accounting (simulated) - sign in</title></head><body>\
         <h1>Sage Accounting (simulator)</h1><p>Allow <b>{}</b> to access the businesses of {} {} ({})?</p>\
         <form method=\"post\" action=\"/oauth2/auth/central\">{hidden}\
         <button name=\"decision\" value=\"approve\">Allow</button> \
         <button name=\"decision\" value=\"deny\">Deny</button></form></body></html>",
        escape(&sim.config.client_id),
        escape(&user.first_name),
        escape(&user.last_name),
        escape(&user.email)
    ))
    .into_response()
}

/// `POST /oauth2/auth/central`: the consent form's answer.
pub async fn consent(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let p: Params = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Err(resp) = check_authorize(&sim, &p) {
        return *resp;
    }
    if p.get("decision").map(String::as_str) == Some("approve") {
        approve(&sim, &p)
    } else {
        error_redirect(&p, "access_denied", "The user denied access")
    }
}

/// A JWT-shaped opaque token about as long as Sage's (~1300 chars).
fn mint(kind: &str, client: &str, user: &str, ttl_secs: u64) -> String {
    let mut rng = rand::thread_rng();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let now = chrono::Utc::now().timestamp();
    let pad: String = (0..24).map(|_| format!("{:032x}", rng.r#gen::<u128>())).collect();
    let payload = json!({
        "typ": kind, "sub": user, "client_id": client, "iat": now,
        "exp": now + i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
        "jti": format!("{:032x}", rng.r#gen::<u128>()), "ctx": pad,
    });
    let sig: Vec<u8> = (0..256).map(|_| rng.r#gen::<u8>()).collect();
    format!("{header}.{}.{}", URL_SAFE_NO_PAD.encode(payload.to_string()), URL_SAFE_NO_PAD.encode(sig))
}

/// Client id and secret from the form or (if enabled) HTTP Basic auth.
fn client_credentials(sim: &Sim, headers: &HeaderMap, p: &Params) -> Result<(), OAuthError> {
    let mut id = p.get("client_id").cloned();
    let mut secret = p.get("client_secret").cloned();
    if sim.config.token_basic_auth
        && let Some(raw) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(b64) = raw.strip_prefix("Basic ")
        && let Ok(decoded) = STANDARD.decode(b64.trim())
        && let Ok(text) = String::from_utf8(decoded)
        && let Some((i, s)) = text.split_once(':')
    {
        id = Some(i.to_owned());
        secret = Some(s.to_owned());
    }
    if id.as_deref() == Some(sim.config.client_id.as_str())
        && secret.as_deref() == Some(sim.config.client_secret.as_str())
    {
        Ok(())
    } else {
        Err(OAuthError::new("invalid_client", "Client authentication failed"))
    }
}

fn issue(sim: &Sim, user_id: &str, scope: &str) -> serde_json::Value {
    let cfg = &sim.config;
    let access_ttl = cfg.access_token_ttl.as_secs().max(1);
    let refresh_ttl = cfg.refresh_token_ttl.as_secs().max(1);
    let access = mint("access", &cfg.client_id, user_id, access_ttl);
    let refresh = mint("refresh", &cfg.client_id, user_id, refresh_ttl);
    let now = Instant::now();
    {
        let mut auth = lock(&sim.auth);
        auth.access.insert(
            access.clone(),
            AccessToken {
                client_id: cfg.client_id.clone(),
                user_id: user_id.to_owned(),
                scope: scope.to_owned(),
                expires: now + cfg.access_token_ttl,
            },
        );
        auth.refresh.insert(
            refresh.clone(),
            RefreshToken {
                client_id: cfg.client_id.clone(),
                user_id: user_id.to_owned(),
                scope: scope.to_owned(),
                expires: now + cfg.refresh_token_ttl,
                revoked: false,
                rotated_at: None,
                stale: false,
            },
        );
    }
    json!({
        "access_token": access,
        "scope": scope,
        "token_type": "bearer",
        "expires_in": access_ttl,
        "refresh_token": refresh,
        "refresh_token_expires_in": refresh_ttl,
        "requested_by_id": sim.user().uuid,
    })
}

fn code_grant(sim: &Sim, p: &Params) -> Result<serde_json::Value, OAuthError> {
    let code = p.get("code").ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
    let (user, scope) = {
        let mut auth = lock(&sim.auth);
        let entry = auth.codes.get_mut(code).ok_or_else(|| OAuthError::invalid_grant("Unknown authorization code"))?;
        if entry.used {
            return Err(OAuthError::invalid_grant("Authorization code has already been used"));
        }
        if Instant::now() >= entry.expires {
            return Err(OAuthError::invalid_grant("Authorization code has expired"));
        }
        if p.get("redirect_uri") != Some(&entry.redirect_uri) {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
        }
        if let Some((challenge, method)) = &entry.challenge {
            let verifier =
                p.get("code_verifier").ok_or_else(|| OAuthError::invalid_grant("code_verifier is required"))?;
            let computed = if method == "S256" {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
            } else {
                verifier.clone()
            };
            if &computed != challenge {
                return Err(OAuthError::invalid_grant("code_verifier does not match code_challenge"));
            }
        }
        entry.used = true;
        (entry.user_id.clone(), entry.scope.clone())
    };
    Ok(issue(sim, &user, &scope))
}

fn refresh_grant(sim: &Sim, p: &Params) -> Result<serde_json::Value, OAuthError> {
    let token =
        p.get("refresh_token").ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
    let (user, scope) = {
        let mut auth = lock(&sim.auth);
        let entry = auth.refresh.get_mut(token).ok_or_else(|| OAuthError::invalid_grant("Unknown refresh token"))?;
        let now = Instant::now();
        if entry.revoked {
            return Err(OAuthError::invalid_grant("Refresh token has been revoked"));
        }
        if now >= entry.expires {
            return Err(OAuthError::invalid_grant("Refresh token has expired"));
        }
        if entry.stale {
            return Err(OAuthError::invalid_grant("Refresh token is no longer valid"));
        }
        if let Some(at) = entry.rotated_at
            && now.duration_since(at) >= sim.config.refresh_grace
        {
            return Err(OAuthError::invalid_grant("Refresh token has already been used"));
        }
        entry.rotated_at.get_or_insert(now);
        (entry.user_id.clone(), entry.scope.clone())
    };
    Ok(issue(sim, &user, &scope))
}

/// `POST /token`: `authorization_code` and `refresh_token` grants, form-encoded.
pub async fn token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let p: Params = match serde_urlencoded::from_bytes(&body) {
        Ok(p) => p,
        Err(_) => return OAuthError::new("invalid_request", "Body must be form-encoded").into_response(),
    };
    if let Err(e) = client_credentials(&sim, &headers, &p) {
        return e.into_response();
    }
    let result = match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(&sim, &p),
        Some("refresh_token") => refresh_grant(&sim, &p),
        Some(_) => Err(OAuthError::new("unsupported_grant_type", "grant_type is not supported")),
        None => Err(OAuthError::new("invalid_request", "grant_type is required")),
    };
    match result {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /revoke`: revoke a refresh token; always `{"success":"ok"}` for an authenticated client.
pub async fn revoke(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let p: Params = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Err(e) = client_credentials(&sim, &headers, &p) {
        return e.into_response();
    }
    let Some(token) = p.get("token") else {
        return OAuthError::new("invalid_request", "token is required").into_response();
    };
    if let Some(entry) = lock(&sim.auth).refresh.get_mut(token) {
        entry.revoked = true;
    }
    (StatusCode::OK, axum::Json(json!({"success": "ok"}))).into_response()
}

/// Force every access token to expire now (`/_sim/auth` `expire_tokens`).
pub fn expire_all(sim: &Sim) {
    let now = Instant::now();
    for t in lock(&sim.auth).access.values_mut() {
        t.expires = now;
    }
}

/// Make every outstanding refresh token stale (`/_sim/auth` `stale_refresh`).
pub fn stale_all(sim: &Sim) {
    for t in lock(&sim.auth).refresh.values_mut() {
        t.stale = true;
    }
}

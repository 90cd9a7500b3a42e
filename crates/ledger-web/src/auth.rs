//! Sign-up, sign-in, sign-out and the password change (forced after a one-time operator password).
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ledger_store::accounts as store;
use maud::{Markup, html};
use serde::Deserialize;

use crate::accounts::{self, AccountError};
use crate::layout::{self, Chrome, csrf_field};
use crate::session::{
    self, ClientIp, FORM_COOKIE, MaybeSigned, SESSION_COOKIE, Signed, cookie, set_cookie, tokens_match,
};
use crate::{WebError, WebState};

/// Only local paths are followed after signing in (no `//host` or absolute URLs: no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/dashboard",
    }
}

/// The double-submit token of the signed-out forms, and the cookie to set when the browser has none.
pub(crate) fn form_token(state: &WebState, headers: &HeaderMap) -> (String, Option<axum::http::HeaderValue>) {
    match cookie(headers, FORM_COOKIE) {
        Some(t) => (t, None),
        None => {
            let t = accounts::random_token();
            let c = set_cookie(FORM_COOKIE, &t, 12 * 3600, state.config.secure_cookies, "Lax");
            (t, Some(c))
        }
    }
}

pub(crate) fn respond(status: StatusCode, set: Option<axum::http::HeaderValue>, markup: Markup) -> Response {
    let mut r = layout::html(markup);
    *r.status_mut() = status;
    if let Some(c) = set {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

struct FormView<'a> {
    csrf: &'a str,
    email: &'a str,
    next: Option<&'a str>,
    error: Option<(&'a str, String)>,
}

fn field_error(view: &FormView<'_>, field: &str) -> Markup {
    html! {
        @if let Some((f, message)) = &view.error {
            @if *f == field { p.field-error id={ (field) "-error" } { (message) } }
        }
    }
}

fn credentials_page(title: &str, action: &str, view: &FormView<'_>, new_password: bool) -> Markup {
    let described = |field: &str| view.error.as_ref().filter(|(f, _)| *f == field).map(|_| format!("{field}-error"));
    layout::page(
        title,
        Chrome::default(),
        html! {
            @if let Some(("form", message)) = view.error.as_ref().map(|(f, m)| (*f, m)) {
                p.alert role="alert" { (message) }
            }
            form method="post" action=(action) {
                (csrf_field(view.csrf))
                @if let Some(next) = view.next { input type="hidden" name="next" value=(next); }
                label for="email" { "Email" }
                input id="email" type="email" name="email" autocomplete="email" required value=(view.email)
                    aria-describedby=[described("email")];
                (field_error(view, "email"))
                label for="password" { "Password" }
                input id="password" type="password" name="password" required
                    autocomplete=(if new_password { "new-password" } else { "current-password" })
                    aria-describedby=[described("password")];
                @if new_password { p.muted { "At least 10 characters." } }
                (field_error(view, "password"))
                p { button type="submit" { (title) } }
            }
            @if new_password {
                p { "Already have an account? " a href="/signin" { "Sign in" } }
            } @else {
                p { "New to Ledger? " a href="/signup" { "Create an account" } }
                p { a href="/password/forgot" { "Forgot your password?" } }
            }
        },
    )
}

pub async fn signup_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let (token, set) = form_token(&state, &headers);
    let view = FormView { csrf: &token, email: "", next: None, error: None };
    respond(StatusCode::OK, set, credentials_page("Create your account", "/signup", &view, true))
}

pub async fn signup(State(state): State<WebState>, headers: HeaderMap, Form(form): Form<CredentialsForm>) -> Response {
    let (token, set) = form_token(&state, &headers);
    if set.is_some() || !tokens_match(&token, &form.csrf) {
        return WebError::csrf().into_response();
    }
    let error = match accounts::sign_up(&state.app.pool, &form.email, &form.password).await {
        Ok(account) => {
            tracing::info!(account_id = %account.id, "merchant account created");
            return signed_in(&state, &account, "/dashboard").await;
        }
        Err(AccountError::InvalidEmail) => {
            ("email", AccountError::InvalidEmail.to_string(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e @ AccountError::WeakPassword(_)) => ("password", e.to_string(), StatusCode::UNPROCESSABLE_ENTITY),
        Err(e @ AccountError::EmailTaken) => ("email", e.to_string(), StatusCode::CONFLICT),
        Err(e) => return internal(e),
    };
    let view = FormView { csrf: &token, email: &form.email, next: None, error: Some((error.0, error.1)) };
    respond(error.2, None, credentials_page("Create your account", "/signup", &view, true))
}

fn internal(e: AccountError) -> Response {
    match e {
        AccountError::Store(s) => WebError::from(s).into_response(),
        e => WebError::Internal(e.to_string()).into_response(),
    }
}

async fn signed_in(state: &WebState, account: &store::Account, next: &str) -> Response {
    match session::start(state, account).await {
        Ok(cookies) => {
            let mut r = Redirect::to(next).into_response();
            for cookie in cookies {
                r.headers_mut().append(header::SET_COOKIE, cookie);
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

pub async fn signin_page(
    State(state): State<WebState>,
    signed: MaybeSigned,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    if signed.is_some() {
        return Redirect::to(safe_next(q.next.as_deref())).into_response();
    }
    let (token, set) = form_token(&state, &headers);
    let view = FormView { csrf: &token, email: "", next: q.next.as_deref(), error: None };
    respond(StatusCode::OK, set, credentials_page("Sign in", "/signin", &view, false))
}

pub async fn signin(
    State(state): State<WebState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CredentialsForm>,
) -> Response {
    let (token, set) = form_token(&state, &headers);
    if set.is_some() || !tokens_match(&token, &form.csrf) {
        return WebError::csrf().into_response();
    }
    let throttle = &state.config.throttle;
    let (status, message) = match accounts::sign_in(&state.app.pool, throttle, &form.email, &form.password, &ip).await {
        Ok(account) => {
            tracing::info!(account_id = %account.id, "signed in");
            return signed_in(&state, &account, safe_next(form.next.as_deref())).await;
        }
        Err(e @ AccountError::WrongCredentials) => (StatusCode::UNAUTHORIZED, e.to_string()),
        // Browser forms only: the never-429 rule is for the module's webhook endpoints.
        Err(e @ AccountError::Throttled) => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        Err(e) => return internal(e),
    };
    let view =
        FormView { csrf: &token, email: &form.email, next: form.next.as_deref(), error: Some(("form", message)) };
    respond(status, None, credentials_page("Sign in", "/signin", &view, false))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn signout(State(state): State<WebState>, signed: Signed, Form(form): Form<CsrfForm>) -> Response {
    if let Err(e) = signed.check_csrf(&form.csrf) {
        return e.into_response();
    }
    if let Err(e) = store::delete_session(&state.app.pool, &signed.token_hash).await {
        return WebError::from(e).into_response();
    }
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies, "Lax"));
    r.headers_mut().append(header::SET_COOKIE, session::embed_cookie("", 0));
    r
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

fn password_form(signed: &Signed, error: Option<(&str, &str)>) -> Markup {
    let err = |field: &str| {
        html! { @if let Some((f, m)) = error { @if f == field { p.field-error id={ (field) "-error" } { (m) } } } }
    };
    layout::page(
        "Change your password",
        signed.chrome(),
        html! {
            @if signed.account.must_change_password {
                p.alert role="alert" { "You signed in with a one-time password. Choose your own before going on." }
            }
            form method="post" action="/account/password" {
                (csrf_field(&signed.csrf))
                label for="current" { "Current password" }
                input id="current" type="password" name="current" autocomplete="current-password" required;
                (err("current"))
                label for="new" { "New password" }
                input id="new" type="password" name="new" autocomplete="new-password" required;
                p.muted { "At least 10 characters." }
                (err("new"))
                label for="confirm" { "New password again" }
                input id="confirm" type="password" name="confirm" autocomplete="new-password" required;
                (err("confirm"))
                p { button type="submit" { "Change password" } }
            }
        },
    )
}

pub async fn password_page(signed: Signed) -> Response {
    layout::html(password_form(&signed, None))
}

pub async fn change_password(
    State(state): State<WebState>,
    signed: Signed,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(e) = signed.check_csrf(&form.csrf) {
        return e.into_response();
    }
    let refuse = |field: &str, message: &str| {
        let mut r = layout::html(password_form(&signed, Some((field, message))));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        r
    };
    if form.new != form.confirm {
        return refuse("confirm", "The two new passwords differ.");
    }
    let pool = &state.app.pool;
    match accounts::change_password(pool, signed.account.id, &form.current, &form.new, &signed.token_hash).await {
        Ok(()) => {
            tracing::info!(account_id = %signed.account.id, "password changed");
            Redirect::to("/dashboard").into_response()
        }
        Err(e @ AccountError::WrongCurrentPassword) => refuse("current", &e.to_string()),
        Err(e @ AccountError::WeakPassword(_)) => refuse("new", &e.to_string()),
        Err(e) => internal(e),
    }
}

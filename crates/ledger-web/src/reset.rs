//! Password reset: "forgot password" writes a single-use token (1 hour) and its message to the mail
//! outbox in one transaction, then delivers the outbox. No SMTP sender is built yet: delivery writes
//! the message (the reset link included, nothing else secret) to the log, which is the development
//! mode the docs describe. The answer never says whether the email has an account.
use std::time::Duration;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ledger_store::{PgPool, StoreError, accounts as store, resets};
use maud::{Markup, html};
use serde::Deserialize;

use crate::accounts::random_token;
use crate::auth::{form_token, respond};
use crate::layout::{self, Chrome, csrf_field};
use crate::session::{token_hash, tokens_match};
use crate::{WebError, WebState, password};

/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(3600);

fn forgot_form(csrf: &str, notice: Option<&str>) -> Markup {
    layout::page(
        "Reset your password",
        Chrome::default(),
        html! {
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            form method="post" action="/password/forgot" {
                (csrf_field(csrf))
                label for="email" { "Email" }
                input id="email" type="email" name="email" autocomplete="email" required;
                p { button type="submit" { "Send me a reset link" } }
            }
            p { a href="/signin" { "Back to sign in" } }
        },
    )
}

pub async fn forgot_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let (token, set) = form_token(&state, &headers);
    respond(StatusCode::OK, set, forgot_form(&token, None))
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn forgot(State(state): State<WebState>, headers: HeaderMap, Form(form): Form<ForgotForm>) -> Response {
    let (csrf, set) = form_token(&state, &headers);
    if set.is_some() || !tokens_match(&csrf, &form.csrf) {
        return WebError::csrf().into_response();
    }
    let pool = &state.app.pool;
    let run = async {
        if let Some(account) = store::find_by_email(pool, form.email.trim()).await? {
            let token = random_token();
            let base = ledger_api::stores::ledger_base_url(&state.app, &headers);
            let link = format!("{base}/password/reset?token={token}");
            let body = format!(
                "Someone asked to reset the password of your Ledger account.\n\nTo choose a new one, open {link}\n\nThe link works once, for an hour. If it was not you, ignore this message."
            );
            resets::create(
                pool,
                account.id,
                &token_hash(&token),
                RESET_TTL,
                &account.email,
                "Reset your Ledger password",
                &body,
            )
            .await?;
            tracing::info!(account_id = %account.id, "password reset requested");
        }
        if state.config.log_mail_inline { deliver(pool).await } else { Ok(()) }
    };
    if let Err(e) = run.await {
        return WebError::from(e).into_response();
    }
    let notice = "If an account exists for that address, a reset link is on its way. It works once, for an hour.";
    respond(StatusCode::OK, None, forgot_form(&csrf, Some(notice)))
}

/// Delivers the outbox. Without an SMTP sender the message goes to the log (development mode): the
/// reset link is the only secret written there.
pub async fn deliver(pool: &PgPool) -> Result<(), StoreError> {
    for mail in resets::unsent(pool, 20).await? {
        tracing::info!(outbox_id = mail.id, to = %mail.recipient, subject = %mail.subject, body = %mail.body,
            "mail (no SMTP sender configured: logged instead)");
        resets::record_delivery(pool, mail.id, None).await?;
    }
    Ok(())
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn reset_form(csrf: &str, token: &str, error: Option<&str>) -> Markup {
    layout::page(
        "Choose a new password",
        Chrome::default(),
        html! {
            form method="post" action="/password/reset" {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(token);
                label for="new" { "New password" }
                input id="new" type="password" name="new" autocomplete="new-password" required
                    aria-describedby=[error.map(|_| "new-error")];
                p.muted { "At least 10 characters." }
                @if let Some(e) = error { p.field-error id="new-error" role="alert" { (e) } }
                label for="confirm" { "New password again" }
                input id="confirm" type="password" name="confirm" autocomplete="new-password" required;
                p { button type="submit" { "Set password" } }
            }
        },
    )
}

fn spent() -> Response {
    let mut r = layout::html(layout::message_page(
        "This link does not work",
        "Reset links work once, for an hour. Ask for a new one from the sign-in page.",
    ));
    *r.status_mut() = StatusCode::GONE;
    r
}

pub async fn reset_page(State(state): State<WebState>, headers: HeaderMap, Query(q): Query<TokenQuery>) -> Response {
    match resets::is_valid(&state.app.pool, &token_hash(&q.token)).await {
        Ok(true) => {
            let (csrf, set) = form_token(&state, &headers);
            respond(StatusCode::OK, set, reset_form(&csrf, &q.token, None))
        }
        Ok(false) => spent(),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn reset(State(state): State<WebState>, headers: HeaderMap, Form(form): Form<ResetForm>) -> Response {
    let (csrf, set) = form_token(&state, &headers);
    if set.is_some() || !tokens_match(&csrf, &form.csrf) {
        return WebError::csrf().into_response();
    }
    let refuse = |m: &str| respond(StatusCode::UNPROCESSABLE_ENTITY, None, reset_form(&csrf, &form.token, Some(m)));
    if form.new != form.confirm {
        return refuse("The two passwords differ.");
    }
    if let Err(m) = password::check_new(&form.new) {
        return refuse(&m);
    }
    let hash = match password::hash(form.new.clone()).await {
        Ok(h) => h,
        Err(e) => return WebError::Internal(e).into_response(),
    };
    match resets::consume(&state.app.pool, &token_hash(&form.token), &hash).await {
        Ok(Some(account)) => {
            tracing::info!(account_id = %account, "password reset");
            layout::html(layout::message_page("Password changed", "Your password is changed. Sign in with it now."))
        }
        Ok(None) => spent(),
        Err(e) => WebError::from(e).into_response(),
    }
}

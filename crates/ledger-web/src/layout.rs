//! The page shell (skip link, header, navigation, sign-out form), state chips, times, and the response
//! headers every page carries (no framing, no sniffing, no caching of signed-in pages).
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use ledger_store::accounts::{Account, Role};
use maud::{DOCTYPE, Markup, html};

/// Who is looking, for the header: their account and the session's CSRF token.
#[derive(Clone, Copy, Default)]
pub struct Chrome<'a> {
    pub account: Option<&'a Account>,
    pub csrf: Option<&'a str>,
}

/// Answers `markup` as a page with the dashboard's security headers.
pub fn html(markup: Markup) -> Response {
    with_headers(Html(markup.into_string()).into_response(), "'none'")
}

/// Adds the dashboard's headers; `frame_ancestors` is a CSP source list (`'none'` except for embeds).
pub fn with_headers(mut response: Response, frame_ancestors: &str) -> Response {
    let h = response.headers_mut();
    let csp = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         base-uri 'none'; object-src 'none'; frame-ancestors {frame_ancestors}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `<head>` every page shares: viewport for phones, the stylesheet and htmx from the binary.
pub fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
            title { (title) " · Ledger" }
            link rel="stylesheet" href="/assets/app.css";
            script src="/assets/htmx.min.js" defer {}
        }
    }
}

pub fn page(title: &str, chrome: Chrome<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/dashboard" { "Ledger" }
                    @if let Some(account) = chrome.account {
                        nav aria-label="Main" {
                            a href="/dashboard" { "Stores" }
                            @if account.role == Role::Operator {
                                a href="/ops" { "Console" }
                                a href="/ops/failures" { "Failures" }
                                a href="/ops/audit" { "Audit log" }
                            }
                            a href="/account/password" { "Password" }
                        }
                        form.signout method="post" action="/signout" {
                            input type="hidden" name="csrf" value=(chrome.csrf.unwrap_or(""));
                            span.who { (account.email) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page holding a single message (errors, confirmations).
pub fn message_page(title: &str, text: &str) -> Markup {
    page(
        title,
        Chrome::default(),
        html! {
            p { (text) }
            p { a href="/dashboard" { "Back to your stores" } }
        },
    )
}

/// A run state as a coloured chip with its name written out (colour is never the only signal).
pub fn chip(state: &str) -> Markup {
    let label = state.replace('_', " ");
    html! { span class={ "chip chip-" (state) } { (label) } }
}

/// A time as `2026-12-04 14:55:03 UTC`, machine-readable in `datetime`.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

pub fn opt_time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { "—" },
    }
}

/// A short age such as `3 min` or `2 h 5 min`.
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - since).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The hidden CSRF field of a form.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        let now = Utc::now();
        assert_eq!(age(now - chrono::Duration::seconds(5), now), "5 s");
        assert_eq!(age(now - chrono::Duration::seconds(125), now), "2 min");
        assert_eq!(age(now - chrono::Duration::seconds(7500), now), "2 h 5 min");
        assert_eq!(age(now - chrono::Duration::seconds(90_000 + 3600), now), "1 d 2 h");
        assert_eq!(age(now + chrono::Duration::seconds(5), now), "0 s", "clock skew shows as now");
    }

    #[test]
    fn markup_is_escaped() {
        let out = message_page("Oops", "<script>alert(1)</script>").into_string();
        assert!(out.contains("&lt;script&gt;"), "{out}");
        assert!(!out.contains("<script>alert"));
    }
}

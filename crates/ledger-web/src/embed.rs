//! `/embed/{tenant_id}`: the store's log in a compact layout for the Magento admin's iframe. Framing is
//! limited to that tenant's admin origin (`Content-Security-Policy: frame-ancestors`; the per-tenant
//! setting, else the paired base URL's origin). Inside a third-party frame the `SameSite=Lax` session
//! cookie is not sent, so signing in also sets `ledger_embed` (`SameSite=None; Secure`, `Path=/embed`,
//! same token); signed-out visitors get a sign-in link that opens a new window, not a broken frame.
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ledger_domain::TenantId;
use ledger_store::tenants;
use ledger_sync::operations::{self, EventPage, ListParams};
use maud::{DOCTYPE, Markup, html};

use crate::layout::{self, chip, time};
use crate::session::{self, EMBED_COOKIE, SESSION_COOKIE, Signed};
use crate::{WebError, WebState};

/// `scheme://host[:port]` of `url`, for `frame-ancestors`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    matches!(scheme, "http" | "https").then(|| format!("{scheme}://{host}"))
}

fn shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (layout::head(title))
            body.embed { main { (body) } }
        }
    }
}

fn tbody(tenant: TenantId, page: &EventPage) -> Markup {
    html! {
        tbody id="embed-rows" hx-get={ "/embed/" (tenant) "/rows" } hx-trigger="every 2s" hx-swap="outerHTML" {
            @for item in &page.items {
                tr {
                    td { (time(item.received_at)) }
                    td { (item.event.as_str()) " " (item.increment_id.as_deref().unwrap_or("")) }
                    td { (chip(item.state.as_str())) }
                    td { (item.sage_reference.as_deref().unwrap_or("—")) }
                }
            }
            @if page.items.is_empty() { tr { td colspan="4" { "No events yet." } } }
        }
    }
}

async fn visitor(state: &WebState, headers: &HeaderMap) -> Result<Option<Signed>, WebError> {
    for name in [EMBED_COOKIE, SESSION_COOKIE] {
        if let Some(s) = session::load_cookie(state, headers, name).await? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// The tenant and the `frame-ancestors` source for it (`'none'` when it has no origin).
async fn framing(state: &WebState, raw: &str) -> Result<(TenantId, String), WebError> {
    let tenant: TenantId = raw.parse().map_err(|_| WebError::NotFound)?;
    let t = tenants::get(&state.app.pool, tenant).await?.ok_or(WebError::NotFound)?;
    let origin = match tenants::embed_origin(&state.app.pool, tenant).await? {
        Some(o) => Some(o),
        None => t.magento_base_url.as_deref().and_then(origin_of),
    };
    Ok((tenant, origin.unwrap_or_else(|| "'none'".into())))
}

async fn render(state: &WebState, headers: &HeaderMap, raw: &str, rows_only: bool) -> Result<Response, WebError> {
    let (tenant, ancestors) = framing(state, raw).await?;
    let frame = |markup: Markup, status: StatusCode| {
        let mut r = layout::with_headers(axum::response::Html(markup.into_string()).into_response(), &ancestors);
        *r.status_mut() = status;
        r
    };
    let Some(signed) = visitor(state, headers).await? else {
        if rows_only {
            return Ok(StatusCode::UNAUTHORIZED.into_response());
        }
        let body = html! {
            p { "Sign in to Ledger to see this store's sync log here." }
            p { a.button href={ "/signin?next=%2Fstores%2F" (tenant) "%2Fevents" } target="_blank" rel="noopener" { "Sign in to Ledger (opens a new window)" } }
            p.muted { "After signing in, reload this page." }
        };
        return Ok(frame(shell("Ledger", body), StatusCode::OK));
    };
    if crate::dashboard::authorize_tenant(state, &signed, raw).await.is_err() {
        return Ok(frame(layout::message_page("Not found", &WebError::NotFound.to_string()), StatusCode::NOT_FOUND));
    }
    let params = ListParams { limit: Some("20".into()), ..ListParams::default() };
    let page = operations::list(&state.app.pool, tenant, &params).await?;
    if rows_only {
        return Ok(frame(tbody(tenant, &page), StatusCode::OK));
    }
    let body = html! {
        p { a href={ "/stores/" (tenant) "/events" } target="_blank" rel="noopener" { "Open the full log in Ledger" } }
        div.table-wrap { table {
            caption.muted { "Latest events; states update by themselves." }
            thead { tr { th scope="col" { "Received" } th scope="col" { "Event" } th scope="col" { "State" } th scope="col" { "Sage" } } }
            (tbody(tenant, &page))
        } }
    };
    Ok(frame(shell("Ledger sync log", body), StatusCode::OK))
}

pub async fn page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    render(&state, &headers, &raw, false).await
}

pub async fn rows(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    render(&state, &headers, &raw, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_keep_scheme_host_and_port_only() {
        assert_eq!(origin_of("https://shop.example/magento/").as_deref(), Some("https://shop.example"));
        assert_eq!(origin_of("http://127.0.0.1:8091").as_deref(), Some("http://127.0.0.1:8091"));
        assert_eq!(origin_of("ftp://x"), None);
        assert_eq!(origin_of("https://"), None);
    }
}

//! `/stores/{tenant_id}/settings`: the store's own settings page. Today the origin allowed to frame
//! the embedded log (`/embed/{tenant_id}`): the Magento admin often lives on another host than the
//! storefront the store was paired with, and the iframe is refused until this names it.
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ledger_domain::TenantId;
use ledger_store::tenants;
use maud::{Markup, html};
use serde::Deserialize;

use crate::dashboard::authorize_tenant;
use crate::embed::origin_of;
use crate::layout::{self, csrf_field};
use crate::session::Signed;
use crate::{WebError, WebState};

pub async fn page(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let current = tenants::embed_origin(&state.app.pool, tenant).await?;
    render(&state, &signed, tenant, current.as_deref().unwrap_or(""), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct OriginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    embed_origin: String,
}

pub async fn save(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<OriginForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let typed = form.embed_origin.trim();
    let origin = if typed.is_empty() {
        None
    } else {
        match origin_of(typed).filter(|o| o == typed.trim_end_matches('/')) {
            Some(o) => Some(o),
            None => {
                let message =
                    "Enter only the scheme and host of the Magento admin, like https://admin.shop.example (no path).";
                return render(&state, &signed, tenant, typed, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        }
    };
    tenants::set_embed_origin(&state.app.pool, tenant, origin.as_deref()).await?;
    tracing::info!(tenant_id = %tenant, origin = ?origin, account_id = %signed.account.id, "embed origin set");
    Ok(Redirect::to(&format!("/stores/{tenant}/settings?saved=1")).into_response())
}

async fn render(
    state: &WebState,
    signed: &Signed,
    tenant: TenantId,
    value: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let t = tenants::get(&state.app.pool, tenant).await?.ok_or(WebError::NotFound)?;
    let paired = t.magento_base_url.as_deref().and_then(origin_of);
    let body: Markup = html! {
        h2 { "Store settings" }
        form method="post" action={ "/stores/" (tenant) "/settings" } {
            (csrf_field(&signed.csrf))
            label for="embed_origin" { "Magento admin address (for the embedded sync log)" }
            p.hint id="embed_origin-hint" {
                "The Magento admin shows this store's sync log in a frame. Browsers only allow it from this address. "
                @match &paired {
                    Some(p) => { "Leave it empty to use the store's address, " code { (p) } "." }
                    None => { "The store is not paired yet." }
                }
            }
            input id="embed_origin" type="url" name="embed_origin" value=(value) placeholder="https://admin.shop.example"
                aria-describedby={ "embed_origin-hint" @if error.is_some() { " embed_origin-error" } };
            @if let Some(e) = error { p.field-error id="embed_origin-error" { (e) } }
            p { button type="submit" { "Save" } }
        }
        p { a href={ "/stores/" (tenant) "/events" } { "Back to the events" } }
    };
    let mut r = layout::html(layout::page(&t.name, signed.chrome(), body));
    *r.status_mut() = status;
    Ok(r)
}

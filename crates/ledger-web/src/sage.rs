//! The store's Sage page: connect (the OAuth redirect, its `state` bound to this browser's session),
//! the business picker when the Sage user has several, the tier and what it allows, a loud
//! `reconnect required` with its button, and disconnect after a confirmation. All through
//! `ledger_sync::sage::connect::SageConnect`, like the JSON routes.
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ledger_domain::mapping::Capabilities;
use ledger_domain::{BindingStatus, SageBusinessId, TenantId};
use ledger_store::bindings::{self, Binding, BusinessChoice};
use ledger_sync::sage::connect::{ConnectError, SageConnect};
use maud::{Markup, html};
use serde::Deserialize;

use crate::dashboard::authorize_tenant;
use crate::layout::{self, csrf_field};
use crate::session::Signed;
use crate::{WebError, WebState};

fn service(state: &WebState) -> Result<&Arc<SageConnect>, WebError> {
    state.app.sage.as_ref().ok_or(WebError::NotFound)
}

fn connect_error(e: ConnectError) -> WebError {
    match e {
        ConnectError::Store(s) => s.into(),
        ConnectError::UnknownTenant => WebError::NotFound,
        other => WebError::BadRequest(other.to_string()),
    }
}

fn tier_text(c: Capabilities) -> Markup {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    html! {
        ul {
            li { "Invoices, customers and payments: yes" }
            li { "Products and services: " (yes_no(c.products)) }
            li { "Refunds (credit notes and customer refunds): " (yes_no(c.refunds)) }
            li { "Stock levels: " (yes_no(c.stock)) }
            li { "Documents in other currencies: " (yes_no(c.multi_currency)) }
        }
        p.muted { "What your plan cannot do is skipped with a reason you can see in the event log." }
    }
}

fn connect_button(tenant: TenantId, csrf: &str, label: &str) -> Markup {
    html! {
        form method="post" action={ "/stores/" (tenant) "/sage/connect" } {
            (csrf_field(csrf))
            button type="submit" { (label) }
        }
    }
}

fn picker(tenant: TenantId, csrf: &str, choices: &[BusinessChoice]) -> Markup {
    html! {
        form method="post" action={ "/stores/" (tenant) "/sage/business" } {
            (csrf_field(csrf))
            fieldset {
                legend { "Which Sage business should this store sync to?" }
                @for b in choices {
                    @let id = format!("business-{}", b.id);
                    div {
                        input type="radio" name="business_id" id=(id) value=(b.id.to_string()) disabled[!b.pickable()] required;
                        label.inline for=(id) {
                            (b.name) " · " (b.tier.map(|t| t.as_str()).unwrap_or("no active subscription"))
                        }
                    }
                }
            }
            p { button type="submit" { "Use this business" } }
        }
    }
}

fn status_panel(tenant: TenantId, signed: &Signed, binding: Option<&Binding>, choices: &[BusinessChoice]) -> Markup {
    let csrf = signed.csrf.as_str();
    html! {
        @match binding.map(|b| b.status) {
            None | Some(BindingStatus::Disconnected) => {
                p { "This store is not connected to Sage Business Cloud Accounting. Connect it to start syncing." }
                (connect_button(tenant, csrf, "Connect Sage"))
            }
            Some(BindingStatus::ReconnectRequired) => {
                div.alert role="alert" {
                    h2 { "Reconnect required" }
                    p { "Sage no longer accepts the ledger's access for this store, so nothing is being synced. Your events wait and are synced once you reconnect." }
                    @if let Some(r) = binding.and_then(|b| b.status_reason.as_deref()) { p.muted { "Sage said: " (r) } }
                    (connect_button(tenant, csrf, "Reconnect Sage"))
                }
            }
            Some(BindingStatus::Suspended) => {
                div.alert role="alert" {
                    h2 { "Sage subscription inactive" }
                    p { "Sage says this business's subscription has lapsed. Renew it in Sage, then reconnect." }
                    (connect_button(tenant, csrf, "Reconnect Sage"))
                }
            }
            Some(BindingStatus::Connecting) => {
                @if choices.is_empty() {
                    p { "The connection was not finished." }
                    (connect_button(tenant, csrf, "Connect Sage"))
                } @else {
                    (picker(tenant, csrf, choices))
                }
            }
            Some(BindingStatus::Active) => {
                @if let Some(b) = binding {
                    p.notice role="status" {
                        "Connected to " strong { (b.business_name.as_deref().unwrap_or("your Sage business")) }
                        @if let Some(t) = b.tier { " on the " strong { (t.as_str()) } " plan" } "."
                    }
                    p { a.button href={ "/stores/" (tenant) "/sage/policy" } { "Edit the sync policy" } }
                    @if let Some(t) = b.tier { h2 { "What your plan allows" } (tier_text(Capabilities::of(t))) }
                }
            }
        }
        @if binding.is_some_and(|b| b.status != BindingStatus::Disconnected) {
            h2 { "Disconnect" }
            p { "Disconnecting revokes the ledger's access at Sage. Events keep arriving and wait until you connect again." }
            form method="post" action={ "/stores/" (tenant) "/sage/disconnect" } {
                (csrf_field(csrf))
                button.secondary type="submit" { "Disconnect Sage…" }
            }
        }
    }
}

async fn render(state: &WebState, signed: &Signed, tenant: TenantId, status: StatusCode) -> Result<Response, WebError> {
    let pool = &state.app.pool;
    let store = ledger_store::tenants::get(pool, tenant).await?.ok_or(WebError::NotFound)?;
    let binding = bindings::sage(pool, tenant).await?;
    let choices = match binding.as_ref().map(|b| b.status) {
        Some(BindingStatus::Connecting) => bindings::sage_businesses(pool, tenant).await?,
        _ => Vec::new(),
    };
    let body = html! {
        p { a href={ "/stores/" (tenant) "/events" } { "← Events of this store" } }
        (status_panel(tenant, signed, binding.as_ref(), &choices))
    };
    let mut r = layout::html(layout::page(&format!("Sage for {}", store.name), signed.chrome(), body));
    *r.status_mut() = status;
    Ok(r)
}

pub async fn page(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    render(&state, &signed, tenant, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Starts a connect bound to this session and sends the browser to Sage.
pub async fn connect(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let url = service(&state)?.start_bound(tenant, Some(&signed.token_hash)).await.map_err(connect_error)?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Deserialize)]
pub struct PickForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    business_id: String,
}

pub async fn pick(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<PickForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let business = SageBusinessId::parse(&form.business_id)
        .map_err(|_| WebError::BadRequest("Choose one of the businesses listed.".into()))?;
    service(&state)?.pick(tenant, &business).await.map_err(connect_error)?;
    Ok(Redirect::to(&format!("/stores/{tenant}/sage")).into_response())
}

#[derive(Deserialize)]
pub struct DisconnectForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
}

pub async fn disconnect(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<DisconnectForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    if form.confirm.as_deref() != Some("yes") {
        let body = html! {
            p { "Disconnect this store from Sage? The ledger's access is revoked at Sage; events wait until you connect again." }
            form method="post" action={ "/stores/" (tenant) "/sage/disconnect" } {
                (csrf_field(&signed.csrf))
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { "Yes, disconnect" }
                " " a href={ "/stores/" (tenant) "/sage" } { "Cancel" }
            }
        };
        return Ok(layout::html(layout::page("Disconnect Sage?", signed.chrome(), body)));
    }
    service(&state)?.disconnect(tenant).await.map_err(connect_error)?;
    tracing::info!(tenant_id = %tenant, account_id = %signed.account.id, "Sage disconnected from the dashboard");
    Ok(Redirect::to(&format!("/stores/{tenant}/sage")).into_response())
}

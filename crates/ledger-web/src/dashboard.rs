//! `/dashboard`: the merchant's stores (Magento connection, Sage binding and tier, pending and failed
//! counts) and the "Add a Magento store" form over the pairing service. Also who may see which tenant.
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ledger_domain::TenantId;
use ledger_store::console::{self, StoreRow};
use ledger_store::tenants;
use ledger_sync::pairing::{self, PairInput, PairingError};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use crate::layout::{self, csrf_field};
use crate::session::Signed;
use crate::{WebError, WebState};

/// The tenant `raw` names, if the visitor may see it: operators see every tenant, merchants only their
/// own; anything else (unknown, malformed, someone else's) is the same 404.
pub async fn authorize_tenant(state: &WebState, signed: &Signed, raw: &str) -> Result<TenantId, WebError> {
    let tenant: TenantId = raw.parse().map_err(|_| WebError::NotFound)?;
    if signed.is_operator() {
        return match tenants::get(&state.app.pool, tenant).await? {
            Some(_) => Ok(tenant),
            None => Err(WebError::NotFound),
        };
    }
    match tenants::merchant_of(&state.app.pool, tenant).await? {
        Some(owner) if owner == signed.account.id => Ok(tenant),
        _ => Err(WebError::NotFound),
    }
}

/// The tenant of event run `raw`, if the visitor may see it (same rules as [`authorize_tenant`]).
pub async fn authorize_event(state: &WebState, signed: &Signed, raw: &str) -> Result<(TenantId, Uuid), WebError> {
    let id = Uuid::try_parse(raw).map_err(|_| WebError::NotFound)?;
    let tenant = ledger_store::operations::tenant_of(&state.app.pool, id).await?.ok_or(WebError::NotFound)?;
    authorize_tenant(state, signed, &tenant.to_string()).await?;
    Ok((tenant, id))
}

fn binding_cell(row: &StoreRow) -> Markup {
    html! {
        @match row.binding_status.as_deref() {
            None => span { "Not connected" },
            Some("reconnect_required") => strong.error { "Reconnect required" },
            Some(status) => {
                span { (status.replace('_', " ")) }
                @if let Some(tier) = &row.tier { " · " (tier) }
                @if let Some(name) = &row.business_name { br; span.muted { (name) } }
            }
        }
    }
}

pub fn stores_table(rows: &[StoreRow]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr {
                    th scope="col" { "Store" }
                    th scope="col" { "Magento" }
                    th scope="col" { "Sage" }
                    th scope="col" { "Pending" }
                    th scope="col" { "Failed" }
                } }
                tbody {
                    @for row in rows {
                        tr {
                            td {
                                a href={ "/stores/" (row.tenant_id) "/events" } { (row.name) }
                                @if let Some(url) = &row.magento_base_url { br; span.muted { (url) } }
                            }
                            td {
                                @if row.status == "revoked" { strong.error { "Disconnected" } }
                                @else { (row.magento_connection_status.replace('_', " ")) }
                            }
                            td {
                                (binding_cell(row)) br; a href={ "/stores/" (row.tenant_id) "/sage" } { "Sage settings" }
                                br; a href={ "/stores/" (row.tenant_id) "/settings" } { "Store settings" }
                            }
                            td { (row.pending) }
                            td {
                                @if row.failed > 0 {
                                    a href={ "/stores/" (row.tenant_id) "/events?state=failed,dead_lettered" } { (row.failed) }
                                } @else { "0" }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct AddForm<'a> {
    code: &'a str,
    url: &'a str,
    /// (field, message) of a refused form.
    error: Option<(&'static str, String)>,
    /// The steps reached: pairing, ping, connected.
    progress: Option<(u8, bool)>,
    notice: Option<String>,
}

fn add_form(csrf: &str, form: &AddForm<'_>) -> Markup {
    let err = |field: &str| {
        html! { @if let Some((f, m)) = &form.error { @if *f == field { p.field-error id={ (field) "-error" } role="alert" { (m) } } } }
    };
    let described = |field: &str| form.error.as_ref().filter(|(f, _)| *f == field).map(|_| format!("{field}-error"));
    html! {
        section aria-labelledby="add-store" {
            h2 id="add-store" { "Add a Magento store" }
            @if let Some((reached, failed)) = form.progress {
                ol.steps aria-label="Progress" {
                    @for (i, step) in ["Pairing", "Ping", "Connected"].iter().enumerate() {
                        @let n = i as u8 + 1;
                        @let class = if n < reached || (n == reached && !failed) { "done" } else if n == reached { "failed" } else { "" };
                        li class=(class) { (step) @if class == "done" { " ✓" } @else if class == "failed" { " ✗" } }
                    }
                }
            }
            @if let Some(notice) = &form.notice { p.notice role="status" { (notice) } }
            (err("form"))
            p.muted { "In the Magento admin, open Stores › Configuration › Byte8 › Sage and press “Generate pairing code”." }
            form method="post" action="/dashboard/stores" {
                (csrf_field(csrf))
                label for="magento_base_url" { "Store base URL" }
                input id="magento_base_url" type="url" name="magento_base_url" required placeholder="https://shop.example.com"
                    value=(form.url) aria-describedby=[described("magento_base_url")];
                (err("magento_base_url"))
                label for="pairing_code" { "Pairing code" }
                input id="pairing_code" type="text" name="pairing_code" required autocomplete="off" value=(form.code)
                    aria-describedby=[described("pairing_code")];
                (err("pairing_code"))
                p { button type="submit" { "Pair store" } }
            }
        }
    }
}

async fn render(
    state: &WebState,
    signed: &Signed,
    form: &AddForm<'_>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let rows = console::merchant_stores(&state.app.pool, signed.account.id).await?;
    let body = html! {
        @if rows.is_empty() {
            p { "You have no stores yet. Pair your Magento store below." }
        } @else {
            (stores_table(&rows))
        }
        (add_form(&signed.csrf, form))
    };
    let mut r = layout::html(layout::page("Your stores", signed.chrome(), body));
    *r.status_mut() = status;
    Ok(r)
}

pub async fn page(State(state): State<WebState>, signed: Signed) -> Result<Response, WebError> {
    render(&state, &signed, &AddForm::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PairForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pairing_code: String,
    #[serde(default)]
    magento_base_url: String,
}

/// Which field a pairing failure belongs beside, and how far the steps got (1 pairing, 2 ping).
fn placement(e: &PairingError) -> (&'static str, u8) {
    use ledger_magento::PairError as P;
    match e {
        PairingError::InvalidUrl => ("magento_base_url", 1),
        PairingError::EmptyCode => ("pairing_code", 1),
        PairingError::Pair(P::CodeRejected { .. }) => ("pairing_code", 1),
        PairingError::Pair(
            P::Unreachable { .. }
            | P::Tls { .. }
            | P::Redirect { .. }
            | P::NotMagento { .. }
            | P::ModuleMissing { .. }
            | P::Refused(_),
        ) => ("magento_base_url", 1),
        _ => ("form", 1),
    }
}

pub async fn add_store(
    State(state): State<WebState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<PairForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let mut view = AddForm { code: &form.pairing_code, url: &form.magento_base_url, ..AddForm::default() };
    // A store another account owns is refused before its key is touched.
    if let Ok(url) = pairing::normalise_store_url(&form.magento_base_url)
        && let Some(existing) =
            tenants::find_by_magento_url(&state.app.pool, url.as_str().trim_end_matches('/')).await?
        && tenants::merchant_of(&state.app.pool, existing.tenant_id()).await?.is_some_and(|o| o != signed.account.id)
    {
        view.error = Some(("magento_base_url", "This store is already connected to another Ledger account. Ask that account's owner, or Ledger support, to move it.".into()));
        return render(&state, &signed, &view, StatusCode::CONFLICT).await;
    }
    let input = PairInput {
        ledger_base_url: ledger_api::stores::ledger_base_url(&state.app, &headers),
        allow_http: state.app.outbound.allow_http,
        pairing_code: form.pairing_code.clone(),
        magento_base_url: form.magento_base_url.clone(),
    };
    // Run to the end even if the browser goes away: once the store may hold the new key, recording
    // what happened must not be cut short.
    let app = state.app.clone();
    let result =
        tokio::spawn(async move { pairing::pair_store(&app.pool, &app.keyring, &app.outbound.clients, input).await })
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?;
    match result {
        Ok(paired) => {
            state.app.forget_keys(paired.tenant_id);
            if !tenants::claim_for_merchant(&state.app.pool, paired.tenant_id, signed.account.id).await? {
                view.error = Some(("form", "The store was paired, but it belongs to another Ledger account.".into()));
                return render(&state, &signed, &view, StatusCode::CONFLICT).await;
            }
            tracing::info!(tenant_id = %paired.tenant_id, account_id = %signed.account.id, "store paired from the dashboard");
            let connected = paired.warning.is_none();
            view = AddForm {
                progress: Some(if connected { (4, false) } else { (2, true) }),
                notice: Some(match &paired.warning {
                    None => "Your store is connected. Its invoices, payments and refunds now reach Ledger.".into(),
                    Some(w) => format!("Your store is paired, but {w}"),
                }),
                ..AddForm::default()
            };
            render(&state, &signed, &view, StatusCode::OK).await
        }
        Err(PairingError::Store(e)) => Err(e.into()),
        Err(e) => {
            if matches!(e, PairingError::Unconfirmed(_)) {
                // The store may hold the new key: the tenant exists and is this merchant's to watch.
                claim_by_url(&state, &signed, &form.magento_base_url).await?;
            }
            let (field, reached) = placement(&e);
            tracing::info!(code = e.code(), "pairing from the dashboard failed");
            view.error = Some((field, e.to_string()));
            view.progress = Some((reached, true));
            render(&state, &signed, &view, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn claim_by_url(state: &WebState, signed: &Signed, raw_url: &str) -> Result<(), WebError> {
    if let Ok(url) = pairing::normalise_store_url(raw_url)
        && let Some(t) = tenants::find_by_magento_url(&state.app.pool, url.as_str().trim_end_matches('/')).await?
    {
        tenants::claim_for_merchant(&state.app.pool, t.tenant_id(), signed.account.id).await?;
    }
    Ok(())
}

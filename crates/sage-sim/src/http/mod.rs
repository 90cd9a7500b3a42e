//! HTTP assembly: one router for OAuth, the `/v3.1` API and the `/_sim/` control surface.

pub mod body;
pub mod gate;
pub mod listing;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::api::{allocations, catalog, contacts, documents, movements, payments, reference};
use crate::state::Sim;
use crate::{control, oauth};

/// The `/v3.1` routes (behind the API gate).
fn api_routes() -> Router<Arc<Sim>> {
    let mut r = Router::new()
        .route("/v3.1/businesses", get(reference::list_businesses))
        .route("/v3.1/businesses/lead", get(reference::lead_business))
        .route("/v3.1/businesses/{id}", get(reference::get_business))
        .route("/v3.1/user", get(reference::get_user))
        .route("/v3.1/financial_settings", get(reference::financial_settings))
        .route("/v3.1/invoice_settings", get(reference::invoice_settings))
        .route("/v3.1/business_settings", get(reference::business_settings))
        .route("/v3.1/contacts", get(contacts::list).post(contacts::create))
        .route("/v3.1/contacts/{id}", get(contacts::get).put(contacts::update).delete(contacts::delete))
        .route("/v3.1/contact_payments", get(payments::list).post(payments::create))
        .route("/v3.1/contact_payments/{id}", get(payments::get).put(payments::update).delete(payments::delete))
        .route("/v3.1/contact_allocations", get(allocations::list).post(allocations::create))
        .route("/v3.1/contact_allocations/{id}", get(allocations::get).delete(allocations::delete))
        .route("/v3.1/stock_movements", get(movements::list).post(movements::create))
        .route("/v3.1/stock_movements/{id}", get(movements::get));
    for coll in ["tax_rates", "currencies", "exchange_rates", "ledger_accounts", "bank_accounts", "payment_methods"] {
        r = r
            .route(&format!("/v3.1/{coll}"), get(reference::list))
            .route(&format!("/v3.1/{coll}/{{id}}"), get(reference::get_one));
    }
    for coll in ["sales_invoices", "sales_credit_notes"] {
        r = r
            .route(&format!("/v3.1/{coll}"), get(documents::list).post(documents::create))
            .route(&format!("/v3.1/{coll}/{{id}}"), get(documents::get).put(documents::update).delete(documents::void))
            .route(&format!("/v3.1/{coll}/{{id}}/release"), post(documents::release));
    }
    for coll in ["products", "services", "stock_items"] {
        r = r
            .route(&format!("/v3.1/{coll}"), get(catalog::list).post(catalog::create))
            .route(&format!("/v3.1/{coll}/{{id}}"), get(catalog::get).put(catalog::update).delete(catalog::delete));
    }
    r
}

/// The whole simulator as one router.
pub fn router(sim: Arc<Sim>) -> Router {
    let api = api_routes().route_layer(from_fn_with_state(sim.clone(), gate::api));
    let oauth = Router::new()
        .route("/oauth2/auth/central", get(oauth::authorize).post(oauth::consent))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke));
    let control = Router::new()
        .route("/_sim/state", get(control::state))
        .route("/_sim/records", get(control::records))
        .route("/_sim/calls", get(control::calls))
        .route("/_sim/concurrency", get(control::concurrency).delete(control::reset_concurrency))
        .route("/_sim/duplicates", get(control::duplicates))
        .route("/_sim/faults", get(control::get_faults).put(control::put_faults))
        .route("/_sim/auth", post(control::auth))
        .route("/_sim/reset", post(control::reset));
    api.merge(oauth).route_layer(from_fn_with_state(sim.clone(), gate::record)).merge(control).with_state(sim)
}

//! The module's Magento REST routes: anonymous pair, JWT-guarded canonical GETs and sync-state.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tracing::debug;

use crate::canonical;
use crate::error::MagentoError;
use crate::mirror::SyncStateError;
use crate::store::{SAGE, Store};

type St = State<Arc<Store>>;

/// Routes under `/rest/V1` (also mounted under `/rest/default/V1` and `/rest/all/V1`).
pub fn routes() -> Router<Arc<Store>> {
    Router::new()
        .route("/byte8/setup/pair", post(pair_sage))
        .route("/byte8/xero_accounting/setup/pair", post(pair_xero))
        .route("/byte8/freeagent_accounting/setup/pair", post(pair_freeagent))
        .route("/byte8/ping", get(ping))
        .route("/byte8/payment-methods", get(payment_methods))
        .route("/byte8/invoice/{id}", get(invoice))
        .route("/byte8/creditmemo/{id}", get(credit_memo))
        .route("/byte8/customer/{id}", get(customer))
        .route("/byte8/payment/{id}", get(payment))
        .route("/byte8/product/{id}", get(product))
        .route("/byte8/sync-state", post(sync_state))
}

/// Magento's rendering of a void service result.
fn void_ok() -> Response {
    (StatusCode::OK, Json(json!([]))).into_response()
}

fn parse_body(body: &Bytes) -> Result<Value, MagentoError> {
    serde_json::from_slice(body).map_err(|_| MagentoError::new(StatusCode::BAD_REQUEST, "Decoding error."))
}

fn pair(store: &Store, provider: &str, body: &Bytes) -> Result<Response, MagentoError> {
    store.pair(provider, &parse_body(body)?)?;
    Ok(void_ok())
}

async fn pair_sage(State(s): St, body: Bytes) -> Result<Response, MagentoError> {
    pair(&s, SAGE, &body)
}

async fn pair_xero(State(s): St, body: Bytes) -> Result<Response, MagentoError> {
    pair(&s, "xero", &body)
}

async fn pair_freeagent(State(s): St, body: Bytes) -> Result<Response, MagentoError> {
    pair(&s, "freeagent", &body)
}

fn auth(store: &Store, headers: &HeaderMap) -> Result<(), MagentoError> {
    store.authenticate(headers).map_err(|reason| {
        debug!(store = store.number(), %reason, "inbound JWT refused");
        MagentoError::unauthorized()
    })
}

fn id(raw: &str) -> Result<u64, MagentoError> {
    raw.parse().map_err(|_| MagentoError::not_found())
}

async fn ping(State(s): St, headers: HeaderMap) -> Result<Json<Value>, MagentoError> {
    auth(&s, &headers)?;
    let tenant = s.lock().creds.tenant_id.clone().unwrap_or_default();
    Ok(Json(canonical::ping(s.config.ping_shape, &tenant, s.now())))
}

async fn payment_methods(State(s): St, headers: HeaderMap) -> Result<Json<Value>, MagentoError> {
    auth(&s, &headers)?;
    Ok(Json(canonical::payment_methods(s.config.payment_methods_shape)))
}

async fn invoice(State(s): St, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response, MagentoError> {
    auth(&s, &headers)?;
    let id = id(&raw)?;
    let st = s.lock();
    let c = &st.catalog;
    let inv = c.invoices.get(&id).ok_or_else(MagentoError::not_found)?;
    let order = c.orders.get(&inv.order_id).ok_or_else(MagentoError::not_found)?;
    let customer = order.buyer.customer_id.and_then(|cid| c.customers.get(&cid));
    Ok(Json(canonical::invoice(inv, order, customer)).into_response())
}

async fn credit_memo(State(s): St, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response, MagentoError> {
    auth(&s, &headers)?;
    let id = id(&raw)?;
    let st = s.lock();
    let c = &st.catalog;
    let cm = c.credit_memos.get(&id).ok_or_else(MagentoError::not_found)?;
    let order = c.orders.get(&cm.order_id).ok_or_else(MagentoError::not_found)?;
    let inv = cm.invoice_id.and_then(|i| c.invoices.get(&i));
    let customer = order.buyer.customer_id.and_then(|cid| c.customers.get(&cid));
    Ok(Json(canonical::credit_memo(cm, order, inv, customer)).into_response())
}

async fn customer(State(s): St, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response, MagentoError> {
    auth(&s, &headers)?;
    let missing = || MagentoError {
        status: StatusCode::NOT_FOUND,
        message: "No such entity with %fieldName = %fieldValue".into(),
        parameters: Some(json!({ "fieldName": "customerId", "fieldValue": raw })),
    };
    let id: u64 = raw.parse().map_err(|_| missing())?;
    let st = s.lock();
    let c = st.catalog.customers.get(&id).ok_or_else(missing)?;
    Ok(Json(canonical::contact(c)).into_response())
}

async fn payment(State(s): St, headers: HeaderMap, Path(raw): Path<String>) -> Result<Json<Value>, MagentoError> {
    auth(&s, &headers)?;
    let id = id(&raw)?;
    let st = s.lock();
    let inv = st.catalog.invoices.get(&id).ok_or_else(MagentoError::not_found)?;
    let order = st.catalog.orders.get(&inv.order_id).ok_or_else(MagentoError::not_found)?;
    Ok(Json(canonical::payment(inv, order, s.config.gateway_metadata_shape)))
}

async fn product(State(s): St, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response, MagentoError> {
    auth(&s, &headers)?;
    let missing = || {
        MagentoError::new(
            StatusCode::NOT_FOUND,
            "The product that was requested doesn't exist. Verify the product and try again.",
        )
    };
    let id: u64 = raw.parse().map_err(|_| missing())?;
    let st = s.lock();
    let p = st.catalog.products.get(&id).ok_or_else(missing)?;
    Ok(Json(canonical::product(p)).into_response())
}

async fn sync_state(State(s): St, headers: HeaderMap, body: Bytes) -> Result<Response, MagentoError> {
    auth(&s, &headers)?;
    let body = parse_body(&body)?;
    let now = s.now();
    let strict = s.config.strict_last_sync_at;
    let result = s.lock().mirror.callback(&body, now, strict);
    match result {
        Ok(_) => Ok(void_ok()),
        Err(SyncStateError::Required(f)) => Err(MagentoError::required(f)),
        Err(e @ SyncStateError::Invalid(_)) => Err(MagentoError::new(StatusCode::BAD_REQUEST, e.to_string())),
        Err(e @ SyncStateError::Database) => Err(MagentoError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

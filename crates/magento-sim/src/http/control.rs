//! The simulator's `/_sim/` control API: admin buttons, observers, drain, scenario, inspection.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post, put};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ControlError;
use crate::model::totals;
use crate::observers::EntityAction;
use crate::outbox::Status;
use crate::scenario::ScenarioRequest;
use crate::store::{SAGE, Store};
use crate::wire::Num;

type St = State<Arc<Store>>;
type Res = Result<Json<Value>, ControlError>;

/// Routes under `/_sim`.
pub fn routes() -> Router<Arc<Store>> {
    Router::new()
        .route("/pairing-code", post(pairing_code))
        .route("/disconnect", post(disconnect))
        .route("/drain", post(drain))
        .route("/entities", post(entities))
        .route("/scenario", post(scenario_start).get(scenario_get).delete(scenario_stop))
        .route("/sync-state", get(sync_state))
        .route("/outbox", get(outbox))
        .route("/down", put(down))
        .route("/reset", post(reset))
        .route("/state", get(state))
        .route("/health-tile", get(health_tile))
        .route("/fixtures", get(fixtures))
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::bad_request(format!("invalid body: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

#[derive(Deserialize, Default)]
struct PairingCodeRequest {
    provider: Option<String>,
}

async fn pairing_code(State(s): St, body: Bytes) -> Res {
    let req: PairingCodeRequest = if body.is_empty() { PairingCodeRequest::default() } else { json_body(&body)? };
    let provider = req.provider.unwrap_or_else(|| SAGE.to_owned());
    let code = s.generate_pairing_code(&provider).map_err(|e| ControlError::bad_request(e.message))?;
    let ttl = crate::store::PAIRING_TTL_S / s.config.scale();
    Ok(Json(json!({ "pairing_code": code, "provider": provider, "expires_in_s": ttl })))
}

async fn disconnect(State(s): St) -> Res {
    Ok(Json(s.disconnect().await))
}

async fn drain(State(s): St) -> Res {
    Ok(to_json(&s.drain().await))
}

async fn entities(State(s): St, body: Bytes) -> Res {
    let action: EntityAction = json_body(&body)?;
    Ok(Json(s.fire(action)?))
}

async fn scenario_start(State(s): St, body: Bytes) -> Res {
    let req: ScenarioRequest = json_body(&body)?;
    Ok(to_json(&s.start_scenario(req)))
}

async fn scenario_get(State(s): St) -> Res {
    Ok(to_json(&s.scenario_progress()))
}

async fn scenario_stop(State(s): St) -> Res {
    Ok(to_json(&s.stop_scenario()))
}

async fn sync_state(State(s): St) -> Res {
    Ok(to_json(&s.lock().mirror.rows()))
}

#[derive(Deserialize)]
struct OutboxQuery {
    status: Option<String>,
}

async fn outbox(State(s): St, Query(q): Query<OutboxQuery>) -> Res {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            serde_json::from_value::<Status>(Value::String(raw.to_owned()))
                .map_err(|_| ControlError::bad_request("status must be pending, succeeded or dead_lettered"))?,
        ),
    };
    Ok(to_json(&s.lock().outbox.rows(status)))
}

#[derive(Deserialize)]
struct DownRequest {
    down: bool,
}

async fn down(State(s): St, body: Bytes) -> Res {
    let req: DownRequest = json_body(&body)?;
    s.set_down(req.down);
    Ok(Json(json!({ "down": req.down })))
}

async fn reset(State(s): St) -> Res {
    s.stop_scenario();
    s.reset();
    Ok(Json(s.summary()))
}

async fn state(State(s): St) -> Res {
    Ok(Json(s.summary()))
}

async fn health_tile(State(s): St) -> Res {
    Ok(Json(s.health_tile().await))
}

async fn fixtures(State(s): St) -> Res {
    let st = s.lock();
    let c = &st.catalog;
    let products: Vec<Value> = c
        .products
        .values()
        .map(|p| json!({ "id": p.id, "sku": p.sku, "product_type": p.product_type, "manage_stock": p.manage_stock }))
        .collect();
    let customers: Vec<Value> = c
        .customers
        .values()
        .map(|k| {
            let country = k.billing.as_ref().or(k.shipping.as_ref()).map(|a| a.country_id.clone());
            json!({ "id": k.id, "email": k.email, "country": country, "company": k.company,
                    "vat_number": k.vat_number, "group_id": k.group_id })
        })
        .collect();
    let invoices: Vec<Value> = c
        .invoices
        .values()
        .filter_map(|i| {
            let o = c.orders.get(&i.order_id)?;
            let t = totals(&i.lines);
            let refundable = c.refundable(o.id, Some(i.id)).map_or(Decimal::ZERO, |r| r.amount);
            Some(json!({ "id": i.id, "increment_id": i.increment_id, "order_id": o.id,
                         "order_increment_id": o.increment_id, "state": i.state, "currency": o.currency,
                         "guest": o.buyer.customer_id.is_none(), "customer_id": o.buyer.customer_id,
                         "subtotal": Num(t.subtotal), "tax_amount": Num(t.tax), "discount_amount": Num(t.discount),
                         "shipping_amount": Num(i.shipping_amount), "shipping_tax_amount": Num(i.shipping_tax),
                         "grand_total": Num(i.grand_total()), "refundable": Num(refundable) }))
        })
        .collect();
    let credit_memos: Vec<Value> = c
        .credit_memos
        .values()
        .map(|m| {
            let t = totals(&m.lines);
            let currency = c.orders.get(&m.order_id).map(|o| o.currency.clone());
            let invoice_increment_id = m.invoice_id.and_then(|i| c.invoices.get(&i)).map(|i| i.increment_id.clone());
            json!({ "id": m.id, "increment_id": m.increment_id, "order_id": m.order_id, "invoice_id": m.invoice_id,
                    "invoice_increment_id": invoice_increment_id, "currency": currency,
                    "subtotal": Num(t.subtotal), "tax_amount": Num(t.tax), "discount_amount": Num(t.discount),
                    "shipping_amount": Num(m.shipping_amount), "shipping_tax_amount": Num(m.shipping_tax),
                    "adjustment_positive": Num(m.adjustment_positive), "adjustment_negative": Num(m.adjustment_negative),
                    "grand_total": Num(m.grand_total()) })
        })
        .collect();
    Ok(Json(
        json!({ "products": products, "customers": customers, "invoices": invoices, "credit_memos": credit_memos }),
    ))
}

//! `/stock_movements`: signed stock adjustments of a stock item (Plus only), listed, read and created.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};

use super::catalog::check_tier;
use super::common::{Reply, check_date, day, idempotent, nested, ok, ts};
use crate::error::ApiError;
use crate::http::body::{Obj, root};
use crate::http::gate::Ctx;
use crate::http::listing::{Params, Window, envelope};
use crate::model::{ItemKind, Meta, StockMovement};
use crate::money::jv;
use crate::state::{Business, Sim};

pub fn render(b: &Business, m: &StockMovement) -> Value {
    let item = b.stock_items.any(&m.stock_item_id).map(|i| i.description.clone()).unwrap_or_default();
    json!({
        "id": m.meta.id, "displayed_as": m.details, "$path": format!("/stock_movements/{}", m.meta.id),
        "movement_number": m.movement_number, "date": day(m.date), "cost_price": jv(m.cost_price), "quantity": jv(m.quantity),
        "details": m.details, "reference": m.reference, "stock_item": nested("stock_items", &m.stock_item_id, &item),
        "created_at": ts(m.meta.created_at), "updated_at": ts(m.meta.updated_at),
    })
}

pub async fn list(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, RawQuery(q): RawQuery) -> Reply {
    let p = Params::parse(q.as_deref());
    let window = Window::from(&p)?;
    sim.with_business(&ctx.business, |b| {
        check_tier(&sim.config, b, ItemKind::StockItem, false)?;
        let rows: Vec<&StockMovement> = b.stock_movements.items.iter().filter(|m| window.admits(&m.meta)).collect();
        ok(envelope("stock_movements", &p, &sim.config, &rows, |m| render(b, m))?)
    })
}

pub async fn get(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        check_tier(&sim.config, b, ItemKind::StockItem, false)?;
        ok(render(b, b.stock_movements.get(&id).ok_or_else(ApiError::not_found)?))
    })
}

pub async fn create(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, body: Bytes) -> Reply {
    let map = root(&body, "stock_movement", "POST", "/stock_movements")?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        check_tier(cfg, b, ItemKind::StockItem, true)?;
        idempotent(b, cfg, "stock_movement", &map, |b| {
            let o = Obj::new(&map, "");
            let item_id = o.str_opt("stock_item_id")?.ok_or_else(|| ApiError::required("stock_item_id"))?;
            if b.stock_items.get(&item_id).is_none() {
                return Err(ApiError::bad_reference(cfg.bad_reference_status, "stock_item_id"));
            }
            let date = o.date_req("date")?;
            check_date(b, cfg, date, "date")?;
            let quantity = o.dec_req("quantity")?;
            if quantity.is_zero() {
                return Err(ApiError::invalid("quantity", "must not be zero"));
            }
            let cost_price = o.dec_req("cost_price")?;
            let details = o.str_req("details", 50)?;
            let reference = o.str_max("reference", 31)?;
            let movement_number = o.str_max("movement_number", 4)?;
            let m = StockMovement {
                meta: Meta::new(b.new_id(), Utc::now()),
                stock_item_id: item_id.clone(),
                date,
                quantity,
                cost_price,
                details,
                reference,
                movement_number,
            };
            if let Some(i) = b.stock_items.get_mut(&item_id) {
                i.quantity_in_stock += quantity;
                i.meta.updated_at = Utc::now();
            }
            let v = render(b, &m);
            b.stock_movements.insert(m);
            Ok((StatusCode::CREATED, v))
        })
    })
}

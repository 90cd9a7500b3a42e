//! `/products`, `/services`, `/stock_items` with their tier limits (stock movements: [`super::movements`]).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::common::{Reply, idempotent, nested, ok, system_ref, ts};
use super::reference::{ledger_ref, tax_rate_ref};
use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{Obj, root};
use crate::http::gate::Ctx;
use crate::http::listing::{Params, Window, envelope};
use crate::model::{Item, ItemKind, Meta, Table, Tier};
use crate::money::jv;
use crate::state::{Business, Sim};

fn kind_of(route: &str) -> ItemKind {
    if route.contains("stock_items") {
        ItemKind::StockItem
    } else if route.contains("services") {
        ItemKind::Service
    } else {
        ItemKind::Product
    }
}

fn items(b: &Business, k: ItemKind) -> &Table<Item> {
    match k {
        ItemKind::Product => &b.products,
        ItemKind::Service => &b.services,
        ItemKind::StockItem => &b.stock_items,
    }
}

fn items_mut(b: &mut Business, k: ItemKind) -> &mut Table<Item> {
    match k {
        ItemKind::Product => &mut b.products,
        ItemKind::Service => &mut b.services,
        ItemKind::StockItem => &mut b.stock_items,
    }
}

/// Tier rules: stock is Plus only; Start may read but not write products and services.
pub fn check_tier(config: &SimConfig, b: &Business, k: ItemKind, write: bool) -> ApiResult<()> {
    if k == ItemKind::StockItem && b.tier != Tier::Plus {
        return Err(ApiError::tier(config.tier_denied_status, "Stock is only available on Sage Accounting Plus."));
    }
    if write && b.tier == Tier::Start {
        return Err(ApiError::tier(
            config.tier_denied_status,
            "Products and services cannot be created on Sage Accounting Start.",
        ));
    }
    Ok(())
}

/// Text fields echoed back unchanged, by kind.
fn passthrough(k: ItemKind) -> &'static [&'static str] {
    match k {
        ItemKind::Product | ItemKind::Service => &["notes", "source_guid", "purchase_description"],
        ItemKind::StockItem => &[
            "notes",
            "source_guid",
            "purchase_description",
            "location",
            "barcode",
            "supplier_part_number",
            "measurement_unit",
        ],
    }
}

/// Decimal fields, echoed as Sage's decimal strings, by kind.
fn decimals(k: ItemKind) -> &'static [&'static str] {
    match k {
        ItemKind::Product | ItemKind::Service => &["cost_price"],
        ItemKind::StockItem => &["cost_price", "reorder_level", "reorder_quantity", "weight"],
    }
}

/// The request's id fields and price lists as the objects Sage returns (`sales_tax_rate_id` → `sales_tax_rate`).
fn render_refs(
    b: &mut Business,
    k: ItemKind,
    o: &Obj<'_>,
    existing: Option<&Item>,
    extra: &mut Map<String, Value>,
) -> ApiResult<()> {
    for key in ["sales_tax_rate", "purchase_tax_rate"] {
        if let Some(id) = o.str_opt(&format!("{key}_id"))? {
            extra.insert(key.into(), tax_rate_ref(b, &id));
        }
    }
    if k == ItemKind::Product
        && let Some(id) = o.str_opt("catalog_item_type_id")?
    {
        extra.insert("catalog_item_type".into(), system_ref("catalog_item_types", &id));
    }
    if let Some(id) = o.str_opt("usual_supplier_id")? {
        let shown = b.contacts.get(&id).map_or_else(|| id.clone(), |c| c.displayed_as());
        extra.insert("usual_supplier".into(), nested("contacts", &id, &shown));
    }
    if k == ItemKind::Service && o.has("oss_service") {
        extra.insert("oss_service".into(), json!(o.bool_opt("oss_service")?.unwrap_or(false)));
    }
    let (list, name, amount, includes, kind_id, kind_key, kind_coll) = match k {
        ItemKind::Service => (
            "sales_rates",
            "rate_name",
            "rate",
            "rate_includes_tax",
            "service_rate_type_id",
            "service_rate_type",
            "service_rate_types",
        ),
        _ => (
            "sales_prices",
            "price_name",
            "price",
            "price_includes_tax",
            "product_sales_price_type_id",
            "product_sales_price_type",
            "product_sales_price_types",
        ),
    };
    let Some(rows) = o.array(list)? else { return Ok(()) };
    let now = ts(existing.map_or_else(Utc::now, |e| e.meta.created_at));
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Value::Object(m) = row else { return Err(ApiError::invalid(list, "is not an object")) };
        let r = Obj::new(m, "");
        let label = r.str_opt(name)?.unwrap_or_default();
        let id = b.new_id();
        out.push(json!({
            "id": id, "displayed_as": label, name: label,
            amount: r.dec_opt(amount)?.map(jv), includes: r.bool_opt(includes)?.unwrap_or(false),
            kind_key: r.str_opt(kind_id)?.map(|t| nested(kind_coll, &t, &t)),
            "created_at": now, "updated_at": now,
        }));
    }
    extra.insert(list.into(), Value::Array(out));
    Ok(())
}

fn build(
    b: &mut Business,
    config: &SimConfig,
    k: ItemKind,
    map: &Map<String, Value>,
    existing: Option<&Item>,
) -> ApiResult<Item> {
    let o = Obj::new(map, "");
    let code_max = if k == ItemKind::StockItem { 30 } else { 255 };
    let item_code = match (o.has("item_code"), existing) {
        (false, Some(e)) => e.item_code.clone(),
        _ if k == ItemKind::StockItem => Some(o.str_req("item_code", code_max)?),
        _ => o.str_max("item_code", code_max)?,
    };
    let description = match (o.has("description"), existing) {
        (false, Some(e)) => e.description.clone(),
        _ => o.str_req("description", 255)?,
    };
    o.str_max("notes", 500)?;
    o.str_max("purchase_description", 250)?;
    let sales = o
        .str_opt("sales_ledger_account_id")?
        .or_else(|| existing.map(|e| e.sales_ledger_account_id.clone()))
        .ok_or_else(|| ApiError::required("sales_ledger_account_id"))?;
    if !b.ledger_account(&sales).is_some_and(|l| l.visible_in("sales")) {
        return Err(ApiError::bad_reference(config.bad_reference_status, "sales_ledger_account_id"));
    }
    let purchase = o
        .str_opt("purchase_ledger_account_id")?
        .or_else(|| existing.and_then(|e| e.purchase_ledger_account_id.clone()));
    if k != ItemKind::Service && purchase.is_none() {
        return Err(ApiError::required("purchase_ledger_account_id"));
    }
    if let Some(p) = &purchase
        && b.ledger_account(p).is_none()
    {
        return Err(ApiError::bad_reference(config.bad_reference_status, "purchase_ledger_account_id"));
    }
    for key in ["sales_tax_rate_id", "purchase_tax_rate_id"] {
        if let Some(t) = o.str_opt(key)?
            && b.tax_rate(&t).is_none()
        {
            return Err(ApiError::bad_reference(config.bad_reference_status, key));
        }
    }
    let now = Utc::now();
    let mut extra = existing.map(|e| e.extra.clone()).unwrap_or_default();
    o.keep(passthrough(k), &mut extra);
    for key in decimals(k) {
        if let Some(d) = o.dec_opt(key)? {
            extra.insert((*key).into(), jv(d));
        }
    }
    render_refs(b, k, &o, existing, &mut extra)?;
    Ok(Item {
        meta: existing
            .map(|e| Meta { updated_at: now, ..e.meta.clone() })
            .unwrap_or_else(|| Meta::new(b.new_id(), now)),
        kind: k,
        item_code,
        description,
        sales_ledger_account_id: sales,
        purchase_ledger_account_id: purchase,
        quantity_in_stock: existing.map(|e| e.quantity_in_stock).unwrap_or(Decimal::ZERO),
        active: o.bool_opt("active")?.unwrap_or_else(|| existing.is_none_or(|e| e.active)),
        extra,
    })
}

pub fn render(b: &Business, i: &Item) -> Value {
    let mut v = json!({
        "id": i.meta.id, "displayed_as": i.description, "$path": format!("/{}/{}", i.kind.collection(), i.meta.id),
        "item_code": i.item_code, "description": i.description,
        "sales_ledger_account": ledger_ref(b, &i.sales_ledger_account_id),
        "purchase_ledger_account": i.purchase_ledger_account_id.as_deref().map(|p| ledger_ref(b, p)),
        "active": i.active, "deletable": true, "deactivatable": true, "used_on_recurring_invoice": false,
        "created_at": ts(i.meta.created_at), "updated_at": ts(i.meta.updated_at), "deleted_at": i.meta.deleted_at.map(ts),
    });
    if let Value::Object(m) = &mut v {
        for (k, val) in &i.extra {
            m.insert(k.clone(), val.clone());
        }
        if i.kind == ItemKind::StockItem {
            m.insert("quantity_in_stock".to_owned(), jv(i.quantity_in_stock));
        }
    }
    v
}

pub async fn list(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
    route: MatchedPath,
) -> Reply {
    let k = kind_of(route.as_str());
    let p = Params::parse(q.as_deref());
    let window = Window::from(&p)?;
    sim.with_business(&ctx.business, |b| {
        check_tier(&sim.config, b, k, false)?;
        let search = p.get("search").map(str::to_lowercase);
        let rows: Vec<&Item> = items(b, k)
            .items
            .iter()
            .filter(|i| window.admits(&i.meta))
            .filter(|i| p.get("active").is_none_or(|a| (a == "true") == i.active))
            .filter(|i| {
                search.as_deref().is_none_or(|s| {
                    i.description.to_lowercase().contains(s)
                        || i.item_code.as_deref().is_some_and(|c| c.to_lowercase().contains(s))
                })
            })
            .collect();
        ok(envelope(k.collection(), &p, &sim.config, &rows, |i| render(b, i))?)
    })
}

pub async fn get(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    route: MatchedPath,
) -> Reply {
    let k = kind_of(route.as_str());
    sim.with_business(&ctx.business, |b| {
        check_tier(&sim.config, b, k, false)?;
        ok(render(b, items(b, k).get(&id).ok_or_else(ApiError::not_found)?))
    })
}

pub async fn create(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    route: MatchedPath,
    body: Bytes,
) -> Reply {
    let k = kind_of(route.as_str());
    let map = root(&body, k.root(), "POST", route.as_str())?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        check_tier(cfg, b, k, true)?;
        idempotent(b, cfg, k.root(), &map, |b| {
            let i = build(b, cfg, k, &map, None)?;
            let v = render(b, &i);
            items_mut(b, k).insert(i);
            Ok((StatusCode::CREATED, v))
        })
    })
}

pub async fn update(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    route: MatchedPath,
    body: Bytes,
) -> Reply {
    let k = kind_of(route.as_str());
    let map = root(&body, k.root(), "PUT", route.as_str())?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        check_tier(cfg, b, k, true)?;
        idempotent(b, cfg, k.root(), &map, |b| {
            let existing = items(b, k).get(&id).cloned().ok_or_else(ApiError::not_found)?;
            let i = build(b, cfg, k, &map, Some(&existing))?;
            let v = render(b, &i);
            if let Some(slot) = items_mut(b, k).get_mut(&id) {
                *slot = i;
            }
            Ok((StatusCode::OK, v))
        })
    })
}

pub async fn delete(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    route: MatchedPath,
) -> Reply {
    let k = kind_of(route.as_str());
    sim.with_business(&ctx.business, |b| {
        check_tier(&sim.config, b, k, true)?;
        let i = items_mut(b, k).get_mut(&id).ok_or_else(ApiError::not_found)?;
        i.meta.deleted_at = Some(Utc::now());
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

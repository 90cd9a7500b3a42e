//! `/contact_allocations`: match invoices against credit notes and payments on account (amounts sum to zero).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::common::{Reply, check_date, day, idempotent, nested, ok, ts};
use super::settle::{Artefact, apply, plan, render_lines, reverse, static_type};
use crate::error::ApiError;
use crate::http::body::{Obj, root};
use crate::http::gate::Ctx;
use crate::http::listing::{Params, Window, envelope};
use crate::model::{Allocation, DocKind, Meta, Tier};
use crate::state::{Business, Sim};

pub fn render(b: &Business, a: &Allocation) -> Value {
    let contact = b.contacts.any(&a.contact_id).map(|c| c.displayed_as()).unwrap_or_default();
    json!({
        "id": a.meta.id, "displayed_as": "Customer Allocation", "$path": format!("/contact_allocations/{}", a.meta.id),
        "transaction": nested("transactions", &a.transaction_id, "Allocation"),
        "transaction_type": {"id": a.transaction_type, "displayed_as": a.transaction_type},
        "date": day(a.date), "contact": nested("contacts", &a.contact_id, &contact),
        "allocated_artefacts": render_lines(b, &a.allocated, false),
        "created_at": ts(a.meta.created_at), "updated_at": ts(a.meta.updated_at), "deleted_at": a.meta.deleted_at.map(ts),
    })
}

pub async fn list(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, RawQuery(q): RawQuery) -> Reply {
    let p = Params::parse(q.as_deref());
    let window = Window::from(&p)?;
    sim.with_business(&ctx.business, |b| {
        let rows: Vec<&Allocation> = b
            .allocations
            .items
            .iter()
            .filter(|x| window.admits(&x.meta))
            .filter(|x| p.get("contact_id").is_none_or(|c| x.contact_id == c))
            .collect();
        ok(envelope("contact_allocations", &p, &sim.config, &rows, |x| render(b, x))?)
    })
}

pub async fn get(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Reply {
    sim.with_business(&ctx.business, |b| ok(render(b, b.allocations.get(&id).ok_or_else(ApiError::not_found)?)))
}

pub async fn create(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, body: Bytes) -> Reply {
    let map = root(&body, "contact_allocation", "POST", "/contact_allocations")?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        if b.tier == Tier::Start {
            return Err(ApiError::tier(
                cfg.tier_denied_status,
                "Allocations are not available on Sage Accounting Start.",
            ));
        }
        idempotent(b, cfg, "contact_allocation", &map, |b| {
            let o = Obj::new(&map, "");
            let txn = o.str_opt("transaction_type_id")?.ok_or_else(|| ApiError::required("transaction_type_id"))?;
            if txn != "CUSTOMER_ALLOCATION" && txn != "VENDOR_ALLOCATION" {
                return Err(ApiError::invalid("transaction_type_id", "Transaction type is not valid."));
            }
            let contact_id = o.str_opt("contact_id")?.ok_or_else(|| ApiError::required("contact_id"))?;
            let contact = b
                .contacts
                .get(&contact_id)
                .ok_or_else(|| ApiError::bad_reference(cfg.bad_reference_status, "contact_id"))?;
            if (contact.contact_type == "CUSTOMER") != (txn == "CUSTOMER_ALLOCATION") {
                return Err(ApiError::invalid("contact_id", "can't find customer"));
            }
            let date = o.date_opt("date")?.unwrap_or_else(|| Utc::now().date_naive());
            check_date(b, cfg, date, "date")?;
            let items = o
                .array("allocated_artefacts")?
                .filter(|a| !a.is_empty())
                .ok_or_else(|| ApiError::required("allocated_artefacts"))?;
            let planned = plan(b, cfg, items, &contact_id, None, |what| match what {
                Artefact::Doc(DocKind::Invoice) => Decimal::ONE,
                _ => Decimal::NEGATIVE_ONE,
            })?;
            let sum: Decimal = planned.iter().map(|p| p.amount).sum();
            if !sum.is_zero() {
                return Err(ApiError::invalid("allocated_artefacts", "The allocated amounts must add up to zero."));
            }
            let meta = Meta::new(b.new_id(), Utc::now());
            let transaction_id = b.new_id();
            let lines = apply(b, &planned, &meta.id, static_type(&txn), date);
            let a = Allocation { meta, transaction_type: txn, contact_id, date, allocated: lines, transaction_id };
            let v = render(b, &a);
            b.allocations.insert(a);
            Ok((StatusCode::CREATED, v))
        })
    })
}

pub async fn delete(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        let a = b.allocations.get(&id).cloned().ok_or_else(ApiError::not_found)?;
        reverse(b, &a.allocated, &id);
        if let Some(x) = b.allocations.get_mut(&id) {
            x.meta.deleted_at = Some(Utc::now());
            x.meta.updated_at = Utc::now();
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

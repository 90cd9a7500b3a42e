//! `/sales_invoices` and `/sales_credit_notes`: create, list, read, update, release and void.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::common::{Reply, day, idempotent, nested, ok, system_ref, ts};
use super::doc_build::{build, next_number, to_base};
use super::reference::{currency_ref, ledger_ref, tax_rate_ref};
use crate::config::SimConfig;
use crate::error::ApiError;
use crate::http::body::root;
use crate::http::gate::Ctx;
use crate::http::listing::{Params, Window, envelope, project};
use crate::model::{DocKind, Document, Settlement, Table, Tier};
use crate::money::jv;
use crate::state::{Business, Sim};

pub fn table(b: &Business, kind: DocKind) -> &Table<Document> {
    match kind {
        DocKind::Invoice => &b.invoices,
        DocKind::CreditNote => &b.credit_notes,
    }
}

pub fn table_mut(b: &mut Business, kind: DocKind) -> &mut Table<Document> {
    match kind {
        DocKind::Invoice => &mut b.invoices,
        DocKind::CreditNote => &mut b.credit_notes,
    }
}

fn prefix(b: &Business, kind: DocKind) -> &str {
    match kind {
        DocKind::Invoice => &b.invoice_prefix,
        DocKind::CreditNote => &b.credit_note_prefix,
    }
}

/// What a document is displayed as: its number, or `SI-DRAFT` style before release.
pub fn displayed(b: &Business, d: &Document) -> String {
    d.number.clone().unwrap_or_else(|| format!("{}DRAFT", prefix(b, d.kind)))
}

fn status_label(s: &str) -> &'static str {
    match s {
        "DRAFT" => "Draft",
        "PRO_FORMA" => "Pro-Forma",
        "UNPAID" => "Unpaid",
        "PART_PAID" => "Part Paid",
        "PAID" => "Paid",
        _ => "Void",
    }
}

/// The full JSON of a document as `GET /{id}` returns it.
pub fn render(b: &Business, config: &SimConfig, d: &Document, with_allocations: bool) -> Value {
    let base = |x: Decimal| jv(to_base(config, x, d.exchange_rate));
    let inverse = if d.exchange_rate.is_zero() { Decimal::ONE } else { (Decimal::ONE / d.exchange_rate).round_dp(6) };
    let lines: Vec<Value> = d
        .lines
        .iter()
        .map(|l| {
            let rate = l.tax_rate_id.as_deref().and_then(|id| b.tax_rate(id));
            json!({
                "id": l.id, "displayed_as": l.description, "description": l.description,
                "product": l.product_id.as_deref().map(|p| nested("products", p, p)),
                "service": l.service_id.as_deref().map(|s| nested("services", s, s)),
                "ledger_account": ledger_ref(b, &l.ledger_account_id),
                "quantity": jv(l.quantity), "unit_price": jv(l.unit_price), "unit_price_includes_tax": l.unit_price_includes_tax,
                "discount_amount": jv(l.discount), "net_amount": jv(l.net),
                "tax_rate": l.tax_rate_id.as_deref().map(|t| tax_rate_ref(b, t)), "tax_amount": jv(l.tax), "total_amount": jv(l.total),
                "tax_breakdown": rate.map(|r| vec![json!({"tax_rate": tax_rate_ref(b, &r.id), "percentage": jv(r.percentage), "amount": jv(l.tax)})]).unwrap_or_default(),
                "base_currency_net_amount": base(l.net), "base_currency_tax_amount": base(l.tax), "base_currency_total_amount": base(l.total),
                "base_currency_unit_price": base(l.unit_price), "base_currency_discount_amount": base(l.discount),
                "eu_goods_services_type": null, "trade_of_asset": false,
            })
        })
        .collect();
    let mut analysis: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for l in &d.lines {
        let e = analysis.entry(l.tax_rate_id.clone().unwrap_or_default()).or_default();
        e.0 += l.net;
        e.1 += l.tax;
    }
    if let Some(r) = &d.shipping_tax_rate_id {
        let e = analysis.entry(r.clone()).or_default();
        e.0 += d.shipping_net;
        e.1 += d.shipping_tax;
    }
    let tax_analysis: Vec<Value> = analysis
        .iter()
        .map(|(r, (n, t))| json!({"tax_rate": tax_rate_ref(b, r), "net_amount": jv(*n), "tax_amount": jv(*t), "total_amount": jv(n + t), "goods_amount": jv(*n), "service_amount": "0.0"}))
        .collect();
    let contact_display = b.contacts.any(&d.contact_id).map(|c| c.displayed_as()).unwrap_or_default();
    let shown = displayed(b, d);
    let total_discount: Decimal = d.lines.iter().map(|l| l.discount).sum();
    let total_quantity: Decimal = d.lines.iter().map(|l| l.quantity).sum();
    let mut v = json!({
        "id": d.meta.id, "displayed_as": shown, "$path": format!("/{}/{}", d.kind.collection(), d.meta.id),
        d.kind.number_key(): d.number.clone().unwrap_or_default(),
        "contact": nested("contacts", &d.contact_id, &contact_display),
        "contact_name": d.contact_name, "contact_reference": d.contact_reference,
        "date": day(d.date), "reference": d.reference,
        "status": {"id": d.status, "displayed_as": status_label(&d.status), "$path": format!("/artefact_statuses/{}", d.status)},
        "sent": d.sent, "sent_by_email": false, "void_reason": d.void_reason,
        "editable": d.status != "VOID" && d.settlements.is_empty(),
        "transaction": d.transaction_id.as_deref().map(|t| nested("transactions", t, &shown)),
        "transaction_type": {"id": d.kind.transaction_type(), "displayed_as": d.kind.transaction_type()},
        "currency": currency_ref(b, &d.currency), "exchange_rate": jv(d.exchange_rate), "inverse_exchange_rate": jv(inverse),
        "net_amount": jv(d.net), "tax_amount": jv(d.tax), "total_amount": jv(d.total),
        "shipping_net_amount": jv(d.shipping_net), "shipping_tax_amount": jv(d.shipping_tax),
        "shipping_total_amount": jv(d.shipping_net + d.shipping_tax),
        "shipping_tax_rate": d.shipping_tax_rate_id.as_deref().map(|t| tax_rate_ref(b, t)),
        "shipping_tax_breakdown": [],
        "total_quantity": jv(total_quantity), "total_discount_amount": jv(total_discount),
        "payments_allocations_total_amount": jv(d.total_paid), "payments_allocations_total_discount": "0.0",
        "total_paid": jv(d.total_paid), "outstanding_amount": jv(d.outstanding),
        "last_paid": d.settlements.iter().map(|s| s.date).max().map(day),
        "base_currency_net_amount": base(d.net), "base_currency_tax_amount": base(d.tax), "base_currency_total_amount": base(d.total),
        "base_currency_outstanding_amount": base(d.outstanding), "base_currency_shipping_net_amount": base(d.shipping_net),
        "base_currency_shipping_tax_amount": base(d.shipping_tax), "base_currency_total_discount_amount": base(total_discount),
        d.kind.lines_key(): lines, "tax_analysis": tax_analysis, "tax_calculation_method": "invoice",
        "tax_reconciled": false, "migrated": false,
        "created_at": ts(d.meta.created_at), "updated_at": ts(d.meta.updated_at), "deleted_at": d.meta.deleted_at.map(ts),
    });
    if let Value::Object(m) = &mut v {
        if d.kind == DocKind::Invoice {
            // Credit notes have no due date in Sage's schema.
            m.insert("due_date".to_owned(), json!(day(d.due_date)));
        }
        for (k, val) in &d.extra {
            m.insert(k.clone(), val.clone());
        }
        if with_allocations {
            let pa: Vec<Value> = d.settlements.iter().map(|s| payment_allocation(b, s)).collect();
            m.insert("payments_allocations".to_owned(), Value::Array(pa));
        }
    }
    v
}

/// One `payments_allocations[]` entry (`PaymentAllocation`): who settled the document, when and how much.
fn payment_allocation(b: &Business, s: &Settlement) -> Value {
    let by_allocation = s.by_type.ends_with("_ALLOCATION");
    let (key, collection) = if by_allocation {
        ("contact_allocation", "contact_allocations")
    } else {
        ("contact_payment", "contact_payments")
    };
    let reference = if by_allocation { None } else { b.payments.any(&s.by_id).and_then(|p| p.reference.clone()) };
    let shown = system_ref("transaction_types", s.by_type)["displayed_as"].clone();
    let mut v = json!({
        "type": s.by_type, "displayed_as": shown, "date": day(s.date), "amount": jv(s.amount), "discount": "0.0",
        "reference": reference,
    });
    v[key] = nested(collection, &s.by_id, shown.as_str().unwrap_or_default());
    v
}

fn kind_of(route: &str) -> DocKind {
    if route.contains("credit_notes") { DocKind::CreditNote } else { DocKind::Invoice }
}

fn check_tier(sim: &Sim, b: &Business, kind: DocKind, method: &str) -> Result<(), ApiError> {
    if kind == DocKind::CreditNote
        && b.tier == Tier::Standard
        && !sim.config.credit_notes_on_standard
        && method == "POST"
    {
        return Err(ApiError::tier(
            sim.config.tier_denied_status,
            "Creating credit notes is not available on this subscription.",
        ));
    }
    Ok(())
}

pub async fn list(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
    route: axum::extract::MatchedPath,
) -> Reply {
    let kind = kind_of(route.as_str());
    let p = Params::parse(q.as_deref());
    let window = Window::from(&p)?;
    let (from, to) = (p.date("from_date")?, p.date("to_date")?);
    sim.with_business(&ctx.business, |b| {
        let search = p.get("search").map(str::to_lowercase);
        let rows: Vec<&Document> = table(b, kind)
            .items
            .iter()
            .filter(|d| window.admits(&d.meta))
            .filter(|d| p.get("contact_id").is_none_or(|c| d.contact_id == c))
            .filter(|d| p.get("status_id").is_none_or(|s| d.status == s))
            .filter(|d| from.is_none_or(|f| d.date >= f) && to.is_none_or(|t| d.date <= t))
            .filter(|d| {
                search.as_deref().is_none_or(|s| {
                    d.reference.as_deref().is_some_and(|r| r.to_lowercase().contains(s))
                        || d.contact_name.to_lowercase().contains(s)
                })
            })
            .collect();
        let with_pa = p.flag("show_payments_allocations");
        ok(envelope(kind.collection(), &p, &sim.config, &rows, |d| render(b, &sim.config, d, with_pa))?)
    })
}

pub async fn get(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    route: axum::extract::MatchedPath,
) -> Reply {
    let kind = kind_of(route.as_str());
    let p = Params::parse(q.as_deref());
    let mark = sim.config.get_marks_as_sent && p.get("mark_as_sent") != Some("false");
    let pdf = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/pdf"));
    sim.with_business(&ctx.business, |b| {
        let d = table_mut(b, kind).get_mut(&id).ok_or_else(ApiError::not_found)?;
        if mark && kind == DocKind::Invoice && !d.sent {
            d.sent = true;
        }
        let d = d.clone();
        if pdf {
            let body = format!("%PDF-1.4\n% sage-sim {} {}\n%%EOF\n", displayed(b, &d), d.meta.id);
            return Ok(([(header::CONTENT_TYPE, "application/pdf")], body).into_response());
        }
        let full = render(b, &sim.config, &d, p.flag("show_payments_allocations"));
        ok(match p.get("attributes") {
            Some(a) if a != "all" => project(full, Some(a)),
            _ => full,
        })
    })
}

pub async fn create(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    route: axum::extract::MatchedPath,
    body: Bytes,
) -> Reply {
    let kind = kind_of(route.as_str());
    let map = root(&body, kind.root(), "POST", route.as_str())?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        check_tier(&sim, b, kind, "POST")?;
        idempotent(b, cfg, kind.root(), &map, |b| {
            let d = build(b, cfg, kind, &map, None)?;
            if let Some(c) = b.contacts.get_mut(&d.contact_id) {
                c.has_documents = true;
            }
            let v = render(b, cfg, &d, false);
            table_mut(b, kind).insert(d);
            Ok((StatusCode::CREATED, v))
        })
    })
}

pub async fn update(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    route: axum::extract::MatchedPath,
    body: Bytes,
) -> Reply {
    let kind = kind_of(route.as_str());
    let map = root(&body, kind.root(), "PUT", route.as_str())?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        idempotent(b, cfg, kind.root(), &map, |b| {
            let existing = table(b, kind).get(&id).cloned().ok_or_else(ApiError::not_found)?;
            if existing.status == "VOID" {
                return Err(ApiError::invalid("base", "A void document cannot be edited."));
            }
            let mut merged = existing.request.clone();
            for (k, v) in &map {
                if k != "idempotency_id" {
                    merged.insert(k.clone(), v.clone());
                }
            }
            let d = build(b, cfg, kind, &merged, Some(&existing))?;
            let v = render(b, cfg, &d, false);
            if let Some(slot) = table_mut(b, kind).get_mut(&id) {
                *slot = d;
            }
            Ok((StatusCode::OK, v))
        })
    })
}

pub async fn release(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    route: axum::extract::MatchedPath,
) -> Reply {
    let kind = kind_of(route.as_str());
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        let status = table(b, kind).get(&id).map(|d| d.status.clone()).ok_or_else(ApiError::not_found)?;
        if status != "DRAFT" && status != "PRO_FORMA" {
            return Err(ApiError::invalid("status_id", "Only draft or pro-forma documents can be released."));
        }
        let number = next_number(b, kind);
        let txn = b.new_id();
        let d = table_mut(b, kind).get_mut(&id).ok_or_else(ApiError::not_found)?;
        d.number.get_or_insert(number);
        d.transaction_id = Some(txn);
        d.status = "UNPAID".to_owned();
        d.restatus();
        d.meta.updated_at = Utc::now();
        let d = d.clone();
        Ok((StatusCode::CREATED, axum::Json(render(b, cfg, &d, false))).into_response())
    })
}

/// `DELETE`: remove a draft, or void a posted document (needs `void_reason`, no payments/allocations).
pub async fn void(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    route: axum::extract::MatchedPath,
    body: Bytes,
) -> Reply {
    let kind = kind_of(route.as_str());
    let p = Params::parse(q.as_deref());
    let from_body = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("void_reason")
            .or_else(|| v.get(kind.root()).and_then(|r| r.get("void_reason")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let reason = p.get("void_reason").map(str::to_owned).or(from_body).filter(|r| !r.trim().is_empty());
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        let d = table_mut(b, kind).get_mut(&id).ok_or_else(ApiError::not_found)?;
        let now = Utc::now();
        match d.status.as_str() {
            "DRAFT" | "PRO_FORMA" => {
                d.meta.deleted_at = Some(now);
            }
            "VOID" => return Err(ApiError::invalid("base", "This document has already been voided.")),
            _ if !d.settlements.is_empty() => {
                return Err(ApiError::invalid(
                    "base",
                    "This document has payments or allocations. Delete them before voiding the document.",
                ));
            }
            _ => {
                let reason = reason.ok_or_else(|| ApiError::required("void_reason"))?;
                if reason.chars().count() > 200 {
                    return Err(ApiError::too_long("void_reason", 200));
                }
                d.status = "VOID".to_owned();
                d.void_reason = Some(reason);
                d.outstanding = Decimal::ZERO;
            }
        }
        d.meta.updated_at = now;
        let d = d.clone();
        ok(render(b, cfg, &d, false))
    })
}

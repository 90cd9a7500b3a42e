//! `/contact_payments`: receipts and refunds, their allocations, payments on account and Start-tier rules.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::common::{Reply, check_currency, check_date, day, idempotent, nested, ok, ts};
use super::doc_build::to_base;
use super::reference::currency_ref;
use super::settle::{Artefact, apply, plan, render_lines, reverse, static_type};
use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{Obj, root};
use crate::http::gate::Ctx;
use crate::http::listing::{Params, Window, envelope};
use crate::model::{DocKind, Meta, Payment, PaymentOnAccount, Tier};
use crate::money::{jv, round2};
use crate::state::{Business, Sim};

fn type_label(t: &str) -> &'static str {
    match t {
        "CUSTOMER_RECEIPT" => "Customer Receipt",
        "CUSTOMER_REFUND" => "Customer Refund",
        "VENDOR_PAYMENT" => "Vendor Payment",
        _ => "Vendor Refund",
    }
}

pub fn render(b: &Business, config: &SimConfig, p: &Payment) -> Value {
    let contact = b.contacts.any(&p.contact_id).map(|c| c.displayed_as()).unwrap_or_default();
    let bank =
        b.bank_account(&p.bank_account_id).map(|a| format!("{} ({})", a.name, a.nominal_code)).unwrap_or_default();
    let method =
        b.payment_methods.iter().find(|(id, _)| *id == p.payment_method_id).map(|(_, n)| n.clone()).unwrap_or_default();
    let base = |x: Decimal| jv(to_base(config, x, p.exchange_rate));
    let poa = p.on_account.as_ref().map(|a| {
        json!({"id": a.id, "displayed_as": "Payment on Account", "$path": format!("/payments_on_account/{}", a.id),
            "total_amount": jv(a.amount), "outstanding_amount": jv(a.outstanding),
            "status": {"id": if a.outstanding.is_zero() { "PAID" } else if a.outstanding < a.amount { "PART_PAID" } else { "UNPAID" }}})
    });
    json!({
        "id": p.meta.id, "displayed_as": p.reference.clone().unwrap_or_else(|| type_label(&p.transaction_type).to_owned()),
        "$path": format!("/contact_payments/{}", p.meta.id),
        "transaction": nested("transactions", &p.transaction_id, type_label(&p.transaction_type)),
        "transaction_type": {"id": p.transaction_type, "displayed_as": type_label(&p.transaction_type)},
        "payment_method": nested("payment_methods", &p.payment_method_id, &method),
        "contact": nested("contacts", &p.contact_id, &contact),
        "bank_account": nested("bank_accounts", &p.bank_account_id, &bank),
        "date": day(p.date), "net_amount": jv(p.total), "tax_amount": "0.0", "total_amount": jv(p.total),
        "currency": currency_ref(b, &p.currency), "exchange_rate": jv(p.exchange_rate),
        "base_currency_net_amount": base(p.total), "base_currency_tax_amount": "0.0", "base_currency_total_amount": base(p.total),
        "base_currency_currency_charge": "0.0", "reference": p.reference,
        "allocated_artefacts": render_lines(b, &p.allocated, true), "payment_on_account": poa, "editable": true,
        "created_at": ts(p.meta.created_at), "updated_at": ts(p.meta.updated_at), "deleted_at": p.meta.deleted_at.map(ts),
    })
}

/// Validate and store a payment (a new one, or a replacement for `existing`, whose effects are already undone).
fn build(
    b: &mut Business,
    config: &SimConfig,
    map: &Map<String, Value>,
    existing: Option<&Payment>,
) -> ApiResult<Payment> {
    let o = Obj::new(map, "");
    let pick = |key: &str, old: Option<String>| -> ApiResult<Option<String>> { Ok(o.str_opt(key)?.or(old)) };
    let txn = pick("transaction_type_id", existing.map(|e| e.transaction_type.clone()))?
        .ok_or_else(|| ApiError::required("transaction_type_id"))?;
    if !matches!(txn.as_str(), "CUSTOMER_RECEIPT" | "CUSTOMER_REFUND" | "VENDOR_PAYMENT" | "VENDOR_REFUND") {
        return Err(ApiError::invalid("transaction_type_id", "Transaction type is not valid."));
    }
    let refund = txn.ends_with("_REFUND");
    if refund && b.tier == Tier::Start {
        return Err(ApiError::invalid("transaction_type_id", "Refunds are not available on Sage Accounting Start."));
    }
    let contact_id =
        pick("contact_id", existing.map(|e| e.contact_id.clone()))?.ok_or_else(|| ApiError::required("contact_id"))?;
    let contact = b
        .contacts
        .get(&contact_id)
        .ok_or_else(|| ApiError::bad_reference(config.bad_reference_status, "contact_id"))?;
    let customer = txn.starts_with("CUSTOMER");
    if (contact.contact_type == "CUSTOMER") != customer {
        let who = if customer { "customer" } else { "supplier" };
        return Err(ApiError::invalid("contact_id", format!("can't find {who}")));
    }
    let contact_currency = contact.currency.clone();
    let bank_id = pick("bank_account_id", existing.map(|e| e.bank_account_id.clone()))?
        .ok_or_else(|| ApiError::required("bank_account_id"))?;
    let bank = b
        .bank_account(&bank_id)
        .ok_or_else(|| ApiError::bad_reference(config.bad_reference_status, "bank_account_id"))?;
    let default_method = bank.default_payment_method.clone();
    let date = match (o.date_opt("date")?, existing) {
        (Some(d), _) => d,
        (None, Some(e)) => e.date,
        (None, None) => return Err(ApiError::required("date")),
    };
    check_date(b, config, date, "date")?;
    let total = match (o.dec_opt("total_amount")?, existing) {
        (Some(t), _) => round2(t),
        (None, Some(e)) => e.total,
        (None, None) => return Err(ApiError::required("total_amount")),
    };
    if total <= Decimal::ZERO {
        return Err(ApiError::invalid("total_amount", "must be greater than 0"));
    }
    let method = pick("payment_method_id", existing.map(|e| e.payment_method_id.clone()))?.unwrap_or(default_method);
    if !b.payment_methods.iter().any(|(id, _)| *id == method) {
        return Err(ApiError::bad_reference(config.bad_reference_status, "payment_method_id"));
    }
    let reference = match o.str_max("reference", 25)? {
        Some(r) => Some(r).filter(|r| !r.is_empty()),
        None => existing.and_then(|e| e.reference.clone()),
    };
    let currency = pick("currency_id", existing.map(|e| e.currency.clone()))?.unwrap_or(contact_currency);
    check_currency(b, &currency, "currency_id")?;
    let exchange_rate = if currency == b.base_currency() {
        Decimal::ONE
    } else {
        o.dec_opt("exchange_rate")?.or_else(|| b.rate_for(&currency)).unwrap_or(Decimal::ONE)
    };
    let items: Vec<Value> = match o.array("allocated_artefacts")? {
        Some(a) => a.clone(),
        None => existing
            .map(|e| {
                e.allocated
                    .iter()
                    .map(|l| json!({"artefact_id": l.artefact_id, "amount": l.amount.to_string()}))
                    .collect()
            })
            .unwrap_or_default(),
    };
    if !customer && !items.is_empty() {
        return Err(ApiError::invalid(
            "allocated_artefacts",
            "Vendor payments cannot be allocated to sales artefacts.",
        ));
    }
    let planned = plan(b, config, &items, &contact_id, Some(&currency), |what| match (refund, what) {
        (false, Artefact::Doc(DocKind::Invoice)) => Decimal::ONE,
        (false, _) => Decimal::NEGATIVE_ONE,
        (true, Artefact::Doc(DocKind::Invoice)) => Decimal::NEGATIVE_ONE,
        (true, _) => Decimal::ONE,
    })?;
    if refund && planned.iter().any(|p| p.what == Artefact::Doc(DocKind::Invoice)) {
        return Err(ApiError::invalid(
            "allocated_artefacts.artefact_id",
            "A refund can only be allocated to credit notes or payments on account.",
        ));
    }
    let allocated: Decimal = planned.iter().map(|p| p.amount).sum();
    if allocated > total {
        return Err(ApiError::invalid(
            "total_amount",
            "The total amount must be at least the sum of the allocated amounts.",
        ));
    }
    if refund && (planned.is_empty() || allocated != total) {
        return Err(ApiError::invalid(
            "total_amount",
            "A refund's total amount must equal the sum of its allocated artefacts.",
        ));
    }
    let excess = total - allocated;
    if b.tier == Tier::Start && customer && (planned.is_empty() || !excess.is_zero()) {
        return Err(ApiError::invalid(
            "allocated_artefacts",
            "Sage Accounting Start only records payments that are fully allocated to invoices.",
        ));
    }
    let now = Utc::now();
    let meta = match existing {
        Some(e) => Meta { updated_at: now, ..e.meta.clone() },
        None => Meta::new(b.new_id(), now),
    };
    let on_account = (!refund && excess > Decimal::ZERO).then(|| PaymentOnAccount {
        id: existing.and_then(|e| e.on_account.as_ref().map(|a| a.id.clone())).unwrap_or_else(|| b.new_id()),
        amount: excess,
        outstanding: excess,
    });
    let transaction_id = existing.map(|e| e.transaction_id.clone()).unwrap_or_else(|| b.new_id());
    let lines = apply(b, &planned, &meta.id, static_type(&txn), date);
    Ok(Payment {
        meta,
        transaction_type: txn,
        contact_id,
        bank_account_id: bank_id,
        payment_method_id: method,
        date,
        total,
        currency,
        exchange_rate,
        reference,
        allocated: lines,
        on_account,
        transaction_id,
    })
}

fn store(b: &mut Business, p: Payment) {
    let sign = if p.transaction_type.ends_with("RECEIPT") || p.transaction_type == "VENDOR_REFUND" { 1 } else { -1 };
    if let Some(bank) = b.bank_accounts.iter_mut().find(|a| a.id == p.bank_account_id) {
        bank.balance += p.total * Decimal::from(sign);
    }
    if let Some(a) = &p.on_account {
        b.poa_index.insert(a.id.clone(), p.meta.id.clone());
    }
    if let Some(slot) = b.payments.get_mut(&p.meta.id) {
        *slot = p;
    } else {
        b.payments.insert(p);
    }
}

/// Undo a stored payment's effects; fails when its payment on account was used elsewhere.
fn unwind(b: &mut Business, id: &str) -> ApiResult<Payment> {
    let p = b.payments.get(id).cloned().ok_or_else(ApiError::not_found)?;
    if let Some(a) = &p.on_account
        && a.outstanding != a.amount
    {
        return Err(ApiError::invalid(
            "base",
            "The payment on account has been allocated or refunded. Delete those first.",
        ));
    }
    reverse(b, &p.allocated, id);
    let sign = if p.transaction_type.ends_with("RECEIPT") || p.transaction_type == "VENDOR_REFUND" { -1 } else { 1 };
    if let Some(bank) = b.bank_accounts.iter_mut().find(|a| a.id == p.bank_account_id) {
        bank.balance += p.total * Decimal::from(sign);
    }
    Ok(p)
}

pub async fn list(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, RawQuery(q): RawQuery) -> Reply {
    let p = Params::parse(q.as_deref());
    let window = Window::from(&p)?;
    let (from, to) = (p.date("from_date")?, p.date("to_date")?);
    sim.with_business(&ctx.business, |b| {
        let rows: Vec<&Payment> = b
            .payments
            .items
            .iter()
            .filter(|x| window.admits(&x.meta))
            .filter(|x| p.get("contact_id").is_none_or(|c| x.contact_id == c))
            .filter(|x| p.get("bank_account_id").is_none_or(|c| x.bank_account_id == c))
            .filter(|x| p.get("transaction_type_id").is_none_or(|c| x.transaction_type == c))
            .filter(|x| from.is_none_or(|f| x.date >= f) && to.is_none_or(|t| x.date <= t))
            .collect();
        ok(envelope("contact_payments", &p, &sim.config, &rows, |x| render(b, &sim.config, x))?)
    })
}

pub async fn get(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        let p = b.payments.get(&id).ok_or_else(ApiError::not_found)?;
        ok(render(b, &sim.config, p))
    })
}

pub async fn create(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, body: Bytes) -> Reply {
    let map = root(&body, "contact_payment", "POST", "/contact_payments")?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        idempotent(b, cfg, "contact_payment", &map, |b| {
            let p = build(b, cfg, &map, None)?;
            let id = p.meta.id.clone();
            store(b, p);
            let v = b.payments.get(&id).map(|p| render(b, cfg, p)).unwrap_or_default();
            Ok((StatusCode::CREATED, v))
        })
    })
}

pub async fn update(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let map = root(&body, "contact_payment", "PUT", "/contact_payments/{id}")?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        idempotent(b, cfg, "contact_payment", &map, |b| {
            let snapshot = (b.invoices.clone(), b.credit_notes.clone(), b.payments.clone(), b.bank_accounts.clone());
            let old = unwind(b, &id)?;
            match build(b, cfg, &map, Some(&old)) {
                Ok(p) => {
                    if let Some(a) = &old.on_account
                        && p.on_account.is_none()
                    {
                        b.poa_index.remove(&a.id);
                    }
                    store(b, p);
                    let v = b.payments.get(&id).map(|p| render(b, cfg, p)).unwrap_or_default();
                    Ok((StatusCode::OK, v))
                }
                Err(e) => {
                    (b.invoices, b.credit_notes, b.payments, b.bank_accounts) = snapshot;
                    Err(e)
                }
            }
        })
    })
}

pub async fn delete(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        let p = unwind(b, &id)?;
        if let Some(a) = &p.on_account {
            b.poa_index.remove(&a.id);
        }
        if let Some(x) = b.payments.get_mut(&id) {
            x.meta.deleted_at = Some(Utc::now());
            x.meta.updated_at = Utc::now();
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

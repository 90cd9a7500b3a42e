//! `/contacts`: customer and vendor records, reference uniqueness and the currency lock.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::common::{AddressShape, Reply, check_currency, idempotent, nested, ok, render_address, system_ref, ts};
use super::reference::{currency_ref, ledger_ref, tax_rate_ref};
use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{Obj, root};
use crate::http::gate::Ctx;
use crate::http::listing::{Params, Window, envelope};
use crate::model::{Contact, Meta};
use crate::money::jv;
use crate::state::{Business, Sim};

const PASSTHROUGH: &[&str] = &[
    "notes",
    "credit_days",
    "credit_terms",
    "tax_number",
    "locale",
    "default_sales_ledger_account_id",
    "default_sales_tax_rate_id",
    "source_guid",
    "bank_account_details",
    "tax_treatment",
    "credit_terms_and_conditions",
    "destination_vat_blocking",
];

/// The request's `main_contact_person` as a `ContactPerson` record (type and address ids become objects).
fn render_person(p: &Map<String, Value>, id: &str) -> Value {
    let text = |k: &str| p.get(k).and_then(Value::as_str).map_or(Value::Null, |s| json!(s));
    let types: Vec<Value> = p
        .get("contact_person_type_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).map(|t| system_ref("contact_person_types", t)).collect())
        .unwrap_or_default();
    json!({
        "id": id, "displayed_as": p.get("name").and_then(Value::as_str).unwrap_or_default(),
        "$path": format!("/contact_persons/{id}"),
        "name": text("name"), "job_title": text("job_title"), "telephone": text("telephone"),
        "mobile": text("mobile"), "email": text("email"), "fax": text("fax"),
        "is_main_contact": p.get("is_main_contact").and_then(Value::as_bool).unwrap_or(true),
        "is_preferred_contact": p.get("is_preferred_contact").and_then(Value::as_bool).unwrap_or(false),
        "contact_person_types": types,
        "address": p.get("address_id").and_then(Value::as_str).map(|a| nested("addresses", a, a)),
    })
}

/// Keep the id a nested record already has on an update, or mint one.
fn nested_id(biz: &mut Business, existing: Option<&Contact>, key: &str) -> String {
    existing
        .and_then(|c| c.extra.get(key))
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str)
        .map_or_else(|| biz.new_id(), str::to_owned)
}

fn check_address(obj: &Obj<'_>, key: &str) -> ApiResult<()> {
    let Some(addr) = obj.object(key)? else { return Ok(()) };
    let prefix = format!("{}{key}.", obj.prefix);
    let a = Obj::new(addr, &prefix);
    for f in ["address_line_1", "address_line_2", "city", "region", "name"] {
        a.str_max(f, 50)?;
    }
    a.str_max("postal_code", 10)?;
    a.str_max("country_id", 2)?;
    Ok(())
}

/// Validate a contact body into a new record (or an update of `existing`).
fn build(
    biz: &mut Business,
    config: &SimConfig,
    map: &Map<String, Value>,
    existing: Option<&Contact>,
) -> ApiResult<Contact> {
    let o = Obj::new(map, "");
    let name = match (o.has("name"), existing) {
        (false, Some(c)) => c.name.clone(),
        _ => o.str_req("name", 100)?,
    };
    let contact_type = match (o.array("contact_type_ids")?, existing) {
        (None, Some(c)) => c.contact_type.clone(),
        (None, None) => return Err(ApiError::required("contact_type_ids")),
        (Some(ids), _) => {
            let ids: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
            match ids.as_slice() {
                [one] if *one == "CUSTOMER" || *one == "VENDOR" => (*one).to_owned(),
                [] => return Err(ApiError::required("contact_type_ids")),
                [_] => return Err(ApiError::invalid("contact_type_ids", "Contact type is not valid.")),
                _ => return Err(ApiError::invalid("contact_type_ids", "Only one contact type is allowed.")),
            }
        }
    };
    let reference = if o.has("reference") || existing.is_none() {
        o.str_max("reference", 10)?.filter(|r| !r.is_empty())
    } else {
        existing.and_then(|c| c.reference.clone())
    };
    if let Some(r) = &reference {
        let own = existing.map(|c| c.meta.id.as_str());
        let taken = biz.contacts.items.iter().any(|c| {
            Some(c.meta.id.as_str()) != own
                && c.reference.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(r))
                && (c.meta.live() || config.deleted_reference_reserved)
        });
        if taken {
            return Err(ApiError::invalid("reference", "has already been taken"));
        }
    }
    let person_email = o
        .object("main_contact_person")?
        .map(|p| Obj::new(p, "main_contact_person.").str_max("email", 100))
        .transpose()?
        .flatten();
    if let Some(p) = o.object("main_contact_person")? {
        let p = Obj::new(p, "main_contact_person.");
        for f in ["name", "telephone", "mobile", "job_title"] {
            p.str_max(f, 50)?;
        }
    }
    let email = o.str_max("email", 100)?.or(person_email).or_else(|| existing.and_then(|c| c.email.clone()));
    let currency = match (o.str_opt("currency_id")?, existing) {
        (Some(c), Some(e)) if c != e.currency && e.has_documents => {
            return Err(ApiError::invalid(
                "currency_id",
                "Currency cannot be changed once transactions have been recorded.",
            ));
        }
        (Some(c), _) => c,
        (None, Some(e)) => e.currency.clone(),
        (None, None) => biz.base_currency().to_owned(),
    };
    check_currency(biz, &currency, "currency_id")?;
    if let Some(id) = o.str_opt("default_sales_ledger_account_id")?
        && !biz.ledger_account(&id).is_some_and(|l| l.visible_in("sales"))
    {
        return Err(ApiError::bad_reference(config.bad_reference_status, "default_sales_ledger_account_id"));
    }
    if let Some(id) = o.str_opt("default_sales_tax_rate_id")?
        && biz.tax_rate(&id).is_none()
    {
        return Err(ApiError::bad_reference(config.bad_reference_status, "default_sales_tax_rate_id"));
    }
    if let Some(days) = o.dec_opt("credit_days")?
        && (days < Decimal::ZERO || days > Decimal::from(365))
    {
        return Err(ApiError::invalid("credit_days", "must be between 0 and 365"));
    }
    o.str_max("notes", 4000)?;
    check_address(&o, "main_address")?;
    check_address(&o, "delivery_address")?;
    let now = Utc::now();
    let mut extra = existing.map(|c| c.extra.clone()).unwrap_or_default();
    o.keep(PASSTHROUGH, &mut extra);
    if let Some(limit) = o.dec_opt("credit_limit")? {
        extra.insert("credit_limit".into(), jv(limit));
    }
    let main_type = if contact_type == "VENDOR" { "PURCHASING" } else { "SALES" };
    for (key, default_type) in [("main_address", main_type), ("delivery_address", "DELIVERY")] {
        if let Some(addr) = o.object(key)? {
            let id = nested_id(biz, existing, key);
            extra.insert(key.into(), render_address(addr, &id, default_type, AddressShape::Contact));
        }
    }
    if let Some(person) = o.object("main_contact_person")? {
        let id = nested_id(biz, existing, "main_contact_person");
        extra.insert("main_contact_person".into(), render_person(person, &id));
    }
    let meta = match existing {
        Some(c) => Meta { updated_at: now, ..c.meta.clone() },
        None => Meta::new(biz.new_id(), now),
    };
    Ok(Contact {
        meta,
        name,
        contact_type,
        reference,
        email,
        currency,
        has_documents: existing.is_some_and(|c| c.has_documents),
        extra,
    })
}

/// Outstanding balance: invoices minus credit notes and unallocated payments on account.
fn balance(b: &Business, id: &str) -> Decimal {
    let inv: Decimal = b.invoices.live().filter(|d| d.contact_id == id && d.payable()).map(|d| d.outstanding).sum();
    let cn: Decimal = b.credit_notes.live().filter(|d| d.contact_id == id && d.payable()).map(|d| d.outstanding).sum();
    let poa: Decimal = b
        .payments
        .live()
        .filter(|p| p.contact_id == id)
        .filter_map(|p| p.on_account.as_ref().map(|a| a.outstanding))
        .sum();
    inv - cn - poa
}

pub fn render(b: &Business, c: &Contact) -> Value {
    let ctype = if c.contact_type == "CUSTOMER" { "Customer" } else { "Supplier" };
    let mut v = json!({
        "id": c.meta.id, "displayed_as": c.displayed_as(), "$path": format!("/contacts/{}", c.meta.id),
        "name": c.name, "reference": c.reference, "email": c.email,
        "contact_types": [nested("contact_types", &c.contact_type, ctype)],
        "currency": currency_ref(b, &c.currency), "balance": jv(balance(b, &c.meta.id)),
        "deletable": !c.has_documents, "is_active": true, "system": false, "gdpr_obfuscated": false,
        "has_unfinished_recurring_invoices": false, "gb_based": true, "ni_based": false, "cis_registered": false,
        "created_at": ts(c.meta.created_at), "updated_at": ts(c.meta.updated_at),
        "deleted_at": c.meta.deleted_at.map(ts),
    });
    if let Value::Object(m) = &mut v {
        for (k, val) in &c.extra {
            match k.as_str() {
                "default_sales_ledger_account_id" => {
                    m.insert(
                        "default_sales_ledger_account".to_owned(),
                        val.as_str().map(|i| ledger_ref(b, i)).unwrap_or_default(),
                    );
                }
                "default_sales_tax_rate_id" => {
                    m.insert(
                        "default_sales_tax_rate".to_owned(),
                        val.as_str().map(|i| tax_rate_ref(b, i)).unwrap_or_default(),
                    );
                }
                _ => {
                    m.insert(k.clone(), val.clone());
                }
            }
        }
    }
    v
}

pub async fn list(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, RawQuery(q): RawQuery) -> Reply {
    let p = Params::parse(q.as_deref());
    let window = Window::from(&p)?;
    sim.with_business(&ctx.business, |b| {
        let search = p.get("search").map(str::to_lowercase);
        let email = p.get("email").map(str::to_lowercase);
        let rows: Vec<&Contact> = b
            .contacts
            .items
            .iter()
            .filter(|c| window.admits(&c.meta))
            .filter(|c| p.get("contact_type_id").is_none_or(|t| c.contact_type == t))
            .filter(|c| {
                search.as_deref().is_none_or(|s| {
                    c.name.to_lowercase().contains(s)
                        || c.reference.as_deref().is_some_and(|r| r.to_lowercase().contains(s))
                })
            })
            .filter(|c| email.as_deref().is_none_or(|e| c.email.as_deref().is_some_and(|x| x.to_lowercase() == e)))
            .collect();
        ok(envelope("contacts", &p, &sim.config, &rows, |c| render(b, c))?)
    })
}

pub async fn get(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        let c = b.contacts.get(&id).ok_or_else(ApiError::not_found)?;
        ok(render(b, c))
    })
}

pub async fn create(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, body: Bytes) -> Reply {
    let map = root(&body, "contact", "POST", "/contacts")?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        idempotent(b, cfg, "contact", &map, |b| {
            let c = build(b, cfg, &map, None)?;
            let v = render(b, &c);
            b.contacts.insert(c);
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
    let map = root(&body, "contact", "PUT", "/contacts/{id}")?;
    let cfg = &sim.config;
    sim.with_business(&ctx.business, |b| {
        idempotent(b, cfg, "contact", &map, |b| {
            let existing = b.contacts.get(&id).cloned().ok_or_else(ApiError::not_found)?;
            let c = build(b, cfg, &map, Some(&existing))?;
            let v = render(b, &c);
            if let Some(slot) = b.contacts.get_mut(&id) {
                *slot = c;
            }
            Ok((StatusCode::OK, v))
        })
    })
}

pub async fn delete(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        let used = b.payments.live().any(|p| p.contact_id == id);
        let c = b.contacts.get_mut(&id).ok_or_else(ApiError::not_found)?;
        if c.has_documents || used {
            return Err(ApiError::invalid("base", "This contact cannot be deleted because it has transactions."));
        }
        c.meta.deleted_at = Some(Utc::now());
        c.meta.updated_at = Utc::now();
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

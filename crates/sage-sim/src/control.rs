//! The `/_sim/` control surface: state, records, call log, duplicates, faults, auth switches, reset.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{allocations, catalog, contacts, documents, movements, payments};
use crate::config::FxDirection;
use crate::faults::FaultSpec;
use crate::model::DocKind;
use crate::state::{Business, Sim, lock};

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

/// `GET /_sim/state`.
pub async fn state(State(sim): State<Arc<Sim>>) -> Response {
    let user = sim.user();
    let businesses: Vec<Value> = sim
        .businesses()
        .iter()
        .map(|b| {
            let b = lock(b);
            json!({"id": b.id, "name": b.name, "tier": b.tier.label(), "subscription": b.tier.subscription_id(),
                "multi_currency": b.multi_currency, "lead": user.businesses.first() == Some(&b.id),
                "mse": b.mse, "denied_areas": b.denied_areas})
        })
        .collect();
    Json(json!({
        "users": [{"id": user.id, "requested_by_id": user.uuid, "email": user.email,
            "name": format!("{} {}", user.first_name, user.last_name), "businesses": user.businesses,
            "lead_business": user.businesses.first()}],
        "businesses": businesses,
        "exchange_rate_direction": match sim.config.fx_direction {
            FxDirection::ForeignPerBase => "foreign_per_base",
            FxDirection::BasePerForeign => "base_per_foreign",
        },
        "clients": [{"client_id": sim.config.client_id, "redirect_uris": "any loopback (http://127.0.0.1:*, http://localhost:*)",
            "extra_redirect_uris": sim.config.extra_redirect_uris}],
    }))
    .into_response()
}

fn records_of(sim: &Sim, b: &Business, kind: &str) -> Option<Vec<Value>> {
    let cfg = &sim.config;
    Some(match kind {
        "contacts" => b.contacts.items.iter().map(|c| contacts::render(b, c)).collect(),
        "sales_invoices" => b.invoices.items.iter().map(|d| documents::render(b, cfg, d, true)).collect(),
        "sales_credit_notes" => b.credit_notes.items.iter().map(|d| documents::render(b, cfg, d, true)).collect(),
        "contact_payments" => b.payments.items.iter().map(|p| payments::render(b, cfg, p)).collect(),
        "contact_allocations" => b.allocations.items.iter().map(|a| allocations::render(b, a)).collect(),
        "products" => b.products.items.iter().map(|i| catalog::render(b, i)).collect(),
        "services" => b.services.items.iter().map(|i| catalog::render(b, i)).collect(),
        "stock_items" => b.stock_items.items.iter().map(|i| catalog::render(b, i)).collect(),
        "stock_movements" => b.stock_movements.items.iter().map(|m| movements::render(b, m)).collect(),
        _ => return None,
    })
}

/// `GET /_sim/records?business=ID&type=sales_invoices` (business defaults to the lead).
pub async fn records(State(sim): State<Arc<Sim>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let business = q.get("business").cloned().or_else(|| sim.user().businesses.first().cloned()).unwrap_or_default();
    let Some(kind) = q.get("type") else { return bad("type is required") };
    let Some(biz) = sim.business(&business) else { return bad("unknown business") };
    let b = lock(&biz);
    match records_of(&sim, &b, kind) {
        Some(items) => Json(json!({"items": items})).into_response(),
        None => bad(format!("unknown type {kind}")),
    }
}

/// `GET /_sim/calls`.
pub async fn calls(State(sim): State<Arc<Sim>>) -> Response {
    let mut rows: Vec<_> = lock(&sim.calls).iter().map(|((m, p, s), c)| (m.clone(), p.clone(), *s, *c)).collect();
    rows.sort();
    let out: Vec<Value> =
        rows.into_iter().map(|(m, p, s, c)| json!({"method": m, "path": p, "status": s, "count": c})).collect();
    Json(out).into_response()
}

/// Duplicate detection of one business: documents sharing a reference, contacts sharing a customer and currency.
pub fn duplicates_in(b: &Business) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |kind: &str, groups: BTreeMap<String, Vec<String>>| {
        for (key, ids) in groups.into_iter().filter(|(_, ids)| ids.len() > 1) {
            out.push(json!({"business": b.id, "type": kind, "key": key, "ids": ids}));
        }
    };
    for kind in [DocKind::Invoice, DocKind::CreditNote] {
        let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in documents::table(b, kind).live().filter(|d| d.status != "VOID") {
            if let Some(r) = &d.reference {
                g.entry(r.clone()).or_default().push(d.meta.id.clone());
            }
        }
        push(kind.collection(), g);
    }
    let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in b.payments.live() {
        if let Some(r) = &p.reference {
            g.entry(format!("{}/{r}", p.transaction_type)).or_default().push(p.meta.id.clone());
        }
    }
    push("contact_payments", g);
    let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in b.contacts.live() {
        let who = c.email.as_deref().map(str::to_lowercase).unwrap_or_else(|| c.name.to_lowercase());
        g.entry(format!("{}/{who}/{}", c.contact_type, c.currency)).or_default().push(c.meta.id.clone());
    }
    push("contacts", g);
    out
}

/// `GET /_sim/duplicates`.
pub async fn duplicates(State(sim): State<Arc<Sim>>) -> Response {
    let all: Vec<Value> = sim.businesses().iter().flat_map(|b| duplicates_in(&lock(b))).collect();
    Json(all).into_response()
}

/// `PUT /_sim/faults` (`{}` clears every profile); `GET` lists them.
pub async fn put_faults(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad(format!("invalid fault profile: {e}")),
    };
    let rates = [spec.rate_429, spec.rate_500_after_commit, spec.rate_503, spec.rate_hang, spec.rate_hang_after_commit];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return bad("rates must be between 0 and 1");
    }
    let mut f = lock(&sim.faults);
    f.set(spec);
    Json(json!({"faults": f.list()})).into_response()
}

pub async fn get_faults(State(sim): State<Arc<Sim>>) -> Response {
    Json(json!({"faults": lock(&sim.faults).list()})).into_response()
}

#[derive(Debug, Deserialize)]
pub struct AuthAction {
    action: String,
    #[serde(default)]
    business: Option<String>,
    /// For `deny_role`: one area (`sales`, `contacts`, `bank`, `products`, `settings`); absent = all.
    #[serde(default)]
    area: Option<String>,
}

/// `POST /_sim/auth`: `expire_tokens`, `stale_refresh`, `mse`, `deny_role`, `clear`.
pub async fn auth(State(sim): State<Arc<Sim>>, Json(a): Json<AuthAction>) -> Response {
    let targets: Vec<_> = match &a.business {
        Some(id) => match sim.business(id) {
            Some(b) => vec![b],
            None => return bad("unknown business"),
        },
        None => sim.businesses(),
    };
    match a.action.as_str() {
        "expire_tokens" => crate::oauth::expire_all(&sim),
        "stale_refresh" => crate::oauth::stale_all(&sim),
        "mse" => targets.iter().for_each(|b| lock(b).mse = true),
        "deny_role" => targets.iter().for_each(|b| {
            let mut b = lock(b);
            match &a.area {
                Some(area) => b.denied_areas.get_or_insert_with(Vec::new).push(area.clone()),
                None => b.denied_areas = Some(Vec::new()),
            }
        }),
        "clear" => targets.iter().for_each(|b| {
            let mut b = lock(b);
            b.mse = false;
            b.denied_areas = None;
        }),
        other => return bad(format!("unknown action {other}")),
    }
    Json(json!({"ok": true, "action": a.action, "business": a.business})).into_response()
}

/// `GET /_sim/concurrency`: requests in flight now and at most, app-wide and per business (creates
/// apart), since start, the last reset or the last `DELETE /_sim/concurrency`.
pub async fn concurrency(State(sim): State<Arc<Sim>>) -> Response {
    use std::sync::atomic::Ordering;
    let businesses: BTreeMap<String, crate::state::BusinessConcurrency> =
        lock(&sim.limits.per_business).iter().map(|(b, c)| (b.clone(), *c)).collect();
    Json(json!({
        "in_flight": sim.limits.in_flight.load(Ordering::Acquire),
        "peak": sim.limits.peak.load(Ordering::Acquire),
        "cap": sim.config.concurrency_cap,
        "businesses": businesses,
    }))
    .into_response()
}

/// `DELETE /_sim/concurrency`: the peaks restart from what is in flight now.
pub async fn reset_concurrency(State(sim): State<Arc<Sim>>) -> Response {
    sim.limits.reset_peaks();
    Json(json!({"ok": true})).into_response()
}

/// `POST /_sim/reset`.
pub async fn reset(State(sim): State<Arc<Sim>>) -> Response {
    sim.reset();
    Json(json!({"ok": true})).into_response()
}

//! Helpers shared by the resource handlers: replies, nested links, date rules, idempotency.

use std::time::Instant;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use crate::config::{IdempotencyBodyMismatch, SimConfig};
use crate::error::{ApiError, ApiResult, status_or};
use crate::state::{Business, IdemEntry};

/// A handler's answer: a JSON body with a status, or an error array.
pub type Reply = ApiResult<Response>;

pub fn json_reply(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

pub fn ok(v: Value) -> Reply {
    Ok(json_reply(StatusCode::OK, v))
}

/// `{id, displayed_as, $path}` as Sage nests references.
pub fn nested(collection: &str, id: &str, displayed_as: &str) -> Value {
    json!({"id": id, "displayed_as": displayed_as, "$path": format!("/{collection}/{id}")})
}

/// Display names of the countries the simulator knows (others show their code).
const COUNTRIES: &[(&str, &str)] = &[
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("BE", "Belgium"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("US", "United States"),
    ("CA", "Canada"),
    ("AU", "Australia"),
    ("CH", "Switzerland"),
];

/// `{id, displayed_as, $path}` of a country, e.g. `United Kingdom (GB)`.
pub fn country_ref(code: &str) -> Value {
    let name = COUNTRIES.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map(|(_, n)| *n);
    let shown = name.map_or_else(|| code.to_owned(), |n| format!("{n} ({code})"));
    nested("countries", code, &shown)
}

/// `{id, displayed_as, $path}` of a system list entry whose display name is its id in title case.
pub fn system_ref(collection: &str, id: &str) -> Value {
    let shown: Vec<String> = id
        .split('_')
        .map(|w| {
            let lower = w.to_lowercase();
            let mut c = lower.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        })
        .collect();
    nested(collection, id, &shown.join(" "))
}

/// Which response shape an address takes: a contact's `Address` or a document's `SalesArtefactAddress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressShape {
    Contact,
    Document,
}

/// A request address (`country_id`, `address_type_id`, …) as Sage returns it: an addressable record with
/// nested `country`, `address_type` and `country_group` objects instead of the request's ids.
pub fn render_address(req: &Map<String, Value>, id: &str, default_type: &str, shape: AddressShape) -> Value {
    let text = |k: &str| req.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let shown: Vec<&str> =
        ["address_line_1", "address_line_2", "city", "region", "postal_code"].iter().filter_map(|k| text(k)).collect();
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("displayed_as".into(), json!(shown.join("\n")));
    out.insert("$path".into(), json!(format!("/addresses/{id}")));
    for k in ["address_line_1", "address_line_2", "city", "region", "postal_code"] {
        out.insert(k.into(), text(k).map_or(Value::Null, |s| json!(s)));
    }
    out.insert("country".into(), text("country_id").map_or(Value::Null, country_ref));
    out.insert(
        "country_group".into(),
        text("country_group_id").map_or(Value::Null, |g| nested("country_groups", g, g)),
    );
    out.insert("address_type".into(), system_ref("address_types", text("address_type_id").unwrap_or(default_type)));
    if shape == AddressShape::Contact {
        out.insert("name".into(), text("name").map_or(Value::Null, |s| json!(s)));
        let main = req.get("is_main_address").and_then(Value::as_bool).unwrap_or(default_type != "DELIVERY");
        out.insert("is_main_address".into(), json!(main));
    }
    Value::Object(out)
}

/// Sage's timestamp style, `2018-06-25T05:46:18Z`.
pub fn ts(dt: DateTime<Utc>) -> String {
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Documents and payments may not be dated before the accounts start date or on/before the lock date.
pub fn check_date(biz: &Business, config: &SimConfig, date: NaiveDate, source: &str) -> ApiResult<()> {
    if date < biz.accounts_start_date {
        return Err(ApiError::invalid(
            source,
            format!("The date cannot be before the accounts start date ({}).", day(biz.accounts_start_date)),
        ));
    }
    if let Some(lock) = biz.lockdown_date
        && date <= lock
    {
        return Err(ApiError::new(
            status_or(config.lock_date_status, StatusCode::UNPROCESSABLE_ENTITY),
            "RecordInvalid",
            format!("The date must be after the year end lockdown date ({}).", day(lock)),
            source,
        ));
    }
    Ok(())
}

/// Foreign currency needs multi-currency on the business.
pub fn check_currency(biz: &Business, currency: &str, source: &str) -> ApiResult<()> {
    if !biz.has_currency(currency) {
        return Err(ApiError::invalid(source, "Currency is not valid."));
    }
    if currency != biz.base_currency() && !biz.multi_currency {
        return Err(ApiError::invalid(source, "Foreign currency is not enabled for this business."));
    }
    Ok(())
}

/// Run an idempotent create/update: replay a stored answer for a known `idempotency_id`,
/// or run `f` and remember its successful answer.
pub fn idempotent(
    biz: &mut Business,
    config: &SimConfig,
    resource: &'static str,
    root: &Map<String, Value>,
    f: impl FnOnce(&mut Business) -> ApiResult<(StatusCode, Value)>,
) -> Reply {
    let key = match root.get("idempotency_id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let Some(key) = key else {
        let (status, body) = f(biz)?;
        return Ok(json_reply(status, body));
    };
    let request = Value::Object(root.clone());
    if let Some(entry) = biz.idempotency.get(&key) {
        if entry.stored_at.elapsed() < config.idempotency_ttl {
            if entry.resource != resource {
                return Err(ApiError::new(
                    status_or(config.idempotency_mismatch_status, StatusCode::UNPROCESSABLE_ENTITY),
                    "IdempotencyResourceMismatch",
                    "Entity type mismatch",
                    "idempotency_id",
                ));
            }
            if entry.request != request && config.idempotency_body_mismatch == IdempotencyBodyMismatch::Reject {
                return Err(ApiError::invalid(
                    "idempotency_id",
                    "The idempotency_id was used with a different request.",
                ));
            }
            let status =
                if config.idempotency_replay_ok { StatusCode::OK } else { status_or(entry.status, StatusCode::OK) };
            return Ok(json_reply(status, entry.body.clone()));
        }
        biz.idempotency.remove(&key);
    }
    let (status, body) = f(biz)?;
    biz.idempotency.insert(
        key,
        IdemEntry { resource, status: status.as_u16(), body: body.clone(), request, stored_at: Instant::now() },
    );
    Ok(json_reply(status, body))
}

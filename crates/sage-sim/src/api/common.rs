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

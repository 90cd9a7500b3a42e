//! Request bodies: the singular root key and typed field readers that fail with Sage's `$source` names.

use axum::http::StatusCode;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::conformance::{self, Problem};
use crate::error::{ApiError, ApiResult};
use crate::money;

/// Parse `{"<root>": {...}}` from the JSON body of `method` `route` and hold it to Sage's published
/// request schema: a value of the wrong type (`main_address: 5`), outside an enum, too long or out of
/// range is a 422 `RecordInvalid`. Unknown fields are ignored and required fields are left to the
/// handlers, which name them with Sage's `$source` spelling.
pub fn root(body: &[u8], key: &str, method: &str, route: &str) -> ApiResult<Map<String, Value>> {
    let map = unchecked_root(body, key)?;
    let whole = Value::Object(Map::from_iter([(key.to_owned(), Value::Object(map.clone()))]));
    let violations = conformance::check_request(method, route, &whole).unwrap_or_default();
    for v in violations {
        let message = match v.problem {
            Problem::UnknownField | Problem::Missing => continue,
            Problem::WrongType { expected } => match expected {
                "integer" | "object" | "array" => format!("is not an {expected}"),
                other => format!("is not a {other}"),
            },
            Problem::NotInEnum { .. } => "is not included in the list".to_owned(),
            Problem::TooLong { max, .. } => return Err(ApiError::too_long(source_of(&v.path, key), max)),
            Problem::OutOfRange { min, max } => format!(
                "must be between {} and {}",
                min.map_or_else(|| "-∞".to_owned(), |m| m.to_string()),
                max.map_or_else(|| "∞".to_owned(), |m| m.to_string())
            ),
            Problem::BadFormat { format } => format!("is not a valid {format}"),
        };
        return Err(ApiError::invalid(source_of(&v.path, key), message));
    }
    Ok(map)
}

/// Sage's `$source` for a conformance path: no root key or indices, document lines as `line_items`.
fn source_of(path: &str, key: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let inner = path.strip_prefix("$.").unwrap_or(path);
    let inner = inner.strip_prefix(key).map(|r| r.trim_start_matches('.')).unwrap_or(inner);
    for ch in inner.chars() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    for lines in ["invoice_lines", "credit_note_lines"] {
        if let Some(rest) = out.strip_prefix(lines) {
            return format!("line_items{rest}");
        }
    }
    if out.is_empty() { key.to_owned() } else { out }
}

/// Parse `{"<root>": {...}}` from a JSON body.
fn unchecked_root(body: &[u8], key: &str) -> ApiResult<Map<String, Value>> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidJSON",
            format!("The request body is not valid JSON: {e}"),
            "base",
        )
    })?;
    match v.get(key) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(ApiError::invalid(key, format!("param is missing or the value is empty: {key}"))),
    }
}

/// Fields of one JSON object, reported under `prefix` (e.g. `line_items.`).
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub prefix: &'a str,
}

impl<'a> Obj<'a> {
    pub fn new(map: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Self { map, prefix }
    }
    pub fn src(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
    pub fn has(&self, key: &str) -> bool {
        !matches!(self.map.get(key), None | Some(Value::Null))
    }
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }
    /// An optional string; numbers are accepted and stringified.
    pub fn str_opt(&self, key: &str) -> ApiResult<Option<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::invalid(self.src(key), "is not a string")),
        }
    }
    /// An optional string of at most `max` characters.
    pub fn str_max(&self, key: &str, max: usize) -> ApiResult<Option<String>> {
        let v = self.str_opt(key)?;
        if let Some(s) = &v
            && s.chars().count() > max
        {
            return Err(ApiError::too_long(self.src(key), max));
        }
        Ok(v)
    }
    /// A required, non-blank string of at most `max` characters.
    pub fn str_req(&self, key: &str, max: usize) -> ApiResult<String> {
        match self.str_max(key, max)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(ApiError::required(self.src(key))),
        }
    }
    pub fn dec_opt(&self, key: &str) -> ApiResult<Option<Decimal>> {
        money::parse(self.map.get(key)).map_err(|_| ApiError::invalid(self.src(key), "is not a number"))
    }
    pub fn dec_req(&self, key: &str) -> ApiResult<Decimal> {
        self.dec_opt(key)?.ok_or_else(|| ApiError::required(self.src(key)))
    }
    pub fn date_opt(&self, key: &str) -> ApiResult<Option<NaiveDate>> {
        match self.str_opt(key)? {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| ApiError::invalid(self.src(key), "is not a valid date")),
        }
    }
    pub fn date_req(&self, key: &str) -> ApiResult<NaiveDate> {
        self.date_opt(key)?.ok_or_else(|| ApiError::required(self.src(key)))
    }
    pub fn bool_opt(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(ApiError::invalid(self.src(key), "is not a boolean")),
        }
    }
    pub fn array(&self, key: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(ApiError::invalid(self.src(key), "is not an array")),
        }
    }
    pub fn object(&self, key: &str) -> ApiResult<Option<&'a Map<String, Value>>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(ApiError::invalid(self.src(key), "is not an object")),
        }
    }
    /// Copy the listed keys (when present) into `extra` for echoing back.
    pub fn keep(&self, keys: &[&str], extra: &mut Map<String, Value>) {
        for k in keys {
            if let Some(v) = self.raw(k) {
                extra.insert((*k).to_owned(), v.clone());
            }
        }
    }
}

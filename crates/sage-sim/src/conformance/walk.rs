//! The schema walk behind [`super`]: one pass over a JSON value collecting violations with their paths.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use super::{ConformanceError, Field, Problem, Schema, Side, Violation};

/// Keys Sage's list envelope may carry (`$items_per_page` is `/businesses`' spelling).
const ENVELOPE: &[&str] = &["$total", "$page", "$next", "$back", "$itemsPerPage", "$items_per_page", "$items"];

struct Walker<'s> {
    schema: &'s Schema,
    side: Side,
    out: Vec<Violation>,
}

/// Check `body` against the named definition.
pub fn definition(schema: &Schema, name: &str, side: Side, body: &Value) -> Result<Vec<Violation>, ConformanceError> {
    let def = schema.definition(name)?;
    let mut w = Walker { schema, side, out: Vec::new() };
    w.object_value(&def.fields, None, body, "$", &[]);
    Ok(w.out)
}

/// Check a request body; its root resource object is shadowed by the response definition `returns`.
pub fn request(
    schema: &Schema,
    name: &str,
    returns: Option<&str>,
    body: &Value,
) -> Result<Vec<Violation>, ConformanceError> {
    let def = schema.definition(name)?;
    let shadow = returns
        .filter(|r| schema.definitions.contains_key(*r))
        .map(|r| Field { reference: Some(r.to_owned()), ..Field::default() });
    let mut w = Walker { schema, side: Side::Request, out: Vec::new() };
    let Value::Object(map) = body else {
        w.push("$", Problem::WrongType { expected: "object" });
        return Ok(w.out);
    };
    for (key, value) in map {
        let path = format!("$.{key}");
        match def.fields.get(key) {
            None => w.push(&path, Problem::UnknownField),
            Some(f) if f.fields.is_some() && value.is_object() => {
                // The resource object: `idempotency_id` is allowed here (Sage's idempotency guide).
                let fields = f.fields.as_ref().map_or(&EMPTY, |x| x);
                let shadow_fields = shadow.as_ref().and_then(|s| fields_of(schema, s));
                w.object_value(fields, shadow_fields, value, &path, &["idempotency_id"]);
            }
            Some(f) => w.value(f, shadow.as_ref(), value, &path),
        }
    }
    w.required(&def.fields, map, "$");
    Ok(w.out)
}

static EMPTY: BTreeMap<String, Field> = BTreeMap::new();

/// The fields of a field's referenced definition.
fn fields_of<'a>(schema: &'a Schema, f: &Field) -> Option<&'a BTreeMap<String, Field>> {
    f.reference.as_ref().and_then(|r| schema.definitions.get(r)).map(|d| &d.fields)
}

/// Check a list envelope and every item in it.
pub fn envelope(schema: &Schema, name: &str, body: &Value) -> Result<Vec<Violation>, ConformanceError> {
    let def = schema.definition(name)?;
    let mut w = Walker { schema, side: Side::Response, out: Vec::new() };
    let Value::Object(map) = body else {
        w.push("$", Problem::WrongType { expected: "object" });
        return Ok(w.out);
    };
    for (key, value) in map {
        let path = format!("$.{key}");
        match key.as_str() {
            "$items" => match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        w.object_value(&def.fields, None, item, &format!("$.$items[{i}]"), &[]);
                    }
                }
                _ => w.push(&path, Problem::WrongType { expected: "array" }),
            },
            "$next" | "$back" => {
                if !(value.is_string() || value.is_null()) {
                    w.push(&path, Problem::WrongType { expected: "string" });
                }
            }
            k if ENVELOPE.contains(&k) => {
                if !(value.is_u64() || value.is_i64()) {
                    w.push(&path, Problem::WrongType { expected: "integer" });
                }
            }
            _ => w.push(&path, Problem::UnknownField),
        }
    }
    if !map.contains_key("$items") {
        w.push("$.$items", Problem::Missing);
    }
    Ok(w.out)
}

impl<'s> Walker<'s> {
    fn push(&mut self, path: &str, problem: Problem) {
        self.out.push(Violation { path: path.to_owned(), problem });
    }

    fn object_value(
        &mut self,
        fields: &BTreeMap<String, Field>,
        shadow: Option<&BTreeMap<String, Field>>,
        v: &Value,
        path: &str,
        extra: &[&str],
    ) {
        let Value::Object(map) = v else {
            if !v.is_null() {
                self.push(path, Problem::WrongType { expected: "object" });
            }
            return;
        };
        for (key, value) in map {
            let at = format!("{path}.{key}");
            match fields.get(key) {
                Some(f) => self.value(f, shadow.and_then(|s| s.get(key)), value, &at),
                None if extra.contains(&key.as_str()) => {
                    if !(value.is_string() || value.is_null()) {
                        self.push(&at, Problem::WrongType { expected: "string" });
                    }
                }
                None => self.push(&at, Problem::UnknownField),
            }
        }
        self.required(fields, map, path);
    }

    fn required(&mut self, fields: &BTreeMap<String, Field>, map: &Map<String, Value>, path: &str) {
        if self.side != Side::Request {
            return;
        }
        for (key, f) in fields {
            if f.required && map.get(key).is_none_or(Value::is_null) {
                self.push(&format!("{path}.{key}"), Problem::Missing);
            }
        }
    }

    /// Check one value against its field (and the response field it becomes, for requests).
    fn value(&mut self, f: &Field, shadow: Option<&Field>, v: &Value, path: &str) {
        if v.is_null() {
            return;
        }
        let schema = self.schema;
        if let Some(r) = &f.reference {
            match schema.definitions.get(r) {
                Some(def) => self.object_value(&def.fields, None, v, path, &[]),
                None => self.push(path, Problem::WrongType { expected: "object" }),
            }
            return;
        }
        match f.ty.as_deref() {
            Some("object") => match &f.fields {
                Some(fields) => {
                    let shadow_fields = shadow.and_then(|s| s.fields.as_ref().or_else(|| fields_of(schema, s)));
                    self.object_value(fields, shadow_fields, v, path, &[]);
                }
                None if !v.is_object() => self.push(path, Problem::WrongType { expected: "object" }),
                None => {}
            },
            Some("array") => {
                let Value::Array(items) = v else {
                    self.push(path, Problem::WrongType { expected: "array" });
                    return;
                };
                if let Some(item) = &f.items {
                    let shadow_item = shadow.and_then(|s| s.items.as_deref());
                    for (i, x) in items.iter().enumerate() {
                        self.value(item, shadow_item, x, &format!("{path}[{i}]"));
                    }
                }
            }
            Some("string") => self.string(f, shadow, v, path),
            Some("number") => {
                let ok = v.is_number() || v.as_str().is_some_and(is_decimal);
                if !ok {
                    self.push(path, Problem::WrongType { expected: "number" });
                }
            }
            Some("integer") => match v.as_i64() {
                None => self.push(path, Problem::WrongType { expected: "integer" }),
                Some(n) if f.minimum.is_some_and(|m| n < m) || f.maximum.is_some_and(|m| n > m) => {
                    self.push(path, Problem::OutOfRange { min: f.minimum, max: f.maximum });
                }
                Some(_) => {}
            },
            Some("boolean") if !v.is_boolean() => self.push(path, Problem::WrongType { expected: "boolean" }),
            _ => {}
        }
    }

    fn string(&mut self, f: &Field, shadow: Option<&Field>, v: &Value, path: &str) {
        let Some(s) = v.as_str() else {
            self.push(path, Problem::WrongType { expected: "string" });
            return;
        };
        let bad = match f.format.as_deref() {
            Some("date") => NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err().then_some("date"),
            Some("date-time") => DateTime::parse_from_rfc3339(s).is_err().then_some("date-time"),
            _ => None,
        };
        if let Some(format) = bad {
            self.push(path, Problem::BadFormat { format });
        }
        let same_kind = shadow.filter(|s| s.ty.as_deref() == Some("string"));
        if let Some(max) = f.max_length.or_else(|| same_kind.and_then(|s| s.max_length)) {
            let len = s.chars().count();
            if len > max {
                self.push(path, Problem::TooLong { max, len });
            }
        }
        if let Some(allowed) = f.allowed.as_ref().or_else(|| same_kind.and_then(|s| s.allowed.as_ref()))
            && !allowed.iter().any(|a| a.as_str() == Some(s))
        {
            let allowed = allowed.iter().map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned)).collect();
            self.push(path, Problem::NotInEnum { allowed });
        }
    }
}

/// `-12`, `9.83`, `1e-2`: what Sage's decimal strings (and a JSON number's text) look like.
fn is_decimal(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.parse::<f64>().is_ok_and(f64::is_finite) && !s.contains(['n', 'N', 'i', 'I'])
}

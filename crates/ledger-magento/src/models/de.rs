//! Lenient serde helpers for Magento's JSON: numbers that may be strings, and timestamps that may be `""`.
//!
//! Values go through `serde_json::Value`, so a number keeps its exact decimal text (the workspace enables
//! serde_json's `arbitrary_precision`) and is never squeezed through `f64`.
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Parses decimal text, including exponent forms such as `1e-7` that JSON allows.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    Decimal::from_str(s).ok().or_else(|| Decimal::from_scientific(s).ok())
}

fn decimal_from<E: serde::de::Error>(v: &Value) -> Result<Option<Decimal>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        _ => match text_of(v) {
            Some(text) => parse_decimal(&text).map(Some).ok_or_else(|| E::custom(format!("not a decimal: {text}"))),
            None => Err(E::custom(format!("expected a number or numeric string, got {v}"))),
        },
    }
}

/// A required decimal: a JSON number or a numeric string.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    decimal_from(&Value::deserialize(d)?)?.ok_or_else(|| D::Error::custom("missing decimal"))
}

/// An optional decimal: absent, `null` and `""` are `None`.
pub fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    decimal_from(&Value::deserialize(d)?)
}

fn u64_from<E: serde::de::Error>(v: &Value) -> Result<Option<u64>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        _ => match text_of(v) {
            Some(text) => text.parse().map(Some).map_err(|_| E::custom(format!("not an id: {text}"))),
            None => Err(E::custom(format!("expected an integer, got {v}"))),
        },
    }
}

/// A required non-negative integer (ids): a JSON integer or a string of digits.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    u64_from(&Value::deserialize(d)?)?.ok_or_else(|| D::Error::custom("missing id"))
}

/// An optional id: absent, `null` and `""` are `None`.
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    u64_from(&Value::deserialize(d)?)
}

/// A list of ids; `null` is empty.
pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().filter_map(|v| u64_from::<D::Error>(v).transpose()).collect(),
        other => Err(D::Error::custom(format!("expected a list of ids, got {other}"))),
    }
}

/// A boolean that PHP may have rendered as `1`/`0` or `"1"`/`"0"`.
pub fn boolish<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::Null => Ok(false),
        v => match text_of(&v).as_deref() {
            Some("1" | "true") => Ok(true),
            Some("0" | "false" | "") => Ok(false),
            _ => Err(D::Error::custom(format!("expected a boolean, got {v}"))),
        },
    }
}

/// Parses Magento's timestamp forms as UTC: RFC 3339 (`…Z`, `…+00:00`) or MySQL's `YYYY-MM-DD HH:MM:SS`.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok().map(|t| t.and_utc()))
}

/// An optional timestamp: absent, `null` and `""` are `None`.
pub fn opt_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_timestamp(&s).map(Some).ok_or_else(|| D::Error::custom(format!("not a timestamp: {s}"))),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(deserialize_with = "decimal")]
        d: Decimal,
        #[serde(default, deserialize_with = "opt_decimal")]
        o: Option<Decimal>,
        #[serde(default, deserialize_with = "opt_timestamp")]
        t: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "opt_id")]
        i: Option<u64>,
    }

    fn probe(json: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn decimals_from_numbers_and_strings() {
        assert_eq!(probe(r#"{"d":100}"#).unwrap().d, dec!(100));
        assert_eq!(probe(r#"{"d":19.99}"#).unwrap().d, dec!(19.99));
        assert_eq!(probe(r#"{"d":"19.99"}"#).unwrap().d, dec!(19.99));
        assert_eq!(probe(r#"{"d":" 7 "}"#).unwrap().d, dec!(7));
        assert_eq!(probe(r#"{"d":-0.0825}"#).unwrap().d, dec!(-0.0825));
        assert_eq!(probe(r#"{"d":1e-2}"#).unwrap().d, dec!(0.01));
        assert_eq!(probe(r#"{"d":0.1000000000000000055511}"#).unwrap().d, dec!(0.1000000000000000055511));
        assert!(probe(r#"{"d":"abc"}"#).is_err());
        assert!(probe(r#"{"d":true}"#).is_err());
        assert!(probe(r#"{"d":null}"#).is_err());
        assert!(probe(r#"{}"#).is_err());
    }

    #[test]
    fn optional_values_tolerate_absence_null_and_empty() {
        let p = probe(r#"{"d":1,"o":"","t":"","i":""}"#).unwrap();
        assert_eq!((p.o, p.t, p.i), (None, None, None));
        let p = probe(r#"{"d":1,"o":null,"t":null}"#).unwrap();
        assert_eq!((p.o, p.t), (None, None));
        let p = probe(r#"{"d":1,"o":"0.2","t":"2026-04-29T10:11:12Z","i":"42"}"#).unwrap();
        assert_eq!(p.o, Some(dec!(0.2)));
        assert_eq!(p.t.unwrap().to_rfc3339(), "2026-04-29T10:11:12+00:00");
        assert_eq!(p.i, Some(42));
    }

    #[test]
    fn timestamps_in_every_form_magento_uses() {
        let want = "2026-04-29T10:11:12+00:00";
        for s in
            ["2026-04-29T10:11:12Z", "2026-04-29T10:11:12+00:00", "2026-04-29 10:11:12", "2026-04-29T12:11:12+02:00"]
        {
            assert_eq!(parse_timestamp(s).unwrap().to_rfc3339(), want, "{s}");
        }
        assert!(probe(r#"{"d":1,"t":"yesterday"}"#).is_err());
    }
}

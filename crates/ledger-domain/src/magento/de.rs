//! Lenient serde helpers for Magento's JSON: ids that may be strings, PHP booleans, timestamps that may
//! be `""`. Decimals are read by [`crate::decimal`], shared with the Sage side.
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

use crate::MagentoEntityId;

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_owned()),
        _ => None,
    }
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

fn entity_id_from<E: serde::de::Error>(v: &Value) -> Result<Option<MagentoEntityId>, E> {
    match u64_from::<E>(v)? {
        None | Some(0) => Ok(None),
        Some(n) => MagentoEntityId::try_from(n).map(Some).map_err(E::custom),
    }
}

/// A required non-negative integer (scope ids such as `website_id`): a JSON integer or a string of digits.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    u64_from(&Value::deserialize(d)?)?.ok_or_else(|| D::Error::custom("missing id"))
}

/// An optional scope id: absent, `null` and `""` are `None`.
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    u64_from(&Value::deserialize(d)?)
}

/// A list of scope ids; `null` is empty.
pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().filter_map(|v| u64_from::<D::Error>(v).transpose()).collect(),
        other => Err(D::Error::custom(format!("expected a list of ids, got {other}"))),
    }
}

/// A required entity id: a positive JSON integer or string of digits.
pub fn entity_id<'de, D: Deserializer<'de>>(d: D) -> Result<MagentoEntityId, D::Error> {
    let v = Value::deserialize(d)?;
    entity_id_from(&v)?.ok_or_else(|| D::Error::custom(format!("expected a positive entity id, got {v}")))
}

/// An optional entity id (a reference such as a credit memo's `invoice_id`): absent, `null`, `""` and
/// `0` (PHP's "no row") are `None`.
pub fn opt_entity_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MagentoEntityId>, D::Error> {
    entity_id_from(&Value::deserialize(d)?)
}

/// A contact's `magento_id`: required, with `0` (the synthetic guest contact) read as `None`.
pub fn contact_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MagentoEntityId>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Err(D::Error::custom("missing contact id")),
        v => entity_id_from(&v),
    }
}

/// Writes a contact's `magento_id` as Magento does: the guest as `0`.
pub fn serialize_contact_id<S: Serializer>(id: &Option<MagentoEntityId>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(id.map_or(0, u64::from))
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
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_timestamp")]
        t: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "opt_id")]
        i: Option<u64>,
        #[serde(default, deserialize_with = "opt_entity_id")]
        e: Option<MagentoEntityId>,
    }

    fn probe(json: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn optional_values_tolerate_absence_null_and_empty() {
        let p = probe(r#"{"t":"","i":"","e":""}"#).unwrap();
        assert_eq!((p.t, p.i, p.e), (None, None, None));
        let p = probe(r#"{"t":null,"e":null}"#).unwrap();
        assert_eq!((p.t, p.e), (None, None));
        let p = probe(r#"{"t":"2026-04-29T10:11:12Z","i":"42","e":"7"}"#).unwrap();
        assert_eq!(p.t.unwrap().to_rfc3339(), "2026-04-29T10:11:12+00:00");
        assert_eq!(p.i, Some(42));
        assert_eq!(p.e.map(MagentoEntityId::get), Some(7));
    }

    #[test]
    fn entity_ids_refuse_negative_and_past_bigint_and_read_zero_as_absent() {
        assert_eq!(probe(r#"{"e":0}"#).unwrap().e, None);
        assert!(probe(r#"{"e":-1}"#).is_err());
        assert!(probe(r#"{"e":9223372036854775808}"#).is_err(), "ids past i64::MAX are refused, not clamped");
        assert_eq!(probe(r#"{"e":9223372036854775807}"#).unwrap().e.map(MagentoEntityId::get), Some(i64::MAX));
        assert!(probe(r#"{"e":"x"}"#).is_err());
    }

    #[test]
    fn timestamps_in_every_form_magento_uses() {
        let want = "2026-04-29T10:11:12+00:00";
        for s in
            ["2026-04-29T10:11:12Z", "2026-04-29T10:11:12+00:00", "2026-04-29 10:11:12", "2026-04-29T12:11:12+02:00"]
        {
            assert_eq!(parse_timestamp(s).unwrap().to_rfc3339(), want, "{s}");
        }
        assert!(probe(r#"{"t":"yesterday"}"#).is_err());
    }
}

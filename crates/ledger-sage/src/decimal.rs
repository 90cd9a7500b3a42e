//! Sage serialises money as decimal strings (`"9.83"`, `"10.0"`) and accepts strings or numbers; we
//! read both and always write strings.
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serializer};

/// Reads a decimal from a JSON string or number, without going through `f64`.
pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Decimal, D::Error> {
    let raw = serde_json::Value::deserialize(de)?;
    parse(&raw).ok_or_else(|| serde::de::Error::custom(format!("expected a decimal, got {raw}")))
}

pub fn serialize<S: Serializer>(value: &Decimal, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&value.normalize().to_string())
}

pub fn parse(value: &serde_json::Value) -> Option<Decimal> {
    match value {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => {
            n.to_string().parse().ok().or_else(|| Decimal::from_scientific(&n.to_string()).ok())
        }
        _ => None,
    }
}

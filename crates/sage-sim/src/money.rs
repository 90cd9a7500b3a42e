//! Decimal handling: Sage-style decimal strings out, strings or numbers in, one rounding rule.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

/// Round to 2 dp, half away from zero (the only money rounding in the simulator).
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Format like Ruby's `BigDecimal#to_s('F')`: no trailing zeros, but always one decimal (`10` → `"10.0"`).
pub fn fmt(d: Decimal) -> String {
    let n = d.normalize();
    let s = n.to_string();
    let s = if s == "-0" { "0".to_owned() } else { s };
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// A decimal as a JSON string value.
pub fn jv(d: Decimal) -> Value {
    Value::String(fmt(d))
}

/// Why a JSON value is not a decimal.
#[derive(Debug, thiserror::Error)]
#[error("is not a number")]
pub struct NotADecimal;

/// Parse a JSON string or number into a decimal; `Ok(None)` for absent/null.
pub fn parse(v: Option<&Value>) -> Result<Option<Decimal>, NotADecimal> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_str(s.trim()).map(Some),
        Some(Value::Number(n)) => parse_str(&n.to_string()).map(Some),
        Some(_) => Err(NotADecimal),
    }
}

fn parse_str(s: &str) -> Result<Decimal, NotADecimal> {
    if s.is_empty() {
        return Err(NotADecimal);
    }
    Decimal::from_str(s).or_else(|_| Decimal::from_scientific(s)).map_err(|_| NotADecimal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_bigdecimal() {
        assert_eq!(fmt(Decimal::new(10, 0)), "10.0");
        assert_eq!(fmt(Decimal::new(1000, 2)), "10.0");
        assert_eq!(fmt(Decimal::new(83, 2)), "0.83");
        assert_eq!(fmt(Decimal::new(925, 2)), "9.25");
        assert_eq!(fmt(Decimal::new(-0, 2)), "0.0");
        assert_eq!(fmt(Decimal::new(15000, 1)), "1500.0");
        assert_eq!(fmt(Decimal::new(-272, 1)), "-27.2");
    }

    #[test]
    fn parses_strings_and_numbers() {
        let v: Value = serde_json::from_str(r#"{"a":"9.25","b":9.25,"c":1e2,"d":true}"#).unwrap_or_default();
        assert_eq!(parse(v.get("a")).ok().flatten(), Some(Decimal::new(925, 2)));
        assert_eq!(parse(v.get("b")).ok().flatten(), Some(Decimal::new(925, 2)));
        assert_eq!(parse(v.get("c")).ok().flatten(), Some(Decimal::new(100, 0)));
        assert!(parse(v.get("d")).is_err());
        assert!(matches!(parse(v.get("zz")), Ok(None)));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round2(Decimal::new(8325, 4)), Decimal::new(83, 2));
        assert_eq!(round2(Decimal::new(125, 3)), Decimal::new(13, 2));
        assert_eq!(round2(Decimal::new(-125, 3)), Decimal::new(-13, 2));
    }
}

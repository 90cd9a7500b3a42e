//! The one lenient decimal reader for both wires (Magento's numbers, Sage's decimal strings) and the
//! short string form the ledger writes to Sage.
//!
//! Magento prints money as JSON numbers (integral floats as integers, occasionally as numeric strings);
//! Sage prints decimal strings (`"9.83"`, `"10.0"`) and accepts strings or numbers. Both are read here:
//! a JSON string or number whose text is a plain decimal (`-12.5`, `.5`, `7.`) or a decimal with an
//! exponent (`1e-2`), surrounding whitespace allowed. Anything else (`"abc"`, `"1_000"`, `true`, `[]`)
//! is refused with a [`DecimalError`] that says what arrived. Numbers are never squeezed through `f64`:
//! the workspace enables serde_json's `arbitrary_precision`, so a JSON number keeps its exact text.
//! Digits past `Decimal`'s 28-digit precision are rounded; integers past its range are refused.
//!
//! Use as `#[serde(with = "ledger_domain::decimal")]` on a `Decimal` field and
//! `#[serde(default, with = "ledger_domain::decimal::opt")]` on an `Option<Decimal>` field (absent,
//! `null` and `""` read as `None`). Both serialise in Sage's short string form ([`to_short_string`]).
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

/// Longest piece of refused input quoted in an error (characters).
const QUOTE_CHARS: usize = 40;

/// Why a value is not a decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// A string or number whose text is not a decimal, or is out of `Decimal`'s range.
    #[error("not a decimal: {0:?}")]
    Invalid(String),
    /// A JSON value of another type (`null`, a boolean, an array, an object).
    #[error("expected a decimal as a JSON string or number, got {0}")]
    WrongType(&'static str),
}

impl DecimalError {
    fn invalid(text: &str) -> Self {
        let mut quoted: String = text.chars().take(QUOTE_CHARS).collect();
        if text.chars().nth(QUOTE_CHARS).is_some() {
            quoted.push('…');
        }
        Self::Invalid(quoted)
    }
}

/// Parses decimal text: optional sign, digits with an optional point, optional exponent; whitespace
/// around it is ignored.
pub fn parse(text: &str) -> Result<Decimal, DecimalError> {
    let s = text.trim();
    if !is_decimal_text(s) {
        return Err(DecimalError::invalid(text));
    }
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let mantissa = Decimal::from_str(mantissa).map_err(|_| DecimalError::invalid(text))?;
    match exponent {
        None => Ok(mantissa),
        Some(e) => scale_by_power_of_ten(mantissa, e).ok_or_else(|| DecimalError::invalid(text)),
    }
}

/// `mantissa × 10^exponent`, rounding digits past `Decimal`'s precision; `None` when out of range.
/// Exponents far outside the range are decided without looping over them (`0e999999` is 0).
fn scale_by_power_of_ten(mantissa: Decimal, exponent: &str) -> Option<Decimal> {
    // Past these bounds the result is 0 or out of range whatever the mantissa (at most 29 digits).
    const FAR: u32 = 64;
    let negative = exponent.starts_with('-');
    let digits = exponent.trim_start_matches(['+', '-']).trim_start_matches('0');
    let steps = if digits.len() > 3 { FAR + 1 } else { digits.parse::<u32>().unwrap_or(0) };
    if mantissa.is_zero() {
        return Some(Decimal::ZERO);
    }
    if steps > FAR {
        return negative.then_some(Decimal::ZERO);
    }
    let mut exact = mantissa;
    if negative && exact.set_scale(mantissa.scale() + steps).is_ok() {
        return Some(exact);
    }
    (0..steps).try_fold(
        mantissa,
        |acc, _| if negative { acc.checked_div(Decimal::TEN) } else { acc.checked_mul(Decimal::TEN) },
    )
}

/// Reads a decimal from a JSON string or number.
pub fn from_json(value: &Value) -> Result<Decimal, DecimalError> {
    match value {
        Value::String(s) => parse(s),
        Value::Number(n) => parse(&n.to_string()),
        other => Err(DecimalError::WrongType(type_name(other))),
    }
}

/// Like [`from_json`], but `null` and a blank string are `None`.
pub fn opt_from_json(value: &Value) -> Result<Option<Decimal>, DecimalError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        other => from_json(other).map(Some),
    }
}

/// Sage's short string form: no trailing zeros, no exponent (`10.50` → `"10.5"`, `-0.0` → `"0"`).
pub fn to_short_string(value: &Decimal) -> String {
    value.normalize().to_string()
}

/// Serde: reads a required decimal (see the module docs).
pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Decimal, D::Error> {
    from_json(&Value::deserialize(de)?).map_err(D::Error::custom)
}

/// Serde: writes the short string form.
pub fn serialize<S: Serializer>(value: &Decimal, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&to_short_string(value))
}

/// Serde helpers for `Option<Decimal>`: absent (with `#[serde(default)]`), `null` and `""` read as `None`;
/// `None` writes `null` (pair with `skip_serializing_if = "Option::is_none"` to omit it).
pub mod opt {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Decimal>, D::Error> {
        opt_from_json(&Value::deserialize(de)?).map_err(D::Error::custom)
    }

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, ser: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::serialize(v, ser),
            None => ser.serialize_none(),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`, checked before `rust_decimal` sees the
/// text (its parser also takes forms neither wire uses, such as `1_000`).
fn is_decimal_text(s: &str) -> bool {
    fn unsigned(t: &str) -> &str {
        t.strip_prefix(['+', '-']).unwrap_or(t)
    }
    fn digits(t: &str) -> bool {
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
    }
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (unsigned(m), Some(unsigned(e))),
        None => (unsigned(s), None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, frac)) => {
            (whole.is_empty() || digits(whole)) && (frac.is_empty() || digits(frac)) && mantissa != "."
        }
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

#[cfg(test)]
mod tests;

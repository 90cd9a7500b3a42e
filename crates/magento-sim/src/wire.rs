//! Wire-format helpers shared by both directions: PHP-like JSON numbers and strings, timestamps, keys.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Serialize, Serializer};
use sha1::{Digest, Sha1};

/// A money/quantity/ratio value that serialises like PHP's `json_encode` of a float:
/// integral values as JSON integers (`100`), others in shortest form (`19.99`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Num(pub Decimal);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0.normalize();
        if d.scale() == 0
            && let Some(i) = d.to_i64()
        {
            return s.serialize_i64(i);
        }
        s.serialize_f64(d.to_f64().unwrap_or(0.0))
    }
}

impl From<Decimal> for Num {
    fn from(d: Decimal) -> Self {
        Num(d)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the module's timestamp format.
pub fn iso_z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `YYYY-MM-DD HH:MM:SS`, how MySQL TIMESTAMP columns read back.
pub fn mysql(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// RFC 3339 with milliseconds, used for the simulator's own outbox view (scaled retry delays
/// can be shorter than a second).
pub fn rfc3339_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Lowercase hex SHA-1 of `data`.
pub fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// `<event>:<entity_id>`, the key every shipped observer passes.
pub fn event_key(event: &str, entity_id: u64) -> String {
    format!("{event}:{entity_id}")
}

/// `<event>:<sha1 hex of the exact body>`, the client's fallback when no key is passed.
pub fn fallback_key(event: &str, body: &str) -> String {
    format!("{event}:{}", sha1_hex(body.as_bytes()))
}

/// `disconnect:<sha1 hex of tenant_id>`.
pub fn disconnect_key(tenant_id: &str) -> String {
    format!("disconnect:{}", sha1_hex(tenant_id.as_bytes()))
}

/// PHP `rawurlencode`: everything but `A-Za-z0-9-_.~` percent-encoded (upper-case hex).
pub fn raw_url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A JSON string literal as PHP `json_encode(..., JSON_UNESCAPED_SLASHES)` writes it:
/// non-ASCII as `\uXXXX` (UTF-16), slashes left alone.
pub fn php_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Truncates to at most `max` bytes on a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn integral_numbers_print_as_integers() {
        let v = serde_json::to_string(&[Num(dec!(100.00)), Num(dec!(19.990)), Num(dec!(0.2))]).unwrap_or_default();
        assert_eq!(v, "[100,19.99,0.2]");
    }

    #[test]
    fn php_strings_escape_unicode_not_slashes() {
        assert_eq!(php_json_string("a/b é"), "\"a/b \\u00e9\"");
        assert_eq!(php_json_string("😀"), "\"\\ud83d\\ude00\"");
    }

    #[test]
    fn raw_url_encoding_keeps_dots() {
        assert_eq!(raw_url_encode("invoice.created"), "invoice.created");
        assert_eq!(raw_url_encode("a b/c"), "a%20b%2Fc");
    }
}

//! Identifier newtypes parsed at the edge, so invalid values never reach the database.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A ledger tenant: one paired Magento install (the JWT `sub` and the webhook path segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl TenantId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for TenantId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The `Idempotency-Key` header the module sends (`<event>:<entity id>` in practice).
/// The module stores it in a `varchar(128)`; we accept printable ASCII up to that length.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdempotencyKeyError {
    #[error("Idempotency-Key is empty")]
    Empty,
    #[error("Idempotency-Key is longer than 128 characters")]
    TooLong,
    #[error("Idempotency-Key must be printable ASCII")]
    NotPrintable,
}

impl IdempotencyKey {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, IdempotencyKeyError> {
        let key = raw.trim();
        if key.is_empty() {
            return Err(IdempotencyKeyError::Empty);
        }
        if key.len() > Self::MAX_LEN {
            return Err(IdempotencyKeyError::TooLong);
        }
        if !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(IdempotencyKeyError::NotPrintable);
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_key_rules() {
        assert_eq!(IdempotencyKey::parse("invoice.created:42").unwrap().as_str(), "invoice.created:42");
        assert_eq!(IdempotencyKey::parse("  "), Err(IdempotencyKeyError::Empty));
        assert_eq!(IdempotencyKey::parse(&"a".repeat(129)), Err(IdempotencyKeyError::TooLong));
        assert!(IdempotencyKey::parse(&"a".repeat(128)).is_ok());
        assert_eq!(IdempotencyKey::parse("a b"), Err(IdempotencyKeyError::NotPrintable));
    }
}

/// A Magento entity id (invoice, credit memo, customer, product): positive and at most `i64::MAX`, so it
/// is stored as a Postgres `bigint` without clamping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct MagentoEntityId(i64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a Magento entity id must be between 1 and 9223372036854775807")]
pub struct MagentoEntityIdError;

impl MagentoEntityId {
    pub fn new(id: i64) -> Result<Self, MagentoEntityIdError> {
        if id > 0 { Ok(Self(id)) } else { Err(MagentoEntityIdError) }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<u64> for MagentoEntityId {
    type Error = MagentoEntityIdError;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        i64::try_from(v).map_err(|_| MagentoEntityIdError).and_then(Self::new)
    }
}

impl From<MagentoEntityId> for u64 {
    fn from(v: MagentoEntityId) -> u64 {
        v.0.unsigned_abs()
    }
}

impl fmt::Display for MagentoEntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A Sage business id (the `X-Business` header): Sage's opaque id, non-empty printable ASCII.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SageBusinessId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a Sage business id is 1 to 64 printable ASCII characters")]
pub struct SageBusinessIdError;

impl SageBusinessId {
    pub fn parse(raw: &str) -> Result<Self, SageBusinessIdError> {
        let ok = !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok { Ok(Self(raw.to_owned())) } else { Err(SageBusinessIdError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SageBusinessId {
    type Error = SageBusinessIdError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<SageBusinessId> for String {
    fn from(v: SageBusinessId) -> String {
        v.0
    }
}

impl fmt::Display for SageBusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 4217 currency code, upper case (`GBP`, `EUR`); Magento and Sage both use these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a currency is a three-letter ISO 4217 code")]
pub struct CurrencyError;

impl Currency {
    pub const GBP: Currency = Currency(*b"GBP");

    /// Parses a code leniently as to case (`eur` → `EUR`).
    pub fn parse(raw: &str) -> Result<Self, CurrencyError> {
        let b = raw.trim().as_bytes();
        match b {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_alphabetic()) => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase(), c.to_ascii_uppercase()]))
            }
            _ => Err(CurrencyError),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<Currency> for String {
    fn from(v: Currency) -> String {
        v.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod newtype_tests {
    use super::*;

    #[test]
    fn entity_ids_refuse_zero_and_values_past_bigint() {
        assert!(MagentoEntityId::try_from(0u64).is_err());
        assert!(MagentoEntityId::try_from(u64::MAX).is_err());
        assert!(MagentoEntityId::try_from(i64::MAX as u64 + 1).is_err());
        assert_eq!(MagentoEntityId::try_from(42u64).map(MagentoEntityId::get), Ok(42));
    }

    #[test]
    fn currencies_are_three_letters_upper_cased() {
        assert_eq!(Currency::parse("eur").map(|c| c.to_string()), Ok("EUR".to_owned()));
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
        let c: Currency = serde_json::from_str("\"usd\"").expect("parses");
        assert_eq!(serde_json::to_string(&c).expect("serialises"), "\"USD\"");
    }

    #[test]
    fn business_ids_are_printable_and_bounded() {
        assert!(SageBusinessId::parse("").is_err());
        assert!(SageBusinessId::parse("a b").is_err());
        assert!(SageBusinessId::parse(&"x".repeat(65)).is_err());
        assert_eq!(SageBusinessId::parse("b1f0c2").map(|b| b.to_string()), Ok("b1f0c2".to_owned()));
    }
}

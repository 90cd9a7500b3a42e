//! Identifier newtypes parsed at the edge, so invalid values never reach the database.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A ledger tenant: one paired Magento install (the JWT `sub` and the webhook path segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

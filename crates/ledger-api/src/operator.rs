//! The `Operator` extractor: administrative routes need a bearer token from `admin.tokens` (its own
//! setting, [`OperatorTokens`]), compared in constant time. With no tokens configured every such
//! request is refused.
use std::fmt;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

/// The operator bearer tokens (`admin.tokens`).
#[derive(Clone, Default)]
pub struct OperatorTokens(Arc<Vec<SecretString>>);

/// The shortest operator token accepted: guessing must be hopeless.
pub const MIN_OPERATOR_TOKEN_CHARS: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("operator token {index} has {chars} characters; at least {MIN_OPERATOR_TOKEN_CHARS} are required")]
pub struct ShortOperatorToken {
    /// Position in the list, from 0.
    pub index: usize,
    pub chars: usize,
}

impl OperatorTokens {
    pub fn new(tokens: Vec<SecretString>) -> Result<Self, ShortOperatorToken> {
        for (index, token) in tokens.iter().enumerate() {
            let chars = token.expose_secret().chars().count();
            if chars < MIN_OPERATOR_TOKEN_CHARS {
                return Err(ShortOperatorToken { index, chars });
            }
        }
        Ok(Self(Arc::new(tokens)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn accepts(&self, presented: &[u8]) -> bool {
        let mut ok = false;
        for token in self.0.iter() {
            ok |= bool::from(token.expose_secret().as_bytes().ct_eq(presented));
        }
        ok
    }
}

impl fmt::Debug for OperatorTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OperatorTokens({} configured)", self.0.len())
    }
}

pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().as_bytes())
            .ok_or(ApiError::Unauthorized("operator bearer token required"))?;
        if state.config.operator_tokens.accepts(presented) {
            Ok(Operator)
        } else {
            Err(ApiError::Unauthorized("invalid operator token"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tokens_are_refused_and_long_ones_accepted() {
        let long = SecretString::from("0123456789abcdef");
        let short = SecretString::from("op-secret");
        assert_eq!(
            OperatorTokens::new(vec![long.clone(), short]).unwrap_err(),
            ShortOperatorToken { index: 1, chars: 9 }
        );
        let tokens = OperatorTokens::new(vec![long]).unwrap();
        assert!(tokens.accepts(b"0123456789abcdef"));
        assert!(!tokens.accepts(b"0123456789abcde"));
        assert!(!OperatorTokens::default().accepts(b""), "no tokens refuse everything, even an empty one");
        assert_eq!(format!("{tokens:?}"), "OperatorTokens(1 configured)");
    }
}

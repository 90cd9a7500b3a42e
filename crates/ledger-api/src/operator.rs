//! The `Operator` extractor: administrative routes need a bearer token from `admin.tokens`, compared in
//! constant time. With no tokens configured every such request is refused.
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

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
        let mut ok = false;
        for token in state.outbound.admin_tokens.iter() {
            let expected = token.expose_secret().as_bytes();
            ok |= !expected.is_empty() && bool::from(expected.ct_eq(presented));
        }
        if ok { Ok(Operator) } else { Err(ApiError::Unauthorized("invalid operator token")) }
    }
}

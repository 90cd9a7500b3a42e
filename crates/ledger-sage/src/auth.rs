//! Where the client gets its bearer token: the token custody (outside this crate) implements
//! [`AccessTokens`], refreshing ahead of expiry and once more when Sage answers 401.
use std::future::Future;
use std::pin::Pin;

use secrecy::SecretString;

/// Why no usable access token could be had. None of these burns an attempt of the work that asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Sage refused the refresh token (`invalid_grant`): the merchant must reconnect.
    #[error("the Sage connection needs reconnecting: {0}")]
    ReconnectRequired(String),
    /// The binding is not active (disconnected, suspended, never connected).
    #[error("the Sage binding is not active ({0})")]
    NotActive(String),
    /// The token endpoint or our database could not be reached; try again later.
    #[error("no Sage access token available right now: {0}")]
    Unavailable(String),
}

type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<SecretString, TokenError>> + Send + 'a>>;

pub trait AccessTokens: Send + Sync {
    /// A valid access token (the custody refreshes it ahead of expiry).
    fn access_token(&self) -> TokenFuture<'_>;

    /// Sage answered 401 to a call made with `rejected`: refresh once (unless another process already
    /// replaced that token) and return the token to retry with.
    fn after_unauthorized<'a>(&'a self, rejected: &'a SecretString) -> TokenFuture<'a>;
}

/// A fixed access token: for the connect flow right after the code exchange (before custody holds the
/// pair), tools and tests. A 401 cannot be cured by it: it answers `ReconnectRequired`.
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    pub fn new(token: SecretString) -> Self {
        Self(token)
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(..)")
    }
}

impl AccessTokens for StaticToken {
    fn access_token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn after_unauthorized<'a>(&'a self, _rejected: &'a SecretString) -> TokenFuture<'a> {
        Box::pin(async { Err(TokenError::ReconnectRequired("Sage rejected the access token".into())) })
    }
}

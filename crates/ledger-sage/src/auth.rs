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

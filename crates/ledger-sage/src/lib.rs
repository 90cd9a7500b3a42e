//! The ledger's side of the Sage Accounting v3.1 wire (spec `sage-api.md`): the HTTP client (typed calls
//! per resource over the wire models in `ledger_domain::sage`), token responses, error arrays and their
//! classes (Sage's decimal strings are read and written by `ledger_domain::decimal`), and the two seams other layers fill in: where tokens come from ([`AccessTokens`], the
//! custody) and what admits a call ([`CallGate`], the rate budgets).
mod account;
pub mod auth;
mod business;
mod client;
pub mod errors;
pub mod gate;
mod lookups;
pub mod oauth;
pub mod queries;
pub mod record;
mod resources;
pub mod token;

pub use auth::{AccessTokens, StaticToken, TokenError};
pub use business::{MAX_ITEMS_PER_PAGE, SageBusiness};
pub use client::{DEFAULT_API_BASE, SageClient, SageConfig, SageHttp};
pub use errors::{SageClientError, SageError, SageErrorItem};
pub use gate::{CallGate, CallKind, GateFuture, GatePermit, GateRefusal, Unlimited};
pub use ledger_domain::sage::IdempotencyId;
pub use oauth::{OAuthClient, OAuthConfig, OAuthError, PkceChallenge, TokenSet};
pub use record::{CallLog, CallObserver, CallRecord};
pub use token::TokenResponse;

/// The `idempotency_id` for an operation (spec §7): stable for a stable `operation_key`, so every retry
/// of the same write, by any process, replays instead of creating a second record. Build the key from
/// everything that identifies the write, e.g. `tenant|business|sales_invoice|<magento id>|create|v1`.
pub fn idempotency_id(operation_key: &str) -> IdempotencyId {
    IdempotencyId::derive(operation_key)
}

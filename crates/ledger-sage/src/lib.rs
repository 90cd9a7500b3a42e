//! The ledger's side of the Sage Accounting v3.1 wire (spec `sage-api.md`): token responses, error
//! arrays and their classes. Sage's decimal strings are read and written by `ledger_domain::decimal`. The HTTP
//! client, token custody and rate budgets build on these in the Sage connection work.
pub mod auth;
pub mod errors;
pub mod gate;
pub mod token;

pub use auth::{AccessTokens, TokenError};
pub use errors::{SageError, SageErrorItem};
pub use gate::{CallGate, CallKind, GatePermit, GateRefusal, Unlimited};
pub use token::TokenResponse;

//! The Sage side of the application services: connecting a tenant (connect), the token custody of
//! each binding with its idle refresher, and the connection check.
pub mod businesses;
pub mod check;
pub mod connect;
pub mod custody;
mod hooks;
pub mod idle;

pub use custody::{BindingTokens, Custody, CustodyConfig, stored_tokens};
pub use idle::run_idle_refresher;

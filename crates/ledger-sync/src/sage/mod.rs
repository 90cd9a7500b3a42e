//! The Sage side of the application services: connecting a tenant (connect), the token custody of
//! each binding with its idle refresher, the connection check, and the rate budgets every Sage call
//! passes (budget).
pub mod budget;
pub mod businesses;
pub mod check;
pub mod connect;
pub mod custody;
mod hooks;
pub mod idle;

pub use budget::{BudgetConfig, PgCallGate};
pub use custody::{BindingTokens, Custody, CustodyConfig, stored_tokens};
pub use idle::run_idle_refresher;

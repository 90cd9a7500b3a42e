//! The ledger's HTTP surface: Magento webhooks and calls, health, and (later) the dashboard.
pub mod auth;
pub mod health;
pub mod ingest;
pub mod operator;
pub mod problem;
pub mod router;
pub mod sage;
pub mod state;
pub mod stores;
pub mod tile;

pub use problem::ApiError;
pub use router::router;
pub use state::{ApiConfig, AppState, Outbound, Readiness};

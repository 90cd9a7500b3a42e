//! The ledger's HTTP surface: Magento webhooks and calls, health, operator routes, and (later) the
//! dashboard. Handlers extract, call the store, and answer typed bodies; no SQL lives here.
pub mod events;
pub mod health;
pub mod ingest;
pub mod keys;
pub mod magento;
pub mod metrics;
pub mod openapi;
pub mod operator;
pub mod policy;
pub mod problem;
pub mod router;
pub mod sage;
pub mod state;
pub mod stores;
pub mod tile;

pub use keys::KeyCacheSettings;
pub use magento::MagentoTenant;
pub use metrics::MetricsRender;
pub use operator::{Operator, OperatorTokens};
pub use problem::ApiError;
pub use router::router;
pub use state::{ApiConfig, AppState, Intake, Outbound, Readiness};

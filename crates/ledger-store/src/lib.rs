//! Postgres persistence for the ledger: one module per aggregate, plus the keyring and migrations.
//! Every function that touches tenant data takes the tenant id.
pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod bindings;
pub mod bulk;
pub mod callbacks;
pub mod console;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod error;
pub mod events;
pub mod gauges;
pub mod health;
pub mod lifecycle;
pub mod oauth_states;
pub mod operations;
pub mod provider_outcomes;
pub mod resets;
pub mod retention;
pub mod rotation;
pub mod runs;
pub mod sage_budget;
pub mod synthetic;
pub mod tenants;
pub mod xrefs;

pub use crypto::Keyring;
pub use error::StoreError;
pub use sqlx::PgPool;

/// The apalis queue that carries event triggers; named on both the push and the worker side.
pub const EVENT_QUEUE: &str = "ledger.events";

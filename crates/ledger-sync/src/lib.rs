//! The application services the API and the worker call: pairing a store, delivering sync-state
//! callbacks, operators' actions on event runs and the per-tenant Magento clients. They combine the
//! store (ledger-store) with the clients (ledger-magento), which themselves know no database.
pub mod alerts;
pub mod bulk;
pub mod delivery;
pub mod engine;
pub mod mail;
pub mod operations;
pub mod pairing;
pub mod sage;
pub mod tenant_clients;

pub use delivery::CallbackConfig;
pub use pairing::{Paired, PairingError, pair_store};
pub use tenant_clients::{ClientError, MagentoClients};

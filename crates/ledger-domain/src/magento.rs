//! Canonical Magento entities as the module serves them under `/rest/V1/byte8/*` (spec §5.2), parsed
//! leniently into the ledger's types, and the sync-state callback body (§5.3). Pure: the HTTP client
//! that fetches them lives in `ledger-magento`.
//!
//! Magento omits null fields, prints integral floats as integers and sometimes sends `""` for a missing
//! timestamp, so: optional fields are `Option` with `#[serde(default)]`; money, quantities and rates are
//! `Decimal` from numbers or numeric strings ([`crate::decimal`]); entity ids are [`MagentoEntityId`]
//! from integers or digit strings; currency codes are [`Currency`] (case-insensitive); timestamps are
//! `Option<DateTime<Utc>>` (also for the fields the spec lists as required, since they can arrive as
//! `""`); unknown fields are ignored.
//!
//! [`MagentoEntityId`]: crate::MagentoEntityId
//! [`Currency`]: crate::Currency
mod contact;
mod creditmemo;
pub mod de;
mod invoice;
mod payment;
mod probe;
mod product;
mod sync_state;

pub use contact::{Address, AddressKind, Contact};
pub use creditmemo::CreditMemo;
pub use invoice::{Invoice, InvoiceLine, InvoiceState};
pub use payment::Payment;
pub use probe::{PaymentMethod, PaymentMethods, Ping};
pub use product::Product;
pub use sync_state::{SyncEntityType, SyncState, SyncStateError, SyncStatus};

#[cfg(test)]
mod tests;

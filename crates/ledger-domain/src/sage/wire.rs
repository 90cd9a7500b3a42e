//! Serde paths for Sage's decimals, all through the one lenient reader in [`crate::decimal`]: read from
//! strings or numbers, written as Sage's short decimal strings (spec §6).
pub use crate::decimal as dec;
pub use crate::decimal::opt as opt_dec;

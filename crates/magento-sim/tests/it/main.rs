//! Integration tests of magento-sim over real HTTP: one binary, one module per area.

mod actions;
mod auth;
mod canonical;
mod drain;
mod fake_ledger;
mod pairing;
mod refunds;
mod stores;
mod support;
mod sync_state;

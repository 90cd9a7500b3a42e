//! Conformance suite: drives the simulator over real HTTP and provokes every rule it enforces.

mod allocations;
mod conformance;
mod contacts;
mod control;
mod faults;
mod golden;
mod idempotency;
mod invoices;
mod oauth;
mod paging;
mod payments;
mod support;
mod tiers;

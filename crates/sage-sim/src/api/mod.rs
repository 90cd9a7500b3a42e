//! The `/v3.1` resources, one module per resource family.

pub mod allocations;
pub mod catalog;
pub mod common;
pub mod contacts;
pub mod doc_build;
pub mod documents;
pub mod movements;
pub mod payments;
pub mod reference;
pub mod settle;

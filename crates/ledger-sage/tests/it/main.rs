//! ledger-sage's tests: golden fixtures, and the client and the token endpoint client over real HTTP
//! against an in-process sage-sim.
mod errors;
mod fixtures;
mod lookups;
mod oauth;
mod paging;
mod resources;
mod support;
mod writes;

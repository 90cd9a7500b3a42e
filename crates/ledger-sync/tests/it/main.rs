//! ledger-sync's tests against a real Postgres and an in-process sage-sim over HTTP.
mod budget;
mod custody;
mod secrets;

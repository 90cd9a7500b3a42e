//! ledger-api

//! ledger-store

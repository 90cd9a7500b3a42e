//! ledger-worker

//! End-to-end tests of the ledger over real HTTP and a real Postgres (one binary, modules inside).
mod callbacks;
mod canonical;
mod cli;
mod health;
mod ingest;
mod leases;
mod magento;
mod processes;
mod rejects;
mod shapes;
mod tile;
mod tokens;
mod worker;

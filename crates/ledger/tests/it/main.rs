//! End-to-end tests of the ledger over real HTTP and a real Postgres (one binary, modules inside).
mod bindings;
mod callbacks;
mod canonical;
mod cli;
mod delivery;
mod health;
mod ingest;
mod leases;
mod magento;
mod pairing;
mod processes;
mod rejects;
mod shapes;
mod store_proxy;
mod tile;
mod tokens;
mod worker;

//! The store on a real Postgres (binding credentials), and the rule that keeps migrations safe for
//! rolling upgrades.
mod credentials;
mod rolling;

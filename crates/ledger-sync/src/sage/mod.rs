//! The Sage side of the application services: connecting a tenant (connect), and later the token
//! custody and the rate budgets.
pub mod businesses;
pub mod connect;

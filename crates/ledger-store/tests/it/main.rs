//! The store on a real Postgres: binding credentials.
mod credentials;

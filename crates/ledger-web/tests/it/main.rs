//! Integration tests of the dashboard: the API and the pages on one real server (port 0), a real
//! Postgres per test, a cookie-keeping HTTP client standing in for the browser, magento-sim for pairing.
mod accounts;
mod browser;
mod bulk;
mod embed;
mod events;
mod isolation;
mod pairing;
mod policy;
mod reset;
mod sage;
mod support;

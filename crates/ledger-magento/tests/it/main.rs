//! Integration tests of ledger-magento's outbound HTTP: the SSRF guard, the store client, pairing and TLS.
mod client;
mod pair;
mod ssrf;
mod support;
mod tls;

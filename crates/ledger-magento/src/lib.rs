//! Everything the ledger says to and hears from Magento: HKDF keys, JWTs both ways, and (later) the
//! store client, callback delivery and the SSRF guard.
pub mod jwt;
pub mod keys;

pub use jwt::{JwtError, OutboundClaims, mint_inbound, mint_outbound, verify_outbound};
pub use keys::{ApiKey, TenantKeys, disconnect_idempotency_key};

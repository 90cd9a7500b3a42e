//! Everything the ledger says to and hears from Magento: HKDF keys, JWTs both ways, the SSRF-guarded HTTP
//! client and the store's REST client (the pair call included). The canonical models it fetches live in
//! `ledger_domain::magento`. It knows no database: pairing, callback delivery and per-tenant clients
//! live in ledger-sync.
pub mod client;
pub mod jwt;
pub mod keys;
pub mod ssrf;

pub use client::{MagentoClient, MagentoError, PairError, PairRequest, RetryConfig, pair};
pub use jwt::{JwtError, OutboundClaims, UnverifiedClaims, mint_inbound, mint_outbound, peek, verify_outbound};
pub use keys::{ApiKey, TenantKeys, disconnect_idempotency_key};
pub use ssrf::{GuardedHttp, HostResolver, HttpError, OutboundPolicy, Refusal, TokioResolver, build_client};

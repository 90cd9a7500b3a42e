//! Everything the ledger says to and hears from Magento: HKDF keys, JWTs both ways, the SSRF-guarded HTTP
//! client and the store's REST client (pairing included). The canonical models it fetches live in
//! `ledger_domain::magento`.
pub mod client;
pub mod delivery;
pub mod jwt;
pub mod keys;
pub mod pairing;
pub mod ssrf;
pub mod tenant_clients;

pub use client::{MagentoClient, MagentoError, PairError, PairRequest, RetryConfig, pair};
pub use delivery::CallbackConfig;
pub use jwt::{JwtError, OutboundClaims, mint_inbound, mint_outbound, verify_outbound};
pub use keys::{ApiKey, TenantKeys, disconnect_idempotency_key};
pub use ssrf::{GuardedHttp, HostResolver, HttpError, OutboundPolicy, Refusal, TokioResolver, build_client};
pub use tenant_clients::MagentoClients;

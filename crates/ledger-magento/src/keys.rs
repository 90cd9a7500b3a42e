//! The per-install master secret (`api_key`) and the two HKDF subkeys derived from it (spec §2.1).
use std::fmt;

use hkdf::Hkdf;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};
use sha2::Sha256;

const OUTBOUND_INFO: &[u8] = b"byte8-magento-outbound-v1";
const INBOUND_INFO: &[u8] = b"byte8-magento-inbound-v1";

/// The master secret handed to Magento at pairing. Never logged, never shown after creation.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// A fresh key: `byte8_lk_` followed by 256 random bits in lowercase hex (no whitespace).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(SecretString::from(format!("byte8_lk_{}", hex::encode(bytes))))
    }

    pub fn from_secret(s: SecretString) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn derive(&self) -> TenantKeys {
        TenantKeys::derive(self.expose())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// The two signing keys of one tenant.
#[derive(Clone)]
pub struct TenantKeys {
    /// Verifies tokens Magento mints for the ledger.
    pub outbound: [u8; 32],
    /// Signs tokens the ledger mints for Magento.
    pub inbound: [u8; 32],
}

impl TenantKeys {
    pub fn derive(api_key: &str) -> Self {
        let hk = Hkdf::<Sha256>::new(None, api_key.as_bytes());
        let mut outbound = [0u8; 32];
        let mut inbound = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        hk.expand(OUTBOUND_INFO, &mut outbound).unwrap_or_default();
        hk.expand(INBOUND_INFO, &mut inbound).unwrap_or_default();
        Self { outbound, inbound }
    }
}

impl fmt::Debug for TenantKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TenantKeys(***)")
    }
}

/// The `Idempotency-Key` the module sends with `/v1/tenant/disconnect`.
pub fn disconnect_idempotency_key(tenant_id: &str) -> String {
    format!("disconnect:{}", hex::encode(Sha1::digest(tenant_id.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_test_vector_subkeys() {
        let keys = TenantKeys::derive("byte8_lk_example_master_key");
        assert_eq!(hex::encode(keys.outbound), "1e8642cdbb6d14f01b3623765a241e0996137728faecdc0757e875d9ead0e177");
        assert_eq!(hex::encode(keys.inbound), "43fdf53f3e4c76638de5ec435151ad2d32ea9ef70026aa12cee7543154eaf919");
        assert_eq!(
            disconnect_idempotency_key("11111111-2222-3333-4444-555555555555"),
            "disconnect:97d22f8652571c42ac94d64936ba78d3abce1282"
        );
    }

    #[test]
    fn generated_keys_are_distinct_and_whitespace_free() {
        let a = ApiKey::generate();
        let b = ApiKey::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("byte8_lk_") && a.expose().len() == 73);
        assert!(!a.expose().chars().any(char::is_whitespace));
        assert_eq!(format!("{a:?}"), "ApiKey(***)");
    }
}

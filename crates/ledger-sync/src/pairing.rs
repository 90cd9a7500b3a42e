//! Pairing a store (spec §4.2): mint or rotate the tenant's api_key, call the store's anonymous pair
//! route with a one-time code, record the binding, then ping with the new key so the connection turns
//! `active`. The same store URL always maps to the same tenant: re-pairing rotates its key.
use ledger_domain::TenantId;
use ledger_store::tenants::{self, Tenant};
use ledger_store::{Keyring, PgPool, StoreError};
use secrecy::SecretString;
use url::Url;

use crate::MagentoClients;
use ledger_magento::client::{PairError, PairRequest, normalise_pairing_code, pair};
use ledger_magento::{ApiKey, MagentoError};

#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error("magento_base_url must be an absolute http(s) URL of the store, e.g. https://shop.example.com")]
    InvalidUrl,
    #[error("the pairing code is empty; copy it from the Magento admin (Stores › Configuration › Byte8 › Sage)")]
    EmptyCode,
    #[error("server.public_url is not a valid URL, so the store could not be told where to send events")]
    PublicUrl,
    #[error(transparent)]
    Pair(#[from] PairError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PairingError {
    /// Stable machine code for API problems and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl => "invalid_store_url",
            Self::EmptyCode => "pairing_code_missing",
            Self::PublicUrl => "public_url_invalid",
            Self::Pair(e) => e.code(),
            Self::Store(_) => "internal",
        }
    }
}

#[derive(Debug)]
pub struct Paired {
    pub tenant: Tenant,
    /// True when an existing binding got a new key.
    pub rotated: bool,
    /// Why the ping after pairing did not succeed, if it did not.
    pub ping_error: Option<String>,
}

/// The store base URL as the binding keeps it: scheme, host, port and path, no trailing slash.
pub fn normalise_store_url(raw: &str) -> Result<Url, PairingError> {
    let mut url = Url::parse(raw.trim()).map_err(|_| PairingError::InvalidUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(PairingError::InvalidUrl);
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

pub async fn pair_store(
    pool: &PgPool,
    keyring: &Keyring,
    clients: &MagentoClients,
    ledger_base_url: &str,
    pairing_code: &str,
    magento_base_url: &str,
) -> Result<Paired, PairingError> {
    let store_url = normalise_store_url(magento_base_url)?;
    let code = normalise_pairing_code(pairing_code);
    if code.is_empty() {
        return Err(PairingError::EmptyCode);
    }
    let ledger_url = Url::parse(ledger_base_url).map_err(|_| PairingError::PublicUrl)?;
    let key_str = store_url.as_str().trim_end_matches('/').to_owned();
    let existing = tenants::find_by_magento_url(pool, &key_str).await?;
    let tenant_id = existing.as_ref().map_or_else(TenantId::new, Tenant::tenant_id);
    let api_key = ApiKey::generate();
    let request = PairRequest {
        pairing_code: code,
        tenant_id: tenant_id.to_string(),
        api_key: api_key.clone(),
        ledger_base_url: ledger_url,
    };
    pair(clients.http(), &store_url, &request).await?;
    let name = existing.as_ref().map_or_else(|| store_url.host_str().unwrap_or("store").to_owned(), |t| t.name.clone());
    let tenant =
        tenants::record_pairing(pool, keyring, tenant_id, &name, &key_str, &SecretString::from(api_key.expose()))
            .await?;
    tracing::info!(tenant_id = %tenant_id, store = %key_str, rotated = existing.is_some(), "store paired");

    let client = clients.build(tenant_id, &key_str, &api_key.derive()).map_err(|_| PairingError::InvalidUrl)?;
    let ping_error = match client.ping().await {
        Ok(_) => {
            tenants::set_connection_status(pool, tenant_id, "active").await?;
            None
        }
        Err(e) => {
            if matches!(e, MagentoError::Status { status: 401, .. }) {
                tenants::set_connection_status(pool, tenant_id, "token_revoked").await?;
            }
            tracing::warn!(tenant_id = %tenant_id, error = %e, "ping after pairing failed");
            Some(e.to_string())
        }
    };
    let tenant = tenants::get(pool, tenant_id).await?.unwrap_or(tenant);
    Ok(Paired { tenant, rotated: existing.is_some(), ping_error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_are_normalised() {
        assert_eq!(normalise_store_url(" https://shop.example/ ").unwrap().as_str(), "https://shop.example/");
        assert_eq!(normalise_store_url("http://127.0.0.1:9/s/2/?x=1#f").unwrap().as_str(), "http://127.0.0.1:9/s/2");
        assert!(normalise_store_url("ftp://shop.example").is_err());
        assert!(normalise_store_url("shop.example").is_err());
    }
}

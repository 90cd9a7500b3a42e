//! Magento clients per tenant: built from the tenant's stored binding (base URL, decrypted api_key) over
//! the one shared guarded HTTP client, and cached until the key changes.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ledger_domain::{SharedClock, TenantId};
use ledger_magento::{GuardedHttp, MagentoClient, TenantKeys};
use ledger_store::{Keyring, PgPool, StoreError, tenants};
use secrecy::ExposeSecret;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("tenant {0} is not paired with a store")]
    NotPaired(TenantId),
    #[error("tenant {0} has an invalid store URL")]
    BadUrl(TenantId),
}

/// A client with the key version and store URL it was built for.
type Cached = (i32, String, MagentoClient);

#[derive(Clone)]
pub struct MagentoClients {
    pool: PgPool,
    keyring: Arc<Keyring>,
    http: GuardedHttp,
    clock: SharedClock,
    cache: Arc<RwLock<HashMap<TenantId, Cached>>>,
}

impl MagentoClients {
    pub fn new(pool: PgPool, keyring: Arc<Keyring>, http: GuardedHttp, clock: SharedClock) -> Self {
        Self { pool, keyring, http, clock, cache: Arc::default() }
    }

    pub fn http(&self) -> &GuardedHttp {
        &self.http
    }

    /// The client for `tenant`'s store at `base_url` under key `key_version`: from the cache when it
    /// matches, else built from the stored (decrypted) key.
    pub async fn get(&self, tenant: TenantId, base_url: &str, key_version: i32) -> Result<MagentoClient, ClientError> {
        if let Some((version, url, client)) = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(&tenant)
            && *version == key_version
            && url == base_url
        {
            return Ok(client.clone());
        }
        let secret = tenants::secret(&self.pool, &self.keyring, tenant).await?.ok_or(ClientError::NotPaired(tenant))?;
        let client = self.build(tenant, base_url, &TenantKeys::derive(secret.api_key.expose_secret()))?;
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant, (secret.key_version, base_url.to_owned(), client.clone()));
        Ok(client)
    }

    /// A client for keys that are not stored yet (the ping right after pairing).
    pub fn build(&self, tenant: TenantId, base_url: &str, keys: &TenantKeys) -> Result<MagentoClient, ClientError> {
        let url = Url::parse(base_url).map_err(|_| ClientError::BadUrl(tenant))?;
        Ok(MagentoClient::new(self.http.clone(), url, tenant.to_string(), keys).with_clock(self.clock.clone()))
    }
}

//! Pairing a store (spec §4.2): save a new api_key first, then send it to the store's anonymous pair
//! route with the one-time code, then ping with it. The same store URL always maps to the same tenant:
//! re-pairing rotates its key. Until the store shows it holds the new key (the ping, or its first
//! token) both keys verify, so no answer lost on the way and no failed write leaves the store signing
//! with a key the ledger does not know.
use ledger_domain::TenantId;
use ledger_magento::client::{PairError, PairRequest, normalise_pairing_code, pair};
use ledger_magento::{ApiKey, MagentoError};
use ledger_store::tenants::{self, ConnectionStatus, StagedKey};
use ledger_store::{Keyring, PgPool, StoreError};
use secrecy::SecretString;
use url::Url;

use crate::MagentoClients;

#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error("magento_base_url must be an absolute http(s) URL of the store, e.g. https://shop.example.com")]
    InvalidUrl,
    #[error("the pairing code is empty; copy it from the Magento admin (Stores › Configuration › Byte8 › Sage)")]
    EmptyCode,
    #[error("server.public_url is not a valid URL, so the store could not be told where to send events")]
    PublicUrl,
    #[error(
        "refusing to pair: the store would send its events and tokens to {0} in clear. Set server.public_url to an https URL, or call this route through a TLS proxy that sets X-Forwarded-Proto: https (outbound.allow_http allows http for development)"
    )]
    CleartextLedgerUrl(String),
    #[error(transparent)]
    Pair(#[from] PairError),
    /// The store gave no clear answer (a timeout, a lost connection, a 5xx): it may hold the new key.
    #[error(
        "{0} The store may still have accepted the code: the ledger keeps the new key beside the old one, so its events are accepted either way; pair again with a new code to be sure."
    )]
    Unconfirmed(PairError),
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
            Self::CleartextLedgerUrl(_) => "ledger_url_not_https",
            Self::Pair(e) | Self::Unconfirmed(e) => e.code(),
            Self::Store(_) => "internal",
        }
    }

    /// The store's answer, when the store answered something.
    pub fn pair_error(&self) -> Option<&PairError> {
        match self {
            Self::Pair(e) | Self::Unconfirmed(e) => Some(e),
            _ => None,
        }
    }
}

/// What pairing needs besides the pool and the clients.
#[derive(Debug, Clone)]
pub struct PairInput {
    /// Where the store will send its events (`server.public_url` or derived from the request).
    pub ledger_base_url: String,
    /// Plain-http ledger URLs are allowed (`outbound.allow_http` or `dev.simulators`).
    pub allow_http: bool,
    pub pairing_code: String,
    pub magento_base_url: String,
}

#[derive(Debug)]
pub struct Paired {
    pub tenant_id: TenantId,
    pub status: ConnectionStatus,
    /// True when an existing binding got a new key.
    pub rotated: bool,
    /// Why the pairing is not confirmed yet (the ping failed, or recording it did), if it is not.
    pub warning: Option<String>,
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

/// The URL the store will call, refused when it is not https unless plain http is allowed.
pub fn ledger_url(raw: &str, allow_http: bool) -> Result<Url, PairingError> {
    let url = Url::parse(raw).map_err(|_| PairingError::PublicUrl)?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http => Ok(url),
        _ => Err(PairingError::CleartextLedgerUrl(raw.to_owned())),
    }
}

/// True when the store may have stored the key although the call failed: it got the request but its
/// answer was lost or was a server error.
fn may_hold_the_key(e: &PairError) -> bool {
    matches!(e, PairError::NoAnswer { .. } | PairError::StoreError { status: 500.., .. })
}

pub async fn pair_store(
    pool: &PgPool,
    keyring: &Keyring,
    clients: &MagentoClients,
    input: PairInput,
) -> Result<Paired, PairingError> {
    let store_url = normalise_store_url(&input.magento_base_url)?;
    let code = normalise_pairing_code(&input.pairing_code);
    if code.is_empty() {
        return Err(PairingError::EmptyCode);
    }
    let ledger_url = ledger_url(&input.ledger_base_url, input.allow_http)?;
    let key_str = store_url.as_str().trim_end_matches('/').to_owned();
    let existing = tenants::find_by_magento_url(pool, &key_str).await?;
    let tenant_id = existing.as_ref().map_or_else(TenantId::new, |t| t.tenant_id());
    let name = existing.as_ref().map_or_else(|| store_url.host_str().unwrap_or("store").to_owned(), |t| t.name.clone());
    let api_key = ApiKey::generate();
    // Saved before the store sees it: from here on a token signed with it verifies.
    let staged =
        tenants::stage_key(pool, keyring, tenant_id, &name, &key_str, &SecretString::from(api_key.expose())).await?;
    let request = PairRequest {
        pairing_code: code,
        tenant_id: tenant_id.to_string(),
        api_key: api_key.clone(),
        ledger_base_url: ledger_url,
    };
    if let Err(e) = pair(clients.http(), &store_url, &request).await {
        if may_hold_the_key(&e) {
            tracing::warn!(tenant_id = %tenant_id, error = %e, "no clear answer to the pair call; the new key stays pending");
            return Err(PairingError::Unconfirmed(e));
        }
        if let Err(discard) = tenants::discard_staged_key(pool, staged).await {
            tracing::warn!(tenant_id = %tenant_id, error = %discard, "could not discard a refused pairing's key");
        }
        return Err(e.into());
    }
    tracing::info!(tenant_id = %tenant_id, store = %key_str, rotated = !staged.fresh, "store paired");

    let (status, warning) = confirm(pool, clients, staged, &key_str, &api_key).await;
    Ok(Paired { tenant_id, status, rotated: !staged.fresh, warning })
}

/// After the store accepted the key: ping with it and, when the store answers, make it the tenant's
/// key. Nothing here fails the pairing (the store already holds the key); what went wrong is the
/// warning, and the store's first token confirms the key instead.
async fn confirm(
    pool: &PgPool,
    clients: &MagentoClients,
    staged: StagedKey,
    store_url: &str,
    api_key: &ApiKey,
) -> (ConnectionStatus, Option<String>) {
    let tenant = staged.tenant;
    let client = match clients.build(tenant, store_url, &api_key.derive()) {
        Ok(client) => client,
        Err(e) => return (ConnectionStatus::Pending, Some(e.to_string())),
    };
    match client.ping().await {
        Ok(_) => {
            let recorded = if staged.fresh {
                tenants::set_connection_status(pool, tenant, ConnectionStatus::Active).await.map(|()| true)
            } else {
                tenants::promote_key(pool, tenant, staged.key_version, ConnectionStatus::Active).await
            };
            match recorded {
                Ok(true) => (ConnectionStatus::Active, None),
                Ok(false) => (ConnectionStatus::Pending, Some("a newer pairing replaced this key meanwhile".into())),
                Err(e) => {
                    tracing::warn!(tenant_id = %tenant, error = %e, "could not record the confirmed pairing");
                    let warning = format!(
                        "the store holds the new key, but recording that failed ({e}); the ledger accepts both keys until the store's first event confirms the new one"
                    );
                    (ConnectionStatus::Pending, Some(warning))
                }
            }
        }
        Err(e) => {
            if matches!(e, MagentoError::Status { status: 401, .. })
                && let Err(e) = tenants::set_connection_status(pool, tenant, ConnectionStatus::TokenRevoked).await
            {
                tracing::warn!(tenant_id = %tenant, error = %e, "could not record the connection status");
            }
            tracing::warn!(tenant_id = %tenant, error = %e, "ping after pairing failed");
            (ConnectionStatus::Pending, Some(format!("the store did not answer the first ping: {e}")))
        }
    }
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

    #[test]
    fn the_ledger_url_must_be_https_unless_http_is_allowed() {
        assert!(ledger_url("https://ledger.example", false).is_ok());
        assert!(matches!(ledger_url("http://ledger.example", false), Err(PairingError::CleartextLedgerUrl(_))));
        assert!(ledger_url("http://127.0.0.1:8080", true).is_ok());
        assert!(matches!(ledger_url("not a url", true), Err(PairingError::PublicUrl)));
        assert!(matches!(ledger_url("ftp://ledger.example", true), Err(PairingError::CleartextLedgerUrl(_))));
    }
}

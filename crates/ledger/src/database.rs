//! Opening the database the configuration names, or the private cluster, and the secrets keyring.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ledger_pgcluster::{self as cluster, Cluster, ClusterOptions};
use ledger_store::db::{self, PoolSettings};
use ledger_store::{Keyring, PgPool};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;
use crate::keyfile;

pub struct Database {
    pub pool: PgPool,
    /// The URL the pool connects to (contains credentials when the configuration does).
    pub url: SecretString,
    pub keyring: Arc<Keyring>,
    /// The private cluster, when no URL was configured.
    pub cluster: Option<Cluster>,
}

impl Database {
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let settings = PoolSettings {
            max_connections: config.database.max_connections,
            acquire_timeout: Duration::from_millis(config.database.acquire_timeout_ms),
        };
        // Checked before connecting, so a missing key is reported even when the database is down.
        let keyring = Arc::new(keyring(config, config.database.url.is_none())?);
        let (url, cluster) = match &config.database.url {
            Some(url) => (url.expose_secret().to_owned(), None),
            None => {
                let opts = ClusterOptions::new(config.database.data_dir.clone());
                let cluster = tokio::task::spawn_blocking(move || Cluster::ensure(&opts)).await??;
                db::create_database_if_missing(&cluster.admin_url(), cluster::DB_NAME).await?;
                (cluster.url(cluster::DB_NAME), Some(cluster))
            }
        };
        let pool = db::connect(&url, &settings).await.context("connecting to the database")?;
        if config.database.migrate_on_start {
            db::migrate(&pool).await.context("migrating the database")?;
        }
        Ok(Self { pool, url: SecretString::from(url), keyring, cluster })
    }

    /// Closes the pool; with `stop_cluster` (only `serve` passes it), also stops the private cluster
    /// if this process started it.
    pub async fn close(self, stop_cluster: bool) {
        self.pool.close().await;
        if let Some(cluster) = self.cluster.filter(|_| stop_cluster) {
            match tokio::task::spawn_blocking(move || cluster.stop()).await {
                Ok(Ok(())) => tracing::info!("stopped the private PostgreSQL cluster"),
                Ok(Err(e)) => tracing::warn!(error = %e, "stopping the private cluster"),
                Err(e) => tracing::warn!(error = %e, "stopping the private cluster"),
            }
        }
    }
}

/// The configured keyring; in embedded mode with none configured, a key kept in a 0600 file beside
/// the data directory.
fn keyring(config: &Config, embedded: bool) -> anyhow::Result<Keyring> {
    let keys = &config.crypto.keys;
    if !keys.is_empty() {
        return Keyring::new(keys, config.crypto.active_key.as_deref()).context("configuration key `crypto.keys`");
    }
    if !embedded {
        anyhow::bail!(
            "configuration key `crypto.keys` is empty: set LEDGER_CRYPTO__KEYS__K1 to base64 of 32 random bytes \
             (e.g. `openssl rand -base64 32`) to encrypt stored secrets"
        );
    }
    let path = keyfile::path(&config.database.data_dir);
    let key = keyfile::read_or_create(&path)?;
    let ring = std::collections::BTreeMap::from([("local".to_owned(), key)]);
    Ok(Keyring::new(&ring, None)?)
}

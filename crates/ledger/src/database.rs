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
    /// The database [`Database::open_scratch`] made (an admin URL and its name), dropped after use.
    scratch: Option<(String, String)>,
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
        Ok(Self { pool, url: SecretString::from(url), keyring, cluster, scratch: None })
    }

    /// A fresh database beside the configured one (on the same server, or in the private cluster),
    /// migrated: for a benchmark whose numbers must not include an earlier run's leftovers (its events
    /// still pending, its tenants' secrets sealed under another key). [`Database::drop_scratch`] removes it.
    pub async fn open_scratch(config: &Config, prefix: &str) -> anyhow::Result<Self> {
        let base = Self::open(config).await?;
        let name = format!("{prefix}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let admin = base.url.expose_secret().to_owned();
        db::create_database_if_missing(&admin, &name).await.context("creating the scratch database")?;
        let url = match &base.cluster {
            Some(cluster) => cluster.url(&name),
            None => {
                let mut url = url::Url::parse(&admin).context("the configured database URL")?;
                url.set_path(&format!("/{name}"));
                url.to_string()
            }
        };
        let settings = PoolSettings {
            max_connections: config.database.max_connections,
            acquire_timeout: Duration::from_millis(config.database.acquire_timeout_ms),
        };
        let pool = db::connect(&url, &settings).await.context("connecting to the scratch database")?;
        db::migrate(&pool).await.context("migrating the scratch database")?;
        base.pool.close().await;
        Ok(Self {
            pool,
            url: SecretString::from(url),
            keyring: base.keyring,
            cluster: base.cluster,
            scratch: Some((admin, name)),
        })
    }

    /// Closes the pool and drops the database when [`Database::open_scratch`] made it, then as
    /// [`Database::close`].
    pub async fn drop_scratch(mut self, stop_cluster: bool) {
        self.pool.close().await;
        if let Some((admin, name)) = self.scratch.take() {
            let stmt = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let dropped = async {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(stmt)).execute(&mut conn).await?;
                Ok::<_, sqlx::Error>(())
            };
            if let Err(e) = dropped.await {
                tracing::warn!(database = %name, error = %e, "could not drop the scratch database");
            }
        }
        self.close(stop_cluster).await;
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

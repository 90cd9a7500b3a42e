//! The tenant key cache in front of the database. Derived keys are cached, unknown tenants are
//! remembered briefly, a reload after a bad signature happens at most once per tenant per interval,
//! and loads are bounded, so a flood of bad tokens (tenant ids are public) is shed before the pool.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ledger_domain::TenantId;
use ledger_magento::TenantKeys;
use ledger_store::{Keyring, PgPool, StoreError, tenants};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

/// How the cache trades freshness for load on the database.
#[derive(Clone, Debug)]
pub struct KeyCacheSettings {
    /// How long a tenant's keys are used before they are read again.
    pub ttl: Duration,
    /// How long an unknown tenant id is answered from memory.
    pub miss_ttl: Duration,
    /// The least time between two loads of one tenant's keys after bad signatures.
    pub reload_interval: Duration,
    /// Key loads running at once; more wait up to `load_wait`, then are shed (503).
    pub max_loads: usize,
    pub load_wait: Duration,
}

impl Default for KeyCacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            miss_ttl: Duration::from_secs(10),
            reload_interval: Duration::from_secs(5),
            max_loads: 4,
            load_wait: Duration::from_millis(500),
        }
    }
}

/// A tenant's derived keys as last read from the database.
#[derive(Clone, Debug)]
pub struct CachedKeys {
    pub keys: Arc<TenantKeys>,
    pub key_version: i32,
    /// The keys of an unconfirmed pairing and their version: tokens signed with them verify too.
    pub pending: Option<(Arc<TenantKeys>, i32)>,
    pub active: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Every load slot stayed busy: shed the request.
    #[error("too many key loads at once")]
    Busy,
}

/// What a reload after a bad signature found.
#[derive(Debug)]
pub enum Reload {
    /// Read again from the database (`None`: the tenant is gone).
    Loaded(Option<CachedKeys>),
    /// This tenant's keys were reloaded after a bad signature moments ago; not again yet.
    Throttled,
}

#[derive(Clone)]
struct Slot {
    keys: Option<CachedKeys>,
    /// When the keys were read.
    read: Instant,
    /// When a bad signature last made us read them again.
    reloaded: Option<Instant>,
}

pub struct KeyCache {
    settings: KeyCacheSettings,
    slots: RwLock<HashMap<TenantId, Slot>>,
    /// One load per tenant at a time: concurrent requests wait for it and share its result.
    in_flight: Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>,
    loads: Semaphore,
    load_count: AtomicU64,
}

const MAX_SLOTS: usize = 100_000;

impl KeyCache {
    pub fn new(settings: KeyCacheSettings) -> Self {
        let loads = Semaphore::new(settings.max_loads.max(1));
        Self { settings, slots: RwLock::default(), in_flight: Mutex::default(), loads, load_count: AtomicU64::new(0) }
    }

    /// How many times keys were read from the database since start.
    pub fn load_count(&self) -> u64 {
        self.load_count.load(Ordering::Relaxed)
    }

    /// The tenant's keys (`None`: no such tenant), from memory while fresh.
    pub async fn get(
        &self,
        pool: &PgPool,
        keyring: &Keyring,
        tenant: TenantId,
    ) -> Result<Option<CachedKeys>, KeyError> {
        let slot = self.slot(tenant);
        if let Some(s) = &slot
            && self.fresh(s)
        {
            return Ok(s.keys.clone());
        }
        let requested = Instant::now();
        self.load(pool, keyring, tenant, requested, false, slot.and_then(|s| s.keys)).await
    }

    /// After a signature failed with the cached keys: reads them again (the key may have been rotated
    /// by another process), unless a bad signature already did less than `reload_interval` ago. The
    /// first bad signature after a rotation therefore reloads at once; a flood reloads once per interval.
    pub async fn reload(&self, pool: &PgPool, keyring: &Keyring, tenant: TenantId) -> Result<Reload, KeyError> {
        let requested = Instant::now();
        let slot = self.slot(tenant);
        if let Some(last) = slot.as_ref().and_then(|s| s.reloaded)
            && last.elapsed() < self.settings.reload_interval
        {
            return Ok(Reload::Throttled);
        }
        Ok(Reload::Loaded(self.load(pool, keyring, tenant, requested, true, slot.and_then(|s| s.keys)).await?))
    }

    pub fn forget(&self, tenant: TenantId) {
        self.slots.write().unwrap_or_else(|p| p.into_inner()).remove(&tenant);
    }

    fn slot(&self, tenant: TenantId) -> Option<Slot> {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).get(&tenant).cloned()
    }

    fn fresh(&self, slot: &Slot) -> bool {
        let ttl = if slot.keys.is_some() { self.settings.ttl } else { self.settings.miss_ttl };
        slot.read.elapsed() < ttl
    }

    /// Reads the keys once for everyone who asked since `requested`; when every load slot stays busy,
    /// serves `stale` keys if there are any (the ingest transaction re-checks the key version and the
    /// binding), and sheds the request otherwise.
    async fn load(
        &self,
        pool: &PgPool,
        keyring: &Keyring,
        tenant: TenantId,
        requested: Instant,
        after_bad_signature: bool,
        stale: Option<CachedKeys>,
    ) -> Result<Option<CachedKeys>, KeyError> {
        let gate = {
            let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(tenant).or_default().clone()
        };
        let result = async {
            let _turn = gate.lock().await;
            if let Some(s) = self.slot(tenant)
                && s.read >= requested
            {
                return Ok(s.keys);
            }
            let permit = match tokio::time::timeout(self.settings.load_wait, self.loads.acquire()).await {
                Ok(Ok(p)) => p,
                _ if stale.is_some() => return Ok(stale),
                _ => return Err(KeyError::Busy),
            };
            self.load_count.fetch_add(1, Ordering::Relaxed);
            let secret = tenants::secret(pool, keyring, tenant).await;
            drop(permit);
            let derive = |key: &secrecy::SecretString| Arc::new(TenantKeys::derive(key.expose_secret()));
            let keys = secret?.map(|s| CachedKeys {
                keys: derive(&s.api_key),
                key_version: s.key_version,
                pending: s.pending.map(|p| (derive(&p.api_key), p.key_version)),
                active: s.active,
            });
            let read = Instant::now();
            let reloaded = if after_bad_signature { Some(read) } else { self.slot(tenant).and_then(|s| s.reloaded) };
            self.put(tenant, Slot { keys: keys.clone(), read, reloaded });
            Ok(keys)
        }
        .await;
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        // The last one out removes the gate (the map's copy and ours are all that remain).
        if Arc::strong_count(&gate) <= 2 {
            map.remove(&tenant);
        }
        result
    }

    fn put(&self, tenant: TenantId, slot: Slot) {
        let mut map = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SLOTS {
            map.retain(|_, s| s.keys.is_some() && s.read.elapsed() < self.settings.ttl);
            if map.len() >= MAX_SLOTS {
                map.clear();
            }
        }
        map.insert(tenant, slot);
    }
}

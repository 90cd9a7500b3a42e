//! magento-sim: an in-process Magento 2 store with the Byte8 client module, faithful to its wire protocol.
//!
//! Start it with [`spawn`] (port 0 allowed) or from the command line with [`run`]
//! (`ledger magento-sim`). See `docs/magento-sim.md` for the control API.

mod canonical;
mod catalog;
mod cli;
mod clock;
mod config;
mod error;
mod generate;
mod http;
pub mod jwt;
mod mirror;
mod model;
mod observers;
mod outbound;
mod outbox;
mod regions;
mod scenario;
mod store;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use canonical::{GatewayMetadataShape, PaymentMethodsShape, PingShape};
pub use cli::{Cli, run};
pub use clock::Clock;
pub use config::{DEFAULT_BASE_URL, SimConfig};
pub use error::{ControlError, MagentoError};
pub use mirror::MirrorRow;
pub use observers::{Emitted, EntityAction};
pub use outbound::{Delivery, DrainReport};
pub use outbox::{OutboxRow, RETRY_DELAYS_S, Status as OutboxStatus};
pub use scenario::{ScenarioRequest, ScenarioState};
pub use store::{PAIRING_TTL_S, SAGE, Store};

/// A running simulator. Dropping it stops the server and background tasks.
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    stores: Vec<Arc<Store>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    cron: Vec<JoinHandle<()>>,
}

impl RunningSim {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (the bound IP when not unspecified).
    pub fn base_url(&self) -> String {
        let ip = if self.addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { self.addr.ip() };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Base URL of store `k` (1-based): `{base_url}/s/k`.
    pub fn store_url(&self, k: usize) -> String {
        format!("{}/s/{k}", self.base_url())
    }

    /// Typed access to store `k` (1-based) for in-process tests.
    pub fn store(&self, k: usize) -> Option<Arc<Store>> {
        k.checked_sub(1).and_then(|i| self.stores.get(i)).cloned()
    }

    /// Number of stores.
    pub fn stores(&self) -> usize {
        self.stores.len()
    }

    /// Stops accepting connections, finishes in-flight requests and stops background tasks.
    pub async fn shutdown(mut self) {
        self.stop_background();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    fn stop_background(&mut self) {
        for t in self.cron.drain(..) {
            t.abort();
        }
        for s in &self.stores {
            s.stop_scenario();
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.stop_background();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `addr` (port 0 allowed) and serves the simulator in a background task.
pub async fn spawn(config: SimConfig, addr: SocketAddr) -> std::io::Result<RunningSim> {
    let http = outbound::http_client().map_err(std::io::Error::other)?;
    let config = Arc::new(config);
    let stores: Vec<Arc<Store>> = (1..=config.stores.max(1))
        .map(|k| Arc::new(Store::new(k, generate::store_seed(config.seed, k), Arc::clone(&config), http.clone())))
        .collect();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = http::router(&stores);
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "magento-sim server stopped");
        }
    });
    let cron = if config.cron { stores.iter().map(|s| spawn_cron(Arc::clone(s))).collect() } else { Vec::new() };
    Ok(RunningSim { addr, stores, shutdown: Some(tx), server: Some(server), cron })
}

/// The `byte8_outbox_drain` cron: every 60 s / time_scale.
fn spawn_cron(store: Arc<Store>) -> JoinHandle<()> {
    let period = outbox::scaled(60, store.config.scale()).to_std().unwrap_or(std::time::Duration::from_secs(60));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let report = store.drain().await;
            if !report.sent.is_empty() {
                tracing::info!(store = store.number(), sent = report.sent.len(), "cron drain");
            }
        }
    })
}

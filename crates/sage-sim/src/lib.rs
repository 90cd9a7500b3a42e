//! sage-sim: an in-process simulator of Sage Business Cloud Accounting API v3.1 (OAuth, API, faults, control).
#![recursion_limit = "256"]
//!
//! It shares no code with the ledger's crates: it is the other side of the wire. Start it with
//! [`spawn`] (port 0 is fine) or run it as `ledger sage-sim` through [`Cli`] and [`run`].

mod api;
mod bench;
mod cli;
mod config;
pub mod conformance;
mod control;
mod error;
mod faults;
mod http;
mod model;
pub mod money;
mod oauth;
mod seed;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use bench::{BenchReport, run_bench, sign_in};
pub use cli::{BenchArgs, Cli, Command, run};
pub use config::{ExtraTaxRate, FxDirection, IdempotencyBodyMismatch, OverMaxPage, SimConfig};
pub use faults::FaultSpec;
pub use state::Sim;

/// Build the simulator's shared state for `config` (for [`router`]).
pub fn new_state(config: SimConfig) -> Arc<Sim> {
    Sim::new(config)
}

/// The whole simulator as an axum router (useful with `tower::ServiceExt::oneshot`).
pub fn router(state: Arc<Sim>) -> axum::Router {
    http::router(state)
}

/// A simulator serving in a background task; dropping it stops the server.
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    sim: Arc<Sim>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT` (or the bound address).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The shared state, for tests that inspect or steer the simulator directly.
    pub fn state(&self) -> Arc<Sim> {
        self.sim.clone()
    }
    /// Stop accepting, wake hung requests, and wait (up to 5 s) for the server task to end.
    pub async fn shutdown(mut self) {
        self.sim.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.sim.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Bind `addr` (port 0 allowed) and serve the simulator in a background tokio task.
pub async fn spawn(config: SimConfig, addr: SocketAddr) -> std::io::Result<RunningSim> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let sim = Sim::new(config);
    let app = router(sim.clone());
    let stop = sim.shutdown.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await;
        if let Err(e) = served {
            tracing::error!(error = %e, "sage-sim server stopped with an error");
        }
    });
    Ok(RunningSim { addr, sim, task: Some(task) })
}

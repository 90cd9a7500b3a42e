//! `ledger magento-sim` command-line arguments and the blocking runner.

use std::net::{IpAddr, SocketAddr};

use crate::config::SimConfig;

/// Arguments of `ledger magento-sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct Cli {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8091)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Seed of the generated stores.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Speeds up cron cadence, retry delays and pairing TTL (never JWT clocks).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Number of independent stores (store k at /s/k, store 1 also at /).
    #[arg(long, default_value_t = 1)]
    pub stores: usize,
    /// Do not run the background outbox drain (drive it with POST /_sim/drain).
    #[arg(long)]
    pub no_cron: bool,
}

/// Runs the simulator until Ctrl-C.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if !(cli.time_scale.is_finite() && cli.time_scale > 0.0) {
        anyhow::bail!("--time-scale must be a positive number");
    }
    if cli.stores == 0 {
        anyhow::bail!("--stores must be at least 1");
    }
    let config = SimConfig {
        seed: cli.seed,
        time_scale: cli.time_scale,
        stores: cli.stores,
        cron: !cli.no_cron,
        ..SimConfig::default()
    };
    let sim = crate::spawn(config, SocketAddr::new(cli.bind, cli.port)).await?;
    tracing::info!(url = %sim.base_url(), stores = sim.stores(), "magento-sim listening");
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}

//! `ledger sage-sim` command line: serve the simulator, or `bench` invoice creation against one.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::{SimConfig, run_bench, spawn};

/// `ledger sage-sim [--port N] [--seed S] [--auto-approve] [--token-ttl SECS] ... [bench ...]`.
#[derive(Debug, Clone, clap::Args)]
pub struct Cli {
    /// Port to listen on.
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Seed for the seeded world (ids) and fault randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the consent page: sign the seeded user in at once.
    #[arg(long)]
    pub auto_approve: bool,
    /// Access token lifetime in seconds (Sage: 300).
    #[arg(long, value_name = "SECS")]
    pub token_ttl: Option<u64>,
    /// OAuth client id.
    #[arg(long, default_value = "sage-sim")]
    pub client_id: String,
    /// OAuth client secret.
    #[arg(long, default_value = "sage-sim-secret")]
    pub client_secret: String,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Measure invoice creation (requests/s, p50, p99) over loopback.
    Bench(BenchArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Number of invoice POSTs.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent connections (at most 150, Sage's per-app cap).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// A running simulator (started with --auto-approve); without it one is started in-process.
    #[arg(long)]
    pub url: Option<String>,
}

impl Cli {
    /// The settings this command line asks for (everything else at its default).
    pub fn config(&self) -> SimConfig {
        let mut c = SimConfig {
            seed: self.seed,
            auto_approve: self.auto_approve,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            ..SimConfig::default()
        };
        if let Some(ttl) = self.token_ttl {
            c.access_token_ttl = Duration::from_secs(ttl);
        }
        c
    }
}

/// Run the command: serve until Ctrl-C, or run the bench and print its report.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Bench(b)) = &cli.command {
        let report = run_bench(b.url.clone(), b.requests, b.connections).await?;
        println!("{report}");
        return Ok(());
    }
    let sim = spawn(cli.config(), SocketAddr::new(cli.bind, cli.port)).await?;
    tracing::info!(url = %sim.base_url(), "sage-sim listening");
    println!(
        "sage-sim listening on {} (authorize {0}/oauth2/auth/central, token {0}/token, api {0}/v3.1)",
        sim.base_url()
    );
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}

//! The `ledger` binary: CLI parsing, configuration, logging, and dispatch to the crates that do the work.
mod bench;
mod bench_refresh;
mod bench_sage;
mod bench_sync;
mod bench_web;
mod config;
mod database;
mod demo;
mod dev;
mod events;
mod keyfile;
mod keys;
mod metrics;
mod operator;
mod outbound;
mod sage;
mod serve;
mod store;
mod tenant;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};

#[derive(Debug, Parser)]
#[command(name = "ledger", version, about = "Magento → Sage Accounting sync service")]
struct Cli {
    /// A TOML file overriding the built-in defaults.
    #[arg(long, global = true, env = "LEDGER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Everything in one command: the simulators, a paired and connected store, a live order stream.
    Demo(demo::DemoArgs),
    /// Run the HTTP API and/or the worker pool.
    Serve {
        #[arg(long, value_enum, default_value = "all")]
        role: serve::Role,
    },
    /// Apply the ledger's and apalis-postgres's migrations.
    Migrate,
    /// Probe this configuration's server: exit 0 when `/health/ready` answers 200 (container health
    /// checks; the image has no curl).
    Health {
        /// The base URL to probe instead of `server.bind`.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the API's OpenAPI document (what `GET /api/openapi.json` serves and `docs/openapi.json` holds).
    Openapi,
    /// Print the database URL in use (the private cluster's when none is configured), e.g. for psql.
    DbUrl,
    /// Clear the bodies of finished work past the `[retention]` windows now (a worker process does it
    /// every `retention.interval_mins`), printing the count per kind.
    Purge {
        /// Count what would be purged; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Manage Magento tenants.
    Tenant {
        #[command(subcommand)]
        command: tenant::TenantCommand,
    },
    /// Dashboard operator accounts.
    Operator {
        #[command(subcommand)]
        command: operator::OperatorCommand,
    },
    /// Look at event runs, requeue or discard them.
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// Which keys seal the stored secrets; re-seal them under the active key.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Pair or disconnect Magento stores.
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Connect tenants to Sage Business Cloud Accounting, or disconnect them.
    Sage {
        #[command(subcommand)]
        command: sage::SageCommand,
    },
    /// Development helpers (simulators only).
    Dev {
        #[command(subcommand)]
        command: dev::DevCommand,
    },
    /// Load generators.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Run the Sage Business Cloud Accounting simulator (or its bench).
    SageSim(sage_sim::Cli),
    /// Run the Magento store simulator.
    MagentoSim(magento_sim::Cli),
}

/// `ledger purge`: one retention pass (or its counts), printed per kind.
async fn purge(config: &config::Config, db: &database::Database, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let windows = serve::retention_windows(config);
    let now = chrono::Utc::now();
    let counts = if dry_run {
        ledger_store::retention::dry_run(&db.pool, &windows, now).await?
    } else {
        match ledger_store::retention::purge(&db.pool, &windows, now).await? {
            Some(counts) => counts,
            None => anyhow::bail!("another process is purging now; try again later"),
        }
    };
    if json {
        let kinds: serde_json::Map<String, serde_json::Value> =
            counts.by_kind().map(|(k, n)| (k.to_owned(), serde_json::Value::from(n))).collect();
        println!("{}", serde_json::json!({ "dry_run": dry_run, "purged": kinds }));
    } else {
        let verb = if dry_run { "would purge" } else { "purged" };
        for (kind, n) in counts.by_kind() {
            println!("{verb} {n:>8} {kind}");
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The simulators are the other side of the wire and take none of the ledger's configuration.
    match cli.command {
        Command::SageSim(args) => {
            init_tracing(LogFormat::Text, "info");
            return sage_sim::run(args).await;
        }
        Command::MagentoSim(args) => {
            init_tracing(LogFormat::Text, "info");
            return magento_sim::run(args).await;
        }
        // Needs no configuration: it describes the code.
        Command::Openapi => {
            print!("{}", ledger_api::openapi::to_json());
            return Ok(());
        }
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(config.log.format, &config.log.level);
    match cli.command {
        Command::Serve { role } => serve::run(config, role).await,
        Command::Demo(args) => demo::run(&config, args).await,
        Command::Migrate => {
            let db = database::Database::open(&config).await?;
            let result = ledger_store::db::migrate(&db.pool).await;
            db.close(false).await;
            result?;
            println!("migrations applied");
            Ok(())
        }
        Command::Health { url } => health(&config, url).await,
        Command::DbUrl => {
            let db = database::Database::open(&config).await?;
            println!("{}", secrecy::ExposeSecret::expose_secret(&db.url));
            db.close(false).await;
            Ok(())
        }
        Command::Purge { dry_run, json } => {
            let db = database::Database::open(&config).await?;
            let result = purge(&config, &db, dry_run, json).await;
            db.close(false).await;
            result
        }
        Command::Tenant { command } => {
            let db = database::Database::open(&config).await?;
            let result = tenant::run(&config, &db, command).await;
            db.close(false).await;
            result
        }
        Command::Operator { command } => {
            let db = database::Database::open(&config).await?;
            let result = operator::run(&db, command).await;
            db.close(false).await;
            result
        }
        Command::Events { command } => {
            let db = database::Database::open(&config).await?;
            let result = events::run(&db, command).await;
            db.close(false).await;
            result
        }
        Command::Keys { command } => {
            let db = database::Database::open(&config).await?;
            let result = keys::run(&db, command).await;
            db.close(false).await;
            result
        }
        Command::Store { command } => {
            let db = database::Database::open(&config).await?;
            let result = store::run(&config, &db, command).await;
            db.close(false).await;
            result
        }
        Command::Sage { command } => {
            let db = database::Database::open(&config).await?;
            let result = sage::run(&config, &db, command).await;
            db.close(false).await;
            result
        }
        Command::Dev { command } => {
            let db = database::Database::open(&config).await?;
            let result = dev::run(config, &db, command).await;
            db.close(false).await;
            result
        }
        Command::Bench { command } => bench::run(&config, command).await,
        Command::SageSim(_) | Command::MagentoSim(_) | Command::Openapi => Ok(()),
    }
}

fn init_tracing(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},sqlx=warn")));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `ledger health`: one GET of `/health/ready`, printed, and its verdict as the exit status.
async fn health(config: &Config, url: Option<String>) -> anyhow::Result<()> {
    let base = url.unwrap_or_else(|| {
        let mut bind = config.server.bind;
        if bind.ip().is_unspecified() {
            bind.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{bind}")
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build()?;
    let resp = client.get(format!("{}/health/ready", base.trim_end_matches('/'))).send().await?;
    let status = resp.status();
    println!("{}", resp.text().await.unwrap_or_default());
    anyhow::ensure!(status.is_success(), "not ready: {status}");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}

//! `ledger bench ingest`: a load generator that signs and posts webhooks like the Magento module, over
//! C connections, closed-loop (as fast as it can) or open-loop at a fixed rate, and prints accepted
//! events/s, latency percentiles and errors.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use hdrhistogram::Histogram;
use ledger_domain::TenantId;
use ledger_magento::{ApiKey, TenantKeys, mint_outbound};
use secrecy::SecretString;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::database::Database;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Post signed webhooks to a running ledger.
    Ingest(IngestArgs),
    /// Run the whole pipeline against in-process simulators and measure it (docs/BENCHMARKS.md).
    Sync(crate::bench_sync::SyncArgs),
    /// Concurrent authorised Sage calls for one binding through the token custody (refresh contention).
    SageRefresh(crate::bench_refresh::RefreshArgs),
    /// Time the dashboard's event log for a tenant with many runs (docs/BENCHMARKS.md).
    WebLog(crate::bench_web::WebLogArgs),
    /// What the token custody and the rate budgets add to one Sage call, against in-process sage-sim.
    SageCalls(crate::bench_sage::SageCallsArgs),
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Base URL of the running ledger.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Tenant to post as; with --api-key. Without them a bench tenant is created in the configured database.
    #[arg(long, requires = "api_key")]
    tenant: Option<TenantId>,
    #[arg(long)]
    api_key: Option<String>,
    /// Connections (concurrent requests).
    #[arg(short = 'c', long, default_value_t = 16)]
    connections: usize,
    /// How long to run.
    #[arg(long, default_value_t = 10)]
    duration_s: u64,
    /// Open loop: requests per second in total (default: closed loop, as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Share of requests that repeat an earlier Idempotency-Key (0–1).
    #[arg(long, default_value_t = 0.0)]
    duplicates: f64,
}

pub async fn run(config: &Config, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(config, args).await,
        BenchCommand::Sync(args) => crate::bench_sync::run(config, args).await,
        BenchCommand::SageRefresh(args) => crate::bench_refresh::run(config, args).await,
        BenchCommand::WebLog(args) => crate::bench_web::run(config, args).await,
        BenchCommand::SageCalls(args) => crate::bench_sage::run(config, args).await,
    }
}

struct Shared {
    client: reqwest::Client,
    url: String,
    tenant: String,
    keys: TenantKeys,
    run_id: u32,
    duplicates: f64,
    hist: Mutex<Histogram<u64>>,
    statuses: Mutex<BTreeMap<String, u64>>,
}

async fn ingest(config: &Config, args: IngestArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    let (tenant, api_key) = match (args.tenant, args.api_key) {
        (Some(t), Some(k)) => (t, k),
        _ => {
            let db = Database::open(config).await?;
            let key = ApiKey::generate();
            let t = ledger_store::tenants::create(
                &db.pool,
                &db.keyring,
                TenantId::new(),
                "bench",
                &SecretString::from(key.expose()),
            )
            .await?;
            db.close(false).await;
            eprintln!("created bench tenant {}", t.id);
            (t.tenant_id(), key.expose().to_owned())
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(args.connections).timeout(Duration::from_secs(30)).build()?;
    let shared = Arc::new(Shared {
        client,
        url: args.url.trim_end_matches('/').to_owned(),
        tenant: tenant.to_string(),
        keys: TenantKeys::derive(&api_key),
        run_id: rand::random(),
        duplicates: args.duplicates.clamp(0.0, 1.0),
        hist: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        statuses: Mutex::new(BTreeMap::new()),
    });
    let deadline = Instant::now() + Duration::from_secs(args.duration_s);
    let started = Instant::now();
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    match args.rate {
        None => {
            let mut tasks = Vec::new();
            for _ in 0..args.connections {
                let (shared, counter) = (shared.clone(), counter.clone());
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        shared.post(n, Instant::now()).await;
                    }
                }));
            }
            for t in tasks {
                t.await?;
            }
        }
        Some(rate) => {
            anyhow::ensure!(rate > 0.0, "--rate must be positive");
            let interval = Duration::from_secs_f64(1.0 / rate);
            let permits = Arc::new(tokio::sync::Semaphore::new(args.connections));
            let mut next = Instant::now();
            let mut tasks = Vec::new();
            while next < deadline {
                tokio::time::sleep_until(next.into()).await;
                let permit = permits.clone().acquire_owned().await?;
                let (shared, n) = (shared.clone(), counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                // Latency counts from the scheduled send time, so a stalled server cannot hide its queueing.
                let scheduled = next;
                tasks.push(tokio::spawn(async move {
                    shared.post(n, scheduled).await;
                    drop(permit);
                }));
                next += interval;
            }
            for t in tasks {
                t.await?;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let hist = shared.hist.lock().await;
    let statuses = shared.statuses.lock().await;
    let accepted: u64 = statuses.iter().filter(|(k, _)| k.starts_with('2')).map(|(_, v)| v).sum();
    let total: u64 = statuses.values().sum();
    println!("mode:        {}", args.rate.map_or("closed loop".to_owned(), |r| format!("open loop at {r} req/s")));
    println!("connections: {}", args.connections);
    println!("duration:    {elapsed:.1} s");
    println!("requests:    {total}");
    println!("accepted/s:  {:.0}", accepted as f64 / elapsed);
    println!(
        "latency ms:  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(hist.value_at_quantile(0.5)),
        ms(hist.value_at_quantile(0.9)),
        ms(hist.value_at_quantile(0.99)),
        ms(hist.max())
    );
    println!("statuses:    {}", statuses.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
    println!("errors:      {}", total - accepted);
    Ok(())
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Shared {
    async fn post(&self, n: u64, start: Instant) {
        let entity = if self.duplicates > 0.0 && n > 0 && rand::random::<f64>() < self.duplicates {
            rand::random::<u64>() % n + 1
        } else {
            n + 1
        };
        let key = format!("invoice.created:{}{entity:09}", self.run_id);
        let now = chrono::Utc::now();
        let body = format!(
            r#"{{"magento_entity_id":{entity},"website_id":1,"store_id":1,"occurred_at":"{}","payload":{{"increment_id":"{entity:09}","paid":false}}}}"#,
            now.format("%Y-%m-%dT%H:%M:%SZ")
        );
        let jti = uuid::Uuid::new_v4().to_string();
        let token = mint_outbound(&self.keys.outbound, &self.tenant, now.timestamp(), &jti);
        let result = self
            .client
            .post(format!("{}/webhooks/magento/{}/invoice.created", self.url, self.tenant))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body)
            .send()
            .await;
        let status = match result {
            Ok(r) => {
                let s = r.status().as_u16().to_string();
                let _ = r.bytes().await;
                s
            }
            Err(e) if e.is_timeout() => "timeout".to_owned(),
            Err(_) => "connect_error".to_owned(),
        };
        let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = self.hist.lock().await.record(us);
        *self.statuses.lock().await.entry(status).or_default() += 1;
    }
}

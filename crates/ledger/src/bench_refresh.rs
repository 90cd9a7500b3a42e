//! `ledger bench sage-refresh`: concurrent authorised Sage calls for one binding through this process's
//! token custody, for a while, counting calls, failures and the refreshes this process made. Run it in
//! several processes at once against short-lived tokens to watch the refresh protocol under contention
//! (the tests do: two processes × 8 tasks × 60 s of 2-second tokens, zero `invalid_grant`).
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use ledger_domain::TenantId;
use ledger_sage::{SageClient, Unlimited};
use ledger_store::bindings;
use serde_json::json;

use crate::config::Config;
use crate::database::Database;

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The tenant whose Sage binding the calls use.
    #[arg(long)]
    tenant: TenantId,
    /// Concurrent tasks making calls.
    #[arg(long, default_value_t = 8)]
    tasks: usize,
    #[arg(long, default_value_t = 60)]
    duration_s: u64,
    /// Pause of each task between its calls (0: back to back).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    #[arg(long)]
    json: bool,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: BTreeMap<String, u64>,
}

pub async fn run(config: &Config, args: RefreshArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1..=256).contains(&args.tasks), "--tasks must be 1-256");
    let db = Database::open(config).await?;
    let result = calls(config, &db, &args).await;
    db.close(false).await;
    let (tally, hist, refreshes, elapsed, lifetime) = result?;
    let per_lifetime = lifetime.map(|l| refreshes as f64 * l / elapsed.as_secs_f64());
    let calls = tally.ok + tally.failed.values().sum::<u64>();
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "tenant_id": args.tenant,
        "tasks": args.tasks,
        "seconds": elapsed.as_secs_f64(),
        "calls": calls,
        "ok": tally.ok,
        "failed": tally.failed,
        "refreshes": refreshes,
        "token_lifetime_s": lifetime,
        "refreshes_per_token_lifetime": per_lifetime,
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{calls} calls in {:.1} s from {} tasks: {} ok, failed {:?}; {refreshes} refreshes by this process \
             ({:.2} per token lifetime); p50 {:.2} ms, p99 {:.2} ms",
            elapsed.as_secs_f64(),
            args.tasks,
            tally.ok,
            tally.failed,
            per_lifetime.unwrap_or(f64::NAN),
            ms(0.5),
            ms(0.99)
        );
    }
    anyhow::ensure!(tally.failed.is_empty(), "some calls failed");
    Ok(())
}

async fn calls(
    config: &Config,
    db: &Database,
    args: &RefreshArgs,
) -> anyhow::Result<(Tally, Histogram<u64>, u64, Duration, Option<f64>)> {
    let binding = bindings::sage(&db.pool, args.tenant).await?.context("the tenant has no Sage binding")?;
    let business = binding.business_id.clone().context("the binding has no business chosen")?;
    let custody = crate::sage::custody(config, &db.pool, db.keyring.clone())?;
    let client = SageClient::new(
        crate::sage::sage_api(config)?,
        Arc::new(custody.tokens(args.tenant, binding.id)),
        Arc::new(Unlimited),
    );
    let business_id = business.as_str().to_owned();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let start = Instant::now();
    let until = start + Duration::from_secs(args.duration_s);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.tasks {
        let (client, business_id, tally, hist) = (client.clone(), business_id.clone(), tally.clone(), hist.clone());
        let interval = Duration::from_millis(args.interval_ms);
        tasks.spawn(async move {
            while Instant::now() < until {
                let t = Instant::now();
                let answer = client.business_details(&business_id).await;
                let micros = t.elapsed().as_micros() as u64;
                let failed = {
                    let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
                    match answer {
                        Ok(_) => {
                            tally.ok += 1;
                            hist.lock().unwrap_or_else(|p| p.into_inner()).record(micros.max(1)).ok();
                            false
                        }
                        Err(e) => {
                            *tally.failed.entry(e.class().as_str().to_owned()).or_default() += 1;
                            true
                        }
                    }
                };
                if failed {
                    // A failing connection would otherwise spin; slow down and keep counting.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    let hist = hist.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let elapsed = start.elapsed();
    // The lifetime Sage gives its tokens, read off the last stored pair.
    let lifetime = ledger_store::credentials::load(&db.pool, &db.keyring, binding.id)
        .await?
        .map(|c| (c.tokens.access_expires_at - c.refreshed_at).as_seconds_f64());
    Ok((tally, hist, custody.refreshes(), elapsed, lifetime))
}

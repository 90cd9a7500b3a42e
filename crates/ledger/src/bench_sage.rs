//! `ledger bench sage-calls`: what the token custody and the rate budgets add to one Sage call. The same
//! read (`GET /financial_settings`) goes to an in-process sage-sim (no latency) through (a) no gate and a
//! fixed token, (b) the custody's tokens, (c) the custody and the Postgres-backed call gate over the
//! configured database; it prints p50/p99 per call for each and the differences (docs/BENCHMARKS.md).
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use ledger_domain::{SageBusinessId, TenantId, Tier};
use ledger_sage::{AccessTokens, CallGate, CallKind, SageClient, SageConfig, SageHttp, StaticToken, Unlimited};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::config::Config;
use crate::database::Database;
use crate::{dev, sage};

#[derive(Debug, Args)]
pub struct SageCallsArgs {
    /// Calls measured per variant (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    #[arg(long)]
    json: bool,
}

/// A measured variant: its name, where its tokens come from, and its gate.
type Variant = (&'static str, Arc<dyn AccessTokens>, Arc<dyn CallGate>);

pub async fn run(config: &Config, args: SageCallsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.calls > 0 && args.concurrency > 0, "--calls and --concurrency must be at least 1");
    let mut config = config.clone();
    let loopback = "127.0.0.1:0".parse().context("loopback address")?;
    let sim = sage_sim::spawn(sage_sim::SimConfig { auto_approve: true, ..Default::default() }, loopback).await?;
    crate::outbound::use_simulators(&mut config, &sim.base_url())?;
    let db = Database::open(&config).await?;
    let report = measure(&config, &db, &args).await;
    db.close(true).await;
    let report = report?;
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }
    Ok(())
}

async fn measure(config: &Config, db: &Database, args: &SageCallsArgs) -> anyhow::Result<Value> {
    let (tenant, binding, business) = connect(config, db).await?;
    let custody = sage::custody(config, &db.pool, db.keyring.clone())?;
    let custody_tokens: Arc<dyn AccessTokens> = Arc::new(custody.tokens(tenant, binding));
    let fixed: Arc<dyn AccessTokens> = Arc::new(StaticToken::new(custody_tokens.access_token().await?));
    let gate = sage::call_gate(config, &db.pool);
    let http = SageHttp::with_client(sage::sage_http()?, &SageConfig::new(config.sage.api_base.clone()));
    let variants: [Variant; 3] = [
        ("static_token", fixed, Arc::new(Unlimited)),
        ("custody", custody_tokens.clone(), Arc::new(Unlimited)),
        ("custody_and_gate", custody_tokens, gate.clone()),
    ];
    let mut out = serde_json::Map::new();
    for (name, tokens, gate) in variants {
        let client = SageClient::new(http.clone(), tokens, gate);
        run_calls(&client, &business, args.calls / 10 + 1, args.concurrency).await?;
        let hist = run_calls(&client, &business, args.calls, args.concurrency).await?;
        out.insert(name.to_owned(), summary(&hist));
    }
    // The gate alone: one admission and its release, no HTTP.
    let mut admit = Histogram::<u64>::new(3)?;
    for _ in 0..args.calls {
        let started = Instant::now();
        let permit = gate.admit(&business, CallKind::Read).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        record(&mut admit, started);
        drop(permit);
    }
    out.insert("gate_admit_only".to_owned(), summary(&admit));
    let us = |k: &str, q: &str| out[k][q].as_f64().unwrap_or_default();
    let overhead = json!({
        "custody_p50_us": us("custody", "p50_us") - us("static_token", "p50_us"),
        "custody_p99_us": us("custody", "p99_us") - us("static_token", "p99_us"),
        "gate_p50_us": us("custody_and_gate", "p50_us") - us("custody", "p50_us"),
        "gate_p99_us": us("custody_and_gate", "p99_us") - us("custody", "p99_us"),
    });
    Ok(json!({
        "calls": args.calls,
        "concurrency": args.concurrency,
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "variants": Value::Object(out),
        "overhead": overhead,
    }))
}

/// A tenant bound to sage-sim's Plus business through the real connect flow (auto-approved consent).
async fn connect(config: &Config, db: &Database) -> anyhow::Result<(TenantId, uuid::Uuid, SageBusinessId)> {
    let tenant = TenantId::new();
    let key = SecretString::from(ledger_magento::ApiKey::generate().expose());
    ledger_store::tenants::create(&db.pool, &db.keyring, tenant, "bench-sage", &key).await?;
    let connect = sage::connect_service(config, &db.pool, db.keyring.clone())?;
    let authorize = connect.start(tenant).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
    let params = dev::authorize_at_sim(&sage::sage_http()?, &authorize).await?;
    let done = connect.complete(&params).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
    let binding = if done.binding.tier == Some(Tier::Plus) && !done.needs_business_choice() {
        done.binding
    } else {
        let id = dev::pick(&done.businesses, Tier::Plus)?;
        connect.pick(tenant, &id).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?
    };
    let business = binding.business_id.clone().context("the binding has no business")?;
    Ok((tenant, binding.id, business))
}

/// `calls` reads over `concurrency` tasks; the latency of each call, in microseconds.
async fn run_calls(
    client: &SageClient,
    business: &SageBusinessId,
    calls: usize,
    concurrency: usize,
) -> anyhow::Result<Histogram<u64>> {
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let b = client.business(business.clone());
        let mine = calls / concurrency + usize::from(worker < calls % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3)?;
            for _ in 0..mine {
                let started = Instant::now();
                b.financial_settings().await.map_err(|e| anyhow::anyhow!("a Sage call failed: {e}"))?;
                record(&mut hist, started);
            }
            anyhow::Ok(hist)
        }));
    }
    let mut all = Histogram::<u64>::new(3)?;
    for t in tasks {
        all.add(t.await.context("a bench task panicked")??)?;
    }
    Ok(all)
}

fn record(hist: &mut Histogram<u64>, started: Instant) {
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
    let _ = hist.record(us);
}

fn summary(hist: &Histogram<u64>) -> Value {
    json!({
        "calls": hist.len(),
        "p50_us": hist.value_at_quantile(0.5) as f64,
        "p99_us": hist.value_at_quantile(0.99) as f64,
        "max_us": hist.max() as f64,
    })
}

fn print_report(r: &Value) {
    println!(
        "Sage calls: {} per variant, {} in flight, {} build",
        r["calls"],
        r["concurrency"],
        r["build"].as_str().unwrap_or("")
    );
    let row = |name: &str, label: &str| {
        let v = &r["variants"][name];
        println!(
            "{label:<34} p50 {:>8.0} us   p99 {:>8.0} us   max {:>8.0} us",
            v["p50_us"].as_f64().unwrap_or_default(),
            v["p99_us"].as_f64().unwrap_or_default(),
            v["max_us"].as_f64().unwrap_or_default()
        );
    };
    row("static_token", "(a) no gate, fixed token");
    row("custody", "(b) custody");
    row("custody_and_gate", "(c) custody + PgCallGate");
    row("gate_admit_only", "gate admission alone (no HTTP)");
    let o = &r["overhead"];
    println!(
        "added by custody: p50 {:+.0} us, p99 {:+.0} us; added by the gate: p50 {:+.0} us, p99 {:+.0} us",
        o["custody_p50_us"].as_f64().unwrap_or_default(),
        o["custody_p99_us"].as_f64().unwrap_or_default(),
        o["gate_p50_us"].as_f64().unwrap_or_default(),
        o["gate_p99_us"].as_f64().unwrap_or_default()
    );
}

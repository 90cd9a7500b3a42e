//! `ledger bench sync`: the whole pipeline in one process against in-process simulators — stores post
//! their events to the ledger's HTTP API, the worker pool syncs them to sage-sim, callbacks flip the
//! store's chips — and prints throughput, accept→callback latency, Sage calls per invoice, a quiet
//! tenant's latency beside a noisy tenant's backlog, and peak RSS. Timings come from the database
//! (`events.received_at` → `callbacks.delivered_at`), so they include the whole path.
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use ledger_domain::{TenantId, Tier};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Config;
use crate::database::Database;
use crate::dev;
use crate::serve::{self, Role};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Invoices in the throughput run.
    #[arg(long, default_value_t = 500)]
    events: usize,
    /// Rate of the open-loop latency run (events/s) and how long it lasts.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    #[arg(long, default_value_t = 20)]
    latency_secs: u64,
    /// The noisy tenant's backlog in the fairness run (0 skips the run).
    #[arg(long, default_value_t = 10_000)]
    backlog: usize,
    /// Extra latency of every Sage call (sage-sim fault), in milliseconds.
    #[arg(long, default_value_t = 0)]
    sage_latency_ms: u64,
    #[arg(long)]
    json: bool,
}

struct Store {
    sim: magento_sim::RunningSim,
    tenant: TenantId,
    customers: Vec<u64>,
}

struct Bench<'d> {
    http: reqwest::Client,
    db: &'d Database,
}

pub async fn run(config: &Config, args: SyncArgs) -> anyhow::Result<()> {
    let mut config = config.clone();
    let loopback = "127.0.0.1:0".parse().context("loopback address")?;
    let sage = sage_sim::spawn(sage_sim::SimConfig { auto_approve: true, ..Default::default() }, loopback).await?;
    crate::outbound::use_simulators(&mut config, &sage.base_url())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    config.server.bind = format!("127.0.0.1:{port}").parse()?;
    config.server.public_url = Some(format!("http://127.0.0.1:{port}").parse()?);
    // Nothing routes here through a load balancer: no need to keep answering 503 before closing.
    config.server.shutdown_grace_secs = 0;
    let db = Database::open(&config).await?;
    let http = crate::sage::sage_http()?;
    let bench = Bench { http, db: &db };
    let shutdown = CancellationToken::new();
    let served = serve::serve_until(&config, &db, Role::All, shutdown.clone());
    let measured = async {
        let result = measure(&config, &bench, &sage, port, &args).await;
        shutdown.cancel();
        result
    };
    let (served, report) = tokio::join!(served, measured);
    served?;
    let report = report?;
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }
    db.close(true).await;
    Ok(())
}

async fn measure(
    config: &Config,
    bench: &Bench<'_>,
    sage: &sage_sim::RunningSim,
    port: u16,
    args: &SyncArgs,
) -> anyhow::Result<Value> {
    bench.wait_ready(port).await?;
    if args.sage_latency_ms > 0 {
        let ms = args.sage_latency_ms;
        bench
            .control(reqwest::Method::PUT, &format!("{}/_sim/faults", sage.base_url()), json!({"latency_ms": [ms, ms]}))
            .await?;
    }
    let main = bench.store(config, Tier::Plus).await?;

    // Throughput: unpaid invoices of known customers, posted at once.
    let started = Instant::now();
    let ids = bench.invoices(&main, args.events).await?;
    bench.settle(&ids, Duration::from_secs(1800)).await?;
    let wall = started.elapsed();
    let throughput = bench.stats(&ids).await?;
    let calls = bench.calls_per_synced(&ids).await?;

    // Latency: open loop at `rate`, each event posted as soon as the store queues it.
    let latency_ids = bench.open_loop(&main, args.rate, Duration::from_secs(args.latency_secs)).await?;
    bench.settle(&latency_ids, Duration::from_secs(600)).await?;
    let latency = bench.stats(&latency_ids).await?;

    // Fairness: a quiet tenant at 1 event/s while a noisy one works through its backlog.
    let fairness = if args.backlog > 0 {
        let noisy = bench.store(config, Tier::Standard).await?;
        let quiet = bench.store(config, Tier::Start).await?;
        // The store posts slower than the workers sync, so without a pause the "backlog" would be
        // worked off as it arrives: the noisy tenant is paused while its events are accepted, then
        // resumed, so the quiet tenant really runs beside all of them waiting at once.
        ledger_sync::operations::pause(&bench.db.pool, noisy.tenant, "bench: building the backlog")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let backlog = bench.invoices(&noisy, args.backlog).await?;
        ledger_sync::operations::resume(&bench.db.pool, noisy.tenant).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let quiet_ids = bench.open_loop(&quiet, 1.0, Duration::from_secs(20)).await?;
        bench.settle(&quiet_ids, Duration::from_secs(600)).await?;
        let quiet_stats = bench.stats(&quiet_ids).await?;
        let quiet_phases = bench.phases(&quiet_ids).await?;
        let backlog_left = bench.unfinished(&backlog).await?;
        json!({ "noisy_backlog": args.backlog, "noisy_left_when_quiet_done": backlog_left, "quiet": quiet_stats,
                "quiet_phases_ms": quiet_phases })
    } else {
        Value::Null
    };
    Ok(json!({
        "sage_latency_ms": args.sage_latency_ms,
        "throughput": {
            "events": ids.len(),
            "wall_s": wall.as_secs_f64(),
            "events_per_s": throughput["events_per_s"],
            "accept_to_callback_ms": throughput["ms"],
            "sage_calls_per_synced_invoice": calls,
        },
        "latency": { "rate": args.rate, "events": latency_ids.len(), "accept_to_callback_ms": latency["ms"] },
        "fairness": fairness,
        "peak_rss_mb": peak_rss_mb(),
    }))
}

impl Bench<'_> {
    async fn wait_ready(&self, port: u16) -> anyhow::Result<()> {
        for _ in 0..600 {
            if let Ok(r) = self.http.get(format!("http://127.0.0.1:{port}/health/ready")).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the ledger did not become ready")
    }

    async fn control(&self, method: reqwest::Method, url: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self.http.request(method, url).json(&body).send().await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{url} answered {status}: {body}");
        }
        Ok(body)
    }

    /// A new simulated store, paired and connected to sage-sim's business of `tier`, with ten customers
    /// already synced (so invoices find their contacts).
    async fn store(&self, config: &Config, tier: Tier) -> anyhow::Result<Store> {
        let loopback = "127.0.0.1:0".parse().context("loopback address")?;
        let sim = magento_sim::spawn(magento_sim::SimConfig { cron: false, ..Default::default() }, loopback).await?;
        let url = sim.base_url().parse()?;
        let connected = dev::connect_sim(config, self.db, &url, tier).await?;
        let mut store = Store { sim, tenant: connected.tenant, customers: Vec::new() };
        for _ in 0..10 {
            let made = self.fire(&store, json!({"action": "save_customer", "country": "GB"})).await?;
            store.customers.push(made["customer_id"].as_u64().context("no customer_id")?);
        }
        let ids = self.drain(&store).await?;
        self.settle(&ids, Duration::from_secs(300)).await?;
        Ok(store)
    }

    async fn fire(&self, store: &Store, action: Value) -> anyhow::Result<Value> {
        self.control(reqwest::Method::POST, &format!("{}/_sim/entities", store.sim.base_url()), action).await
    }

    /// The module's cron runs until its outbox is empty (a run sends a batch); returns the ids of the
    /// events the ledger accepted.
    async fn drain(&self, store: &Store) -> anyhow::Result<Vec<Uuid>> {
        let mut keys = Vec::new();
        loop {
            let url = format!("{}/_sim/drain", store.sim.base_url());
            let report = self.control(reqwest::Method::POST, &url, json!({})).await?;
            let sent = report["sent"].as_array().cloned().unwrap_or_default();
            if sent.is_empty() {
                break;
            }
            for s in &sent {
                if s["status_code"] != 202 && s["status_code"] != 200 {
                    bail!("the ledger refused an event: {s}");
                }
                keys.push(s["idempotency_key"].as_str().unwrap_or_default().to_owned());
            }
        }
        Ok(sqlx::query_scalar(
            "SELECT id FROM events WHERE tenant_id = $1 AND idempotency_key = ANY($2) AND dedup_key IS NOT NULL",
        )
        .bind(store.tenant)
        .bind(&keys)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// `n` unpaid GBP invoices of the store's known customers, then one drain.
    async fn invoices(&self, store: &Store, n: usize) -> anyhow::Result<Vec<Uuid>> {
        for i in 0..n {
            let customer = store.customers[i % store.customers.len()];
            self.fire(store, json!({"action": "create_invoice", "customer_id": customer, "paid": false})).await?;
        }
        self.drain(store).await
    }

    /// One invoice every 1/`rate` s for `span`, each drained at once.
    async fn open_loop(&self, store: &Store, rate: f64, span: Duration) -> anyhow::Result<Vec<Uuid>> {
        let every = Duration::from_secs_f64(1.0 / rate.max(0.001));
        let mut tick = tokio::time::interval(every);
        let end = Instant::now() + span;
        let mut ids = Vec::new();
        let mut i = 0;
        while Instant::now() < end {
            tick.tick().await;
            let customer = store.customers[i % store.customers.len()];
            i += 1;
            self.fire(store, json!({"action": "create_invoice", "customer_id": customer, "paid": false})).await?;
            ids.extend(self.drain(store).await?);
        }
        Ok(ids)
    }

    /// Waits until every event of `ids` is finished and its callback (if any) delivered.
    async fn settle(&self, ids: &[Uuid], limit: Duration) -> anyhow::Result<()> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.unfinished(ids).await? == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{} of {} events did not settle within {limit:?}", self.unfinished(ids).await?, ids.len())
    }

    async fn unfinished(&self, ids: &[Uuid]) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM events e
              WHERE e.id = ANY($1)
                AND (e.finished_at IS NULL
                     OR EXISTS (SELECT 1 FROM callbacks c WHERE c.event_id = e.id AND c.delivered_at IS NULL))",
        )
        .bind(ids)
        .fetch_one(&self.db.pool)
        .await?)
    }

    /// Accept → callback delivered, per event: percentiles and the rate over the whole batch.
    async fn stats(&self, ids: &[Uuid]) -> anyhow::Result<Value> {
        let rows: Vec<(f64, f64, f64)> = sqlx::query_as(
            "SELECT (extract(epoch FROM c.delivered_at - e.received_at) * 1000)::float8,
                    extract(epoch FROM e.received_at)::float8, extract(epoch FROM c.delivered_at)::float8
               FROM events e JOIN callbacks c ON c.event_id = e.id
              WHERE e.id = ANY($1) AND c.delivered_at IS NOT NULL",
        )
        .bind(ids)
        .fetch_all(&self.db.pool)
        .await?;
        let mut ms: Vec<f64> = rows.iter().map(|r| r.0).collect();
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| ms.get(((ms.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
        let first = rows.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        let last = rows.iter().map(|r| r.2).fold(0.0, f64::max);
        let span = (last - first).max(0.001);
        Ok(json!({
            "events_per_s": rows.len() as f64 / span,
            "ms": { "p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0), "n": ms.len() },
        }))
    }

    /// Where the accept→callback time of `ids` went, p50/p99 of each phase: accepted → first claim
    /// (queueing), first claim → finished (the run and any retries), finished → callback delivered.
    async fn phases(&self, ids: &[Uuid]) -> anyhow::Result<Value> {
        let rows: Vec<(f64, f64, f64)> = sqlx::query_as(
            "SELECT (extract(epoch FROM a.first - e.received_at) * 1000)::float8,
                    (extract(epoch FROM e.finished_at - a.first) * 1000)::float8,
                    (extract(epoch FROM c.delivered_at - e.finished_at) * 1000)::float8
               FROM events e JOIN callbacks c ON c.event_id = e.id
               CROSS JOIN LATERAL (SELECT min(started_at) AS first FROM event_attempts WHERE event_id = e.id) a
              WHERE e.id = ANY($1) AND c.delivered_at IS NOT NULL AND e.finished_at IS NOT NULL",
        )
        .bind(ids)
        .fetch_all(&self.db.pool)
        .await?;
        let phase = |pick: fn(&(f64, f64, f64)) -> f64| {
            let mut ms: Vec<f64> = rows.iter().map(pick).collect();
            ms.sort_by(f64::total_cmp);
            let pct = |p: f64| ms.get(((ms.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
            json!({ "p50": pct(0.5), "p99": pct(0.99) })
        };
        Ok(json!({ "queued": phase(|r| r.0), "run": phase(|r| r.1), "callback": phase(|r| r.2) }))
    }

    /// Sage calls made by the runs of `ids`, per event that ended synced.
    async fn calls_per_synced(&self, ids: &[Uuid]) -> anyhow::Result<f64> {
        let (calls, synced): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM sage_calls WHERE event_id = ANY($1)),
                    (SELECT count(*) FROM events WHERE id = ANY($1) AND state = 'synced')",
        )
        .bind(ids)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(if synced == 0 { 0.0 } else { calls as f64 / synced as f64 })
    }
}

/// The process's peak resident set (the ledger, both simulators and the load generator), in MiB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn print_report(r: &Value) {
    let t = &r["throughput"];
    println!("Sage latency: {} ms", r["sage_latency_ms"]);
    println!(
        "throughput: {} invoices in {:.1} s → {:.1} events/s accept→callback; {:.3} Sage calls per synced invoice",
        t["events"],
        t["wall_s"].as_f64().unwrap_or_default(),
        t["events_per_s"].as_f64().unwrap_or_default(),
        t["sage_calls_per_synced_invoice"].as_f64().unwrap_or_default()
    );
    let l = &r["latency"]["accept_to_callback_ms"];
    println!(
        "latency at {} events/s ({} events): accept→callback p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        r["latency"]["rate"],
        r["latency"]["events"],
        l["p50"].as_f64().unwrap_or_default(),
        l["p99"].as_f64().unwrap_or_default(),
        l["max"].as_f64().unwrap_or_default()
    );
    if !r["fairness"].is_null() {
        let q = &r["fairness"]["quiet"]["ms"];
        println!(
            "fairness: quiet tenant at 1 event/s beside a {}-event backlog: p50 {:.0} ms, p99 {:.0} ms ({} of the backlog still waiting when the quiet run ended)",
            r["fairness"]["noisy_backlog"],
            q["p50"].as_f64().unwrap_or_default(),
            q["p99"].as_f64().unwrap_or_default(),
            r["fairness"]["noisy_left_when_quiet_done"]
        );
        let p = &r["fairness"]["quiet_phases_ms"];
        let ms = |phase: &str, pct: &str| p[phase][pct].as_f64().unwrap_or_default();
        println!(
            "  where the quiet tenant's time went (p50 / p99): queued {:.0} / {:.0} ms, run {:.0} / {:.0} ms, callback {:.0} / {:.0} ms",
            ms("queued", "p50"),
            ms("queued", "p99"),
            ms("run", "p50"),
            ms("run", "p99"),
            ms("callback", "p50"),
            ms("callback", "p99")
        );
    }
    if let Some(rss) = r["peak_rss_mb"].as_f64() {
        println!("peak RSS (ledger + simulators + load, one process): {rss:.1} MiB");
    }
}

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
    // A database of its own: a database an earlier run left behind would add its backlog to this one's.
    let db = Database::open_scratch(&config, "ledger_bench_sync").await?;
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
    db.drop_scratch(true).await;
    served?;
    let report = report?;
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }
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
    let db_before = DbCost::read(&bench.db.pool).await?;
    let ids = bench.invoices(&main, args.events).await?;
    bench.settle(&ids, Duration::from_secs(1800)).await?;
    let wall = started.elapsed();
    let db_cost = DbCost::read(&bench.db.pool).await?.per_event_since(&db_before, ids.len(), wall);
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
            "database": db_cost,
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

/// What the database has done so far: commits, WAL written, and (when the server runs on this host and
/// its data directory is readable) the CPU time of the postmaster and all its processes, ended ones
/// included (a parent's `cutime`/`cstime` hold its reaped children's), and this process's own CPU.
struct DbCost {
    commits: i64,
    wal_lsn: String,
    pg_cpu_s: Option<f64>,
    own_cpu_s: Option<f64>,
}

impl DbCost {
    async fn read(pool: &ledger_store::PgPool) -> anyhow::Result<Self> {
        let (commits, wal_lsn): (i64, String) = sqlx::query_as(
            "SELECT xact_commit, pg_current_wal_lsn()::text FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await?;
        let data_dir: Option<String> =
            sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
                .fetch_optional(pool)
                .await
                .ok()
                .flatten();
        Ok(Self {
            commits,
            wal_lsn,
            pg_cpu_s: data_dir.and_then(|d| postgres_cpu_s(&d)),
            own_cpu_s: cpu_s("self", true),
        })
    }

    /// Per event of a phase of `events` that took `wall`, with what one Postgres core would carry at
    /// this cost (`1 / CPU per event`: the server's CPU is what saturates first on one host).
    fn per_event_since(&self, before: &Self, events: usize, wall: Duration) -> Value {
        let n = events.max(1) as f64;
        let wal = lsn(&self.wal_lsn).zip(lsn(&before.wal_lsn)).map(|(a, b)| a.saturating_sub(b) as f64 / n / 1024.0);
        let pg_ms = self.pg_cpu_s.zip(before.pg_cpu_s).map(|(a, b)| (a - b) * 1000.0 / n);
        let own_ms = self.own_cpu_s.zip(before.own_cpu_s).map(|(a, b)| (a - b) * 1000.0 / n);
        json!({
            "commits_per_event": (self.commits - before.commits) as f64 / n,
            "wal_kib_per_event": wal,
            "postgres_cpu_ms_per_event": pg_ms,
            "postgres_busy_share": pg_ms.map(|ms| ms * n / 1000.0 / wall.as_secs_f64().max(0.001)),
            "ledger_and_sims_cpu_ms_per_event": own_ms,
            "events_per_s_per_postgres_core": pg_ms.filter(|ms| *ms > 0.0).map(|ms| 1000.0 / ms),
        })
    }
}

/// `0/1A2B3C4D` → bytes.
fn lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// CPU seconds of `/proc/<pid>`: user + system, and with `children` those of its reaped children.
/// Linux reports them in USER_HZ ticks, 100 a second on every architecture it runs on.
fn cpu_s(pid: &str, children: bool) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    let mut ticks = tick(11)? + tick(12)?; // utime, stime (fields 14, 15)
    if children {
        ticks += tick(13)? + tick(14)?; // cutime, cstime (fields 16, 17)
    }
    Some(ticks as f64 / 100.0)
}

/// The postmaster's CPU, its reaped children's, and that of every process it still runs.
fn postgres_cpu_s(data_dir: &str) -> Option<f64> {
    let pid = std::fs::read_to_string(std::path::Path::new(data_dir).join("postmaster.pid")).ok()?;
    let pid = pid.lines().next()?.trim().to_owned();
    let mut total = cpu_s(&pid, true)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(child) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
        let parent = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_owned)));
        if parent.as_deref() == Some(pid.as_str()) {
            total += cpu_s(child, false).unwrap_or(0.0);
        }
    }
    Some(total)
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
    let d = &t["database"];
    println!(
        "  database per event (ingest, sync and callback): {:.1} commits, {} WAL, Postgres CPU {}, ledger + simulators CPU {}",
        d["commits_per_event"].as_f64().unwrap_or_default(),
        d["wal_kib_per_event"].as_f64().map_or("?".into(), |v| format!("{v:.1} KiB")),
        d["postgres_cpu_ms_per_event"]
            .as_f64()
            .map_or("not readable (server elsewhere)".into(), |v| format!("{v:.2} ms")),
        d["ledger_and_sims_cpu_ms_per_event"].as_f64().map_or("?".into(), |v| format!("{v:.2} ms")),
    );
    if let (Some(per_core), Some(share)) =
        (d["events_per_s_per_postgres_core"].as_f64(), d["postgres_busy_share"].as_f64())
    {
        println!(
            "  Postgres was {:.0} % of one core busy; at this cost one Postgres core carries about {per_core:.0} events/s",
            share * 100.0
        );
    }
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

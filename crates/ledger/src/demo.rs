//! `ledger demo`: everything in one command for a newcomer — the embedded database, sage-sim and
//! magento-sim in-process, each simulated store paired and its Sage business connected (the
//! `dev connect-sim` path, demo policy included), the stores' scenario drivers placing orders, and a
//! live count of what the ledger accepted and synced. It keeps serving after the order stream until
//! Ctrl-C, then stops everything and says where the data is.
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ledger_domain::{TenantId, Tier};
use secrecy::SecretString;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::database::Database;
use crate::serve::{self, Role};
use crate::{dev, outbound};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Store actions per second in total (orders, payments, refunds, customer and product saves).
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Seconds of order stream; the demo keeps serving afterwards until Ctrl-C.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Simulated stores, each its own tenant bound to one of sage-sim's businesses (Plus, Standard, Start).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    tenants: u8,
    /// The ledger's port.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[arg(long, default_value_t = 8090)]
    sage_port: u16,
    #[arg(long, default_value_t = 8091)]
    magento_port: u16,
    /// Plain log lines instead of the live display (chosen by itself when stdout is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// The operator token the demo configures when none is set.
const DEMO_TOKEN: &str = "demo-operator-token-0001";
/// The dashboard account that owns the demo's stores (a demo on a shared database reuses it).
const DEMO_EMAIL: &str = "demo@ledger.example";
const DEMO_PASSWORD: &str = "demo-password-0001";

/// The demo's merchant account, created on first use, owning every demo store.
async fn demo_merchant(db: &Database, tenants: &[TenantId]) -> anyhow::Result<()> {
    let account = match ledger_store::accounts::find_by_email(&db.pool, DEMO_EMAIL).await? {
        Some(a) => a,
        None => ledger_web::accounts::sign_up(&db.pool, DEMO_EMAIL, DEMO_PASSWORD)
            .await
            .map_err(|e| anyhow::anyhow!("creating the demo account: {e}"))?,
    };
    for tenant in tenants {
        ledger_store::tenants::assign_merchant(&db.pool, *tenant, account.id).await?;
    }
    Ok(())
}

pub async fn run(config: &Config, args: DemoArgs) -> anyhow::Result<()> {
    let mut config = config.clone();
    let sage_addr = format!("127.0.0.1:{}", args.sage_port).parse()?;
    let sage_config = sage_sim::SimConfig { auto_approve: true, ..Default::default() };
    let sage =
        sage_sim::spawn(sage_config, sage_addr).await.with_context(|| format!("starting sage-sim on {sage_addr}"))?;
    let magento_addr = format!("127.0.0.1:{}", args.magento_port).parse()?;
    // The module's cron drains each store's outbox every second (60 s at 60× speed).
    let magento_config =
        magento_sim::SimConfig { stores: usize::from(args.tenants), time_scale: 60.0, ..Default::default() };
    let magento = magento_sim::spawn(magento_config, magento_addr)
        .await
        .with_context(|| format!("starting magento-sim on {magento_addr}"))?;
    outbound::use_simulators(&mut config, &sage.base_url())?;
    config.server.bind = format!("127.0.0.1:{}", args.port).parse()?;
    config.server.public_url = Some(format!("http://127.0.0.1:{}", args.port).parse()?);
    if config.admin.tokens.is_empty() {
        config.admin.tokens = vec![SecretString::from(DEMO_TOKEN)];
    }
    // The dashboard is served over plain http on loopback: its cookies cannot be `Secure` here.
    config.web.secure_cookies = false;
    // Nothing routes here through a load balancer: no need to keep answering 503 before closing.
    config.server.shutdown_grace_secs = 0;
    let db = Database::open(&config).await?;
    let shutdown = CancellationToken::new();
    let served = serve::serve_until(&config, &db, Role::All, shutdown.clone());
    let demo = async {
        let result = drive(&config, &db, &sage, &magento, &args, &shutdown).await;
        shutdown.cancel();
        result
    };
    let (served, demo) = tokio::join!(served, demo);
    let stop_cluster = config.database.url.is_none();
    db.close(true).await;
    served?;
    demo?;
    if stop_cluster {
        println!(
            "Stopped. The demo's data is in {} (run `ledger demo` again to continue).",
            config.database.data_dir.display()
        );
    } else {
        println!("Stopped. The demo's data is in the configured database.");
    }
    Ok(())
}

async fn drive(
    config: &Config,
    db: &Database,
    sage: &sage_sim::RunningSim,
    magento: &magento_sim::RunningSim,
    args: &DemoArgs,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let http = crate::sage::sage_http()?;
    wait_ready(&http, args.port).await?;
    let tiers = [Tier::Plus, Tier::Standard, Tier::Start];
    let mut tenants = Vec::new();
    for k in 1..=usize::from(args.tenants) {
        let store = format!("{}/s/{k}", magento.base_url());
        let connected = dev::connect_sim(config, db, &store.parse()?, tiers[k - 1]).await?;
        tenants.push((connected.tenant, store, connected.business_name));
    }
    // A few deliberate failures: Sage answers 2 % of calls with 503 (retried) and 2 % with 429 (paused).
    let faults = json!({"rate_503": 0.02, "rate_429": 0.02, "retry_after_s": 1});
    http.put(format!("{}/_sim/faults", sage.base_url())).json(&faults).send().await?.error_for_status()?;
    let per_store = args.rate / f64::from(args.tenants);
    for (_, store, _) in &tenants {
        let body = json!({"rate": per_store, "duration_s": args.duration});
        http.post(format!("{store}/_sim/scenario")).json(&body).send().await?.error_for_status()?;
    }
    demo_merchant(db, &tenants.iter().map(|t| t.0).collect::<Vec<_>>()).await?;
    println!("Ledger demo running:");
    println!("  dashboard      http://127.0.0.1:{}/dashboard   (sign in as {DEMO_EMAIL} / {DEMO_PASSWORD})", args.port);
    println!("  ledger API     http://127.0.0.1:{}   (operator token: {})", args.port, token_hint(config));
    println!("  sage-sim       {}   (GET /_sim/records?type=sales_invoices)", sage.base_url());
    for (tenant, store, business) in &tenants {
        println!("  magento store  {store}   tenant {tenant} → Sage {}", business.as_deref().unwrap_or("?"));
    }
    println!("  events         GET http://127.0.0.1:{}/api/v1/tenants/{{tenant}}/events", args.port);
    println!("Order stream: {} actions/s for {} s, then serving until Ctrl-C.", args.rate, args.duration);

    let ids: Vec<TenantId> = tenants.iter().map(|t| t.0).collect();
    let live = !args.no_progress && std::io::stdout().is_terminal();
    let bar = live.then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let started = Instant::now();
    let mut tick = tokio::time::interval(if live { Duration::from_millis(500) } else { Duration::from_secs(5) });
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
            () = shutdown.cancelled() => break,
        }
        let line =
            status_line(db, &ids, started.elapsed()).await.unwrap_or_else(|e| format!("(counts unavailable: {e})"));
        match &bar {
            Some(bar) => bar.set_message(line),
            None => println!("{line}"),
        }
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(())
}

fn token_hint(config: &Config) -> &'static str {
    if config.admin.tokens.len() == 1 && secrecy::ExposeSecret::expose_secret(&config.admin.tokens[0]) == DEMO_TOKEN {
        DEMO_TOKEN
    } else {
        "the configured admin.tokens"
    }
}

async fn wait_ready(http: &reqwest::Client, port: u16) -> anyhow::Result<()> {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("http://127.0.0.1:{port}/health/ready")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the ledger did not become ready on port {port}")
}

/// accepted / synced / skipped / failed / pending, the sync rate and the p99 accept → callback of the
/// last minute, for the demo's tenants.
async fn status_line(db: &Database, tenants: &[TenantId], elapsed: Duration) -> anyhow::Result<String> {
    let (accepted, synced, skipped, failed, pending, p99): (i64, i64, i64, i64, i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE state = 'synced'),
                count(*) FILTER (WHERE state = 'skipped'),
                count(*) FILTER (WHERE state IN ('failed', 'dead_lettered')),
                count(*) FILTER (WHERE state IN ('pending', 'running')),
                (SELECT (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM c.delivered_at - e.received_at)))::float8
                   FROM callbacks c JOIN events e ON e.id = c.event_id
                  WHERE c.tenant_id = ANY($1) AND c.delivered_at > now() - interval '60 seconds')
           FROM events WHERE tenant_id = ANY($1)",
    )
    .bind(tenants)
    .fetch_one(&db.pool)
    .await?;
    let rate = (synced + skipped + failed) as f64 / elapsed.as_secs_f64().max(1.0);
    let p99 = p99.map_or_else(|| "-".to_owned(), |s| format!("{:.0} ms", s * 1000.0));
    Ok(format!(
        "accepted {accepted}  synced {synced}  skipped {skipped}  failed {failed}  pending {pending}  ({rate:.1}/s, p99 accept→chip {p99})"
    ))
}

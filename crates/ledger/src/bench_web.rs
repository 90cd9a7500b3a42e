//! `ledger bench web-log`: the event-log page's server time for a tenant with many runs. Seeds a bench
//! tenant (owned by a bench account) in the configured database, serves the API and the dashboard on
//! 127.0.0.1:0, and times page loads over loopback: the first page, a state filter, an increment-id
//! search, a page deep in the keyset, and the 2 s rows fragment. Results go in docs/BENCHMARKS.md.
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use ledger_api::{AppState, Outbound, Readiness};
use ledger_domain::TenantId;
use ledger_magento::ApiKey;
use ledger_store::accounts::{self, NewAccount, Role};
use ledger_sync::operations::{self, ListParams};
use secrecy::SecretString;

use crate::config::Config;
use crate::database::Database;

#[derive(Debug, Args)]
pub struct WebLogArgs {
    /// Runs of the bench tenant.
    #[arg(long, default_value_t = 100_000)]
    events: i64,
    /// Page loads per variant.
    #[arg(long, default_value_t = 50)]
    requests: u32,
    /// Pages of 50 to walk down before timing the deep page.
    #[arg(long, default_value_t = 1000)]
    depth: u32,
}

pub async fn run(config: &Config, args: WebLogArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.events > 0 && args.requests > 0, "--events and --requests must be positive");
    let db = Database::open(config).await?;
    let result = bench(config, &db, &args).await;
    db.close(false).await;
    result
}

async fn bench(config: &Config, db: &Database, args: &WebLogArgs) -> anyhow::Result<()> {
    let pool = &db.pool;
    let tenant = TenantId::new();
    let key = SecretString::from(ApiKey::generate().expose());
    ledger_store::tenants::create(pool, &db.keyring, tenant, "bench web-log", &key).await?;
    let email = format!("bench-{}@ledger.invalid", tenant.0.simple());
    let account = accounts::create(
        pool,
        &NewAccount {
            email: &email,
            password_hash: "$argon2id$unusable",
            role: Role::Merchant,
            must_change_password: false,
        },
    )
    .await?;
    ledger_store::tenants::assign_merchant(pool, tenant, account.id).await?;
    let started = Instant::now();
    let seeded = ledger_store::synthetic::seed_finished_runs(pool, tenant, args.events).await?;
    eprintln!("seeded {seeded} runs for tenant {tenant} in {:.1} s", started.elapsed().as_secs_f64());

    // A session for the bench account, as a sign-in would make it.
    let token = ledger_web::accounts::random_token();
    let hash = ledger_web::token_hash(&token);
    accounts::create_session(pool, &hash, account.id, "bench", Duration::from_secs(3600)).await?;

    let clients = crate::outbound::clients(config, pool, db.keyring.clone())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let outbound = Outbound { clients, public_url: None, bind_url: format!("http://{addr}"), allow_http: true };
    let state = AppState::new(
        pool.clone(),
        db.keyring.clone(),
        crate::serve::api_config(config)?,
        ledger_domain::clock::system_clock(),
        Readiness::default(),
        outbound,
    );
    let web = ledger_web::WebConfig { secure_cookies: false, ..crate::serve::web_config(config) };
    let app = ledger_api::router(state.clone()).merge(ledger_web::router(state, web));
    let stop = tokio_util::sync::CancellationToken::new();
    let server = {
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        })
    };

    // The cursor of a page `depth` pages down, as the "Older events" links would reach it.
    let mut params = ListParams { limit: Some("50".into()), ..ListParams::default() };
    for _ in 0..args.depth {
        match operations::list(pool, tenant, &params).await?.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => break,
        }
    }
    let deep = params.cursor.clone().unwrap_or_default();

    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let base = format!("http://{addr}/stores/{tenant}/events");
    let middle = format!("{:09}", args.events / 2);
    let variants = [
        ("first page".to_owned(), base.clone()),
        ("state=failed".to_owned(), format!("{base}?state=failed")),
        ("state=failed,dead_lettered".to_owned(), format!("{base}?state=failed%2Cdead_lettered")),
        ("q=<increment id>".to_owned(), format!("{base}?q={middle}")),
        ("date range (1 day)".to_owned(), format!("{base}?from={0}&to={0}", chrono::Utc::now().date_naive())),
        (format!("page {} (keyset cursor)", args.depth + 1), format!("{base}?cursor={deep}")),
        ("rows fragment (2 s poll)".to_owned(), format!("{base}/rows")),
    ];
    println!(
        "event log of a tenant with {} runs; {} loads per variant (ms, loopback, sequential)",
        args.events, args.requests
    );
    println!("{:<30} {:>8} {:>8} {:>8} {:>8}", "variant", "p50", "p99", "max", "bytes");
    for (name, url) in variants {
        let mut hist = Histogram::<u64>::new(3)?;
        let mut bytes = 0;
        for _ in 0..args.requests {
            let t0 = Instant::now();
            let resp = http.get(&url).header("cookie", format!("ledger_session={token}")).send().await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            hist.record(t0.elapsed().as_micros() as u64)?;
            anyhow::ensure!(status.is_success(), "{name}: {url} answered {status}");
            bytes = body.len();
        }
        let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
        println!("{name:<30} {:>8.2} {:>8.2} {:>8.2} {bytes:>8}", ms(0.5), ms(0.99), hist.max() as f64 / 1000.0);
    }
    stop.cancel();
    server.await.context("bench server")??;
    ledger_store::accounts::delete_session(pool, &hash).await?;
    Ok(())
}

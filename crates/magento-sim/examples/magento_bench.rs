//! Measures canonical GET throughput (fresh JWT per request) and outbox drain throughput.
//!
//! `cargo run --release -p magento-sim --example magento_bench [-- SECONDS CONCURRENCY]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use magento_sim::jwt::{INBOUND_INFO, derive_key, sign_raw};
use magento_sim::{EntityAction, SimConfig};
use serde_json::json;

const TENANT: &str = "bench-tenant";
const API_KEY: &str = "byte8_lk_bench";

fn token(key: &[u8; 32]) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "iss": "byte8-ledger", "aud": "magento", "sub": TENANT, "iat": now,
                         "nbf": now - 60, "exp": now + 240, "jti": uuid::Uuid::new_v4().to_string() });
    sign_raw(&claims.to_string(), key)
}

fn pct(sorted: &[u128], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0) as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conc: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);

    // A fake ledger that accepts everything.
    let ledger = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let ledger_url = format!("http://{}", ledger.local_addr()?);
    let app = Router::new().route("/webhooks/magento/{t}/{e}", post(|| async { StatusCode::ACCEPTED }));
    tokio::spawn(async move { axum::serve(ledger, app).await });

    let sim = magento_sim::spawn(SimConfig { cron: false, ..SimConfig::default() }, "127.0.0.1:0".parse()?).await?;
    let store = sim.store(1).ok_or_else(|| anyhow::anyhow!("no store"))?;
    let code = store.generate_pairing_code(magento_sim::SAGE)?;
    store.pair(
        magento_sim::SAGE,
        &json!({ "pairing_code": code, "tenant_id": TENANT, "byte8_api_key": API_KEY, "ledger_base_url": ledger_url }),
    )?;
    let key = derive_key(API_KEY, INBOUND_INFO);
    let client = magento_sim_client()?;
    let invoices = 40u64;

    // 1. Canonical GET /invoice/:id, `conc` concurrent clients, fresh token per request.
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..conc {
        let (client, stop, base) = (client.clone(), Arc::clone(&stop), sim.base_url());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w as u64;
            while !stop.load(Ordering::Relaxed) {
                let url = format!("{base}/rest/V1/byte8/invoice/{}", i % invoices + 1);
                let t = Instant::now();
                let ok = client.get(&url).bearer_auth(token(&key)).send().await.map(|r| r.status().is_success());
                if matches!(ok, Ok(true)) {
                    lat.push(t.elapsed().as_micros());
                }
                i += conc as u64;
            }
            lat
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "canonical GET /invoice/:id: {} requests in {elapsed:.1} s = {:.0} req/s (concurrency {conc}); p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        lat.len() as f64 / elapsed,
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );

    // 2. Outbox drain: 1 000 events to a 202-answering ledger, 50 per run, sequential POSTs.
    for n in 0..1_000u64 {
        let action = if n % 2 == 0 {
            EntityAction::CreateInvoice {
                customer_id: None,
                guest: false,
                market: None,
                email: None,
                paid: false,
                free: false,
            }
        } else {
            EntityAction::SaveProduct { product_id: None, product_type: None, stock_qty: None }
        };
        store.fire(action)?;
    }
    let pending = store.summary()["counts"]["outbox_pending"].as_u64().unwrap_or(0);
    let t = Instant::now();
    let mut sent = 0;
    loop {
        let r = store.drain().await;
        if r.sent.is_empty() {
            break;
        }
        sent += r.sent.len();
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "outbox drain: {sent} of {pending} events delivered in {el:.2} s = {:.0} events/s ({} runs of <= 50)",
        sent as f64 / el,
        sent.div_ceil(50)
    );
    sim.shutdown().await;
    Ok(())
}

fn magento_sim_client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder().no_proxy().pool_max_idle_per_host(64).build()?)
}

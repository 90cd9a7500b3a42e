//! Load generator: invoice creation over loopback, reporting requests/s and p50/p99 latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::{SimConfig, spawn};

/// What one bench run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub requests: usize,
    pub connections: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub requests_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sage-sim bench: {} invoice POSTs over {} connections in {:.2}s: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            self.requests,
            self.connections,
            self.elapsed.as_secs_f64(),
            self.requests_per_sec,
            self.p50_us as f64 / 1000.0,
            self.p99_us as f64 / 1000.0,
            self.errors
        )
    }
}

/// Sign in through the OAuth flow of a simulator started with `--auto-approve`.
pub async fn sign_in(http: &reqwest::Client, base: &str, client_id: &str, secret: &str) -> anyhow::Result<String> {
    let redirect = "http://127.0.0.1:1/callback";
    let resp = http
        .get(format!("{base}/oauth2/auth/central"))
        .query(&[("client_id", client_id), ("response_type", "code"), ("redirect_uri", redirect), ("state", "bench")])
        .send()
        .await?;
    let location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
        anyhow!("no redirect from the authorize endpoint (is the simulator started with --auto-approve?)")
    })?;
    let url = url::Url::parse(location)?;
    let code = url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).context("no code")?;
    let token: Value = http
        .post(format!("{base}/token"))
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    token["access_token"].as_str().map(str::to_owned).context("no access_token")
}

/// Run the invoice-creation benchmark against `url`, or an in-process simulator when `url` is `None`.
pub async fn run_bench(url: Option<String>, requests: usize, connections: usize) -> anyhow::Result<BenchReport> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let connections = connections.clamp(1, 150);
    let (base, _sim, client_id, secret) = match url {
        Some(u) => (u.trim_end_matches('/').to_owned(), None, "sage-sim".to_owned(), "sage-sim-secret".to_owned()),
        None => {
            let config = SimConfig {
                auto_approve: true,
                access_token_ttl: Duration::from_secs(24 * 3600),
                ..SimConfig::default()
            };
            let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
            let sim = spawn(config, "127.0.0.1:0".parse()?).await?;
            (sim.base_url(), Some(sim), id, secret)
        }
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let token = sign_in(&http, &base, &client_id, &secret).await?;
    let api = format!("{base}/v3.1");
    let ledgers: Value = http
        .get(format!("{api}/ledger_accounts?visible_in=sales&items_per_page=200"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let ledger = ledgers["$items"][0]["id"].as_str().context("no sales ledger account")?.to_owned();
    let contact: Value = http
        .post(format!("{api}/contacts"))
        .bearer_auth(&token)
        .json(&json!({"contact": {"name": "Bench Customer", "contact_type_ids": ["CUSTOMER"]}}))
        .send()
        .await?
        .json()
        .await?;
    let contact = contact["id"].as_str().context("contact not created")?.to_owned();

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (http, api, token, ledger, contact, next) =
            (http.clone(), api.clone(), token.clone(), ledger.clone(), contact.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3)?;
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let body = json!({"sales_invoice": {
                    "contact_id": contact, "date": "2025-03-01", "reference": format!("BENCH-{i}"),
                    "invoice_lines": [{"description": "Widget", "ledger_account_id": ledger, "quantity": "2",
                        "unit_price": "10.00", "tax_rate_id": "GB_STANDARD", "tax_amount": "4.00"}]}});
                let t = Instant::now();
                let ok = http
                    .post(format!("{api}/sales_invoices"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status() == reqwest::StatusCode::CREATED)
                    .unwrap_or(false);
                hist.record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX))?;
                if !ok {
                    errors += 1;
                }
            }
            anyhow::Ok((hist, errors))
        }));
    }
    let mut hist = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        hist.add(&h)?;
        errors += e;
    }
    let elapsed = started.elapsed();
    if requests == 0 {
        bail!("nothing to measure");
    }
    Ok(BenchReport {
        requests,
        connections,
        errors,
        elapsed,
        requests_per_sec: requests as f64 / elapsed.as_secs_f64(),
        p50_us: hist.value_at_quantile(0.5),
        p99_us: hist.value_at_quantile(0.99),
    })
}

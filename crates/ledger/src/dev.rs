//! `ledger dev connect-sim`: pair magento-sim and connect sage-sim in one command, for development,
//! tests and the demo. Needs only the database and the two simulators, not a running `serve`; refused
//! unless the configuration already trusts the simulators and points `sage.*` at the one given.
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use ledger_domain::{SageBusinessId, TenantId, Tier};
use ledger_store::bindings::BusinessChoice;
use ledger_sync::sage::connect::CallbackParams;
use serde_json::{Value, json};
use url::Url;

use crate::config::Config;
use crate::database::Database;
use crate::{outbound, sage};

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Pair magento-sim's store and connect sage-sim (authorize with auto-approve, exchange, pick a business).
    ConnectSim {
        /// sage-sim's base URL; the configured sage.* endpoints must point at it.
        #[arg(long)]
        sage_url: Url,
        /// magento-sim's store base URL.
        #[arg(long)]
        magento_url: Url,
        /// Which of sage-sim's businesses to bind.
        #[arg(long, value_enum, default_value = "plus")]
        business: BusinessTier,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BusinessTier {
    Plus,
    Standard,
    Start,
}

impl From<BusinessTier> for Tier {
    fn from(t: BusinessTier) -> Self {
        match t {
            BusinessTier::Plus => Tier::Plus,
            BusinessTier::Standard => Tier::Standard,
            BusinessTier::Start => Tier::Start,
        }
    }
}

/// What `connect-sim` made.
pub struct SimConnection {
    pub tenant: TenantId,
    pub binding_id: uuid::Uuid,
    pub business_id: String,
    pub business_name: Option<String>,
    pub tier: Tier,
}

pub async fn run(mut config: Config, db: &Database, cmd: DevCommand) -> anyhow::Result<()> {
    let DevCommand::ConnectSim { sage_url, magento_url, business, json } = cmd;
    allowed(&config, &[&sage_url, &magento_url]).await?;
    points_at(&config, &sage_url)?;
    if config.dev.simulators {
        // As `serve` does with dev.simulators: the ledger may reach loopback simulators over http.
        config.outbound.allow_http = true;
        config.outbound.allow_cidrs.push("127.0.0.0/8".parse().context("loopback range")?);
    }
    let done = connect_sim(&config, db, &magento_url, business.into()).await?;
    if json {
        println!(
            "{}",
            json!({ "tenant_id": done.tenant, "binding_id": done.binding_id, "business_id": done.business_id })
        );
    } else {
        println!(
            "tenant_id:   {}\nbinding_id:  {}\nbusiness_id: {} ({}, {})",
            done.tenant,
            done.binding_id,
            done.business_id,
            done.business_name.as_deref().unwrap_or("?"),
            done.tier
        );
    }
    Ok(())
}

/// Pairs magento-sim's store at `magento_url` and connects the sage-sim that `config`'s `sage.*`
/// endpoints point at, binding its business of tier `wanted`, with the demo policy saved.
pub async fn connect_sim(
    config: &Config,
    db: &Database,
    magento_url: &Url,
    wanted: Tier,
) -> anyhow::Result<SimConnection> {
    let http = sage::sage_http()?;

    // Magento: the admin's "Generate pairing code", then the ledger pairs (re-pairing a known store).
    let code: Value = http
        .post(format!("{}/_sim/pairing-code", magento_url.as_str().trim_end_matches('/')))
        .send()
        .await
        .context("asking magento-sim for a pairing code")?
        .error_for_status()?
        .json()
        .await?;
    let code = code["pairing_code"].as_str().context("magento-sim answered no pairing_code")?;
    let clients = outbound::clients(config, &db.pool, db.keyring.clone())?;
    let input = ledger_sync::pairing::PairInput {
        ledger_base_url: config.public_url(),
        allow_http: config.outbound.allow_http,
        pairing_code: code.to_owned(),
        magento_base_url: magento_url.as_str().to_owned(),
    };
    let paired = ledger_sync::pair_store(&db.pool, &db.keyring, &clients, input)
        .await
        .map_err(|e| anyhow::anyhow!("pairing magento-sim failed ({}): {e}", e.code()))?;
    let tenant = paired.tenant_id;

    // Sage: authorize (consent given), exchange, bind the business asked for.
    let connect = sage::connect_service(config, &db.pool, db.keyring.clone())?;
    let authorize = connect.start(tenant).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
    let params = authorize_at_sim(&http, &authorize).await?;
    let done = connect.complete(&params).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
    let binding = if done.binding.tier == Some(wanted) && !done.needs_business_choice() {
        done.binding
    } else {
        let id = pick(&done.businesses, wanted)?;
        connect.pick(tenant, &id).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?
    };
    let business_id = binding.business_id.as_ref().map(SageBusinessId::as_str).unwrap_or_default();
    // A policy that syncs everything the simulated store sends, as the demo needs.
    let custody = sage::custody(config, &db.pool, db.keyring.clone())?;
    let engine = sage::sync_engine(config, &db.pool, clients, custody, sage::call_gate(config, &db.pool))?;
    engine.save_demo_policy(tenant).await.context("saving the demo sync policy")?;
    Ok(SimConnection {
        tenant,
        binding_id: binding.id,
        business_id: business_id.to_owned(),
        business_name: binding.business_name.clone(),
        tier: wanted,
    })
}

pub(crate) fn pick(offered: &[BusinessChoice], wanted: Tier) -> anyhow::Result<SageBusinessId> {
    offered
        .iter()
        .find(|b| b.tier == Some(wanted) && b.pickable())
        .map(|b| b.id.clone())
        .with_context(|| format!("sage-sim offers no active {wanted} business"))
}

/// Only with `dev.simulators`, or when `outbound.allow_http` and `outbound.allow_cidrs` already cover the
/// simulators' addresses.
async fn allowed(config: &Config, urls: &[&Url]) -> anyhow::Result<()> {
    if config.dev.simulators {
        return Ok(());
    }
    if !config.outbound.allow_http {
        bail!(
            "dev connect-sim needs dev.simulators, or outbound.allow_http with outbound.allow_cidrs covering the simulators"
        );
    }
    for url in urls {
        let host = url.host_str().with_context(|| format!("{url} has no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs: Vec<IpAddr> = tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("resolving {host}"))?
            .map(|a| a.ip())
            .collect();
        if addrs.is_empty() || !addrs.iter().all(|ip| config.outbound.allow_cidrs.iter().any(|c| c.contains(ip))) {
            bail!(
                "{url} is not covered by outbound.allow_cidrs; dev connect-sim only talks to simulators the configuration trusts"
            );
        }
    }
    Ok(())
}

/// `--sage-url` must be the simulator the configured `sage.*` endpoints point at: `serve` refreshes and
/// calls through those, so tokens from any other Sage would not work there.
fn points_at(config: &Config, sage_url: &Url) -> anyhow::Result<()> {
    let endpoints = [
        ("sage.authorize_url", &config.sage.authorize_url),
        ("sage.token_url", &config.sage.token_url),
        ("sage.revoke_url", &config.sage.revoke_url),
        ("sage.api_base", &config.sage.api_base),
    ];
    for (key, url) in endpoints {
        if url.origin() != sage_url.origin() {
            bail!(
                "{key} is {url}, not the simulator at {sage_url}; point every sage.* endpoint at it \
                 (LEDGER_SAGE__AUTHORIZE_URL={base}/oauth2/auth/central, LEDGER_SAGE__TOKEN_URL={base}/token, \
                 LEDGER_SAGE__REVOKE_URL={base}/revoke, LEDGER_SAGE__API_BASE={base}/v3.1)",
                base = sage_url.as_str().trim_end_matches('/')
            );
        }
    }
    Ok(())
}

/// Follows sage-sim's authorize step as a browser would: a redirect at once with `--auto-approve`,
/// otherwise its consent form answered "approve". Returns the callback's query.
pub(crate) async fn authorize_at_sim(http: &reqwest::Client, authorize: &Url) -> anyhow::Result<CallbackParams> {
    let resp = http.get(authorize.clone()).send().await.context("opening the authorize URL")?;
    let resp = if resp.status().is_redirection() {
        resp
    } else if resp.status().is_success() {
        let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
        form.push(("decision".into(), "approve".into()));
        let mut post = authorize.clone();
        post.set_query(None);
        http.post(post).form(&form).timeout(Duration::from_secs(20)).send().await.context("approving consent")?
    } else {
        bail!("sage-sim refused the authorize request: HTTP {}", resp.status());
    };
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .context("sage-sim did not redirect back")?;
    let back = Url::parse(location).context("sage-sim redirected to an invalid URL")?;
    let mut params = CallbackParams::default();
    for (k, v) in back.query_pairs() {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "code" => params.code = v,
            "state" => params.state = v,
            "error" => params.error = v,
            "error_description" => params.error_description = v,
            "country" => params.country = v,
            _ => {}
        }
    }
    Ok(params)
}

//! `ledger sage connect|disconnect|check`: the Sage connection from the command line, and the connect
//! service, custody and engine built from configuration (shared with `serve` and `dev connect-sim`).
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use ledger_domain::TenantId;
use ledger_sage::oauth::{OAuthClient, OAuthConfig};
use ledger_sage::{CallGate, SageConfig, SageHttp};
use ledger_store::{Keyring, PgPool};
use ledger_sync::MagentoClients;
use ledger_sync::engine::SyncEngine;
use ledger_sync::sage::check;
use ledger_sync::sage::connect::SageConnect;
use ledger_sync::sage::{BudgetConfig, Custody, CustodyConfig, PgCallGate};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::config::Config;
use crate::database::Database;

#[derive(Debug, Subcommand)]
pub enum SageCommand {
    /// Start connecting a tenant to Sage: prints the URL the merchant opens to authorise.
    Connect {
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the tenant's Sage tokens at Sage and delete them; the binding becomes `disconnected`.
    Disconnect {
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        json: bool,
    },
    /// Test the connection: one authorised call to Sage through the token custody (refreshing when due).
    /// Exits 0 when the call succeeded.
    Check {
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        json: bool,
    },
}

/// The one HTTP client for Sage's OAuth and API endpoints (operator-configured hosts, not merchant input).
pub fn sage_http() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the Sage HTTP client")
}

/// The OAuth token-endpoint client over `config`'s `sage.*` endpoints.
pub fn oauth_client(config: &Config, http: reqwest::Client) -> anyhow::Result<OAuthClient> {
    Ok(OAuthClient::new(
        OAuthConfig {
            authorize_url: config.sage.authorize_url.clone(),
            token_url: config.sage.token_url.clone(),
            revoke_url: config.sage.revoke_url.clone(),
            client_id: config.sage.client_id.clone(),
            client_secret: config.sage.client_secret.clone(),
            redirect_uri: config.sage_redirect_url().parse().context("sage.redirect_url")?,
        },
        http,
    ))
}

/// The connect service over `config`'s `sage.*` endpoints.
pub fn connect_service(config: &Config, pool: &PgPool, keyring: Arc<Keyring>) -> anyhow::Result<SageConnect> {
    let http = sage_http()?;
    let redirect_uri = config.sage_redirect_url();
    let oauth = oauth_client(config, http.clone())?;
    let configured = !config.sage.client_id.is_empty() && !config.sage.client_secret.expose_secret().is_empty();
    Ok(SageConnect::new(pool.clone(), keyring, oauth, config.sage.api_base.clone(), http, redirect_uri, configured))
}

/// How custody times refreshes, from `sage.refresh_ahead_secs`.
pub fn custody_config(config: &Config) -> CustodyConfig {
    CustodyConfig { refresh_ahead: Duration::from_secs(config.sage.refresh_ahead_secs), ..CustodyConfig::default() }
}

/// The token custody of this process over `config`'s `sage.*` endpoints.
pub fn custody(config: &Config, pool: &PgPool, keyring: Arc<Keyring>) -> anyhow::Result<Arc<Custody>> {
    let oauth = oauth_client(config, sage_http()?)?;
    Ok(Custody::new(pool.clone(), keyring, oauth, custody_config(config)))
}

/// The rate budgets from `sage.daily_budget`, `sage.max_in_flight` and `sage.business_max_in_flight`.
pub fn budget_config(config: &Config) -> BudgetConfig {
    BudgetConfig {
        daily_budget: config.sage.daily_budget,
        max_in_flight: config.sage.max_in_flight,
        business_max_in_flight: config.sage.business_max_in_flight,
        ..BudgetConfig::default()
    }
}

/// The call gate every Sage call of this process passes: the rate budgets shared through `pool` with
/// every other process on the database.
pub fn call_gate(config: &Config, pool: &PgPool) -> Arc<PgCallGate> {
    Arc::new(PgCallGate::new(pool.clone(), budget_config(config), ledger_domain::clock::system_clock()))
}

/// The sync engine the worker role runs: the store's clients, the Sage API over `sage.api_base` through
/// the custody's tokens and the call gate.
pub fn sync_engine(
    config: &Config,
    pool: &PgPool,
    clients: MagentoClients,
    custody: Arc<Custody>,
    gate: Arc<dyn CallGate>,
) -> anyhow::Result<SyncEngine> {
    Ok(SyncEngine::new(pool.clone(), clients, sage_api(config)?, custody, gate))
}

/// The Sage API transport over `sage.api_base`.
pub fn sage_api(config: &Config) -> anyhow::Result<SageHttp> {
    Ok(SageHttp::with_client(sage_http()?, &SageConfig::new(config.sage.api_base.clone())))
}

pub async fn run(config: &Config, db: &Database, cmd: SageCommand) -> anyhow::Result<()> {
    let sage = connect_service(config, &db.pool, db.keyring.clone())?;
    match cmd {
        SageCommand::Check { tenant, json } => {
            let custody = custody(config, &db.pool, db.keyring.clone())?;
            let gate = call_gate(config, &db.pool);
            match check::check(&db.pool, &custody, sage_api(config)?, gate, tenant).await {
                Ok(r) if json => println!("{}", serde_json::to_string(&r)?),
                Ok(r) => {
                    let expires = r.access_expires_at.map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339());
                    let tier = r.tier.map_or("unknown", |t| t.as_str());
                    println!(
                        "Sage connection OK\nbusiness:      {} ({})\ntier:          {tier}\nbinding:       {} ({})\ntoken expires: {expires}",
                        r.business_name, r.business_id, r.binding_id, r.status
                    );
                }
                Err(e) => {
                    if json {
                        println!("{}", json!({ "tenant_id": tenant, "error": e.code(), "message": e.to_string() }));
                    }
                    anyhow::bail!("Sage connection check failed: {e} ({})", e.code());
                }
            }
            Ok(())
        }
        SageCommand::Connect { tenant, json } => {
            let url = sage.start(tenant).await.map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))?;
            if json {
                println!("{}", json!({ "tenant_id": tenant, "authorize_url": url.as_str() }));
            } else {
                println!("Open this URL within 10 minutes to authorise the ledger in Sage:\n{url}");
            }
            Ok(())
        }
        SageCommand::Disconnect { tenant, json } => {
            let (binding, revoked) =
                sage.disconnect(tenant).await.map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))?;
            if json {
                println!(
                    "{}",
                    json!({ "tenant_id": tenant, "binding_id": binding.id, "status": binding.status, "revoked_at_sage": revoked })
                );
            } else if revoked {
                println!("Sage disconnected for tenant {tenant}: the refresh token is revoked and our copy deleted");
            } else {
                println!(
                    "Sage disconnected for tenant {tenant}: our copy of the tokens is deleted, but Sage did not confirm the revocation"
                );
            }
            Ok(())
        }
    }
}

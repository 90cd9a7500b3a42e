//! The outbound side built from configuration: the SSRF policy, the one guarded HTTP client, and the
//! per-tenant Magento clients. With `dev.simulators`, sage-sim and magento-sim start in-process and
//! loopback is allowed so the ledger can reach them.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ledger_magento::{GuardedHttp, OutboundPolicy, TokioResolver};
use ledger_store::{Keyring, PgPool};
use ledger_sync::MagentoClients;

use crate::config::Config;

pub fn policy(config: &Config) -> OutboundPolicy {
    OutboundPolicy {
        allow_http: config.outbound.allow_http,
        allow_cidrs: config.outbound.allow_cidrs.clone(),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(20),
        ..OutboundPolicy::default()
    }
}

pub fn clients(config: &Config, pool: &PgPool, keyring: Arc<Keyring>) -> anyhow::Result<MagentoClients> {
    let http =
        GuardedHttp::new(policy(config), Arc::new(TokioResolver)).context("building the outbound HTTP client")?;
    Ok(MagentoClients::new(pool.clone(), keyring, http, ledger_domain::clock::system_clock()))
}

/// The simulators started by `dev.simulators`; held only to keep them running, they stop when dropped.
pub struct DevSimulators {
    _sage: sage_sim::RunningSim,
    _magento: magento_sim::RunningSim,
}

impl DevSimulators {
    /// Starts both simulators on free loopback ports and rewires `config` to use them.
    pub async fn start(config: &mut Config) -> anyhow::Result<Self> {
        let loopback = "127.0.0.1:0".parse().context("loopback address")?;
        let sage = sage_sim::spawn(sage_sim::SimConfig { auto_approve: true, ..Default::default() }, loopback).await?;
        let magento = magento_sim::spawn(magento_sim::SimConfig::default(), loopback).await?;
        let base = sage.base_url();
        use_simulators(config, &base)?;
        tracing::warn!(sage_sim = %base, magento_sim = %magento.base_url(),
            "dev.simulators is on: Sage and the demo store are simulated, and loopback http is allowed");
        Ok(Self { _sage: sage, _magento: magento })
    }
}

/// Points every `sage.*` endpoint at the sage-sim at `sage_base` (its default client credentials unless
/// some are configured) and lets the ledger reach loopback simulators over http.
pub fn use_simulators(config: &mut Config, sage_base: &str) -> anyhow::Result<()> {
    config.sage.authorize_url = format!("{sage_base}/oauth2/auth/central").parse()?;
    config.sage.token_url = format!("{sage_base}/token").parse()?;
    config.sage.revoke_url = format!("{sage_base}/revoke").parse()?;
    if config.sage.client_id.is_empty() {
        let sim = sage_sim::SimConfig::default();
        config.sage.client_id = sim.client_id;
        config.sage.client_secret = sim.client_secret.into();
    }
    config.sage.api_base = format!("{sage_base}/v3.1").parse()?;
    config.outbound.allow_http = true;
    config.outbound.allow_cidrs.push("127.0.0.0/8".parse()?);
    Ok(())
}

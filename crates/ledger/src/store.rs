//! `ledger store pair|disconnect`: binding Magento stores from the command line.
use clap::Subcommand;
use ledger_domain::TenantId;
use ledger_store::tenants;
use ledger_sync::pairing::{self, PairingError};
use serde_json::json;

use crate::config::Config;
use crate::database::Database;
use crate::outbound;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Pair a store using the pairing code from its Magento admin.
    Pair {
        /// The store's base URL, as the Magento admin shows it.
        #[arg(long)]
        magento_url: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a store's binding from the ledger side (nothing is sent to Magento).
    Disconnect {
        #[arg(long)]
        tenant: TenantId,
    },
}

pub async fn run(config: &Config, db: &Database, cmd: StoreCommand) -> anyhow::Result<()> {
    match cmd {
        StoreCommand::Pair { magento_url, code, json } => {
            let clients = outbound::clients(config, &db.pool, db.keyring.clone())?;
            let input = pairing::PairInput {
                ledger_base_url: config.public_url(),
                allow_http: config.outbound.allow_http || config.dev.simulators,
                pairing_code: code,
                magento_base_url: magento_url,
            };
            match pairing::pair_store(&db.pool, &db.keyring, &clients, input).await {
                Ok(paired) if json => {
                    let mut out =
                        json!({ "tenant_id": paired.tenant_id, "status": paired.status, "rotated": paired.rotated });
                    if let Some(w) = paired.warning {
                        out["warning"] = json!(w);
                    }
                    println!("{out}");
                    Ok(())
                }
                Ok(paired) => {
                    println!(
                        "tenant_id: {}\nstatus:    {}{}",
                        paired.tenant_id,
                        paired.status,
                        if paired.rotated { " (key rotated)" } else { "" }
                    );
                    if let Some(w) = paired.warning {
                        println!("warning:   paired, but {w}");
                    }
                    Ok(())
                }
                Err(e) if json => {
                    println!("{}", json!({ "error": e.code(), "message": e.to_string() }));
                    Err(anyhow::anyhow!("pairing failed"))
                }
                Err(PairingError::Store(e)) => Err(e.into()),
                Err(e) => Err(anyhow::anyhow!("pairing failed ({}): {e}", e.code())),
            }
        }
        StoreCommand::Disconnect { tenant } => {
            anyhow::ensure!(tenants::revoke(&db.pool, tenant).await?, "no tenant {tenant}");
            println!("binding {tenant} revoked; the store's next webhooks will be refused with 401");
            Ok(())
        }
    }
}

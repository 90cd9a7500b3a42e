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
            match pairing::pair_store(&db.pool, &db.keyring, &clients, &config.public_url(), &code, &magento_url).await
            {
                Ok(paired) if json => {
                    let mut out = json!({ "tenant_id": paired.tenant.id, "status": paired.tenant.magento_connection_status, "rotated": paired.rotated });
                    if let Some(w) = paired.ping_error {
                        out["warning"] = json!(w);
                    }
                    println!("{out}");
                    Ok(())
                }
                Ok(paired) => {
                    println!(
                        "tenant_id: {}\nstatus:    {}{}",
                        paired.tenant.id,
                        paired.tenant.magento_connection_status,
                        if paired.rotated { " (key rotated)" } else { "" }
                    );
                    if let Some(w) = paired.ping_error {
                        println!("warning:   the store did not answer the first ping: {w}");
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

//! `ledger tenant create|list|show|pause|resume|assign|embed-origin|export|erase|delete`: provisioning
//! Magento tenants by hand (ops and tests), pausing a tenant's sync, giving one to a dashboard account,
//! the origin allowed to frame its embedded log, and offboarding (export, erasure, deletion).
use std::io::Write;

use clap::Subcommand;
use ledger_domain::TenantId;
use ledger_magento::ApiKey;
use ledger_store::{PgPool, lifecycle, tenants};
use ledger_sync::operations;
use secrecy::SecretString;
use serde_json::json;

use crate::config::Config;
use crate::database::Database;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints its tenant_id and api_key once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one tenant.
    Show {
        id: TenantId,
        #[arg(long)]
        json: bool,
    },
    /// Pause the tenant's sync: its events are still accepted and stored, and wait (parked
    /// `tenant_paused`) until it is resumed.
    Pause {
        id: TenantId,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Resume a paused tenant: its waiting events run at once.
    Resume {
        id: TenantId,
        #[arg(long)]
        json: bool,
    },
    /// Give a tenant to the dashboard account with this email (it then appears on their dashboard).
    Assign {
        id: TenantId,
        #[arg(long)]
        merchant: String,
    },
    /// Print everything the tenant owns as one JSON document (no secrets): the tenant, its bindings and
    /// Sage cross-references, and every run with its attempts, Magento snapshots, Sage calls and
    /// callbacks.
    Export { id: TenantId },
    /// Erase a person's data on request: every stored payload, Magento snapshot and Sage call body of
    /// the tenant that holds the value (an email address or name, case-insensitive) is replaced by a
    /// marker; states, outcomes and Sage ids stay.
    Erase {
        id: TenantId,
        #[arg(long = "match", value_name = "VALUE")]
        matching: String,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete the tenant and everything it owns (revoking its Sage refresh token first). Needs --confirm.
    Delete {
        id: TenantId,
        #[arg(long)]
        confirm: bool,
        #[arg(long)]
        json: bool,
    },
    /// Set the origin allowed to frame the tenant's /embed log (the Magento admin's, e.g.
    /// https://admin.shop.example); without --origin, go back to the paired store URL's origin.
    EmbedOrigin {
        id: TenantId,
        #[arg(long)]
        origin: Option<String>,
    },
}

pub async fn run(config: &Config, db: &Database, cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Export { id } => export(&db.pool, id).await?,
        TenantCommand::Erase { id, matching, dry_run, json } => {
            let erased = lifecycle::erase_personal_data(&db.pool, id, &matching, chrono::Utc::now(), dry_run)
                .await
                .map_err(|e| match e {
                    ledger_store::StoreError::Conflict(m) => anyhow::anyhow!("{m}"),
                    other => other.into(),
                })?;
            if json {
                println!("{}", json!({ "tenant_id": id, "dry_run": dry_run, "erased": erased }));
            } else {
                let verb = if dry_run { "would erase" } else { "erased" };
                println!(
                    "tenant {id}: {verb} {} event payloads, {} Magento snapshots, {} Sage call bodies holding the value",
                    erased.payloads, erased.snapshots, erased.sage_call_bodies
                );
            }
        }
        TenantCommand::Delete { id, confirm, json } => {
            anyhow::ensure!(
                confirm,
                "deleting tenant {id} removes its events, audit trail, Sage link and tokens for good; \
                 export it first (`ledger tenant export {id} > {id}.json`), then run again with --confirm"
            );
            // Sage is told first, while the tokens still exist: the refresh token stops working there.
            let sage = crate::sage::connect_service(config, &db.pool, db.keyring.clone())?;
            let revoked = match sage.disconnect(id).await {
                Ok((_, revoked)) => Some(revoked),
                Err(ledger_sync::sage::connect::ConnectError::NotConnected) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "could not revoke the Sage tokens; deleting them anyway");
                    Some(false)
                }
            };
            let deleted =
                lifecycle::delete_tenant(&db.pool, id).await?.ok_or_else(|| anyhow::anyhow!("no tenant {id}"))?;
            if json {
                println!("{}", json!({ "tenant_id": id, "deleted": deleted, "sage_tokens_revoked": revoked }));
            } else {
                println!(
                    "tenant {id} deleted: {} events, {} callbacks, {} Sage cross-references, {} bindings{}",
                    deleted.events,
                    deleted.callbacks,
                    deleted.sage_xrefs,
                    deleted.bindings,
                    match revoked {
                        Some(true) => "; the Sage refresh token was revoked",
                        Some(false) => "; the Sage refresh token could NOT be revoked (it lapses after 31 days unused)",
                        None => "",
                    }
                );
            }
        }
        TenantCommand::Create { name, json } => {
            let name = name.trim();
            anyhow::ensure!(!name.is_empty() && name.len() <= 200, "--name must be 1-200 characters");
            let api_key = ApiKey::generate();
            let tenant =
                tenants::create(&db.pool, &db.keyring, TenantId::new(), name, &SecretString::from(api_key.expose()))
                    .await?;
            if json {
                println!("{}", json!({ "tenant_id": tenant.id, "name": tenant.name, "api_key": api_key.expose() }));
            } else {
                println!("tenant_id: {}\nname:      {}\napi_key:   {}", tenant.id, tenant.name, api_key.expose());
                println!("\nThe api_key is shown once; it is stored encrypted.");
            }
        }
        TenantCommand::List { json } => print_list(&db.pool, json).await?,
        TenantCommand::Pause { id, reason, json } => {
            let tenant =
                operations::pause(&db.pool, id, &reason).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
            if json {
                println!(
                    "{}",
                    json!({ "tenant_id": id, "paused_at": tenant.paused_at, "paused_reason": tenant.paused_reason })
                );
            } else {
                println!("tenant {id} paused: events are accepted and wait until `ledger tenant resume {id}`");
            }
        }
        TenantCommand::Resume { id, json } => {
            let (_, woken) =
                operations::resume(&db.pool, id).await.map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
            if json {
                println!("{}", json!({ "tenant_id": id, "paused_at": null, "woken": woken }));
            } else {
                println!("tenant {id} resumed: {woken} waiting events run now");
            }
        }
        TenantCommand::Assign { id, merchant } => {
            let account = ledger_store::accounts::find_by_email(&db.pool, merchant.trim())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no dashboard account with email {}", merchant.trim()))?;
            anyhow::ensure!(tenants::assign_merchant(&db.pool, id, account.id).await?, "no tenant {id}");
            println!("tenant {id} now belongs to {}", account.email);
        }
        TenantCommand::EmbedOrigin { id, origin } => {
            let origin = match origin.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(raw) => {
                    Some(ledger_web::origin_of(raw).filter(|o| o == raw.trim_end_matches('/')).ok_or_else(|| {
                        anyhow::anyhow!("--origin must be scheme://host[:port], e.g. https://admin.shop.example")
                    })?)
                }
            };
            anyhow::ensure!(tenants::set_embed_origin(&db.pool, id, origin.as_deref()).await?, "no tenant {id}");
            match origin {
                Some(o) => println!("tenant {id}: /embed may be framed by {o}"),
                None => println!("tenant {id}: /embed may be framed by the paired store URL's origin"),
            }
        }
        TenantCommand::Show { id, json } => {
            let tenant = tenants::get(&db.pool, id).await?.ok_or_else(|| anyhow::anyhow!("no tenant {id}"))?;
            if json {
                println!("{}", serde_json::to_string(&tenant)?);
            } else {
                println!(
                    "tenant_id: {}\nname:      {}\nstatus:    {}\nmagento:   {} ({})\ncreated:   {}",
                    tenant.id,
                    tenant.name,
                    tenant.status,
                    tenant.magento_base_url.as_deref().unwrap_or("not paired"),
                    tenant.magento_connection_status,
                    tenant.created_at
                );
                if let Some(at) = tenant.paused_at {
                    println!("paused:    since {at}: {}", tenant.paused_reason.as_deref().unwrap_or(""));
                }
            }
        }
    }
    Ok(())
}

/// Streams the tenant's data to stdout as one JSON document: the tenant, its bindings and
/// cross-references, then every run with its attempts, Sage calls and callbacks, a page at a time.
async fn export(pool: &PgPool, id: TenantId) -> anyhow::Result<()> {
    let head = lifecycle::export_head(pool, id).await?.ok_or_else(|| anyhow::anyhow!("no tenant {id}"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let head = serde_json::to_string(&head)?;
    // The head object without its closing brace, then the runs as one more member.
    write!(out, "{}", &head[..head.len() - 1])?;
    write!(out, ",\"exported_at\":{},\"events\":[", serde_json::to_string(&chrono::Utc::now())?)?;
    let mut cursor = None;
    let mut first = true;
    loop {
        let (page, next) = lifecycle::export_events(pool, id, cursor, 500).await?;
        for event in &page {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut out, event)?;
        }
        if page.len() < 500 {
            break;
        }
        cursor = next;
    }
    writeln!(out, "]}}")?;
    out.flush()?;
    Ok(())
}

async fn print_list(pool: &PgPool, json: bool) -> anyhow::Result<()> {
    let all = tenants::list(pool).await?;
    if json {
        println!("{}", serde_json::to_string(&all)?);
        return Ok(());
    }
    println!("{:<36}  {:<8}  {:<13}  name", "tenant_id", "status", "magento");
    for t in all {
        let status = if t.paused_at.is_some() && t.is_active() { "paused" } else { t.status.as_str() };
        println!("{:<36}  {:<8}  {:<13}  {}", t.id, status, t.magento_connection_status, t.name);
    }
    Ok(())
}

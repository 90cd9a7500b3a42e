//! `ledger events list|show|requeue|discard`: the operator runbook for event runs without a browser,
//! through the same service as the API (`ledger_sync::operations`); requeue and discard also act on
//! every run of a tenant in some states (`--tenant T --state S [--dry-run]`), with a progress bar on a
//! terminal.
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger_domain::TenantId;
use ledger_store::PgPool;
use ledger_sync::operations::{self, EventItem, ListParams, OpsError};
use serde_json::json;
use uuid::Uuid;

use crate::database::Database;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List runs, newest first (all tenants unless --tenant).
    List {
        #[arg(long)]
        tenant: Option<TenantId>,
        /// One state or a comma-separated list (pending, running, synced, skipped, failed, dead_lettered, discarded).
        #[arg(long)]
        state: Option<String>,
        /// One event name or a comma-separated list (invoice.created, …).
        #[arg(long)]
        event: Option<String>,
        /// An increment id or a Magento entity id.
        #[arg(long)]
        q: Option<String>,
        /// At most this many runs (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show one run with its attempts, Sage calls and the diff.
    Show {
        /// The run's id (a sync_run_id).
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Run a failed, dead-lettered or discarded run again (a new run linked by rerun_of).
    Requeue {
        /// The run's id; or --tenant and --state for every matching run.
        id: Option<Uuid>,
        #[command(flatten)]
        bulk: Bulk,
        #[arg(long)]
        json: bool,
    },
    /// Set a pending, failed or dead-lettered run aside for good, with a reason.
    Discard {
        /// The run's id; or --tenant and --state for every matching run.
        id: Option<Uuid>,
        /// Why (1 to 500 characters), kept on the run.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        bulk: Bulk,
        #[arg(long)]
        json: bool,
    },
}

/// Acting on every run of a tenant in some states instead of one id.
#[derive(Debug, Args)]
pub struct Bulk {
    /// Act on this tenant's runs in --state.
    #[arg(long, conflicts_with = "id", requires = "state")]
    tenant: Option<TenantId>,
    /// One state or a comma-separated list.
    #[arg(long, conflicts_with = "id", requires = "tenant")]
    state: Option<String>,
    /// Say which runs would be acted on, and change nothing.
    #[arg(long, requires = "tenant")]
    dry_run: bool,
}

pub async fn run(db: &Database, cmd: EventsCommand) -> anyhow::Result<()> {
    let pool = &db.pool;
    match cmd {
        EventsCommand::List { tenant, state, event, q, limit, json } => {
            let params = ListParams { state, event, q, limit: Some(limit.to_string()), ..ListParams::default() };
            let items = match tenant {
                Some(t) => operations::list(pool, t, &params).await?.items,
                None => operations::list_all(pool, &params).await?,
            };
            if json {
                println!("{}", serde_json::to_string(&items)?);
            } else {
                print_items(&items);
            }
        }
        EventsCommand::Show { id, json } => {
            let detail = operations::show(pool, id).await?;
            if json {
                println!("{}", serde_json::to_string(&detail)?);
            } else {
                print_items(std::slice::from_ref(&detail.item));
                println!("tenant_id: {}\nrerun_of:  {}", detail.tenant_id, opt(detail.rerun_of));
                for view in &detail.attempts {
                    let a = &view.attempt;
                    println!(
                        "attempt {} by {} at {}: {} ({} Sage calls){}",
                        a.attempt,
                        a.worker,
                        a.started_at,
                        opt(a.outcome),
                        view.sage_calls.len(),
                        a.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
                    );
                }
            }
        }
        EventsCommand::Requeue { id, bulk, json } => {
            let ids = targets(pool, id, &bulk).await?;
            act(&ids, bulk.dry_run, json, "requeued", |id| async move {
                operations::requeue(pool, id).await.map(|new| json!({ "sync_run_id": new }))
            })
            .await?;
        }
        EventsCommand::Discard { id, reason, bulk, json } => {
            let reason = operations::discard_reason(&reason)?.to_owned();
            let ids = targets(pool, id, &bulk).await?;
            let reason = &reason;
            act(&ids, bulk.dry_run, json, "discarded", |id| async move {
                operations::discard(pool, id, reason).await.map(|item| json!({ "state": item.state }))
            })
            .await?;
        }
    }
    Ok(())
}

/// The one id given, or every run of the tenant in the states asked for (read before acting, so runs
/// that a requeue creates are not picked up again).
async fn targets(pool: &PgPool, id: Option<Uuid>, bulk: &Bulk) -> anyhow::Result<Vec<Uuid>> {
    match (id, bulk.tenant) {
        (Some(id), _) => Ok(vec![id]),
        (None, Some(tenant)) => {
            let params = ListParams { state: bulk.state.clone(), ..ListParams::default() };
            Ok(operations::matching(pool, tenant, &params).await?)
        }
        (None, None) => anyhow::bail!("give an event id, or --tenant and --state"),
    }
}

/// Applies `action` to each id and reports per id; fails when any failed (a single id: its error).
async fn act<F, Fut>(ids: &[Uuid], dry_run: bool, json: bool, done: &str, action: F) -> anyhow::Result<()>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, OpsError>>,
{
    if dry_run {
        if json {
            println!("{}", json!({ "dry_run": true, "ids": ids }));
        } else {
            ids.iter().for_each(|id| println!("would be {done}: {id}"));
            println!("{} runs would be {done} (dry run: nothing changed)", ids.len());
        }
        return Ok(());
    }
    if let [id] = ids {
        let out = action(*id).await?;
        if json {
            println!("{out}");
        } else {
            let what = out.as_object().and_then(|o| o.values().next()).unwrap_or(&out);
            println!("{id} {done}: {}", what.as_str().map(str::to_owned).unwrap_or_else(|| what.to_string()));
        }
        return Ok(());
    }
    // On a terminal a progress bar, with only the refusals printed above it; otherwise (a pipe, a log)
    // one line per run, as before.
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(ids.len() as u64), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed_precise}, {eta} left]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let (mut ok, mut failed) = (0usize, 0usize);
    for id in ids {
        let (line, text) = match action(*id).await {
            Ok(out) => {
                ok += 1;
                (json!({ "id": id, "ok": true, "result": out }), Ok(format!("{id} {done}")))
            }
            Err(e @ OpsError::Store(_)) => {
                bar.abandon();
                return Err(e.into());
            }
            Err(e) => {
                failed += 1;
                (
                    json!({ "id": id, "ok": false, "error": e.code(), "detail": e.to_string() }),
                    Err(format!("{id}: {e}")),
                )
            }
        };
        if json {
            println!("{line}");
        } else if bar.is_hidden() {
            eprintln!("{}", text.unwrap_or_else(|e| e));
        } else {
            if let Err(refused) = text {
                bar.println(refused);
            }
            bar.set_message(format!("{ok} {done}, {failed} refused"));
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if !json {
        println!("{ok} runs {done}, {failed} refused");
    }
    anyhow::ensure!(failed == 0, "{failed} of {} runs were refused", ids.len());
    Ok(())
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn print_items(items: &[EventItem]) {
    println!(
        "{:<36}  {:<18}  {:>10}  {:<12}  {:<13}  {:>3}  {:<20}  error",
        "id", "event", "magento_id", "increment_id", "state", "try", "received_at"
    );
    for i in items {
        let state = match i.parked_reason {
            Some(p) => format!("{} ({p})", i.state),
            None => i.state.to_string(),
        };
        let error = i.error.as_ref().and_then(|e| e.message.clone()).unwrap_or_default();
        println!(
            "{:<36}  {:<18}  {:>10}  {:<12}  {:<13}  {:>3}  {:<20}  {}",
            i.id,
            i.event,
            i.magento_entity_id,
            i.increment_id.as_deref().unwrap_or("-"),
            state,
            i.attempt,
            i.received_at.format("%Y-%m-%d %H:%M:%S"),
            error
        );
    }
}

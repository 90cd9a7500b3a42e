//! `ledger keys status|rotate`: which keys seal the stored secrets, and re-sealing them all under the
//! active key (`crypto.active_key`, else the greatest id) while `serve` keeps running.
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use ledger_store::rotation::{self, KeyUsage};
use serde_json::json;

use crate::database::Database;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Count the stored secrets by the key that sealed them.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Re-seal every stored secret (store keys, Sage tokens, connect verifiers) under the active key, in
    /// batches; old keys stay readable until removed from `crypto.keys`.
    Rotate {
        /// Rows per transaction.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(db: &Database, cmd: KeysCommand) -> anyhow::Result<()> {
    let active = db.keyring.active_id().to_owned();
    match cmd {
        KeysCommand::Status { json } => {
            let usage = rotation::usage(&db.pool).await?;
            if json {
                println!(
                    "{}",
                    json!({ "active_key": active, "usage": usage, "under_other_keys": stale(&usage, &active) })
                );
            } else {
                print_usage(&usage, &active);
            }
        }
        KeysCommand::Rotate { batch, json } => {
            let bar = (!json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {pos} values re-sealed").expect("template"),
                );
                bar
            });
            let report = rotation::rotate(&db.pool, &db.keyring, batch, |col, n| {
                if let Some(bar) = &bar {
                    bar.set_message(col.name());
                    bar.inc(n);
                }
            })
            .await;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let report = report?;
            let usage = rotation::usage(&db.pool).await?;
            let left = stale(&usage, &active);
            if json {
                println!(
                    "{}",
                    json!({ "active_key": active, "resealed": report.resealed, "total": report.total(),
                            "under_other_keys": left, "usage": usage })
                );
            } else {
                println!("re-sealed {} values under key `{active}`", report.total());
                print_usage(&usage, &active);
            }
            // Values written by a process that still had the old key active can appear during the run.
            anyhow::ensure!(
                left == 0,
                "{left} values are still sealed by another key (written meanwhile by a process with an older \
                 crypto.active_key?): run `ledger keys rotate` again once every process uses the new key"
            );
        }
    }
    Ok(())
}

/// Stored values sealed by a key other than `active`.
fn stale(usage: &KeyUsage, active: &str) -> i64 {
    usage.values().flat_map(|ids| ids.iter()).filter(|(id, _)| id.as_str() != active).map(|(_, n)| n).sum()
}

fn print_usage(usage: &KeyUsage, active: &str) {
    println!("active key: {active}");
    for (column, ids) in usage {
        let counts: Vec<String> = ids.iter().map(|(id, n)| format!("{id}: {n}")).collect();
        let counts = if counts.is_empty() { "none stored".to_owned() } else { counts.join(", ") };
        println!("  {column:<40} {counts}");
    }
}

//! `ledger operator create --email E [--json]`: an operator account for the console, with a one-time
//! password printed once (to be changed at the first sign-in).
use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use crate::database::Database;

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator account; prints its one-time password once.
    Create {
        #[arg(long)]
        email: String,
        /// Print `{"email","password"}`.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(db: &Database, cmd: OperatorCommand) -> anyhow::Result<()> {
    match cmd {
        OperatorCommand::Create { email, json } => {
            let (account, password) = ledger_web::accounts::create_operator(&db.pool, &email)
                .await
                .with_context(|| format!("creating operator {}", email.trim()))?;
            if json {
                println!("{}", json!({ "email": account.email, "password": password }));
            } else {
                println!("email:    {}\npassword: {password}", account.email);
                println!("\nThis one-time password is shown once; it must be changed at the first sign-in.");
            }
        }
    }
    Ok(())
}

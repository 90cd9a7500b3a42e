//! Connecting, creating the database, migrating (the ledger's and apalis-postgres's), and readiness.
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::StoreError;

/// The ledger's own migrations (`migrations/` at the workspace root).
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection before the API answers 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(3) }
    }
}

pub async fn connect(url: &str, settings: &PoolSettings) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)?.application_name("ledger").disable_statement_logging();
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options)
        .await?)
}

/// Creates database `name` on the server behind `admin_url` when it does not exist.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let mut conn = PgConnection::connect(admin_url).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        let stmt = format!("CREATE DATABASE {}", quote_ident(name));
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(stmt)).execute(&mut conn).await {
            // Lost a race with another process creating it: fine.
            if !is_duplicate_database(&e) {
                return Err(e.into());
            }
        }
    }
    conn.close().await.ok();
    Ok(())
}

fn is_duplicate_database(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42P04") || d.code().as_deref() == Some("23505"))
}

/// Double-quotes an identifier for the few statements that cannot take bind parameters.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Applies apalis-postgres's migrations (schema `apalis`) and then the ledger's (schema `public`),
/// each tracked in its own `_sqlx_migrations` table.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    apalis_postgres::PostgresStorage::setup(pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
    MIGRATOR.run(pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
    Ok(())
}

/// What `/health/ready` reports about the schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    pub ledger_current: bool,
    pub apalis_current: bool,
}

pub async fn migration_status(pool: &PgPool) -> Result<MigrationStatus, StoreError> {
    let apalis = apalis_postgres::PostgresStorage::migrations();
    Ok(MigrationStatus {
        ledger_current: applied_all(pool, "public", &MIGRATOR).await?,
        apalis_current: applied_all(pool, "apalis", &apalis).await?,
    })
}

async fn applied_all(pool: &PgPool, schema: &str, migrator: &Migrator) -> Result<bool, StoreError> {
    let table_exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = '_sqlx_migrations')",
    )
    .bind(schema)
    .fetch_one(pool)
    .await?;
    if !table_exists {
        return Ok(false);
    }
    let sql = format!("SELECT version FROM {}._sqlx_migrations WHERE success", quote_ident(schema));
    let applied: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    Ok(migrator.iter().filter(|m| m.migration_type.is_up_migration()).all(|m| applied.contains(&m.version)))
}

/// Deletes JWT ids that expired a minute before `now`; returns how many. `now` is the app's clock,
/// the one verification uses: with the database's, a clock difference would free a jti whose token
/// verification still accepts, and the token could be replayed.
pub async fn purge_expired_jti(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM jwt_replay WHERE expires_at < $1 - interval '1 minute'")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected())
}

/// Deletes apalis triggers that finished more than an hour ago; the event rows are the record.
pub async fn purge_finished_tasks(pool: &PgPool) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM apalis.jobs WHERE job_type = $1 AND status IN ('Done', 'Failed', 'Killed')
           AND COALESCE(done_at, run_at) < now() - interval '1 hour'",
    )
    .bind(crate::EVENT_QUEUE)
    .execute(pool)
    .await?
    .rows_affected())
}

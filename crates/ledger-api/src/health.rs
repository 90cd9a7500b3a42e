//! `/health/live` (the process answers) and `/health/ready` (the database answers, both migration sets
//! are applied and, for the worker role, its heartbeat is recent). Failures are logged and answered as
//! short codes: the endpoint is public, database error text is not.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ledger_store::db::{self, MigrationStatus};
use ledger_store::health;
use serde::Serialize;

use crate::AppState;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Live {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub checks: ReadyChecks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecks {
    /// `ok` or `unavailable`.
    pub database: &'static str,
    /// `{"ledger_current", "apalis_current"}` (booleans), or `unavailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub migrations: Option<MigrationsCheck>,
    /// Seconds since the worker's last heartbeat (`null`: none yet); only for the worker role.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub worker_heartbeat_age_s: Option<Option<f64>>,
    /// `closed` while the process shuts down (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intake: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum MigrationsCheck {
    Status(MigrationStatus),
    /// `unavailable`: the migration tables could not be read.
    Failed(&'static str),
}

const UNAVAILABLE: &str = "unavailable";

#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    summary = "The process answers",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = Live)),
)]
pub async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    summary = "The database answers, both migration sets are applied, (worker role) the heartbeat is fresh",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready; `checks` says why", body = Ready),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Ready>) {
    let mut checks = ReadyChecks { database: "ok", migrations: None, worker_heartbeat_age_s: None, intake: None };
    let mut ok = true;
    if !state.intake.is_open() {
        ok = false;
        checks.intake = Some("closed");
    }
    match health::ping(&state.pool).await {
        Ok(()) => {
            match db::migration_status(&state.pool).await {
                Ok(m) => {
                    ok &= m.ledger_current && m.apalis_current;
                    checks.migrations = Some(MigrationsCheck::Status(m));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "readiness: reading the migration status failed");
                    ok = false;
                    checks.migrations = Some(MigrationsCheck::Failed(UNAVAILABLE));
                }
            }
            if let Some(worker) = &state.readiness.worker_id {
                let age = health::heartbeat_age(&state.pool, worker).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "readiness: reading the worker heartbeat failed");
                    None
                });
                ok &= age.is_some_and(|a| a <= state.readiness.max_heartbeat_age.as_secs_f64());
                checks.worker_heartbeat_age_s = Some(age);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            ok = false;
            checks.database = UNAVAILABLE;
        }
    }
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Ready { status: if ok { "ready" } else { "not_ready" }, checks }))
}

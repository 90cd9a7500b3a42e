//! `/health/live` (the process answers) and `/health/ready` (the database answers, both migration sets
//! are applied and, for the worker role, its heartbeat is recent).
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ledger_store::{db, health};
use serde_json::{Value, json};

use crate::AppState;

pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut checks = serde_json::Map::new();
    let mut ok = true;
    match health::ping(&state.pool).await {
        Ok(()) => {
            checks.insert("database".into(), json!("ok"));
            match db::migration_status(&state.pool).await {
                Ok(m) => {
                    ok &= m.ledger_current && m.apalis_current;
                    checks.insert("migrations".into(), json!(m));
                }
                Err(e) => {
                    ok = false;
                    checks.insert("migrations".into(), json!(e.to_string()));
                }
            }
            if let Some(worker) = &state.readiness.worker_id {
                let age = health::heartbeat_age(&state.pool, worker).await.ok().flatten();
                let fresh = age.is_some_and(|a| a <= state.readiness.max_heartbeat_age.as_secs_f64());
                ok &= fresh;
                checks.insert("worker_heartbeat_age_s".into(), json!(age));
            }
        }
        Err(e) => {
            ok = false;
            checks.insert("database".into(), json!(e.to_string()));
        }
    }
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": if ok { "ready" } else { "not_ready" }, "checks": checks })))
}

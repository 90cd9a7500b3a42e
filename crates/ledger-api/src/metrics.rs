//! `GET /metrics` (Prometheus text, behind the operator bearer) and the ingest counters: every webhook request counted and timed by outcome.
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{AppState, Operator};

/// Renders the process's metrics in the Prometheus text format (the binary installs the recorder).
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// The Prometheus text exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics` for operators: labels name tenants, so it sits behind the same bearer as the
/// operator routes. 404 when the process has no recorder (a library test).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    summary = "Prometheus metrics (text exposition format, not JSON); docs/operations.md lists the series",
    security(("operator" = [])),
    responses(
        (status = 200, description = "`text/plain; version=0.0.4`", content_type = "text/plain", body = String),
        (status = 401, description = "No or wrong operator bearer (`unauthorized`)", body = crate::problem::Problem,
         content_type = "application/problem+json"),
    ),
)]
pub async fn scrape(_: Operator, State(state): State<AppState>) -> Response {
    render(state.metrics.as_ref())
}

/// The scrape answer from `render`.
pub fn render(render: Option<&MetricsRender>) -> Response {
    match render {
        Some(render) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], render()).into_response(),
        None => (StatusCode::NOT_FOUND, "no metrics recorder in this process").into_response(),
    }
}

/// Counts and times webhook requests (`ledger_ingest_requests_total{outcome}`,
/// `ledger_ingest_duration_seconds{outcome}`). Layered outside load shedding, so an overloaded
/// request is counted too. The outcome comes from the answer's status, a small fixed set.
pub async fn track_ingest(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/webhooks/magento/") {
        return next.run(request).await;
    }
    let started = Instant::now();
    let response = next.run(request).await;
    let outcome = ingest_outcome(response.status());
    metrics::counter!("ledger_ingest_requests_total", "outcome" => outcome).increment(1);
    metrics::histogram!("ledger_ingest_duration_seconds", "outcome" => outcome).record(started.elapsed().as_secs_f64());
    response
}

/// `accepted` (202), `duplicate` (200), `overloaded` (503: shed, timed out or shutting down), a
/// `rejected_*` class for 4xx, `error` for other 5xx.
pub fn ingest_outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        202 => "accepted",
        200 => "duplicate",
        503 => "overloaded",
        400 => "rejected_bad_request",
        401 | 403 => "rejected_unauthorized",
        404 => "rejected_not_found",
        413 => "rejected_too_large",
        415 => "rejected_media_type",
        402 | 405..=412 | 414 | 416..=499 => "rejected_other",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_a_small_fixed_set() {
        assert_eq!(ingest_outcome(StatusCode::ACCEPTED), "accepted");
        assert_eq!(ingest_outcome(StatusCode::OK), "duplicate");
        assert_eq!(ingest_outcome(StatusCode::SERVICE_UNAVAILABLE), "overloaded");
        assert_eq!(ingest_outcome(StatusCode::UNAUTHORIZED), "rejected_unauthorized");
        assert_eq!(ingest_outcome(StatusCode::CONFLICT), "rejected_other");
        assert_eq!(ingest_outcome(StatusCode::INTERNAL_SERVER_ERROR), "error");
    }
}

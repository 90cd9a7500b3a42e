//! Routes and the middleware stack: request ids, tracing spans carrying `tenant_id`/`event_id`, a body
//! limit, a per-request deadline and load shedding. Overload and timeouts answer 503, never 429 or
//! 408: the Magento module dead-letters every 4xx.
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use axum::{BoxError, Router};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::{ApiError, AppState, events, health, ingest, metrics, openapi, policy, sage, stores, tile};

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let request_id = HeaderName::from_static("x-request-id");
    let deadline = |limit: Duration| ServiceBuilder::new().layer(HandleErrorLayer::new(overloaded)).timeout(limit);
    let short = Router::new()
        .route(
            "/webhooks/magento/{tenant_id}/{event}",
            post(ingest::receive).route_layer(axum::middleware::from_fn_with_state(state.clone(), ingest::intake_open)),
        )
        .route("/v1/tile/health", get(tile::tile_health))
        .route("/v1/tenant/disconnect", post(tile::disconnect))
        .route("/api/v1/stores/{tenant_id}/disconnect", post(stores::disconnect))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .route("/metrics", get(metrics::scrape))
        .route_layer(deadline(config.request_timeout));
    // Pairing waits on the store (its pair call alone may take 20 s, then a ping): a short deadline
    // would cut it off after the store took the new key.
    let pairing = Router::new().route("/api/v1/stores/pair", post(stores::pair)).route_layer(deadline(PAIR_DEADLINE));
    // The Sage callback exchanges the code and reads the businesses (several calls to Sage).
    let sage = sage::routes().merge(policy::routes()).route_layer(deadline(PAIR_DEADLINE));
    let operator = events::routes().route_layer(deadline(config.request_timeout));
    short
        .merge(operator)
        .merge(pairing)
        .merge(sage)
        .fallback(|| async { ApiError::NotFound("no such endpoint") })
        .with_state(state)
        // Leave room above the webhook limit so the handler can answer 413 as problem+json itself.
        .layer(DefaultBodyLimit::max(config.max_body_bytes + 1))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id,
                        tenant_id = tracing::field::Empty, event_id = tracing::field::Empty)
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(config.max_in_flight),
        )
        .layer(axum::middleware::from_fn(metrics::track_ingest))
}

/// The deadline of `POST /api/v1/stores/pair`: the store's pair call and the ping after it (20 s each
/// at most), with room to record the outcome.
pub const PAIR_DEADLINE: Duration = Duration::from_secs(60);

async fn overloaded(err: BoxError) -> ApiError {
    if err.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request timed out");
    } else {
        tracing::warn!(error = %err, "shedding load");
    }
    ApiError::Unavailable
}

/// How long the worker heartbeat may be silent before a worker process reports not ready.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(30);

/// The health endpoints alone, for processes that run only the worker role.
pub fn health_router(state: AppState) -> Router {
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(metrics::scrape))
        .fallback(|| async { ApiError::NotFound("no such endpoint") })
        .with_state(state)
}

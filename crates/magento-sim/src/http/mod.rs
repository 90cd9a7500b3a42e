//! HTTP surface: per-store routers (Magento REST + `/_sim/` control), multi-store mounting, down mode.

mod control;
mod rest;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::error::MagentoError;
use crate::store::Store;

/// The whole app: store k under `/s/k`, store 1 also at `/`.
pub fn router(stores: &[Arc<Store>]) -> Router {
    let mut app = Router::new();
    for s in stores {
        app = app.nest(&format!("/s/{}", s.number()), store_router(Arc::clone(s)));
    }
    if let Some(first) = stores.first() {
        app = app.merge(store_router(Arc::clone(first)));
    }
    app.fallback(no_route)
}

fn store_router(store: Arc<Store>) -> Router {
    let rest = rest::routes();
    Router::new()
        .nest("/rest/V1", rest.clone())
        .nest("/rest/default/V1", rest.clone())
        .nest("/rest/all/V1", rest)
        .nest("/_sim", control::routes())
        .layer(middleware::from_fn_with_state(Arc::clone(&store), down_guard))
        .with_state(store)
}

fn is_control(path: &str) -> bool {
    let rest = match path.strip_prefix("/s/") {
        Some(after) => after.find('/').map_or("", |i| &after[i..]),
        None => path,
    };
    rest == "/_sim" || rest.starts_with("/_sim/")
}

async fn down_guard(State(store): State<Arc<Store>>, req: Request, next: Next) -> Response {
    if store.is_down() && !is_control(req.uri().path()) {
        return MagentoError::new(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    next.run(req).await
}

async fn no_route() -> MagentoError {
    MagentoError::new(StatusCode::NOT_FOUND, "Request does not match any route.")
}

#[cfg(test)]
mod tests {
    use super::is_control;

    #[test]
    fn control_paths_are_recognised_with_and_without_store_prefix() {
        assert!(is_control("/_sim/state"));
        assert!(is_control("/s/2/_sim/down"));
        assert!(!is_control("/rest/V1/byte8/ping"));
        assert!(!is_control("/s/2/rest/V1/_sim/x"));
    }
}

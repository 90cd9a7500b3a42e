//! A programmable HTTP hop in front of a magento-sim store: it passes requests through, slows one
//! route down, holds every request (a hung store) or answers a fixed status, so a test can make one
//! store misbehave over real HTTP beside healthy ones.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;

#[derive(Clone, Debug)]
pub enum Mode {
    Pass,
    /// Requests whose path contains the text are answered `by` later (the store is slow to act).
    Slow {
        path: &'static str,
        by: Duration,
    },
    /// Requests are never answered (until the caller gives up).
    Hang,
    /// Every request is answered with this status and a Magento error body.
    Status(u16),
}

#[derive(Clone)]
struct Shared {
    target: String,
    mode: Arc<Mutex<Mode>>,
    held: Arc<AtomicUsize>,
    http: reqwest::Client,
}

pub struct StoreProxy {
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl StoreProxy {
    /// A proxy on 127.0.0.1:0 in front of `target` (a store base URL), passing everything through.
    pub async fn start(target: &str) -> Self {
        let shared = Shared {
            target: target.trim_end_matches('/').to_owned(),
            mode: Arc::new(Mutex::new(Mode::Pass)),
            held: Arc::default(),
            http: reqwest::Client::new(),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    pub fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Requests held unanswered so far (mode `Hang`).
    pub fn held(&self) -> usize {
        self.shared.held.load(Ordering::SeqCst)
    }
}

impl Drop for StoreProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let mode = shared.mode.lock().unwrap().clone();
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    match mode {
        Mode::Hang => {
            shared.held.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
        Mode::Status(status) => {
            return Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"message":"Refused by the test proxy."}"#))
                .unwrap();
        }
        Mode::Slow { path: slow, by } if path.contains(slow) => tokio::time::sleep(by).await,
        Mode::Slow { .. } | Mode::Pass => {}
    }
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut outbound = shared.http.request(parts.method, format!("{}{path}", shared.target)).body(body);
    for (name, value) in &parts.headers {
        if !skip(name) {
            outbound = outbound.header(name, value);
        }
    }
    let Ok(answer) = outbound.send().await else {
        return Response::builder().status(StatusCode::BAD_GATEWAY).body(Body::empty()).unwrap();
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if !skip(name) {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(answer.bytes().await.unwrap_or_default())).unwrap()
}

fn skip(name: &HeaderName) -> bool {
    matches!(name.as_str(), "host" | "content-length" | "transfer-encoding" | "connection")
}

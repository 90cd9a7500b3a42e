//! Test doubles: a scripted in-process "store" that checks the inbound JWT as Magento would, and resolvers.
use std::collections::{HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use ledger_magento::{GuardedHttp, HostResolver, OutboundPolicy, TenantKeys};
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpListener;

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const API_KEY: &str = "byte8_lk_example_master_key";

pub fn keys() -> TenantKeys {
    TenantKeys::derive(API_KEY)
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Loopback allowed, plain http allowed, short timeouts.
pub fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy {
        allow_http: true,
        allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(3),
        max_response_bytes: 64 * 1024,
    }
}

/// Plain http allowed but no address exemptions: what production refuses, the tests refuse.
pub fn strict_policy() -> OutboundPolicy {
    OutboundPolicy { allow_cidrs: vec![], ..loopback_policy() }
}

pub fn http(policy: OutboundPolicy, resolver: Arc<dyn HostResolver>) -> GuardedHttp {
    GuardedHttp::new(policy, resolver).unwrap()
}

/// Answers from a script, one entry per call, repeating the last; counts calls.
pub struct ScriptedResolver {
    answers: Mutex<VecDeque<Vec<IpAddr>>>,
    pub calls: AtomicUsize,
}

impl ScriptedResolver {
    pub fn new(answers: &[&[&str]]) -> Arc<Self> {
        let answers = answers.iter().map(|a| a.iter().map(|s| s.parse().unwrap()).collect()).collect();
        Arc::new(Self { answers: Mutex::new(answers), calls: AtomicUsize::new(0) })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl HostResolver for ScriptedResolver {
    fn resolve(&self, _host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        let answer = if answers.len() > 1 { answers.pop_front() } else { answers.front().cloned() };
        Box::pin(async move { answer.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host")) })
    }
}

/// One canned answer of the fake store.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

pub fn json(status: u16, body: Value) -> Canned {
    Canned { status, content_type: "application/json", body: body.to_string(), headers: vec![] }
}

pub fn raw(status: u16, content_type: &'static str, body: &str) -> Canned {
    Canned { status, content_type, body: body.to_owned(), headers: vec![] }
}

pub fn redirect(status: u16, location: &str) -> Canned {
    Canned { status, content_type: "text/html", body: String::new(), headers: vec![("location", location.to_owned())] }
}

/// What the store saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `Some(Ok(claims))` for a valid token, `Some(Err(why))` for a bad one, `None` without one.
    pub jwt: Option<Result<Value, String>>,
}

pub struct StoreState {
    script: Mutex<VecDeque<Canned>>,
    default: Canned,
    jtis: Mutex<HashSet<String>>,
    pub seen: Mutex<Vec<Seen>>,
}

pub struct Store {
    pub addr: SocketAddr,
    pub state: Arc<StoreState>,
}

impl Store {
    /// Serves `script` in order, then `default` forever.
    pub async fn start(script: Vec<Canned>, default: Canned) -> Self {
        let state = Arc::new(StoreState {
            script: Mutex::new(script.into()),
            default,
            jtis: Mutex::new(HashSet::new()),
            seen: Mutex::new(vec![]),
        });
        let app = Router::new().fallback(handle).with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    pub async fn always(answer: Canned) -> Self {
        Self::start(vec![], answer).await
    }

    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.state.seen.lock().unwrap().len()
    }
}

async fn handle(State(state): State<Arc<StoreState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec();
    let jwt = parts
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap_or_default().strip_prefix("Bearer ").unwrap_or_default().to_owned())
        .map(|token| verify_inbound(&token, &keys().inbound, &state.jtis));
    let rejected = matches!(jwt, Some(Err(_)));
    state.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts.headers.clone(),
        body,
        jwt,
    });
    let answer = if rejected {
        json(401, serde_json::json!({"message": "The consumer isn't authorized to access %resources."}))
    } else {
        let next = state.script.lock().unwrap().pop_front();
        next.unwrap_or_else(|| state.default.clone())
    };
    let mut response = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap())
        .header("content-type", answer.content_type);
    for (name, value) in answer.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(answer.body)).unwrap()
}

/// Magento's inbound checks (spec §2.2), written independently of the crate under test.
pub fn verify_inbound(token: &str, key: &[u8; 32], jtis: &Mutex<HashSet<String>>) -> Result<Value, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts[..] else { return Err("not three segments".into()) };
    let header: Value =
        serde_json::from_slice(&B64.decode(h).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    if header["alg"] != "HS256" || header["typ"] != "JWT" {
        return Err(format!("bad header {header}"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&B64.decode(s).map_err(|e| e.to_string())?).map_err(|_| "bad signature".to_owned())?;
    let claims: Value =
        serde_json::from_slice(&B64.decode(p).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let int = |name: &str| claims[name].as_i64().filter(|_| claims[name].is_i64()).ok_or(format!("{name} not int"));
    let (iat, nbf, exp) = (int("iat")?, int("nbf")?, int("exp")?);
    let now = now();
    if claims["iss"] != "byte8-ledger" || claims["aud"] != "magento" || claims["sub"] != TENANT {
        return Err(format!("bad iss/aud/sub {claims}"));
    }
    if nbf > now || exp <= now || exp - iat > 300 || iat > now + 30 {
        return Err(format!("bad times iat={iat} nbf={nbf} exp={exp} now={now}"));
    }
    let jti = claims["jti"].as_str().filter(|j| !j.is_empty()).ok_or("no jti")?;
    if !jtis.lock().unwrap().insert(jti.to_owned()) {
        return Err(format!("replayed jti {jti}"));
    }
    Ok(claims)
}

/// A TCP listener that accepts connections and never answers; counts accepts.
pub async fn silent_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, accepted)
}

/// A loopback port with nothing listening on it.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// Polls `check` until it holds or a deadline passes.
pub async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

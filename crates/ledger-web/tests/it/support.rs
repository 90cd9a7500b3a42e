//! A served app with the dashboard mounted, and `Browser`: an HTTP client that keeps cookies, does not
//! follow redirects (tests look at them), and reads the CSRF token out of forms.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger_domain::{ErrorClass, EventState, RunFailure};
use ledger_store::runs::{self, Outcome};
use ledger_web::{Throttle, WebConfig};
use test_support::{TestApp, TestAppOptions, TestTenant, envelope};
use uuid::Uuid;

pub const PASSWORD: &str = "a long enough password";

/// Limits small enough to reach in a test.
pub fn web_config() -> WebConfig {
    WebConfig {
        secure_cookies: false,
        throttle: Throttle { window: Duration::from_secs(900), per_account: 3, per_ip: 8 },
        ..WebConfig::default()
    }
}

pub fn options() -> TestAppOptions {
    TestAppOptions {
        extra_routes: Some(Arc::new(|state| ledger_web::router(state, web_config()))),
        ..TestAppOptions::default()
    }
}

pub async fn spawn() -> TestApp {
    TestApp::spawn_with(options()).await
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the first `csrf` field on the page.
    pub fn csrf(&self) -> String {
        let start = self.body.find(r#"name="csrf" value=""#).expect("a form with a csrf field") + 19;
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
}

pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookies: Mutex<BTreeMap<String, String>>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self { http, base: app.base_url.clone(), cookies: Mutex::default() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn read(&self, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if attrs.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let location = headers.get("location").map(|l| l.to_str().unwrap().to_owned());
        Page { status, location, headers, body: resp.text().await.unwrap() }
    }

    /// GETs `path` on the app, or an absolute URL as is.
    pub async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) };
        let resp = self.http.get(url).header("cookie", self.cookie_header()).send().await.unwrap();
        self.read(resp).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    /// Posts `form` with the CSRF token of the page at `from`.
    pub async fn submit(&self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(form);
        self.post(path, &all).await
    }

    pub async fn sign_up(&self, email: &str) -> Page {
        self.submit("/signup", "/signup", &[("email", email), ("password", PASSWORD)]).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.submit("/signin", "/signin", &[("email", email), ("password", password)]).await
    }

    /// A new merchant, signed in; returns the account id.
    pub async fn merchant(app: &TestApp, email: &str) -> (Self, Uuid) {
        let b = Self::new(app);
        let page = b.sign_up(email).await;
        assert_eq!((page.status, page.location.as_deref()), (303, Some("/dashboard")), "{}", page.body);
        let account = ledger_store::accounts::find_by_email(&app.db.pool, email).await.unwrap().unwrap();
        (b, account.id)
    }

    /// A signed-in operator (the one-time password already changed).
    pub async fn operator(app: &TestApp, email: &str) -> Self {
        let (_, one_time) = ledger_web::accounts::create_operator(&app.db.pool, email).await.unwrap();
        let b = Self::new(app);
        assert_eq!(b.sign_in(email, &one_time).await.status, 303);
        let page = b
            .submit(
                "/account/password",
                "/account/password",
                &[("current", &one_time), ("new", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        b
    }
}

/// A tenant owned by `merchant`.
pub async fn owned_tenant(app: &TestApp, name: &str, merchant: Uuid) -> TestTenant {
    let t = app.create_tenant(name).await;
    assert!(ledger_store::tenants::assign_merchant(&app.db.pool, t.id, merchant).await.unwrap());
    t
}

/// Accepts `event` for `entity` as the module sends it; returns the run id.
pub async fn ingest(app: &TestApp, t: &TestTenant, event: &str, entity: u64) -> Uuid {
    let r = app.post_event(t, event, &format!("{event}:{entity}"), &envelope(entity)).await;
    assert!(r.status().is_success(), "ingest answered {}", r.status());
    r.json::<serde_json::Value>().await.unwrap()["sync_run_id"].as_str().unwrap().parse().unwrap()
}

/// Ends run `id` as a worker would with `outcome`.
pub async fn run_to(app: &TestApp, id: Uuid, outcome: Outcome) {
    let claim = runs::claim(&app.db.pool, id, "test", Duration::from_secs(60)).await.unwrap().expect("claimable");
    assert!(runs::finish(&app.db.pool, id, claim.lease_token, &outcome).await.unwrap());
}

pub fn dead_letter(message: &str) -> Outcome {
    let mut failure = RunFailure::new(ErrorClass::Transient, message);
    failure.detail.http_status = Some(503);
    Outcome::Fail { state: EventState::DeadLettered, failure }
}

pub async fn state_of(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT state FROM events WHERE id = $1").bind(id).fetch_one(&app.db.pool).await.unwrap()
}

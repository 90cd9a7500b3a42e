//! Test harness: an in-process simulator on port 0, a signed-in client and small request helpers.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use sage_sim::{ExtraTaxRate, RunningSim, SimConfig, spawn};
use serde_json::{Value, json};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// The default test configuration: auto-approve plus the 9.25 % rate of Sage's worked example.
pub fn config() -> SimConfig {
    SimConfig {
        auto_approve: true,
        extra_tax_rates: vec![ExtraTaxRate {
            id: "TEST_9_25".into(),
            name: "Test".into(),
            percentage: "9.25".parse().unwrap(),
        }],
        ..SimConfig::default()
    }
}

pub struct Harness {
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub refresh: String,
    pub plus: String,
    pub standard: String,
    pub start: String,
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Run the authorize step and return the `code` from the redirect.
pub async fn authorize(http: &reqwest::Client, base: &str, extra: &[(&str, &str)]) -> String {
    let mut q =
        vec![("client_id", "sage-sim"), ("response_type", "code"), ("redirect_uri", REDIRECT), ("state", "xyz")];
    q.extend_from_slice(extra);
    let resp = http.get(format!("{base}/oauth2/auth/central")).query(&q).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "authorize should redirect");
    let loc = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let get = |k: &str| loc.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
    assert_eq!(get("state").as_deref(), Some("xyz"));
    assert_eq!(get("country").as_deref(), Some("GB"));
    get("code").expect("code in redirect")
}

/// POST /token with a form; returns (status, body).
pub async fn token(http: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = http.post(format!("{base}/token")).form(form).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn exchange(http: &reqwest::Client, base: &str, code: &str) -> (StatusCode, Value) {
    token(
        http,
        base,
        &[
            ("client_id", "sage-sim"),
            ("client_secret", "sage-sim-secret"),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await
}

pub async fn refresh(http: &reqwest::Client, base: &str, rt: &str) -> (StatusCode, Value) {
    token(
        http,
        base,
        &[
            ("client_id", "sage-sim"),
            ("client_secret", "sage-sim-secret"),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
        ],
    )
    .await
}

impl Harness {
    pub async fn start() -> Self {
        Self::with(config()).await
    }

    pub async fn with(config: SimConfig) -> Self {
        let sim = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = client();
        let base = sim.base_url();
        let code = authorize(&http, &base, &[]).await;
        let (status, tok) = exchange(&http, &base, &code).await;
        assert_eq!(status, StatusCode::OK, "{tok}");
        let state: Value = http.get(format!("{base}/_sim/state")).send().await.unwrap().json().await.unwrap();
        let by_tier = |t: &str| {
            state["businesses"].as_array().unwrap().iter().find(|b| b["tier"] == t).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        Self {
            token: tok["access_token"].as_str().unwrap().to_owned(),
            refresh: tok["refresh_token"].as_str().unwrap().to_owned(),
            plus: by_tier("Plus"),
            standard: by_tier("Standard"),
            start: by_tier("Start"),
            sim,
            http,
            base,
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/v3.1{path}", self.base)
    }

    /// A request to the API for `business` with the harness token.
    pub async fn call(
        &self,
        method: Method,
        business: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let verb = method.as_str().to_owned();
        let mut req = self.http.request(method, self.api(path)).bearer_auth(&self.token).header("X-Business", business);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            assert_conforms(&verb, path, &body);
        }
        (status, body, headers)
    }

    pub async fn get(&self, business: &str, path: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.call(Method::GET, business, path, None).await;
        (s, v)
    }

    pub async fn post(&self, business: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.call(Method::POST, business, path, Some(body)).await;
        (s, v)
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}/_sim{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let s = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        if let Some(kind) =
            path.strip_prefix("/records?").and_then(|q| q.split('&').find_map(|p| p.strip_prefix("type=")))
        {
            for item in body["items"].as_array().into_iter().flatten() {
                assert_conforms("GET", &format!("/{kind}/{}", item["id"].as_str().unwrap_or("x")), item);
            }
        }
        (s, body)
    }

    /// The id of the sales ledger account with `code` in `business`.
    pub async fn ledger(&self, business: &str, code: u64) -> String {
        let (_, v) = self.get(business, "/ledger_accounts?attributes=nominal_code&items_per_page=200").await;
        v["$items"].as_array().unwrap().iter().find(|l| l["nominal_code"] == code).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn bank(&self, business: &str) -> String {
        let (_, v) = self.get(business, "/bank_accounts").await;
        v["$items"][0]["id"].as_str().unwrap().to_owned()
    }

    pub async fn customer(&self, business: &str, name: &str, currency: Option<&str>) -> String {
        let mut c = json!({"name": name, "contact_type_ids": ["CUSTOMER"], "email": format!("{}@example.test", name.to_lowercase().replace(' ', "."))});
        if let Some(cur) = currency {
            c["currency_id"] = json!(cur);
        }
        let (s, v) = self.post(business, "/contacts", json!({"contact": c})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// A standard-rated invoice body: `qty × price` at 20 %.
    pub async fn invoice_body(
        &self,
        business: &str,
        contact: &str,
        reference: &str,
        qty: &str,
        price: &str,
        tax: &str,
    ) -> Value {
        let ledger = self.ledger(business, 4000).await;
        json!({"sales_invoice": {"contact_id": contact, "date": "2025-03-01", "reference": reference,
            "invoice_lines": [{"description": "Widget", "ledger_account_id": ledger, "quantity": qty,
                "unit_price": price, "tax_rate_id": "GB_STANDARD", "tax_amount": tax}]}})
    }

    /// Create an unpaid invoice of 120.00 (100 net + 20 VAT); returns its id.
    pub async fn invoice(&self, business: &str, contact: &str, reference: &str) -> String {
        let body = self.invoice_body(business, contact, reference, "1", "100.00", "20.00").await;
        let (s, v) = self.post(business, "/sales_invoices", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }
}

/// Every successful simulator answer must be in Sage's published shape (`sage_sim::conformance`);
/// answers of operations the schema extract does not cover (`/businesses`, `/user`, `/exchange_rates`) pass.
#[track_caller]
pub fn assert_conforms(method: &str, path: &str, body: &Value) {
    use sage_sim::conformance::{ConformanceError, check_response};
    match check_response(method, path, body) {
        Ok(violations) => assert!(
            violations.is_empty(),
            "{method} {path} answered outside Sage's schema:\n{}\nbody: {body}",
            violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        ),
        Err(ConformanceError::NoDefinition(_)) => {}
        Err(ConformanceError::UnknownOperation { .. })
            if path.starts_with("/businesses") || path.starts_with("/user") => {}
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// Assert an error answer: status, `$dataCode` and `$source` of the first item.
#[track_caller]
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, code: &str, source: &str) {
    assert_eq!(status.as_u16(), want_status, "status; body: {body}");
    let first = &body[0];
    assert_eq!(first["$severity"], "error", "{body}");
    assert_eq!(first["$dataCode"], code, "{body}");
    assert_eq!(first["$source"], source, "{body}");
    assert!(first["$message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

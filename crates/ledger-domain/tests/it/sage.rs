//! sage-sim's router in process (tower `oneshot`, no sockets): a token from its OAuth flow, JSON calls
//! with `X-Business`, and the ids of each seeded business the mapping needs.
use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use ledger_domain::mapping::{BusinessDefaults, TaxRates};
use ledger_domain::sage::{SageBody, Wrapped};
use rust_decimal::Decimal;
use sage_sim::SimConfig;
use serde_json::Value;
use tower::ServiceExt;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub struct Sage {
    app: Router,
    token: String,
}

/// One seeded business and the ids a policy would name.
pub struct Business {
    pub id: String,
    pub rates: TaxRates,
    pub defaults: BusinessDefaults,
    /// "Other Income (4900)", visible in sales: the destination-VAT account.
    pub other_income: String,
}

impl Sage {
    pub async fn start() -> Self {
        let app = sage_sim::router(sage_sim::new_state(SimConfig { auto_approve: true, ..SimConfig::default() }));
        let mut sage = Self { app, token: String::new() };
        let uri = format!(
            "/oauth2/auth/central?client_id=sage-sim&response_type=code&redirect_uri={}&state=s",
            REDIRECT.replace(':', "%3A").replace('/', "%2F")
        );
        let resp = sage.app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let code = location.split(['?', '&']).find_map(|kv| kv.strip_prefix("code=")).unwrap().to_owned();
        let form = format!(
            "client_id=sage-sim&client_secret=sage-sim-secret&grant_type=authorization_code&code={}&redirect_uri={}",
            code.replace('/', "%2F"),
            REDIRECT.replace(':', "%3A").replace('/', "%2F")
        );
        let req = Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let (status, tok) = sage.send(req).await;
        assert_eq!(status, StatusCode::OK, "{tok}");
        sage.token = tok["access_token"].as_str().unwrap().to_owned();
        sage
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub async fn call(&self, method: Method, business: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/v3.1{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json");
        if !business.is_empty() {
            req = req.header("X-Business", business);
        }
        let req = req.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).unwrap();
        self.send(req).await
    }

    pub async fn get(&self, business: &str, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, business, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// POSTs a mapped body; returns the status and Sage's answer (the record, or its errors).
    pub async fn post<T: SageBody>(&self, business: &str, path: &str, body: &T) -> (StatusCode, Value) {
        self.call(Method::POST, business, path, Some(serde_json::to_value(Wrapped(body)).unwrap())).await
    }

    /// POSTs a body Sage must accept; returns the created record.
    pub async fn create<T: SageBody>(&self, business: &str, path: &str, body: &T) -> Value {
        let (status, answer) = self.post(business, path, body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path} refused: {answer}");
        answer
    }

    /// The seeded business of `tier` (`Plus`, `Standard`, `Start`) with its rates and accounts.
    pub async fn business(&self, tier: &str) -> Business {
        let list = self.get("", "/businesses?attributes=all").await;
        let items = list["$items"].as_array().unwrap();
        let want = match tier {
            "Plus" => "Ledger Demo Plus Ltd",
            "Standard" => "Ledger Demo Standard Ltd",
            _ => "Ledger Demo Start Ltd",
        };
        let id = items.iter().find(|b| b["name"] == want).unwrap()["id"].as_str().unwrap().to_owned();
        let rates: TaxRates = self.get(&id, "/tax_rates?attributes=all&items_per_page=200").await["$items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_owned(), decimal(&r["percentage"])))
            .collect();
        let ledgers = self.get(&id, "/ledger_accounts?attributes=all&items_per_page=200").await;
        let by_code: BTreeMap<i64, String> = ledgers["$items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["nominal_code"].as_i64().unwrap(), l["id"].as_str().unwrap().to_owned()))
            .collect();
        let bank = self.get(&id, "/bank_accounts").await["$items"][0]["id"].as_str().unwrap().to_owned();
        Business {
            id,
            rates,
            defaults: BusinessDefaults {
                sales_ledger_account_id: Some(by_code[&4000].clone()),
                purchase_ledger_account_id: Some(by_code[&5000].clone()),
                bank_account_id: Some(bank),
            },
            other_income: by_code[&4900].clone(),
        }
    }
}

pub fn decimal(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.to_string().parse().unwrap(),
        _ => Decimal::ZERO,
    }
}

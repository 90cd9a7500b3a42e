//! magento-sim's seeded store on a loopback port, paired by hand, read through its canonical REST
//! surface with ledger-signed JWTs (spec 2.2), and parsed into the domain's Magento models.
use magento_sim::{RunningSim, SAGE, SimConfig};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const API_KEY: &str = "test-api-key-for-the-mapping-tests";

pub struct Store {
    sim: RunningSim,
    http: reqwest::Client,
    /// Store 1's ids and totals (`/_sim/fixtures`).
    pub fixtures: Value,
}

impl Store {
    pub async fn start() -> Self {
        let config = SimConfig { cron: false, ..SimConfig::default() };
        let sim = magento_sim::spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let store = sim.store(1).unwrap();
        let code = store.generate_pairing_code(SAGE).unwrap();
        let pair = json!({"pairing_code": code, "tenant_id": TENANT, "byte8_api_key": API_KEY,
                          "ledger_base_url": "http://127.0.0.1:9"});
        store.pair(SAGE, &pair).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let fixtures =
            http.get(format!("{}/_sim/fixtures", sim.store_url(1))).send().await.unwrap().json().await.unwrap();
        Self { sim, http, fixtures }
    }

    fn jwt(&self) -> String {
        let now = self.sim.store(1).unwrap().now().timestamp() - 1;
        let claims = json!({"iss": "byte8-ledger", "sub": TENANT, "aud": "magento", "iat": now, "nbf": now,
                            "exp": now + 60, "jti": uuid::Uuid::new_v4().to_string()});
        let key = magento_sim::jwt::derive_key(API_KEY, "byte8-magento-inbound-v1");
        magento_sim::jwt::sign_raw(&claims.to_string(), &key)
    }

    /// `GET /rest/V1/byte8/{path}` parsed as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let url = format!("{}/rest/V1/byte8/{path}", self.sim.store_url(1));
        let resp = self.http.get(url).bearer_auth(self.jwt()).send().await.unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        let body: Value = resp.json().await.unwrap();
        serde_json::from_value(body).unwrap_or_else(|e| panic!("{path} did not parse: {e}"))
    }

    /// The ids of one kind of fixture (`invoices`, `credit_memos`, `products`).
    pub fn ids(&self, kind: &str) -> Vec<u64> {
        self.fixtures[kind].as_array().unwrap().iter().map(|f| f["id"].as_u64().unwrap()).collect()
    }
}

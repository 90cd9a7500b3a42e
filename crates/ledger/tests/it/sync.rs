//! The sync engine end to end: the store's own events, drained from magento-sim's module outbox, run by
//! the worker against sage-sim over HTTP; the chips in the store flip to synced with the Sage ids, and
//! sage-sim holds exactly the records the mapping promised.
use std::time::Duration;

use ledger_domain::TenantId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::{OPERATOR_TOKEN, TestApp, TestAppOptions, eventually};

use crate::magento::{control, drain, fire, paired, sim};

pub struct World {
    pub app: TestApp,
    pub sage: sage_sim::RunningSim,
    pub store: magento_sim::RunningSim,
    pub tenant: TenantId,
    pub business: String,
}

impl World {
    /// A paired store and a Sage binding to the business of `tier` (`Plus`, `Standard`, `Start`) with the
    /// demo policy (every store payment method mapped), and the worker running the real engine.
    pub async fn start(tier: &str) -> Self {
        Self::start_with(tier, TestAppOptions::default()).await
    }

    pub async fn start_with(tier: &str, opts: TestAppOptions) -> Self {
        let mut world = Self::unconnected(opts).await;
        world.connect(tier).await;
        world
    }

    /// A paired store with no Sage connection yet; `opts` as given, with the engine's worker.
    pub async fn unconnected(opts: TestAppOptions) -> Self {
        let sage = sage_sim::spawn(
            sage_sim::SimConfig { auto_approve: true, ..Default::default() },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let app =
            TestApp::spawn_with(TestAppOptions { worker: true, sage: Some(sage.base_url()), engine: true, ..opts })
                .await;
        let store = sim().await;
        let tenant: TenantId = paired(&app, &store).await.parse().unwrap();
        Self { app, sage, store, tenant, business: String::new() }
    }

    /// Connects (or reconnects) Sage to the business of `tier` and saves the demo policy.
    pub async fn connect(&mut self, tier: &str) {
        self.business = connect(&self.app, &self.sage, self.tenant, tier).await;
        self.policy().await;
    }

    /// A control call to sage-sim.
    pub async fn sage_control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        control(&self.app.http, method, format!("{}/_sim{path}", self.sage.base_url()), body).await
    }

    /// The tenant's events as (name, state, parked_reason, attempt).
    pub async fn states(&self) -> Vec<(String, String, Option<String>, i32)> {
        sqlx::query_as(
            "SELECT event_name, state, parked_reason, attempt FROM events WHERE tenant_id = $1 ORDER BY received_at",
        )
        .bind(self.tenant)
        .fetch_all(&self.app.db.pool)
        .await
        .unwrap()
    }

    /// The demo policy, as `dev connect-sim` saves it.
    pub async fn policy(&self) -> Value {
        self.app.engine.as_ref().expect("the engine runs").save_demo_policy(self.tenant).await.expect("demo policy")
    }

    pub async fn fire(&self, action: Value) -> Value {
        fire(&self.app, &self.store, action).await
    }

    /// The module's cron run: every queued event posted to the ledger, each accepted.
    pub async fn drain(&self) {
        let posted = drain(&self.app, &self.store).await;
        assert!(posted.iter().all(|d| d["status_code"] == 202), "{posted:?}");
    }

    /// The store's chips once none is pending any more.
    pub async fn chips(&self, expected: usize) -> Vec<Value> {
        let url = format!("{}/_sim/sync-state", self.store.base_url());
        eventually("every chip leaves pending", Duration::from_secs(60), || async {
            let rows = control(&self.app.http, Method::GET, url.clone(), None).await;
            let rows = rows.as_array().cloned().unwrap_or_default();
            let settled = rows.iter().filter(|r| r["sync_status"] != "pending").count();
            (rows.len() >= expected && settled == rows.len()).then_some(rows)
        })
        .await
    }

    /// Each event's state and last error, for failure messages.
    pub async fn events(&self) -> Vec<String> {
        let rows = ledger_store::events::list_for_tenant(&self.app.db.pool, self.tenant, 100).await.unwrap();
        rows.iter()
            .map(|e| format!("{} {} {}: {:?}", e.event_name, e.magento_entity_id, e.state, e.last_error))
            .collect()
    }

    pub async fn records(&self, kind: &str) -> Vec<Value> {
        let url = format!("{}/_sim/records?business={}&type={kind}", self.sage.base_url(), self.business);
        let body = control(&self.app.http, Method::GET, url, None).await;
        body["items"].as_array().cloned().unwrap_or_default()
    }
}

impl World {
    /// Merges `patch` into the binding's saved policy (null removes a key) and saves it through the API.
    pub async fn set_policy(&self, patch: Value) -> Value {
        let url = format!("{}/api/v1/tenants/{}/sage/policy", self.app.base_url, self.tenant);
        let resp = self.app.http.get(&url).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let mut policy: Value = resp.json().await.unwrap();
        if let Some(inner) = policy.get("policy").cloned() {
            policy = inner;
        }
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                policy.as_object_mut().unwrap().remove(k);
            } else {
                policy[k] = v.clone();
            }
        }
        let resp = self.app.http.put(&url).bearer_auth(OPERATOR_TOKEN).json(&policy).send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "policy refused: {body}");
        body
    }

    /// Waits until the tenant has `n` events and none is waiting or running.
    pub async fn settled(&self, n: usize) {
        eventually("every event settles", Duration::from_secs(60), || async {
            let states = self.states().await;
            (states.len() == n && states.iter().all(|s| s.1 != "pending" && s.1 != "running")).then_some(())
        })
        .await;
    }

    /// A UK consumer of the store's fixtures (no VAT number): their Magento id.
    pub async fn uk_consumer(&self) -> u64 {
        self.fixtures().await["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["country"] == "GB" && c["vat_number"].is_null())
            .expect("a UK consumer")["id"]
            .as_u64()
            .unwrap()
    }

    /// The order of the invoice an action fired.
    pub async fn order_of(&self, fired: &Value) -> Value {
        self.fixtures().await["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == fired["invoice_id"])
            .unwrap_or_else(|| panic!("no invoice {fired}"))["order_id"]
            .clone()
    }

    /// The store's fixtures (ids, countries, VAT numbers, invoice totals).
    pub async fn fixtures(&self) -> Value {
        control(&self.app.http, Method::GET, format!("{}/_sim/fixtures", self.store.base_url()), None).await
    }

    /// sage-sim's call counts as (method, path, status, count).
    pub async fn calls(&self) -> Vec<Value> {
        let v = self.sage_control(Method::GET, "/calls", None).await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// How many calls of `method` to paths starting with `prefix` sage-sim answered with a 2xx.
    pub async fn calls_to(&self, method: &str, prefix: &str) -> u64 {
        self.calls()
            .await
            .iter()
            .filter(|c| {
                c["method"] == method
                    && c["path"].as_str().is_some_and(|p| p.starts_with(prefix))
                    && c["status"].as_u64().is_some_and(|s| (200..300).contains(&s))
            })
            .map(|c| c["count"].as_u64().unwrap_or(0))
            .sum()
    }

    /// Waits until every callback of the tenant has left the queue (the store's chips are final; a
    /// chip that already left pending may still be overwritten by a later callback of its entity).
    pub async fn delivered(&self) {
        eventually("every callback delivered", Duration::from_secs(60), || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM callbacks WHERE tenant_id = $1 AND state IN ('pending', 'delivering')",
            )
            .bind(self.tenant)
            .fetch_one(&self.app.db.pool)
            .await
            .unwrap();
            (waiting == 0).then_some(())
        })
        .await;
    }

    pub async fn duplicates(&self) -> Value {
        self.sage_control(Method::GET, "/duplicates", None).await
    }
}

/// A money string or number from either simulator as cents.
pub fn cents(v: &Value) -> i64 {
    let f = match v {
        Value::String(s) => s.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {v}")),
        other => other.as_f64().unwrap_or_else(|| panic!("not a number: {other}")),
    };
    (f * 100.0).round() as i64
}

pub fn chip<'a>(rows: &'a [Value], entity_type: &str, id: u64) -> &'a Value {
    rows.iter()
        .find(|r| r["entity_type"] == entity_type && r["magento_id"] == id)
        .unwrap_or_else(|| panic!("no {entity_type} {id} chip in {rows:?}"))
}

/// Connects Sage through the simulator's auto-approving consent and binds the business of `tier`.
async fn connect(app: &TestApp, sage: &sage_sim::RunningSim, tenant: TenantId, tier: &str) -> String {
    let base = format!("{}/api/v1/tenants/{tenant}/sage", app.base_url);
    let resp = app.http.post(format!("{base}/connect")).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let url = resp.json::<Value>().await.unwrap()["authorize_url"].as_str().unwrap().to_owned();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = browser.get(&url).send().await.unwrap();
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    let landed = browser.get(&callback).send().await.unwrap();
    assert!(landed.status().is_success(), "callback: {}", landed.status());
    let state = control(&app.http, Method::GET, format!("{}/_sim/state", sage.base_url()), None).await;
    let business = state["businesses"].as_array().unwrap().iter().find(|b| b["tier"] == tier).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let picked = app
        .http
        .put(format!("{base}/business"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({ "business_id": business }))
        .send()
        .await
        .unwrap();
    assert_eq!(picked.status(), StatusCode::OK, "{}", picked.text().await.unwrap());
    business
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_events_become_sage_records_and_the_chips_carry_their_ids() {
    let w = World::start("Plus").await;
    let open = w.fire(json!({"action": "create_invoice", "paid": false})).await;
    let paid = w.fire(json!({"action": "create_invoice", "paid": true})).await;
    let customer = w.fire(json!({"action": "save_customer"})).await;
    let product = w.fire(json!({"action": "save_product", "product_type": "virtual"})).await;
    w.drain().await;
    let rows = w.chips(4).await;

    let invoices = w.records("sales_invoices").await;
    assert_eq!(invoices.len(), 2, "one Sage invoice per Magento invoice: {invoices:#?} events {:#?}", w.events().await);
    for inv in [&open, &paid] {
        let id = inv["invoice_id"].as_u64().unwrap();
        let c = chip(&rows, "invoice", id);
        assert_eq!(c["sync_status"], "synced", "{c}");
        let sage = invoices.iter().find(|i| i["id"] == c["provider_entity_id"]).expect("the chip names the invoice");
        assert_eq!(sage["reference"], inv["increment_id"]);
        assert_eq!(c["provider_reference"], sage["invoice_number"]);
        assert_ne!(sage["status"]["id"], "DRAFT", "posted, never a draft");
    }
    let paid_sage = invoices.iter().find(|i| i["reference"] == paid["increment_id"]).unwrap();
    assert_eq!(paid_sage["status"]["id"], "PAID", "{paid_sage:#?}");
    let receipts = w.records("contact_payments").await;
    assert_eq!(receipts.len(), 1, "one receipt, though both invoice.created and invoice.paid name it: {receipts:#?}");

    let c = chip(&rows, "customer", customer["customer_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c}");
    let contacts = w.records("contacts").await;
    assert!(contacts.iter().any(|x| x["id"] == c["provider_entity_id"]), "{contacts:#?}");

    let c = chip(&rows, "product", product["product_id"].as_u64().unwrap());
    assert_eq!(c["sync_status"], "synced", "{c}");
    assert_eq!(w.records("services").await.len(), 1, "a virtual product is a Sage service");

    let duplicates = control(&w.app.http, Method::GET, format!("{}/_sim/duplicates", w.sage.base_url()), None).await;
    assert_eq!(duplicates, json!([]), "nothing was created twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn euro_and_dollar_invoices_carry_their_currency_and_rate() {
    let w = World::start("Plus").await;
    let eur = w.fire(json!({"action": "create_invoice", "guest": true, "market": "eu", "paid": true})).await;
    let usd = w.fire(json!({"action": "create_invoice", "guest": true, "market": "world", "paid": false})).await;
    w.drain().await;
    let rows = w.chips(2).await;
    let invoices = w.records("sales_invoices").await;
    let contacts = w.records("contacts").await;
    for (inv, currency) in [(&eur, "EUR"), (&usd, "USD")] {
        let c = chip(&rows, "invoice", inv["invoice_id"].as_u64().unwrap());
        assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
        let sage = invoices.iter().find(|i| i["id"] == c["provider_entity_id"]).unwrap();
        assert_eq!(sage["currency"]["id"], currency, "{sage:#?}");
        assert!(!sage["exchange_rate"].is_null(), "a foreign document carries its rate: {sage:#?}");
        let contact = contacts.iter().find(|x| x["id"] == sage["contact"]["id"]).unwrap();
        assert_eq!(contact["currency"]["id"], currency, "one contact per currency: {contact:#?}");
    }
    assert_eq!(w.records("contact_payments").await.len(), 1, "the paid euro invoice has its receipt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tier_without_multi_currency_skips_foreign_invoices() {
    let w = World::start("Standard").await;
    let eur = w.fire(json!({"action": "create_invoice", "guest": true, "market": "eu", "paid": false})).await;
    let gbp = w.fire(json!({"action": "create_invoice", "guest": true, "market": "uk", "paid": false})).await;
    w.drain().await;
    let rows = w.chips(2).await;
    let c = chip(&rows, "invoice", eur["invoice_id"].as_u64().unwrap());
    assert_eq!(
        (c["sync_status"].as_str(), c["skip_reason"].as_str()),
        (Some("skipped"), Some("tier_without_multi_currency"))
    );
    assert_eq!(chip(&rows, "invoice", gbp["invoice_id"].as_u64().unwrap())["sync_status"], "synced");
}

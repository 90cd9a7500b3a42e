//! The dashboard in a real browser (Debian's chromium, headless, driven over WebDriver by
//! chromedriver), end to end against a served app, sage-sim and magento-sim: a merchant signs up, adds
//! a store with its pairing code, connects Sage through sage-sim's consent page and picks the business,
//! sets the policy's accounts and payment method map in the editor, watches an invoice's chip flip from
//! pending to synced without a reload, opens its detail, retries a dead letter made by a Sage outage
//! from its page, names the Magento admin's origin and sees the embedded log inside that admin's frame;
//! an operator changes their one-time password and discards a dead letter from the console, which the
//! audit shows; the log is usable at phone width. Every page is saved under `target/screenshots/`.
//! Where chromium or chromedriver is missing the test says what to install and fails when
//! `REQUIRE_BROWSER_TEST=1` (set by `.ci/run`), else it is skipped with that message.
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use test_support::{TestApp, TestAppOptions, eventually};

use crate::support::web_config;

const INSTALL: &str =
    "the browser test needs Debian's chromium and chromedriver: apt-get install -y chromium chromium-driver";

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempdir::Dir,
}

mod tempdir {
    /// A directory removed on drop (the browser profile).
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(names: &[&str]) -> Option<String> {
    names.iter().find(|p| std::path::Path::new(p).exists()).map(|p| (*p).to_owned())
}

/// chromedriver and the browser, or `None` (with the reason printed) when this machine has none and
/// the test may be skipped.
async fn browser() -> Option<(Driver, Client)> {
    let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let chromium = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        assert!(std::env::var("REQUIRE_BROWSER_TEST").as_deref() != Ok("1"), "{INSTALL}");
        eprintln!("SKIPPED: {INSTALL}");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempdir::Dir(std::env::temp_dir().join(format!("ledger-chromium-{}", uuid::Uuid::new_v4())));
    let driver = Driver { child, port, _profile: profile };
    let status = format!("http://127.0.0.1:{port}/status");
    eventually("chromedriver answers", Duration::from_secs(30), || async {
        test_support::http_client().get(&status).send().await.ok().filter(|r| r.status().is_success()).map(|_| ())
    })
    .await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", format!("--user-data-dir={}", driver._profile.0.display())],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session");
    Some((driver, client))
}

async fn fill(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
}

/// The page's text; empty while a navigation has no body yet (callers poll, or assert on it after a
/// `goto`, which waits for the load).
async fn text(c: &Client) -> String {
    match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn control(method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut req = test_support::http_client().request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "control call: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_pairs_connects_and_watches_a_chip_flip_in_a_real_browser() {
    let Some((_driver, c)) = browser().await else { return };
    let sage = sage_sim::spawn(
        sage_sim::SimConfig { auto_approve: false, ..Default::default() },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        engine: true,
        sage: Some(sage.base_url()),
        extra_routes: Some(Arc::new(|state| ledger_web::router(state, web_config()))),
        // Two attempts, quickly: the test makes dead letters.
        retry: ledger_domain::RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(200),
            cap: Duration::from_millis(500),
            ..ledger_domain::RetryPolicy::events()
        },
        ..TestAppOptions::default()
    })
    .await;
    let store = magento_sim::spawn(
        magento_sim::SimConfig { cron: false, ..Default::default() },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let base = app.base_url.clone();

    // Sign up.
    c.goto(&format!("{base}/signup")).await.unwrap();
    shot(&c, "01-signup").await;
    fill(&c, "#email", "ann@shop.example").await;
    fill(&c, "#password", "a long enough password").await;
    click(&c, "form button[type=submit]").await;
    eventually("the dashboard after sign-up", Duration::from_secs(30), || async {
        c.current_url().await.ok().filter(|u| u.path() == "/dashboard").map(|_| ())
    })
    .await;
    shot(&c, "02-dashboard-empty").await;

    // Add the store with the code its admin shows.
    let code = control(reqwest::Method::POST, format!("{}/_sim/pairing-code", store.base_url()), None).await;
    fill(&c, "#pairing_code", code["pairing_code"].as_str().unwrap()).await;
    fill(&c, "#magento_base_url", &store.base_url()).await;
    shot(&c, "03-add-store").await;
    click(&c, "form[action='/dashboard/stores'] button[type=submit]").await;
    let page = eventually("the store is connected", Duration::from_secs(60), || async {
        let t = text(&c).await;
        t.contains("Your store is connected").then_some(t)
    })
    .await;
    assert!(page.contains("Connected ✓"), "{page}");
    shot(&c, "04-store-connected").await;
    let tenant = ledger_store::tenants::list(&app.db.pool).await.unwrap().remove(0).id;
    let tenant_id = ledger_domain::TenantId(tenant);

    // Connect Sage through sage-sim's consent page, then pick the business.
    c.goto(&format!("{base}/stores/{tenant}/sage")).await.unwrap();
    shot(&c, "05-sage-not-connected").await;
    click(&c, &format!("form[action='/stores/{tenant}/sage/connect'] button")).await;
    eventually("sage-sim's consent page", Duration::from_secs(30), || async {
        c.find(Locator::Css("button[value='approve']")).await.ok().map(|_| ())
    })
    .await;
    assert!(text(&c).await.contains("Allow"), "the consent page asks");
    shot(&c, "06-sage-consent").await;
    click(&c, "button[value='approve']").await;
    let sim_state = control(reqwest::Method::GET, format!("{}/_sim/state", sage.base_url()), None).await;
    let plus = sim_state["businesses"].as_array().unwrap().iter().find(|b| b["tier"] == "Plus").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually("the business picker", Duration::from_secs(30), || async {
        c.find(Locator::Css(&format!("#business-{plus}"))).await.ok().map(|_| ())
    })
    .await;
    shot(&c, "07-business-picker").await;
    click(&c, &format!("#business-{plus}")).await;
    click(&c, &format!("form[action='/stores/{tenant}/sage/business'] button[type=submit]")).await;
    eventually("connected to the business", Duration::from_secs(30), || async {
        text(&c).await.contains("Connected to").then_some(())
    })
    .await;
    shot(&c, "08-sage-connected").await;

    // The policy, set in the editor: tax, accounts, and every store payment method mapped to a Sage
    // method (the store's methods are listed on the left).
    click(&c, &format!("a[href='/stores/{tenant}/sage/policy']")).await;
    eventually("the policy editor", Duration::from_secs(30), || async {
        c.find(Locator::Css(&format!("form[action='/stores/{tenant}/sage/policy']"))).await.ok().map(|_| ())
    })
    .await;
    c.find(Locator::Css("#default_tax_rate_id")).await.unwrap().select_by_value("GB_STANDARD").await.unwrap();
    for field in ["#sales_ledger_account_id", "#bank_account_id", "#destination_vat_ledger_account_id"] {
        c.find(Locator::Css(field)).await.unwrap().select_by_index(1).await.unwrap();
    }
    let methods =
        c.find_all(Locator::Css("select[id^='payment_method_map.'][id$='.payment_method_id']")).await.unwrap();
    assert!(methods.len() >= 2, "the store's payment methods are offered: {}", methods.len());
    for m in &methods {
        m.select_by_index(1).await.unwrap();
    }
    shot(&c, "09-policy-editor").await;
    click(&c, &format!("form[action='/stores/{tenant}/sage/policy'] button[type=submit]")).await;
    eventually("the policy saved", Duration::from_secs(30), || async {
        text(&c).await.contains("The policy is saved").then_some(())
    })
    .await;
    let binding = ledger_store::bindings::sage(&app.db.pool, tenant_id).await.unwrap().unwrap();
    let mapped = binding.policy["payment_method_map"].as_object().map_or(0, |m| m.len());
    assert_eq!(mapped, methods.len(), "every method mapped: {}", binding.policy);

    // An invoice while Sage is slow: the chip shows pending, then flips in place.
    faults(&sage, json!({"business": null, "latency_ms": [2500, 2500]})).await;
    let first_invoice = invoice(&store).await;
    c.goto(&format!("{base}/stores/{tenant}/events")).await.unwrap();
    let first = c.find(Locator::Css("#event-rows .chip")).await.unwrap().text().await.unwrap();
    assert!(first == "pending" || first == "running", "the run is still going when the page loads: {first}");
    c.execute("window.__sameDocument = true; return null;", vec![]).await.unwrap();
    eventually("the chip flips to synced", Duration::from_secs(60), || async {
        let chip = c.find(Locator::Css("#event-rows .chip")).await.ok()?.text().await.ok()?;
        (chip == "synced").then_some(())
    })
    .await;
    let same = c.execute("return window.__sameDocument === true;", vec![]).await.unwrap();
    assert_eq!(same, Value::Bool(true), "the chip changed without a reload");
    shot(&c, "10-event-log").await;
    assert!(first_invoice > 0);

    // Its detail: the attempt, the Sage call, the snapshot.
    click(&c, "#event-rows a[href^='/events/']").await;
    let detail = eventually("the event detail", Duration::from_secs(30), || async {
        let t = text(&c).await;
        t.contains("sales_invoices").then_some(t)
    })
    .await;
    assert!(detail.contains("synced"), "{detail}");
    shot(&c, "11-event-detail").await;

    // Sage down: the next invoice is dead-lettered (two attempts in this test); the merchant retries it
    // from its page once Sage is back, and it syncs.
    faults(&sage, json!({"business": null, "rate_503": 1.0})).await;
    invoice(&store).await;
    let dead = dead_letter(&app, tenant_id).await;
    faults(&sage, json!({})).await;
    c.goto(&format!("{base}/events/{dead}")).await.unwrap();
    shot(&c, "12-dead-letter").await;
    click(&c, &format!("form[action='/events/{dead}/retry'] button")).await;
    eventually("the retried run syncs", Duration::from_secs(60), || async {
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM events WHERE rerun_of = $1")
            .bind(dead)
            .fetch_optional(&app.db.pool)
            .await
            .unwrap();
        (state.as_deref() == Some("synced")).then_some(())
    })
    .await;
    c.goto(&format!("{base}/stores/{tenant}/events")).await.unwrap();
    shot(&c, "13-event-log-after-retry").await;

    // The Magento admin frames the embedded log from its own origin, once the store's settings name it.
    let admin = admin_page(&base, tenant_id).await;
    c.goto(&format!("{base}/stores/{tenant}/settings")).await.unwrap();
    fill(&c, "#embed_origin", &admin).await;
    click(&c, &format!("form[action='/stores/{tenant}/settings'] button[type=submit]")).await;
    eventually("the settings saved", Duration::from_secs(30), || async {
        c.current_url().await.ok().filter(|u| u.query() == Some("saved=1")).map(|_| ())
    })
    .await;
    shot(&c, "14-store-settings").await;
    c.goto(&format!("{admin}/admin")).await.unwrap();
    c.find(Locator::Css("iframe#ledger")).await.unwrap().enter_frame().await.unwrap();
    let framed = eventually("the log inside the admin's frame", Duration::from_secs(30), || async {
        let t = text(&c).await;
        t.contains("synced").then_some(t)
    })
    .await;
    assert!(framed.contains("invoice.created"), "{framed}");
    c.enter_parent_frame().await.unwrap();
    shot(&c, "15-embed-in-admin").await;

    // An operator discards a dead letter from the console.
    faults(&sage, json!({"business": null, "rate_503": 1.0})).await;
    invoice(&store).await;
    let dead = dead_letter(&app, tenant_id).await;
    faults(&sage, json!({})).await;
    let (_, one_time) = ledger_web::accounts::create_operator(&app.db.pool, "ops@ledger.example").await.unwrap();
    c.goto(&format!("{base}/stores/{tenant}/events")).await.unwrap();
    click(&c, "form.signout button").await;
    eventually("signed out", Duration::from_secs(30), || async {
        c.current_url().await.ok().filter(|u| u.path() != format!("/stores/{tenant}/events")).map(|_| ())
    })
    .await;
    c.goto(&format!("{base}/signin")).await.unwrap();
    fill(&c, "#email", "ops@ledger.example").await;
    fill(&c, "#password", &one_time).await;
    click(&c, "form button[type=submit]").await;
    eventually("the one-time password must be changed", Duration::from_secs(30), || async {
        c.find(Locator::Css("#confirm")).await.ok().map(|_| ())
    })
    .await;
    fill(&c, "#current", &one_time).await;
    fill(&c, "#new", "the operator's own password").await;
    fill(&c, "#confirm", "the operator's own password").await;
    click(&c, "form[action='/account/password'] button[type=submit]").await;
    eventually("the password changed", Duration::from_secs(30), || async {
        c.current_url().await.ok().filter(|u| u.path() != "/account/password").map(|_| ())
    })
    .await;
    c.goto(&format!("{base}/ops")).await.unwrap();
    assert!(text(&c).await.contains("All tenants"));
    shot(&c, "16-ops-tenants").await;
    c.goto(&format!("{base}/ops/failures")).await.unwrap();
    shot(&c, "17-ops-failures").await;
    click(&c, "a[href^='/ops/failures?class=']").await;
    eventually("the group's events", Duration::from_secs(30), || async {
        c.find(Locator::Css(&format!("a[href='/events/{dead}']"))).await.ok().map(|_| ())
    })
    .await;
    shot(&c, "18-ops-failure-group").await;
    click(&c, &format!("a[href='/events/{dead}']")).await;
    fill(&c, "#reason", "duplicate of an order cancelled in the store").await;
    click(&c, &format!("form[action='/events/{dead}/discard'] button")).await;
    eventually("the dead letter is discarded", Duration::from_secs(30), || async {
        let state: String = sqlx::query_scalar("SELECT state FROM events WHERE id = $1")
            .bind(dead)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (state == "discarded").then_some(())
    })
    .await;
    c.goto(&format!("{base}/ops/audit")).await.unwrap();
    let audit = text(&c).await;
    assert!(audit.contains("ops@ledger.example") && audit.contains("discard"), "{audit}");
    shot(&c, "19-ops-audit").await;

    // Phone width: the log fits the screen (no sideways scrolling of the page).
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/stores/{tenant}/events")).await.unwrap();
    let fits =
        c.execute("return document.documentElement.scrollWidth <= window.innerWidth + 1;", vec![]).await.unwrap();
    assert_eq!(fits, Value::Bool(true), "no horizontal scroll at 390 px");
    shot(&c, "20-event-log-phone").await;
    c.close().await.unwrap();
}

/// Saves a screenshot of the page under `target/screenshots/`, to be looked at.
async fn shot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), c.screenshot().await.unwrap()).unwrap();
}

/// Replaces sage-sim's fault profile for every business (`{}` clears it).
async fn faults(sage: &sage_sim::RunningSim, profile: Value) {
    control(reqwest::Method::PUT, format!("{}/_sim/faults", sage.base_url()), Some(profile)).await;
}

/// An unpaid invoice in the store, its event posted by the module's cron; its Magento id.
async fn invoice(store: &magento_sim::RunningSim) -> u64 {
    let fired = control(
        reqwest::Method::POST,
        format!("{}/_sim/entities", store.base_url()),
        Some(json!({"action": "create_invoice", "paid": false})),
    )
    .await;
    let drained = control(reqwest::Method::POST, format!("{}/_sim/drain", store.base_url()), None).await;
    assert!(drained["sent"].as_array().unwrap().iter().all(|d| d["status_code"] == 202), "{drained}");
    fired["invoice_id"].as_u64().unwrap_or_default()
}

/// Waits for the tenant's newest event to be dead-lettered; its id.
async fn dead_letter(app: &TestApp, tenant: ledger_domain::TenantId) -> uuid::Uuid {
    eventually("the event is dead-lettered", Duration::from_secs(60), || async {
        let row: Option<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT id, state FROM events WHERE tenant_id = $1 AND rerun_of IS NULL ORDER BY received_at DESC LIMIT 1",
        )
        .bind(tenant)
        .fetch_optional(&app.db.pool)
        .await
        .unwrap();
        row.filter(|r| r.1 == "dead_lettered").map(|r| r.0)
    })
    .await
}

/// A stand-in Magento admin on its own origin whose page frames the tenant's embedded log; its origin.
async fn admin_page(base: &str, tenant: ledger_domain::TenantId) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = format!(
        "<!doctype html><title>Magento admin</title><h1>Sales › Invoices</h1>\
         <iframe id=\"ledger\" src=\"{base}/embed/{tenant}\" width=\"900\" height=\"500\"></iframe>"
    );
    let app =
        axum::Router::new().route("/admin", axum::routing::get(move || async move { axum::response::Html(page) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    origin
}

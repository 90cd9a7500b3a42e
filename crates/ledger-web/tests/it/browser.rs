//! The dashboard in a real browser (Debian's chromium, headless, driven over WebDriver by
//! chromedriver): a merchant signs up, adds a store with its pairing code, connects Sage through
//! sage-sim's consent and picks the business, opens and saves the sync policy, then watches an
//! invoice's chip in the event log flip from pending to synced without a reload; the log is usable at
//! phone width. Where chromium or chromedriver is missing the test says what to install and fails when
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

async fn text(c: &Client) -> String {
    c.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
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
        sage_sim::SimConfig { auto_approve: true, ..Default::default() },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        engine: true,
        sage: Some(sage.base_url()),
        extra_routes: Some(Arc::new(|state| ledger_web::router(state, web_config()))),
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
    fill(&c, "#email", "ann@shop.example").await;
    fill(&c, "#password", "a long enough password").await;
    click(&c, "form button[type=submit]").await;
    eventually("the dashboard after sign-up", Duration::from_secs(30), || async {
        c.current_url().await.ok().filter(|u| u.path() == "/dashboard").map(|_| ())
    })
    .await;

    // Add the store with the code its admin shows.
    let code = control(reqwest::Method::POST, format!("{}/_sim/pairing-code", store.base_url()), None).await;
    fill(&c, "#pairing_code", code["pairing_code"].as_str().unwrap()).await;
    fill(&c, "#magento_base_url", &store.base_url()).await;
    click(&c, "form[action='/dashboard/stores'] button[type=submit]").await;
    let page = eventually("the store is connected", Duration::from_secs(60), || async {
        let t = text(&c).await;
        t.contains("Your store is connected").then_some(t)
    })
    .await;
    assert!(page.contains("Connected ✓"), "{page}");
    let tenant = ledger_store::tenants::list(&app.db.pool).await.unwrap().remove(0).id;

    // Connect Sage: the consent (auto-approved by sage-sim) sends the browser back to the picker.
    c.goto(&format!("{base}/stores/{tenant}/sage")).await.unwrap();
    click(&c, &format!("form[action='/stores/{tenant}/sage/connect'] button")).await;
    let sim_state = control(reqwest::Method::GET, format!("{}/_sim/state", sage.base_url()), None).await;
    let plus = sim_state["businesses"].as_array().unwrap().iter().find(|b| b["tier"] == "Plus").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually("the business picker", Duration::from_secs(30), || async {
        c.find(Locator::Css(&format!("#business-{plus}"))).await.ok().map(|_| ())
    })
    .await;
    click(&c, &format!("#business-{plus}")).await;
    click(&c, &format!("form[action='/stores/{tenant}/sage/business'] button[type=submit]")).await;
    eventually("connected to the business", Duration::from_secs(30), || async {
        text(&c).await.contains("Connected to").then_some(())
    })
    .await;

    // The policy: the demo's mapping, then opened and saved unchanged in the editor.
    app.engine.as_ref().unwrap().save_demo_policy(tenant.to_string().parse().unwrap()).await.unwrap();
    click(&c, &format!("a[href='/stores/{tenant}/sage/policy']")).await;
    eventually("the policy editor", Duration::from_secs(30), || async {
        c.find(Locator::Css(&format!("form[action='/stores/{tenant}/sage/policy']"))).await.ok().map(|_| ())
    })
    .await;
    click(&c, &format!("form[action='/stores/{tenant}/sage/policy'] button[type=submit]")).await;
    eventually("the policy saved", Duration::from_secs(30), || async {
        text(&c).await.contains("The policy is saved").then_some(())
    })
    .await;

    // An invoice while Sage is slow: the chip shows pending, then flips in place.
    control(
        reqwest::Method::PUT,
        format!("{}/_sim/faults", sage.base_url()),
        Some(json!({"business": null, "latency_ms": [2500, 2500]})),
    )
    .await;
    control(
        reqwest::Method::POST,
        format!("{}/_sim/entities", store.base_url()),
        Some(json!({"action": "create_invoice", "paid": false})),
    )
    .await;
    let drained = control(reqwest::Method::POST, format!("{}/_sim/drain", store.base_url()), None).await;
    assert!(drained["sent"].as_array().unwrap().iter().all(|d| d["status_code"] == 202), "{drained}");
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

    // Phone width: the log fits the screen (no sideways scrolling of the page).
    c.set_window_size(390, 844).await.unwrap();
    c.refresh().await.unwrap();
    let fits =
        c.execute("return document.documentElement.scrollWidth <= window.innerWidth + 1;", vec![]).await.unwrap();
    assert_eq!(fits, Value::Bool(true), "no horizontal scroll at 390 px");
    c.close().await.unwrap();
}

//! The Sage connect flow over real HTTP against sage-sim: the consent page driven as a browser would,
//! the business pick, Sage's `error=`, single-use codes and states, expiry, disconnect (revoked at Sage)
//! and reconnect, and tenants kept apart.
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{OPERATOR_TOKEN, TestApp, TestAppOptions, TestTenant, http_client};

struct Setup {
    app: TestApp,
    sim: sage_sim::RunningSim,
    /// A browser: follows no redirects, so each hop is visible.
    browser: reqwest::Client,
}

async fn setup(auto_approve: bool) -> Setup {
    let sim =
        sage_sim::spawn(sage_sim::SimConfig { auto_approve, ..Default::default() }, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let app = TestApp::spawn_with(TestAppOptions { sage: Some(sim.base_url()), ..TestAppOptions::default() }).await;
    let _ = http_client();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Setup { app, sim, browser }
}

impl Setup {
    fn operator(&self, method: reqwest::Method, tenant: &TestTenant, path: &str) -> reqwest::RequestBuilder {
        self.app
            .http
            .request(method, format!("{}/api/v1/tenants/{}/sage{path}", self.app.base_url, tenant.id))
            .bearer_auth(OPERATOR_TOKEN)
    }

    async fn authorize_url(&self, tenant: &TestTenant) -> String {
        let resp = self.operator(reqwest::Method::POST, tenant, "/connect").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        body["authorize_url"].as_str().unwrap().to_owned()
    }

    /// Opens the authorize URL and answers the consent page with `decision`, as a browser posts the form.
    /// Returns where Sage sends the browser back (the ledger's callback with `code`/`error` and `state`).
    async fn consent(&self, authorize_url: &str, decision: &str) -> String {
        let page = self.browser.get(authorize_url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "the consent page");
        let html = page.text().await.unwrap();
        let action = attr(&html, "<form", "action").unwrap();
        let mut form: Vec<(String, String)> = hidden_inputs(&html);
        form.push(("decision".into(), decision.into()));
        let resp = self.browser.post(format!("{}{action}", self.sim.base_url())).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        resp.headers()["location"].to_str().unwrap().to_owned()
    }

    /// With `--auto-approve`: the redirect straight back.
    async fn approve(&self, authorize_url: &str) -> String {
        let resp = self.browser.get(authorize_url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        resp.headers()["location"].to_str().unwrap().to_owned()
    }

    async fn business_of_tier(&self, tier: &str) -> String {
        let state: Value = self
            .app
            .http
            .get(format!("{}/_sim/state", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = state["businesses"].as_array().unwrap().iter().find(|b| b["tier"] == tier).unwrap();
        found["id"].as_str().unwrap().to_owned()
    }

    async fn tile_binding(&self, tenant: &TestTenant) -> Value {
        let body: Value = self.app.tile(tenant).await.json().await.unwrap();
        body["binding"].clone()
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The value of attribute `name` in the first tag starting with `tag`.
fn attr(html: &str, tag: &str, name: &str) -> Option<String> {
    let start = html.find(tag)?;
    let end = start + html[start..].find('>')?;
    attr_in(&html[start..end], name)
}

fn attr_in(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let from = tag.find(&key)? + key.len();
    let to = from + tag[from..].find('"')?;
    Some(unescape(&tag[from..to]))
}

fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            tag.contains("type=\"hidden\"").then(|| Some((attr_in(tag, "name")?, attr_in(tag, "value")?)))?
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_through_the_consent_page_then_pick_a_business() {
    let s = setup(false).await;
    let t = s.app.create_tenant("shop").await;
    let authorize = s.authorize_url(&t).await;
    let url = url::Url::parse(&authorize).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["redirect_uri"], format!("{}/oauth/sage/callback", s.app.base_url));
    assert!(q["state"].len() >= 32, "an unguessable state");
    assert_eq!(s.tile_binding(&t).await["status"], "not_connected", "starting a connect binds nothing yet");

    let back = s.consent(&authorize, "approve").await;
    assert!(back.starts_with(&format!("{}/oauth/sage/callback?", s.app.base_url)), "{back}");
    let done = s.app.http.get(&back).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["status"], "connecting", "three businesses: an operator picks one: {done}");
    assert_eq!(done["businesses"].as_array().unwrap().len(), 3);

    let listed: Value = s.operator(reqwest::Method::GET, &t, "/businesses").send().await.unwrap().json().await.unwrap();
    let tiers: Vec<&str> = listed.as_array().unwrap().iter().map(|b| b["tier"].as_str().unwrap()).collect();
    assert_eq!(tiers, ["plus", "standard", "start"], "{listed}");
    assert!(listed[0]["name"].as_str().unwrap().contains("Plus"));
    assert_eq!(listed[0].as_object().unwrap().len(), 3, "id, name, tier: {listed}");

    let standard = s.business_of_tier("Standard").await;
    let picked = s
        .operator(reqwest::Method::PUT, &t, "/business")
        .json(&json!({ "business_id": standard }))
        .send()
        .await
        .unwrap();
    assert_eq!(picked.status(), StatusCode::OK);
    let picked: Value = picked.json().await.unwrap();
    assert_eq!(picked["status"], "active");
    assert_eq!(picked["business_id"], standard.as_str());
    assert_eq!(picked["tier"], "standard");
    assert_eq!(picked["base_currency"], "GBP");
    assert_eq!(s.tile_binding(&t).await, json!({"status": "active", "region": "GB"}));

    let unknown =
        s.operator(reqwest::Method::PUT, &t, "/business").json(&json!({"business_id": "nope"})).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "only an offered business can be picked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_consent_is_a_clear_message_not_a_500() {
    let s = setup(false).await;
    let t = s.app.create_tenant("shop").await;
    let back = s.consent(&s.authorize_url(&t).await, "deny").await;
    assert!(back.contains("error=access_denied"), "{back}");
    let resp = s.app.http.get(&back).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["code"], "sage_authorization_denied");
    assert!(problem["detail"].as_str().unwrap().contains("access_denied"), "{problem}");

    let back = s.consent(&s.authorize_url(&t).await, "deny").await;
    let page = s.app.http.get(&back).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.unwrap().contains("Sage was not connected"), "browsers get a page");
    assert_eq!(s.tile_binding(&t).await["status"], "not_connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_and_states_are_single_use_and_states_expire() {
    let s = setup(true).await;
    let t = s.app.create_tenant("shop").await;
    let first = s.approve(&s.authorize_url(&t).await).await;
    assert_eq!(s.app.http.get(&first).send().await.unwrap().status(), StatusCode::OK);
    let replay = s.app.http.get(&first).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::CONFLICT, "a replayed state");
    assert_eq!(replay.json::<Value>().await.unwrap()["code"], "state_used");

    // The same code again, under a fresh state: Sage refuses it.
    let code = url::Url::parse(&first).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let fresh = s.approve(&s.authorize_url(&t).await).await;
    let fresh_state =
        url::Url::parse(&fresh).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let mut reused = url::Url::parse(&format!("{}/oauth/sage/callback", s.app.base_url)).unwrap();
    reused.query_pairs_mut().append_pair("code", &code).append_pair("state", &fresh_state);
    let resp = s.app.http.get(reused.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "code_rejected");

    let late = s.approve(&s.authorize_url(&t).await).await;
    sqlx::query("UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(&s.app.db.pool)
        .await
        .unwrap();
    let resp = s.app.http.get(&late).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::GONE);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "state_expired");

    let mut forged = url::Url::parse(&format!("{}/oauth/sage/callback", s.app.base_url)).unwrap();
    forged.query_pairs_mut().append_pair("code", "GB/x").append_pair("state", "never-issued");
    assert_eq!(s.app.http.get(forged.as_str()).send().await.unwrap().status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_revokes_at_sage_and_a_reconnect_works() {
    let s = setup(true).await;
    let t = s.app.create_tenant("shop").await;
    let back = s.approve(&s.authorize_url(&t).await).await;
    assert_eq!(s.app.http.get(&back).send().await.unwrap().status(), StatusCode::OK);
    let plus = s.business_of_tier("Plus").await;
    let picked = s.operator(reqwest::Method::PUT, &t, "/business").json(&json!({"business_id": plus})).send().await;
    assert_eq!(picked.unwrap().status(), StatusCode::OK);
    let binding = ledger_store::bindings::sage(&s.app.db.pool, t.id).await.unwrap().unwrap();
    let stored = ledger_store::credentials::load(&s.app.db.pool, &s.app.keyring, binding.id).await.unwrap().unwrap();
    let refresh = secrecy::ExposeSecret::expose_secret(&stored.tokens.refresh_token).to_owned();

    let resp = s.operator(reqwest::Method::POST, &t, "/disconnect").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!((body["status"].as_str(), body["revoked_at_sage"].as_bool()), (Some("disconnected"), Some(true)));
    assert!(ledger_store::credentials::load(&s.app.db.pool, &s.app.keyring, binding.id).await.unwrap().is_none());
    assert_eq!(s.tile_binding(&t).await["status"], "disconnected");

    let refreshed = s
        .app
        .http
        .post(format!("{}/token", s.sim.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", "sage-sim"),
            ("client_secret", "sage-sim-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST, "the revoked refresh token no longer works at Sage");
    assert_eq!(refreshed.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // A later connect works again and binds the business chosen before.
    let back = s.approve(&s.authorize_url(&t).await).await;
    let again: Value = s.app.http.get(&back).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["status"], "active", "{again}");
    assert_eq!(again["business_id"], plus.as_str());
    assert_eq!(s.tile_binding(&t).await["status"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_cannot_complete_or_see_each_others_connects() {
    let s = setup(true).await;
    let a = s.app.create_tenant("a").await;
    let b = s.app.create_tenant("b").await;
    let back_a = s.approve(&s.authorize_url(&a).await).await;
    let back_b = s.approve(&s.authorize_url(&b).await).await;
    let param =
        |u: &str, k: &str| url::Url::parse(u).unwrap().query_pairs().find(|(n, _)| n == k).unwrap().1.into_owned();

    // A's code under B's state: the state binds B, the code's PKCE binds A, so Sage refuses it.
    let mut crossed = url::Url::parse(&format!("{}/oauth/sage/callback", s.app.base_url)).unwrap();
    crossed
        .query_pairs_mut()
        .append_pair("code", &param(&back_a, "code"))
        .append_pair("state", &param(&back_b, "state"));
    let resp = s.app.http.get(crossed.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.tile_binding(&b).await["status"], "not_connected", "nothing was bound to b");

    let done: Value = s.app.http.get(&back_a).send().await.unwrap().json().await.unwrap();
    assert_eq!(done["tenant_id"], a.id.to_string(), "a's state completes for a");
    assert_eq!(
        s.operator(reqwest::Method::GET, &b, "/businesses").send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "b sees none of a's businesses"
    );
    let plus = s.business_of_tier("Plus").await;
    let resp = s.operator(reqwest::Method::PUT, &b, "/business").json(&json!({"business_id": plus})).send().await;
    assert_eq!(resp.unwrap().status(), StatusCode::NOT_FOUND, "b cannot bind a's business");
    let resp = s.app.http.get(format!("{}/api/v1/tenants/{}/sage/businesses", s.app.base_url, a.id)).send().await;
    assert_eq!(resp.unwrap().status(), StatusCode::UNAUTHORIZED, "operator routes need the operator token");
}

//! Token custody: two custodies (two processes' worth of caches) sharing one database refresh 2-second
//! tokens about once per lifetime with no `invalid_grant`; a dead refresh token makes the binding
//! `reconnect_required`.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger_domain::TenantId;
use ledger_sage::{AccessTokens, OAuthClient, OAuthConfig, PkceChallenge, TokenError};
use ledger_store::credentials;
use ledger_store::{Keyring, tenants};
use ledger_sync::sage::{Custody, CustodyConfig, stored_tokens};
use sage_sim::{RunningSim, SimConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use test_support::TestDb;
use url::Url;
use uuid::Uuid;

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub struct World {
    pub db: TestDb,
    pub sim: RunningSim,
    pub keyring: Arc<Keyring>,
    pub oauth: OAuthClient,
    pub tenant: TenantId,
    pub binding: Uuid,
    pub api_key: String,
}

/// A tenant with an active binding whose first pair came from a real code exchange.
pub async fn world(token_ttl: Duration) -> World {
    let sim = sage_sim::spawn(
        SimConfig { auto_approve: true, access_token_ttl: token_ttl, ..SimConfig::default() },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let base = sim.base_url();
    let oauth = OAuthClient::new(
        OAuthConfig {
            authorize_url: Url::parse(&format!("{base}/oauth2/auth/central")).unwrap(),
            token_url: Url::parse(&format!("{base}/token")).unwrap(),
            revoke_url: Url::parse(&format!("{base}/revoke")).unwrap(),
            client_id: "sage-sim".into(),
            client_secret: SecretString::from("sage-sim-secret".to_owned()),
            redirect_uri: Url::parse("http://127.0.0.1:9/cb").unwrap(),
        },
        http(),
    );
    let (challenge, verifier) = PkceChallenge::generate();
    let resp = http().get(oauth.authorize_url("s", &challenge)).send().await.unwrap();
    let loc = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let set = oauth.exchange_code(&code, &verifier).await.unwrap();

    let db = TestDb::new().await;
    let keyring = Arc::new(Keyring::new(&BTreeMap::from([("k1".to_owned(), Keyring::generate_key())]), None).unwrap());
    let tenant = TenantId::new();
    let api_key = format!("api-key-{}", Uuid::new_v4().simple());
    tenants::create(&db.pool, &keyring, tenant, "shop", &SecretString::from(api_key.clone())).await.unwrap();
    let binding = Uuid::new_v4();
    sqlx::query("INSERT INTO bindings (id, tenant_id, provider, status) VALUES ($1, $2, 'sage_accounting', 'active')")
        .bind(binding)
        .bind(tenant.0)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    credentials::save(&mut conn, &keyring, binding, &stored_tokens(&set, chrono::Utc::now())).await.unwrap();
    World { db, sim, keyring, oauth, tenant, binding, api_key }
}

impl World {
    pub fn custody(&self) -> Arc<Custody> {
        Custody::new(self.db.pool.clone(), self.keyring.clone(), self.oauth.clone(), CustodyConfig::default())
    }

    async fn token_calls(&self, status: u64) -> u64 {
        let calls: Value =
            http().get(format!("{}/_sim/calls", self.sim.base_url())).send().await.unwrap().json().await.unwrap();
        calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["path"] == "/token" && c["status"] == status)
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    }
}

/// One authorised call, with the one refresh-and-retry a 401 earns; returns the final status.
async fn call(http: &reqwest::Client, base: &str, tokens: &dyn AccessTokens) -> u16 {
    let token = tokens.access_token().await.expect("a token");
    let get = |t: &SecretString| http.get(format!("{base}/v3.1/businesses")).bearer_auth(t.expose_secret()).send();
    let status = get(&token).await.unwrap().status().as_u16();
    if status != 401 {
        return status;
    }
    let retry = tokens.after_unauthorized(&token).await.expect("a refreshed token");
    get(&retry).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_custodies_refresh_short_tokens_about_once_per_lifetime_with_no_invalid_grant() {
    let w = world(Duration::from_secs(2)).await;
    let (a, b) = (w.custody(), w.custody());
    let base = w.sim.base_url();
    let run_for = Duration::from_secs(8);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for custody in [a.clone(), b.clone()] {
        for _ in 0..8 {
            let tokens = custody.tokens(w.tenant, w.binding);
            let (base, http) = (base.clone(), http());
            tasks.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                while started.elapsed() < run_for {
                    statuses.push(call(&http, &base, &tokens).await);
                }
                statuses
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        let statuses = t.await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "every call authorised: {statuses:?}");
        total += statuses.len();
    }
    assert_eq!(w.token_calls(400).await, 0, "no invalid_grant at the simulator");
    let refreshes = a.refreshes() + b.refreshes();
    // 2 s tokens refreshed 0.4 s early: one refresh per 1.6 s, plus a little slack; never one per call.
    let ceiling = (run_for.as_secs_f64() / 1.6).ceil() as u64 + 2;
    assert!((3..=ceiling).contains(&refreshes), "{refreshes} refreshes for {total} calls (ceiling {ceiling})");
    assert_eq!(w.token_calls(200).await, refreshes + 1, "the code exchange plus our refreshes");
}

#[tokio::test]
async fn a_refused_refresh_token_makes_the_binding_reconnect_required() {
    let w = world(Duration::from_secs(2)).await;
    let custody = w.custody();
    let tokens = custody.tokens(w.tenant, w.binding);
    tokens.access_token().await.expect("the stored token serves while fresh");
    let resp = http()
        .post(format!("{}/_sim/auth", w.sim.base_url()))
        .json(&serde_json::json!({"action": "stale_refresh"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let rejected = tokens.access_token().await.unwrap();
    let err = tokens.after_unauthorized(&rejected).await.unwrap_err();
    assert!(matches!(err, TokenError::ReconnectRequired(_)), "{err:?}");
    let status = credentials::binding_status(&w.db.pool, w.tenant, w.binding).await.unwrap();
    assert_eq!(status.as_deref(), Some("reconnect_required"));
    let again = tokens.access_token().await.unwrap_err();
    assert!(matches!(again, TokenError::ReconnectRequired(_)), "no further refresh is tried: {again:?}");
    assert_eq!(w.token_calls(400).await, 1, "exactly one refused refresh");
}

#[tokio::test]
async fn a_lapsed_subscription_suspends_the_binding() {
    let w = world(Duration::from_secs(300)).await;
    let custody = w.custody();
    custody.subscription_lapsed(w.tenant, w.binding, "No active subscription. (MSE)").await.unwrap();
    let status = credentials::binding_status(&w.db.pool, w.tenant, w.binding).await.unwrap();
    assert_eq!(status.as_deref(), Some("suspended"));
    let err = custody.tokens(w.tenant, w.binding).access_token().await.unwrap_err();
    assert!(matches!(err, TokenError::NotActive(ref s) if s == "suspended"), "{err:?}");
}

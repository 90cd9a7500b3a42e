//! The binding store and the OAuth state store against real Postgres: states are single use and expire,
//! every binding query is scoped to its tenant, and the tile reports the Sage binding.
use std::time::Duration;

use ledger_domain::TenantId;
use ledger_domain::{BindingStatus, Currency, SageBusinessId, Tier};
use ledger_store::bindings::{self, BusinessChoice};
use ledger_store::oauth_states::{self, Consumed, NewState};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use test_support::TestApp;

fn flow<'a>(tenant: TenantId, state: &'a SecretString, verifier: &'a SecretString, ttl: Duration) -> NewState<'a> {
    NewState {
        tenant,
        provider: bindings::SAGE,
        state,
        pkce_verifier: verifier,
        redirect_uri: "http://x/cb",
        ttl,
        session_hash: None,
    }
}

fn choice(id: &str, tier: Option<Tier>, active: bool) -> BusinessChoice {
    BusinessChoice {
        id: SageBusinessId::parse(id).unwrap(),
        name: format!("Business {id}"),
        tier,
        region: Some("GB".into()),
        base_currency: Some(Currency::GBP),
        subscription_active: active,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_used_once_and_expires() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let (pool, ring) = (&app.db.pool, &app.keyring);
    let verifier = SecretString::from("v".repeat(64));
    let state = SecretString::from("state-one");
    oauth_states::insert(pool, ring, &flow(t.id, &state, &verifier, oauth_states::STATE_TTL)).await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT state_hash FROM oauth_states").fetch_one(pool).await.unwrap();
    assert_ne!(stored, b"state-one".to_vec(), "the state is stored hashed");

    match oauth_states::consume(pool, ring, "state-one").await.unwrap() {
        Consumed::Valid(c) => {
            assert_eq!(c.tenant, t.id);
            assert_eq!(c.pkce_verifier.expose_secret(), verifier.expose_secret());
            assert_eq!(c.redirect_uri, "http://x/cb");
        }
        other => panic!("first use must be valid: {other:?}"),
    }
    assert!(matches!(oauth_states::consume(pool, ring, "state-one").await.unwrap(), Consumed::Used));
    assert!(matches!(oauth_states::consume(pool, ring, "never-issued").await.unwrap(), Consumed::Unknown));

    let late = SecretString::from("state-late");
    oauth_states::insert(pool, ring, &flow(t.id, &late, &verifier, Duration::from_secs(600))).await.unwrap();
    sqlx::query("UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(pool)
        .await
        .unwrap();
    assert!(matches!(oauth_states::consume(pool, ring, "state-late").await.unwrap(), Consumed::Expired));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callbacks_with_one_state_complete_once() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let verifier = SecretString::from("w".repeat(64));
    let state = SecretString::from("raced");
    oauth_states::insert(&app.db.pool, &app.keyring, &flow(t.id, &state, &verifier, oauth_states::STATE_TTL))
        .await
        .unwrap();
    let tries = (0..8).map(|_| {
        let (pool, ring) = (app.db.pool.clone(), app.keyring.clone());
        tokio::spawn(async move { oauth_states::consume(&pool, &ring, "raced").await.unwrap() })
    });
    let mut valid = 0;
    for t in tries {
        if matches!(t.await.unwrap(), Consumed::Valid(_)) {
            valid += 1;
        }
    }
    assert_eq!(valid, 1, "exactly one of eight concurrent consumers wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_queries_are_scoped_to_their_tenant() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let pool = &app.db.pool;
    let mut conn = pool.acquire().await.unwrap();
    let binding = bindings::ensure_sage(&mut conn, a.id).await.unwrap();
    assert_eq!(binding.status, BindingStatus::Connecting);
    assert_eq!(binding.policy, serde_json::json!({}));
    assert_eq!(bindings::ensure_sage(&mut conn, a.id).await.unwrap().id, binding.id, "one Sage binding per tenant");

    let list = [choice("plus1", Some(Tier::Plus), true), choice("start1", Some(Tier::Start), false)];
    bindings::replace_businesses(&mut conn, a.id, binding.id, &list).await.unwrap();
    assert!(
        bindings::replace_businesses(&mut conn, b.id, binding.id, &list).await.is_err(),
        "tenant b cannot write to a's binding"
    );
    assert_eq!(bindings::sage_businesses(pool, a.id).await.unwrap(), list.to_vec());
    assert!(bindings::sage_businesses(pool, b.id).await.unwrap().is_empty());
    assert!(bindings::get(pool, b.id, binding.id).await.unwrap().is_none());
    assert!(!bindings::set_status(pool, b.id, binding.id, BindingStatus::Suspended, None).await.unwrap());
    assert!(bindings::activate(&mut conn, b.id, binding.id, &list[0]).await.is_err());

    let active = bindings::activate(&mut conn, a.id, binding.id, &list[0]).await.unwrap();
    assert_eq!(active.status, BindingStatus::Active);
    assert_eq!(active.tier, Some(Tier::Plus));
    assert_eq!(active.business_id.as_ref().map(SageBusinessId::as_str), Some("plus1"));
    assert_eq!(active.base_currency, Some(Currency::GBP));
    assert!(active.connected_at.is_some());
    assert!(
        bindings::set_status(pool, a.id, binding.id, BindingStatus::ReconnectRequired, Some("invalid_grant"))
            .await
            .unwrap()
    );
    let now = bindings::sage(pool, a.id).await.unwrap().unwrap();
    assert_eq!((now.status, now.status_reason.as_deref()), (BindingStatus::ReconnectRequired, Some("invalid_grant")));

    bindings::mark_disconnected(&mut conn, a.id, binding.id).await.unwrap();
    let gone = bindings::sage(pool, a.id).await.unwrap().unwrap();
    assert_eq!(gone.status, BindingStatus::Disconnected);
    assert!(gone.disconnected_at.is_some());
    assert!(bindings::sage_businesses(pool, a.id).await.unwrap().is_empty(), "the offered businesses are forgotten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tile_reports_the_sage_binding() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let binding_of = |body: Value| body["binding"].clone();
    let tile = binding_of(app.tile(&t).await.json().await.unwrap());
    assert_eq!(tile, serde_json::json!({"status": "not_connected"}), "no Sage binding yet");

    let mut conn = app.db.pool.acquire().await.unwrap();
    let binding = bindings::ensure_sage(&mut conn, t.id).await.unwrap();
    assert_eq!(binding_of(app.tile(&t).await.json().await.unwrap())["status"], "connecting");
    bindings::activate(&mut conn, t.id, binding.id, &choice("plus1", Some(Tier::Plus), true)).await.unwrap();
    let tile = binding_of(app.tile(&t).await.json().await.unwrap());
    assert_eq!(tile, serde_json::json!({"status": "active", "region": "GB"}));
    bindings::set_status(&app.db.pool, t.id, binding.id, BindingStatus::ReconnectRequired, None).await.unwrap();
    assert_eq!(binding_of(app.tile(&t).await.json().await.unwrap())["status"], "reconnect_required");

    ledger_store::tenants::revoke(&app.db.pool, t.id).await.unwrap();
    app.state.forget_keys(t.id);
    assert_eq!(binding_of(app.tile(&t).await.json().await.unwrap())["status"], "revoked", "a revoked store wins");
}

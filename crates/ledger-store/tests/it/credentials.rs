//! Binding credentials on a real Postgres: sealed per value under the keyring, generations, and the
//! refresh lock that serialises refreshes and makes the second holder see the first one's pair.
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Duration as Span, Utc};
use ledger_domain::TenantId;
use ledger_store::credentials::{self, StoredTokens};
use ledger_store::{Keyring, StoreError, tenants};
use secrecy::{ExposeSecret, SecretString};
use test_support::{TestDb, eventually};
use uuid::Uuid;

fn keyring() -> Keyring {
    Keyring::new(&BTreeMap::from([("k1".to_owned(), Keyring::generate_key())]), None).unwrap()
}

fn tokens(tag: &str) -> StoredTokens {
    let now = Utc::now();
    StoredTokens {
        access_token: SecretString::from(format!("access-{tag}-{}", Uuid::new_v4())),
        access_expires_at: now + Span::seconds(300),
        refresh_token: SecretString::from(format!("refresh-{tag}-{}", Uuid::new_v4())),
        refresh_expires_at: now + Span::days(31),
        scope: Some("full_access".into()),
        requested_by_id: Some("u-1".into()),
    }
}

/// A tenant with an active Sage binding; returns the binding id.
async fn binding(db: &TestDb, keyring: &Keyring) -> Uuid {
    let tenant = TenantId::new();
    tenants::create(&db.pool, keyring, tenant, "shop", &SecretString::from("k".to_owned())).await.unwrap();
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO bindings (id, tenant_id, provider, status) VALUES ($1, $2, 'sage_accounting', 'active')")
        .bind(id)
        .bind(tenant.0)
        .execute(&db.pool)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn tokens_are_sealed_per_value_and_saving_again_bumps_the_generation() {
    let db = TestDb::new().await;
    let ring = keyring();
    let id = binding(&db, &ring).await;
    let first = tokens("a");
    let mut conn = db.pool.acquire().await.unwrap();
    assert_eq!(credentials::save(&mut conn, &ring, id, &first).await.unwrap(), 1);
    let loaded = credentials::load(&db.pool, &ring, id).await.unwrap().expect("stored");
    assert_eq!(loaded.generation, 1);
    assert_eq!(loaded.tokens.access_token.expose_secret(), first.access_token.expose_secret());
    assert_eq!(loaded.tokens.refresh_token.expose_secret(), first.refresh_token.expose_secret());
    assert_eq!(loaded.tokens.scope.as_deref(), Some("full_access"));

    let (access, refresh): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT access_token_enc, refresh_token_enc FROM binding_credentials WHERE binding_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(Keyring::key_id_of(&access), Some("k1"), "the key id is inside the ciphertext");
    let plain = first.access_token.expose_secret().as_bytes();
    assert!(!access.windows(plain.len()).any(|w| w == plain), "no plaintext in the column");
    assert!(!refresh.windows(12).any(|w| w == &first.refresh_token.expose_secret().as_bytes()[..12]));

    // The same value sealed twice differs (fresh nonce), and a new save is a new generation.
    assert_eq!(credentials::save(&mut conn, &ring, id, &first).await.unwrap(), 2);
    let again: Vec<u8> = sqlx::query_scalar("SELECT access_token_enc FROM binding_credentials WHERE binding_id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_ne!(again, access);
    assert_eq!(credentials::generation(&db.pool, id).await.unwrap(), Some(2));

    assert!(credentials::delete(&mut conn, id).await.unwrap());
    assert!(credentials::load(&db.pool, &ring, id).await.unwrap().is_none());
    assert!(!credentials::delete(&mut conn, id).await.unwrap());
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_binding_does_not_decrypt() {
    let db = TestDb::new().await;
    let ring = keyring();
    let (a, b) = (binding(&db, &ring).await, binding(&db, &ring).await);
    let mut conn = db.pool.acquire().await.unwrap();
    credentials::save(&mut conn, &ring, a, &tokens("a")).await.unwrap();
    credentials::save(&mut conn, &ring, b, &tokens("b")).await.unwrap();
    sqlx::query(
        "UPDATE binding_credentials SET access_token_enc = (SELECT access_token_enc FROM binding_credentials
          WHERE binding_id = $1) WHERE binding_id = $2",
    )
    .bind(a)
    .bind(b)
    .execute(&db.pool)
    .await
    .unwrap();
    let err = credentials::load(&db.pool, &ring, b).await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
}

#[tokio::test]
async fn the_refresh_lock_serialises_holders_and_the_second_sees_the_first_ones_pair() {
    let db = TestDb::new().await;
    let ring = std::sync::Arc::new(keyring());
    let id = binding(&db, &ring).await;
    let mut conn = db.pool.acquire().await.unwrap();
    credentials::save(&mut conn, &ring, id, &tokens("a")).await.unwrap();
    drop(conn);

    let first = credentials::lock_for_refresh(&db.pool, &ring, id, Duration::from_secs(30)).await.unwrap().unwrap();
    assert_eq!(first.current().generation, 1);
    let (pool, ring2) = (db.pool.clone(), ring.clone());
    let second = tokio::spawn(async move {
        credentials::lock_for_refresh(&pool, &ring2, id, Duration::from_secs(30)).await.unwrap().unwrap()
    });
    eventually("the second holder waits on the row lock", Duration::from_secs(10), || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        (waiting == 1).then_some(())
    })
    .await;
    assert!(!second.is_finished());
    // Plain reads are not blocked while a refresh is in flight.
    assert_eq!(credentials::load(&db.pool, &ring, id).await.unwrap().unwrap().generation, 1);

    let rotated = tokens("b");
    assert_eq!(first.commit(&ring, &rotated).await.unwrap(), 2);
    let second = second.await.unwrap();
    assert_eq!(second.current().generation, 2, "the re-read under the lock sees the committed pair");
    assert_eq!(second.current().tokens.refresh_token.expose_secret(), rotated.refresh_token.expose_secret());
    second.release().await.unwrap();
    assert_eq!(credentials::generation(&db.pool, id).await.unwrap(), Some(2), "a release writes nothing");
}

#[tokio::test]
async fn a_lock_held_past_the_wait_is_a_temporary_failure_and_a_missing_row_is_none() {
    let db = TestDb::new().await;
    let ring = keyring();
    let id = binding(&db, &ring).await;
    let mut conn = db.pool.acquire().await.unwrap();
    credentials::save(&mut conn, &ring, id, &tokens("a")).await.unwrap();
    let held = credentials::lock_for_refresh(&db.pool, &ring, id, Duration::from_secs(5)).await.unwrap().unwrap();
    let err = credentials::lock_for_refresh(&db.pool, &ring, id, Duration::from_millis(100)).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    held.release().await.unwrap();
    assert!(
        credentials::lock_for_refresh(&db.pool, &ring, Uuid::new_v4(), Duration::from_secs(1)).await.unwrap().is_none()
    );
}

#[tokio::test]
async fn idle_bindings_are_those_whose_refresh_token_nears_its_end() {
    let db = TestDb::new().await;
    let ring = keyring();
    let (fresh, idle) = (binding(&db, &ring).await, binding(&db, &ring).await);
    let mut conn = db.pool.acquire().await.unwrap();
    credentials::save(&mut conn, &ring, fresh, &tokens("f")).await.unwrap();
    let mut old = tokens("i");
    old.refresh_expires_at = Utc::now() + Span::days(3);
    credentials::save(&mut conn, &ring, idle, &old).await.unwrap();
    let due = credentials::idle_before(&db.pool, Utc::now() + Span::days(7), 10).await.unwrap();
    assert_eq!(due.into_iter().map(|(_, b)| b).collect::<Vec<_>>(), vec![idle]);
}

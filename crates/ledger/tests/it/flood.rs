//! A flood of bad tokens beside real traffic: real events keep their 202s, and however many bad tokens
//! arrive, the database sees a bounded number of key loads (tenant ids are public, in webhook URLs).
use std::sync::Arc;
use std::time::Duration;

use ledger_api::{ApiConfig, KeyCacheSettings};
use ledger_domain::TenantId;
use test_support::{TestApp, TestAppOptions, TestTenant, envelope};

const FLOOD: usize = 400;
const UNKNOWN_TENANTS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_cannot_drain_the_pool() {
    // Long intervals make the count exact whatever the machine's speed.
    let hour = Duration::from_secs(3600);
    let key_cache = KeyCacheSettings { ttl: hour, miss_ttl: hour, reload_interval: hour, ..Default::default() };
    let opts = TestAppOptions { api: ApiConfig { key_cache, ..Default::default() }, ..Default::default() };
    let app = Arc::new(TestApp::spawn_with(opts).await);
    let real = app.create_tenant("real").await;
    let victim = app.create_tenant("victim").await;
    assert_eq!(app.post_event(&real, "invoice.created", "invoice.created:1", &envelope(1)).await.status(), 202);
    let loads_before = app.state.keys.load_count();

    // Forged tokens: the victim's public id with a guessed key, and tenant ids that do not exist.
    let unknown: Vec<TestTenant> = (0..UNKNOWN_TENANTS)
        .map(|_| TestTenant { id: TenantId::new(), api_key: ledger_magento::ApiKey::generate() })
        .collect();
    let forged = |i: usize| {
        let wrong_key = TestTenant { id: victim.id, api_key: ledger_magento::ApiKey::generate() };
        if i.is_multiple_of(2) { wrong_key } else { unknown[i % UNKNOWN_TENANTS].clone() }
    };
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..FLOOD {
        let (app, t) = (app.clone(), forged(i));
        flood.spawn(async move {
            app.post_event(&t, "invoice.created", &format!("invoice.created:{i}"), &envelope(i as u64 + 1))
                .await
                .status()
                .as_u16()
        });
    }
    let mut real_traffic = tokio::task::JoinSet::new();
    for i in 2..=41u64 {
        let (app, t) = (app.clone(), real.clone());
        real_traffic.spawn(async move {
            app.post_event(&t, "invoice.created", &format!("invoice.created:{i}"), &envelope(i)).await.status().as_u16()
        });
    }
    let real_statuses = real_traffic.join_all().await;
    let flood_statuses = flood.join_all().await;

    assert!(real_statuses.iter().all(|s| *s == 202), "real events keep their 202s: {real_statuses:?}");
    assert!(flood_statuses.iter().all(|s| *s == 401 || *s == 503), "bad tokens are refused: {flood_statuses:?}");
    assert!(flood_statuses.contains(&401));
    let loads = app.state.keys.load_count() - loads_before;
    // The victim: one load and one reload after its first bad signature; each unknown id: one load.
    assert!(loads <= 2 + UNKNOWN_TENANTS as u64, "{FLOOD} bad tokens caused {loads} key loads");
    assert_eq!(app.count("events").await, 41, "only the real events were stored");
}

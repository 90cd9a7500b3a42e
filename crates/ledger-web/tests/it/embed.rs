//! `/embed/{tenant_id}`: framed only by the tenant's Magento admin origin (the setting, else the paired
//! base URL's origin), readable with the `SameSite=None` embed cookie alone (as inside a third-party
//! iframe), a new-window sign-in link for signed-out visitors, and 404 for someone else's store.
use crate::support::{Browser, ingest, owned_tenant, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_log_is_framed_only_by_the_stores_admin() {
    let app = spawn().await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let t = owned_tenant(&app, "ann's shop", ann_id).await;
    sqlx::query("UPDATE tenants SET magento_base_url = 'https://shop.example/store' WHERE id = $1")
        .bind(t.id.0)
        .execute(&app.db.pool)
        .await
        .unwrap();
    ingest(&app, &t, "invoice.created", 77).await;
    let path = format!("/embed/{}", t.id);
    let csp = |p: &crate::support::Page| p.headers["content-security-policy"].to_str().unwrap().to_owned();

    let anonymous = Browser::new(&app).get(&path).await;
    assert_eq!(anonymous.status, 200);
    assert!(csp(&anonymous).ends_with("frame-ancestors https://shop.example"), "{}", csp(&anonymous));
    assert!(anonymous.body.contains(r#"target="_blank""#) && anonymous.body.contains("Sign in to Ledger"));
    assert!(!anonymous.body.contains("000000077"), "nothing shown signed out");

    // Signing in also set the embed cookie: sent in third-party frames, so SameSite=None and Secure.
    let embed_cookie = ann.cookies.lock().unwrap().get("ledger_embed").cloned().expect("an embed cookie");
    let page = Browser::new(&app).sign_in("ann@shop.example", crate::support::PASSWORD).await;
    let set = page.set_cookies().into_iter().find(|c| c.starts_with("ledger_embed=")).unwrap();
    assert!(set.contains("SameSite=None") && set.contains("Secure") && set.contains("Path=/embed"), "{set}");

    // Inside the admin's iframe only the embed cookie arrives.
    let framed = Browser::new(&app);
    framed.cookies.lock().unwrap().insert("ledger_embed".into(), embed_cookie);
    let log = framed.get(&path).await;
    assert_eq!(log.status, 200);
    assert!(log.body.contains("000000077") && log.body.contains(r#"hx-trigger="every 2s""#), "{}", log.body);
    assert!(csp(&log).ends_with("frame-ancestors https://shop.example"));
    let rows = framed.get(&format!("{path}/rows")).await;
    assert!(rows.body.starts_with("<tbody") && rows.body.contains("000000077"));
    assert!(framed.get("/dashboard").await.status == 303, "the embed cookie is not a dashboard session");

    // The admin often lives on another host than the storefront: the per-tenant setting wins.
    // The store's owner sets it on the store settings page; a path is refused beside the field.
    let settings = format!("/stores/{}/settings", t.id);
    let form = ann.get(&settings).await;
    assert!(form.body.contains("https://shop.example"), "the default is shown: {}", form.body);
    let bad = ann.submit(&settings, &settings, &[("embed_origin", "https://admin.shop.example/admin")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains(r#"id="embed_origin-error""#), "{}", bad.body);
    let saved = ann.submit(&settings, &settings, &[("embed_origin", "https://admin.shop.example")]).await;
    assert_eq!(saved.status, 303);
    assert!(csp(&framed.get(&path).await).ends_with("frame-ancestors https://admin.shop.example"));

    let (bob, _) = Browser::merchant(&app, "bob@shop.example").await;
    assert_eq!(bob.get(&settings).await.status, 404, "another merchant cannot see the settings");
    let stolen = bob.submit("/dashboard", &settings, &[("embed_origin", "https://evil.example")]).await;
    assert_eq!(stolen.status, 404, "nor change them");
    assert!(csp(&framed.get(&path).await).ends_with("frame-ancestors https://admin.shop.example"));
    let other = bob.get(&path).await;
    assert_eq!(other.status, 404);
    assert!(!other.body.contains("000000077"));
    assert_eq!(bob.get(&format!("{path}/rows")).await.status, 404);
    assert_eq!(bob.get("/embed/00000000-0000-0000-0000-000000000000").await.status, 404);
}

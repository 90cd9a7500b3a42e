//! Connect Sage from the dashboard against sage-sim's consent page: the `state` is bound to the
//! merchant's session (a callback in another browser is refused and uses the link up), the business
//! picker, the tier shown, `reconnect required` shown loudly, disconnect after a confirmation, and
//! another merchant gets 404 on every Sage route of the store.
use std::sync::Arc;

use test_support::{TestApp, TestAppOptions};

use crate::support::{Browser, owned_tenant, web_config};

/// The value of attribute `name` in the first tag starting with `tag`.
fn attr(html: &str, tag: &str, name: &str) -> String {
    let start = html.find(tag).unwrap();
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    let key = format!("{name}=\"");
    let from = tag.find(&key).unwrap() + key.len();
    tag[from..from + tag[from..].find('"').unwrap()].replace("&amp;", "&")
}

/// Answers sage-sim's consent page like a person pressing "approve"; returns where Sage sends the
/// browser back (the ledger's callback).
pub async fn approve(sim: &sage_sim::RunningSim, authorize_url: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the consent page");
    let html = page.text().await.unwrap();
    let action = attr(&html, "<form", "action");
    let mut form: Vec<(String, String)> = html
        .split("<input")
        .skip(1)
        .filter(|rest| rest[..rest.find('>').unwrap()].contains("type=\"hidden\""))
        .map(|rest| {
            let tag = format!("<input{}>", &rest[..rest.find('>').unwrap()]);
            (attr(&tag, "<input", "name"), attr(&tag, "<input", "value"))
        })
        .collect();
    form.push(("decision".into(), "approve".into()));
    let resp = http.post(format!("{}{action}", sim.base_url())).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    resp.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_connects_sage_picks_a_business_and_disconnects() {
    let sim = sage_sim::spawn(sage_sim::SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let app = TestApp::spawn_with(TestAppOptions {
        sage: Some(sim.base_url()),
        extra_routes: Some(Arc::new(|state| ledger_web::router(state, web_config()))),
        ..TestAppOptions::default()
    })
    .await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let (bob, _) = Browser::merchant(&app, "bob@shop.example").await;
    let t = owned_tenant(&app, "ann's shop", ann_id).await;
    let page = format!("/stores/{}/sage", t.id);

    let first = ann.get(&page).await;
    assert_eq!(first.status, 200);
    assert!(first.body.contains("not connected to Sage"));
    let start = ann.submit(&page, &format!("{page}/connect"), &[]).await;
    assert_eq!(start.status, 303);
    let authorize = start.location.unwrap();
    assert!(authorize.starts_with(&sim.base_url()), "{authorize}");
    let back = approve(&sim, &authorize).await;
    assert!(back.starts_with(&app.base_url) && back.contains("/oauth/sage/callback?"), "{back}");

    // The link taken to another browser (signed in as someone else) is refused and used up.
    let stolen = bob.get(&back).await;
    assert_eq!(stolen.status, 403);
    assert!(stolen.body.contains("another browser session"), "{}", stolen.body);
    assert_eq!(ann.get(&back).await.status, 409, "the state is spent");
    assert!(ann.get(&page).await.body.contains("not connected to Sage"), "nothing was connected");

    let start = ann.submit(&page, &format!("{page}/connect"), &[]).await;
    let back = approve(&sim, &start.location.unwrap()).await;
    let done = ann.get(&back).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some(page.as_str())), "back to the store's Sage page");
    let picker = ann.get(&page).await;
    assert!(picker.body.contains("Which Sage business should this store sync to?"), "{}", picker.body);
    let plus = picker.body.split("name=\"business_id\"").skip(1).find(|input| {
        let label_end = input.find("</label>").unwrap();
        input[..label_end].contains("plus")
    });
    let plus_id = plus.map(|i| attr(i, "id=", "value")).expect("a Plus business offered");
    let picked = ann.submit(&page, &format!("{page}/business"), &[("business_id", &plus_id)]).await;
    assert_eq!(picked.status, 303, "{}", picked.body);
    let active = ann.get(&page).await;
    assert!(active.body.contains("Connected to") && active.body.contains("plus"), "{}", active.body);
    assert!(active.body.contains("Stock levels: yes") && active.body.contains("Documents in other currencies: yes"));
    let status: String = sqlx::query_scalar("SELECT status FROM bindings WHERE tenant_id = $1")
        .bind(t.id.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "active");

    // Another merchant sees none of it.
    let bobs = bob.get("/dashboard").await.csrf();
    assert_eq!(bob.get(&page).await.status, 404);
    for action in ["connect", "business", "disconnect"] {
        let form = [("csrf", bobs.as_str()), ("business_id", plus_id.as_str()), ("confirm", "yes")];
        assert_eq!(bob.post(&format!("{page}/{action}"), &form).await.status, 404, "{action}");
    }

    sqlx::query(
        "UPDATE bindings SET status = 'reconnect_required', status_reason = 'invalid_grant' WHERE tenant_id = $1",
    )
    .bind(t.id.0)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let loud = ann.get(&page).await;
    assert!(
        loud.body.contains(r#"role="alert""#)
            && loud.body.contains("Reconnect required")
            && loud.body.contains("Reconnect Sage")
    );
    assert!(ann.get("/dashboard").await.body.contains("Reconnect required"), "the dashboard says it too");

    let ask = ann.submit(&page, &format!("{page}/disconnect"), &[]).await;
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("Yes, disconnect"), "a confirmation first");
    let gone = ann.submit(&page, &format!("{page}/disconnect"), &[("confirm", "yes")]).await;
    assert_eq!(gone.status, 303);
    let status: String = sqlx::query_scalar("SELECT status FROM bindings WHERE tenant_id = $1")
        .bind(t.id.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "disconnected");
}

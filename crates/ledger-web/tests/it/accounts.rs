//! Accounts: sign-up, sign-in, sign-out with Postgres sessions and argon2id hashes; CSRF refusals;
//! throttling per account and per address; operators with one-time passwords and the role check.
use crate::support::{Browser, PASSWORD, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_in_and_out() {
    let app = spawn().await;
    let b = Browser::new(&app);
    let page = b.sign_up("ann@shop.example").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/dashboard")), "{}", page.body);
    let session = page.set_cookies().into_iter().find(|c| c.starts_with("ledger_session=")).expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"),
        "{session}"
    );
    let token = b.cookies.lock().unwrap()["ledger_session"].clone();

    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts WHERE email = 'ann@shop.example'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD), "{hash}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM web_sessions WHERE token_hash = sha256($1::bytea)")
        .bind(token.as_bytes())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "the session row is named by the token's hash, not the token");

    let dash = b.get("/dashboard").await;
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("ann@shop.example") && dash.body.contains("Add a Magento store"));
    assert!(
        dash.headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"),
        "pages cannot be framed"
    );

    let out = b.submit("/dashboard", "/signout", &[]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/signin")));
    assert!(out.set_cookies().iter().any(|c| c.starts_with("ledger_session=;") && c.contains("Max-Age=0")));
    let after = b.get("/dashboard").await;
    assert_eq!((after.status, after.location.as_deref()), (303, Some("/signin?next=%2Fdashboard")));
    // The old token is dead on the server too, not only forgotten by the browser.
    b.cookies.lock().unwrap().insert("ledger_session".into(), token);
    assert_eq!(b.get("/dashboard").await.status, 303);

    let wrong = b.sign_in("ann@shop.example", "not the password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("The email or password is not right."));
    let again = b.sign_in("ANN@shop.example", PASSWORD).await;
    assert_eq!(
        (again.status, again.location.as_deref()),
        (303, Some("/dashboard")),
        "emails compare case-insensitively"
    );
    assert_eq!(b.get("/dashboard").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sign_ups_are_refused_beside_their_field() {
    let app = spawn().await;
    let b = Browser::new(&app);
    let weak = b.submit("/signup", "/signup", &[("email", "bo@shop.example"), ("password", "short")]).await;
    assert_eq!(weak.status, 422);
    assert!(
        weak.body.contains(r#"id="password-error""#) && weak.body.contains("at least 10 characters"),
        "{}",
        weak.body
    );
    let email = b.submit("/signup", "/signup", &[("email", "not-an-email"), ("password", PASSWORD)]).await;
    assert_eq!(email.status, 422);
    assert!(email.body.contains(r#"id="email-error""#));
    assert_eq!(app.count("accounts").await, 0, "nothing written");
    assert_eq!(b.sign_up("bo@shop.example").await.status, 303);
    let taken = Browser::new(&app).sign_up("BO@shop.example").await;
    assert_eq!(taken.status, 409);
    assert!(taken.body.contains("already exists"));
    assert_eq!(app.count("accounts").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = spawn().await;
    // Sign-in without the form cookie, and with a token that is not the cookie's.
    let b = Browser::new(&app);
    let bare = b.post("/signin", &[("csrf", "x"), ("email", "a@b.example"), ("password", PASSWORD)]).await;
    assert_eq!(bare.status, 403);
    let page = b.get("/signin").await;
    assert!(!page.csrf().is_empty());
    let forged = b.post("/signup", &[("csrf", "forged"), ("email", "a@b.example"), ("password", PASSWORD)]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.count("accounts").await, 0);

    let (ann, _) = Browser::merchant(&app, "ann@shop.example").await;
    let (bob, _) = Browser::merchant(&app, "bob@shop.example").await;
    let bobs_token = bob.get("/dashboard").await.csrf();
    // A signed-in form: no token, someone else's token.
    assert_eq!(ann.post("/signout", &[]).await.status, 403);
    assert_eq!(ann.post("/signout", &[("csrf", &bobs_token)]).await.status, 403);
    let pair = ann
        .post(
            "/dashboard/stores",
            &[("csrf", &bobs_token), ("pairing_code", "ABC"), ("magento_base_url", "http://127.0.0.1:1")],
        )
        .await;
    assert_eq!(pair.status, 403);
    assert_eq!(ann.get("/dashboard").await.status, 200, "still signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_throttled_per_account_and_per_address() {
    let app = spawn().await;
    Browser::merchant(&app, "ann@shop.example").await;
    let b = Browser::new(&app);
    for _ in 0..3 {
        assert_eq!(b.sign_in("ann@shop.example", "wrong password!").await.status, 401);
    }
    let throttled = b.sign_in("ann@shop.example", PASSWORD).await;
    assert_eq!(throttled.status, 429, "even the right password waits once the account is throttled");
    assert!(throttled.body.contains("Too many failed sign-ins"));

    // Per address: failures spread over other emails add up (8 in the test config; 3 spent above).
    Browser::merchant(&app, "cy@shop.example").await;
    for i in 0..5 {
        assert_eq!(b.sign_in(&format!("nobody{i}@shop.example"), "whatever123").await.status, 401);
    }
    assert_eq!(b.sign_in("cy@shop.example", PASSWORD).await.status, 429, "this address is throttled");

    // A sign-in that succeeds forgets that account's failures.
    sqlx::query("DELETE FROM sign_in_failures WHERE email LIKE 'nobody%'").execute(&app.db.pool).await.unwrap();
    let d = Browser::new(&app);
    Browser::merchant(&app, "di@shop.example").await;
    for _ in 0..2 {
        assert_eq!(d.sign_in("di@shop.example", "wrong password!").await.status, 401);
    }
    assert_eq!(d.sign_in("di@shop.example", PASSWORD).await.status, 303);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sign_in_failures WHERE email = 'di@shop.example'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_change_their_one_time_password_and_only_they_see_the_console() {
    let app = spawn().await;
    let (_, one_time) = ledger_web::accounts::create_operator(&app.db.pool, "ops@ledger.example").await.unwrap();
    let op = Browser::new(&app);
    assert_eq!(op.sign_in("ops@ledger.example", &one_time).await.status, 303);
    for path in ["/dashboard", "/ops", "/ops/failures"] {
        let p = op.get(path).await;
        assert_eq!(
            (p.status, p.location.as_deref()),
            (303, Some("/account/password")),
            "{path} waits for a new password"
        );
    }
    let same = op
        .submit(
            "/account/password",
            "/account/password",
            &[("current", &one_time), ("new", &one_time), ("confirm", &one_time)],
        )
        .await;
    assert_eq!(same.status, 422, "the one-time password cannot be kept");
    let changed = op
        .submit(
            "/account/password",
            "/account/password",
            &[("current", &one_time), ("new", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(changed.status, 303);
    for path in ["/ops", "/ops/failures", "/ops/audit"] {
        assert_eq!(op.get(path).await.status, 200, "{path}");
    }
    let other = Browser::new(&app);
    assert_eq!(other.sign_in("ops@ledger.example", &one_time).await.status, 401, "the one-time password is spent");

    let (merchant, _) = Browser::merchant(&app, "ann@shop.example").await;
    for path in ["/ops", "/ops/failures", "/ops/audit", "/ops/failures?class=transient&code="] {
        assert_eq!(merchant.get(path).await.status, 403, "{path} is for operators");
    }
    let anonymous = Browser::new(&app);
    assert_eq!(anonymous.get("/ops").await.location.as_deref(), Some("/signin?next=%2Fops"));
}

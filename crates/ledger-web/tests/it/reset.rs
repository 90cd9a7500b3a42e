//! Password reset: the same answer whether or not the email has an account, the link through the mail
//! outbox (one message per request, marked sent), single use, an older link dead once a newer one is
//! asked for, sessions ended, and an expired link refused.
use crate::support::{Browser, PASSWORD, spawn};

async fn outbox(app: &test_support::TestApp) -> Vec<(String, String, bool)> {
    sqlx::query_as("SELECT recipient, body, sent_at IS NOT NULL FROM mail_outbox ORDER BY id")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

fn link_in(body: &str) -> String {
    let from = body.find("/password/reset?token=").expect("a reset link");
    body[from..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_works_once_and_says_nothing_about_unknown_emails() {
    let app = spawn().await;
    let (ann, _) = Browser::merchant(&app, "ann@shop.example").await;
    let b = Browser::new(&app);

    let unknown = b.submit("/password/forgot", "/password/forgot", &[("email", "nobody@shop.example")]).await;
    let known = b.submit("/password/forgot", "/password/forgot", &[("email", "ANN@shop.example")]).await;
    assert_eq!((unknown.status, known.status), (200, 200));
    assert!(unknown.body.contains("If an account exists") && known.body.contains("If an account exists"));
    let mails = outbox(&app).await;
    assert_eq!(mails.len(), 1, "one message, for the account that exists");
    assert_eq!((mails[0].0.as_str(), mails[0].2), ("ann@shop.example", true), "delivered (logged) and marked sent");
    let first = link_in(&mails[0].1);

    // Asking again kills the first link.
    b.submit("/password/forgot", "/password/forgot", &[("email", "ann@shop.example")]).await;
    let second = link_in(&outbox(&app).await[1].1);
    assert_eq!(b.get(&first).await.status, 410, "an older link stops working");
    let page = b.get(&second).await;
    assert_eq!(page.status, 200);
    let token = second.split("token=").nth(1).unwrap();

    let short = b.submit(&second, "/password/reset", &[("token", token), ("new", "short"), ("confirm", "short")]).await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains(r#"id="new-error""#));
    let new = "a brand new password";
    let done = b.submit(&second, "/password/reset", &[("token", token), ("new", new), ("confirm", new)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Your password is changed"));
    assert_eq!(ann.get("/dashboard").await.status, 303, "sessions of the account ended");
    assert_eq!(b.sign_in("ann@shop.example", PASSWORD).await.status, 401, "the old password is gone");
    assert_eq!(Browser::new(&app).sign_in("ann@shop.example", new).await.status, 303);

    // Single use.
    let again = b
        .post(
            "/password/reset",
            &[
                ("csrf", &b.get("/signin").await.csrf()),
                ("token", token),
                ("new", "yet another pass"),
                ("confirm", "yet another pass"),
            ],
        )
        .await;
    assert_eq!(again.status, 410);

    // Expired.
    b.submit("/password/forgot", "/password/forgot", &[("email", "ann@shop.example")]).await;
    let third = link_in(&outbox(&app).await[2].1);
    sqlx::query("UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(b.get(&third).await.status, 410);
}

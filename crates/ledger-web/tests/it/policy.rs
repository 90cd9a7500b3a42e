//! The sync policy editor against magento-sim and sage-sim (Plus business): the store's payment
//! methods on the left, Sage's choices in the selects, an id the business lacks refused beside its
//! field (422, nothing saved), a good policy saved and the fields the form does not own kept.
use std::sync::Arc;

use magento_sim::SimConfig;
use serde_json::Value;
use test_support::{TestApp, TestAppOptions};

use crate::sage::approve;
use crate::support::{Browser, web_config};

/// The first non-empty option value of the select named `name`.
fn first_option(html: &str, name: &str) -> String {
    let start = html.find(&format!(r#"<select id="{name}" name="{name}""#)).unwrap_or_else(|| panic!("select {name}"));
    let select = &html[start..start + html[start..].find("</select>").unwrap()];
    select.split(r#"<option value=""#).skip(2).map(|o| o[..o.find('"').unwrap()].to_owned()).next().expect("an option")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_form_offers_sage_choices_and_refuses_unknown_ids_beside_the_field() {
    let sage = sage_sim::spawn(sage_sim::SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let store = magento_sim::spawn(SimConfig { cron: false, ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let app = TestApp::spawn_with(TestAppOptions {
        sage: Some(sage.base_url()),
        engine: true,
        extra_routes: Some(Arc::new(|state| ledger_web::router(state, web_config()))),
        ..TestAppOptions::default()
    })
    .await;
    let (ann, ann_id) = Browser::merchant(&app, "ann@shop.example").await;
    let code: Value = reqwest::Client::new()
        .post(format!("{}/_sim/pairing-code", store.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = code["pairing_code"].as_str().unwrap();
    let paired = ann
        .submit("/dashboard", "/dashboard/stores", &[("pairing_code", code), ("magento_base_url", &store.base_url())])
        .await;
    assert_eq!(paired.status, 200, "{}", paired.body);
    let tenant = ledger_store::tenants::list_for_merchant(&app.db.pool, ann_id).await.unwrap()[0].id;
    let sage_page = format!("/stores/{tenant}/sage");
    let policy_page = format!("{sage_page}/policy");
    assert!(
        ann.get(&policy_page).await.body.contains("the tenant has no Sage binding"),
        "no policy before Sage is bound"
    );

    let start = ann.submit(&sage_page, &format!("{sage_page}/connect"), &[]).await;
    let back = approve(&sage, &start.location.unwrap()).await;
    assert_eq!(ann.get(&back).await.status, 303);
    let picker = ann.get(&sage_page).await.body;
    let plus = picker
        .split(r#"name="business_id""#)
        .skip(1)
        .find(|i| i[..i.find("</label>").unwrap()].contains("plus"))
        .map(|i| {
            let from = i.find(r#"value=""#).unwrap() + 7;
            i[from..from + i[from..].find('"').unwrap()].to_owned()
        })
        .unwrap();
    assert_eq!(ann.submit(&sage_page, &format!("{sage_page}/business"), &[("business_id", &plus)]).await.status, 303);
    ledger_store::bindings::sage(&app.db.pool, ledger_domain::TenantId(tenant)).await.unwrap().unwrap();
    sqlx::query("UPDATE bindings SET policy = '{\"home_country\": \"GB\"}' WHERE tenant_id = $1")
        .bind(tenant)
        .execute(&app.db.pool)
        .await
        .unwrap();

    let form = ann.get(&policy_page).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let method = {
        let from = form.body.find(r#"name="payment_method_map."#).expect("the store's payment methods are listed") + 25;
        form.body[from..from + form.body[from..].find(".payment_method_id\"").unwrap()].to_owned()
    };
    assert!(form.body.contains(r#"name="home_country" value="GB""#), "the stored home country is shown: {}", form.body);
    let pm_field = format!("payment_method_map.{method}.payment_method_id");
    let sage_method = first_option(&form.body, &pm_field);
    let bank = first_option(&form.body, "bank_account_id");
    let tax = first_option(&form.body, "default_tax_rate_id");

    let refused = ann
        .submit(
            &policy_page,
            &policy_page,
            &[("bank_account_id", &bank), (&pm_field, "NOT-A-SAGE-METHOD"), ("default_tax_rate_id", &tax)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let error_id = format!("{}-error", pm_field.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    assert!(
        refused.body.contains(&format!(r#"id="{error_id}""#)),
        "the message sits beside the field: {}",
        refused.body
    );
    assert!(refused.body.contains("NOT-A-SAGE-METHOD"), "what was chosen is shown again");
    let stored: Value = sqlx::query_scalar("SELECT policy FROM bindings WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, serde_json::json!({"home_country": "GB"}), "nothing saved");

    let added = ann
        .submit(&policy_page, &policy_page, &[("bank_account_id", &bank), ("new_method_code", "typed_by_hand")])
        .await;
    assert_eq!(added.status, 200);
    assert!(
        added.body.contains(r#"name="payment_method_map.typed_by_hand.payment_method_id""#),
        "a row for the typed code"
    );

    let saved = ann
        .submit(
            &policy_page,
            &policy_page,
            &[
                ("bank_account_id", &bank),
                (&pm_field, &sage_method),
                ("default_tax_rate_id", &tax),
                ("b2c.enabled", "true"),
                ("home_country", "GB"),
            ],
        )
        .await;
    assert_eq!(
        (saved.status, saved.location.as_deref()),
        (303, Some(format!("{policy_page}?saved=1").as_str())),
        "{}",
        saved.body
    );
    let stored: Value = sqlx::query_scalar("SELECT policy FROM bindings WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored["payment_method_map"][&method]["payment_method_id"], sage_method.as_str());
    assert_eq!(
        (stored["bank_account_id"].as_str(), stored["default_tax_rate_id"].as_str()),
        (Some(bank.as_str()), Some(tax.as_str()))
    );
    assert_eq!(stored["b2c"]["enabled"], true);
    assert_eq!(stored["home_country"], "GB", "the home country round-trips");
    let again = ann.get(&format!("{policy_page}?saved=1")).await;
    assert!(again.body.contains("The policy is saved"));
    assert!(
        again.body.contains(&format!(r#"<option value="{sage_method}" selected>"#)),
        "the saved choice is selected"
    );

    // Tax routing, refunds and the store/website filters.
    let bad = ann.submit(&policy_page, &policy_page, &[("bank_account_id", &bank), ("website_ids", "1, two")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains(r#"id="website-ids-error""#) && bad.body.contains("1, two"), "{}", bad.body);
    let more = ann
        .submit(
            &policy_page,
            &policy_page,
            &[
                ("bank_account_id", &bank),
                (&pm_field, &sage_method),
                ("new_tax_key", "class:2"),
                ("new_tax_rate_id", &tax),
                ("refund_mode", "credit_note_only"),
                ("order_refunds", "skip"),
                ("store_ids", "1, 2"),
                ("website_ids", "1"),
            ],
        )
        .await;
    assert_eq!(more.status, 303, "{}", more.body);
    let stored: Value = sqlx::query_scalar("SELECT policy FROM bindings WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored["tax_rate_map"], serde_json::json!({"class:2": tax}));
    assert_eq!(
        (stored["refund_mode"].as_str(), stored["order_refunds"].as_str()),
        (Some("credit_note_only"), Some("skip"))
    );
    assert_eq!(
        (stored["store_ids"].clone(), stored["website_ids"].clone()),
        (serde_json::json!([1, 2]), serde_json::json!([1]))
    );
    let shown = ann.get(&policy_page).await;
    assert!(
        shown.body.contains(r#"name="tax_rate_map.class:2""#) && shown.body.contains(r#"value="1, 2""#),
        "{}",
        shown.body
    );
    // Emptying the row's rate removes the entry.
    let removed = ann
        .submit(
            &policy_page,
            &policy_page,
            &[("bank_account_id", &bank), (&pm_field, &sage_method), ("tax_rate_map.class:2", "")],
        )
        .await;
    assert_eq!(removed.status, 303);
    let stored: Value = sqlx::query_scalar("SELECT policy FROM bindings WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(stored.get("tax_rate_map").is_none() && stored.get("store_ids").is_none(), "{stored}");

    // The rate overrides, the home country and the contact reference prefix.
    let shown = ann.get(&policy_page).await.body;
    let (zero, no_tax) = (first_option(&shown, "zero_tax_rate_id"), first_option(&shown, "no_tax_rate_id"));
    let base = [("bank_account_id", bank.as_str()), (pm_field.as_str(), sage_method.as_str())];
    let bad = ann
        .submit(
            &policy_page,
            &policy_page,
            &[&base[..], &[("home_country", "gbr"), ("contact_reference_prefix", "ab-cd")]].concat(),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    for (id, message) in [
        ("home-country-error", "ISO 3166 alpha-2"),
        ("contact-reference-prefix-error", "1 to 3 upper-case letters or digits"),
    ] {
        let at =
            bad.body.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("{id} beside its field: {}", bad.body));
        assert!(bad.body[at..at + 200].contains(message), "{id} says {message}");
    }
    assert!(bad.body.contains(r#"value="ab-cd""#), "what was typed is shown again");
    let unchanged: Value = sqlx::query_scalar("SELECT policy FROM bindings WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(unchanged, stored, "nothing saved");
    let good = ann
        .submit(
            &policy_page,
            &policy_page,
            &[
                &base[..],
                &[
                    ("home_country", "IE"),
                    ("contact_reference_prefix", "M1"),
                    ("zero_tax_rate_id", &zero),
                    ("no_tax_rate_id", &no_tax),
                ],
            ]
            .concat(),
        )
        .await;
    assert_eq!(good.status, 303, "{}", good.body);
    let stored: Value = sqlx::query_scalar("SELECT policy FROM bindings WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        (
            &stored["home_country"],
            &stored["contact_reference_prefix"],
            &stored["zero_tax_rate_id"],
            &stored["no_tax_rate_id"]
        ),
        (&Value::from("IE"), &Value::from("M1"), &Value::from(zero.as_str()), &Value::from(no_tax.as_str()))
    );
    let shown = ann.get(&policy_page).await.body;
    assert!(
        shown.contains(r#"name="home_country" value="IE""#)
            && shown.contains(r#"name="contact_reference_prefix" value="M1""#),
        "{shown}"
    );
    assert!(shown.contains(&format!(r#"<option value="{zero}" selected>"#)), "the saved override is selected");
    // Emptied, they are removed again (the defaults apply).
    let cleared = ann.submit(&policy_page, &policy_page, &base).await;
    assert_eq!(cleared.status, 303);
    let stored: Value = sqlx::query_scalar("SELECT policy FROM bindings WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    for key in ["home_country", "contact_reference_prefix", "zero_tax_rate_id", "no_tax_rate_id"] {
        assert!(stored.get(key).is_none(), "{key} removed: {stored}");
    }
}

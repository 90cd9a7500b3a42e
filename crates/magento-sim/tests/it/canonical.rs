//! Canonical GETs over the seeded store: shapes, null omission, number format, line math, minimums.

use std::collections::BTreeSet;

use magento_sim::{PaymentMethodsShape, PingShape, SimConfig};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::support::*;

fn is_iso_z(s: &str) -> bool {
    s.len() == 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// No number in the raw body is written as an integral float (`100.0`).
fn no_integral_floats(raw: &str) -> bool {
    let b = raw.as_bytes();
    !(0..b.len().saturating_sub(2)).any(|i| {
        b[i].is_ascii_digit() && b[i + 1] == b'.' && {
            let mut j = i + 2;
            while j < b.len() && b[j] == b'0' {
                j += 1;
            }
            j > i + 2 && j < b.len() && matches!(b[j], b',' | b'}' | b']')
        }
    })
}

fn check_lines(lines: &[Value]) {
    for l in lines {
        let sub = dec(&l["line_subtotal"]);
        let tax = dec(&l["line_tax"]);
        assert!(l.get("tax_class").is_none());
        if tax.is_zero() {
            assert!(l.get("tax_rate").is_none(), "tax_rate omitted when tax is 0: {l}");
        } else {
            assert_eq!(dec(&l["tax_rate"]), (tax / sub).round_dp(4));
        }
        // line_total = row total + tax − discount, so the discount is never negative.
        assert!(sub + tax - dec(&l["line_total"]) >= Decimal::ZERO, "{l}");
        assert_eq!(dec(&l["qty"]) * dec(&l["unit_price"]), sub);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_store_meets_the_minimums_with_consistent_math() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, "http://127.0.0.1:9").await;
    let fx = sim_get(&c, &format!("{base}/_sim/fixtures")).await;
    let rest = format!("{base}/rest/V1/byte8");

    let mut types = BTreeSet::new();
    let mut managed = 0;
    for p in fx["products"].as_array().expect("products") {
        let (s, v, raw) = get(&c, &format!("{rest}/product/{}", p["id"]), &token()).await;
        assert_eq!(s, 200);
        assert!(no_integral_floats(&raw), "{raw}");
        types.insert(v["product_type"].as_str().expect("type").to_owned());
        if v["manage_stock"] == true {
            managed += 1;
            assert!(v["stock_qty"].is_number());
        } else {
            assert!(v.get("stock_qty").is_none(), "null stock_qty omitted");
        }
        assert!(v["tax_class"].is_string());
    }
    assert_eq!(types.len(), 5, "simple, virtual, downloadable, configurable, bundle: {types:?}");
    assert!(managed > 0);

    let customers = fx["customers"].as_array().expect("customers");
    let countries: BTreeSet<&str> = customers.iter().filter_map(|k| k["country"].as_str()).collect();
    assert!(countries.contains("GB"));
    assert!(countries.iter().any(|k| ["DE", "FR", "IE", "NL"].contains(k)), "an EU customer");
    assert!(countries.iter().any(|k| ["US", "AU", "CH"].contains(k)), "a customer outside UK/EU");
    assert!(customers.iter().filter(|k| k["company"].is_string() && k["vat_number"].is_string()).count() >= 2);
    let (s, contact, _) = get(&c, &format!("{rest}/customer/{}", customers[0]["id"]), &token()).await;
    assert_eq!(s, 200);
    assert!(is_iso_z(contact["created_at"].as_str().expect("created_at")));

    let mut currencies = BTreeSet::new();
    let mut states = BTreeSet::new();
    let (mut guests, mut taxed, mut shipped, mut discounted, mut unshipped) = (0, 0, 0, 0, 0);
    for inv in fx["invoices"].as_array().expect("invoices") {
        let (s, v, raw) = get(&c, &format!("{rest}/invoice/{}", inv["id"]), &token()).await;
        assert_eq!(s, 200);
        assert!(no_integral_floats(&raw), "{raw}");
        assert!(is_iso_z(v["created_at"].as_str().expect("created_at")));
        let cur = v["currency"].as_str().expect("currency").to_owned();
        let rate = dec(&v["base_to_order_rate"]);
        if cur == "GBP" {
            assert!(raw.contains("\"base_to_order_rate\":1"), "GBP rate prints as 1");
        } else {
            assert!(rate > Decimal::ONE);
        }
        currencies.insert(cur);
        states.insert(v["state"].as_str().expect("state").to_owned());
        let lines = v["lines"].as_array().expect("lines");
        check_lines(lines);
        let sum = |k: &str| lines.iter().map(|l| dec(&l[k])).sum::<Decimal>();
        assert_eq!(dec(&v["subtotal"]), sum("line_subtotal"));
        assert_eq!(dec(&v["tax_amount"]), sum("line_tax"));
        let (sub, tax, ship, ship_tax, disc) = (
            dec(&v["subtotal"]),
            dec(&v["tax_amount"]),
            dec(&v["shipping_amount"]),
            dec(&v["shipping_tax_amount"]),
            dec(&v["discount_amount"]),
        );
        assert_eq!(dec(&v["grand_total"]), sub + tax + ship + ship_tax - disc, "{raw}");
        assert_eq!(sum("line_total"), sub + tax - disc);
        if v["customer"]["magento_id"] == 0 {
            guests += 1;
            assert_eq!(v["customer"]["website_id"], 0);
            assert!(v["customer"].get("group_id").is_none());
        }
        taxed += usize::from(tax > Decimal::ZERO);
        shipped += usize::from(ship > Decimal::ZERO);
        discounted += usize::from(disc > Decimal::ZERO);
        if v.get("shipping_address").is_none() {
            unshipped += 1;
            assert!(ship.is_zero());
        }
        let (s, pay, _) = get(&c, &format!("{rest}/payment/{}", inv["id"]), &token()).await;
        assert_eq!(s, 200);
        assert_eq!(dec(&pay["amount"]), dec(&v["grand_total"]));
        assert_eq!(pay["invoice_id"], v["magento_id"]);
    }
    assert_eq!(currencies.len(), 3, "GBP, EUR, USD: {currencies:?}");
    assert!(states.contains("open") && states.contains("paid"), "{states:?}");
    assert!(
        guests > 0 && taxed > 0 && shipped > 0 && discounted > 0 && unshipped > 0,
        "guests {guests} taxed {taxed} shipped {shipped} discounted {discounted} unshipped {unshipped}"
    );

    let (mut with_invoice, mut order_level) = (0, 0);
    for cm in fx["credit_memos"].as_array().expect("credit memos") {
        let (s, v, raw) = get(&c, &format!("{rest}/creditmemo/{}", cm["id"]), &token()).await;
        assert_eq!(s, 200);
        assert!(no_integral_floats(&raw));
        for absent in ["store_id", "order_id", "subtotal", "tax_amount", "discount_amount"] {
            assert!(v.get(absent).is_none(), "credit memo has no {absent}");
        }
        check_lines(v["lines"].as_array().expect("lines"));
        if v.get("invoice_id").is_some() {
            with_invoice += 1;
            assert!(v["invoice_increment_id"].is_string() && v["invoice_created_at"].is_string());
        } else {
            order_level += 1;
            assert!(v.get("invoice_increment_id").is_none());
        }
        let lines: Decimal = v["lines"].as_array().expect("lines").iter().map(|l| dec(&l["line_total"])).sum();
        assert_eq!(
            dec(&v["grand_total"]),
            lines + dec(&v["shipping_amount"]) + dec(&v["shipping_tax_amount"]) + dec(&v["adjustment_positive"])
                - dec(&v["adjustment_negative"])
        );
    }
    assert!(with_invoice > 0 && order_level > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404_and_shapes_follow_settings() {
    let sim = start(cfg()).await;
    let c = client();
    let base = sim.base_url();
    pair(&c, &base, "http://127.0.0.1:9").await;
    let rest = format!("{base}/rest/V1/byte8");
    for kind in ["invoice", "creditmemo", "customer", "payment", "product"] {
        let (s, v, _) = get(&c, &format!("{rest}/{kind}/999999"), &token()).await;
        assert_eq!(s, 404, "{kind}");
        assert!(v["message"].is_string());
    }
    let (_, ping, _) = get(&c, &format!("{rest}/ping"), &token()).await;
    assert_eq!(ping["ok"], true);
    assert!(ping["server_time"].as_str().is_some_and(|t| t.ends_with("+00:00")));
    let (_, methods, _) = get(&c, &format!("{rest}/payment-methods"), &token()).await;
    assert!(methods.as_array().is_some_and(|m| m.iter().all(|x| x["code"].is_string())));

    let list =
        start(SimConfig { ping_shape: PingShape::List, payment_methods_shape: PaymentMethodsShape::Lists, ..cfg() })
            .await;
    pair(&c, &list.base_url(), "http://127.0.0.1:9").await;
    let (_, ping, _) = get(&c, &format!("{}/rest/V1/byte8/ping", list.base_url()), &token()).await;
    assert_eq!(ping[0], true);
    assert_eq!(ping[1], TENANT);
    let (_, methods, _) = get(&c, &format!("{}/rest/V1/byte8/payment-methods", list.base_url()), &token()).await;
    assert!(methods[0].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_store_different_seed_different_store() {
    let c = client();
    let a = start(cfg()).await;
    let b = start(cfg()).await;
    let other = start(SimConfig { seed: 2, ..cfg() }).await;
    let fa = sim_get(&c, &format!("{}/_sim/fixtures", a.base_url())).await;
    let fb = sim_get(&c, &format!("{}/_sim/fixtures", b.base_url())).await;
    let fo = sim_get(&c, &format!("{}/_sim/fixtures", other.base_url())).await;
    assert_eq!(fa, fb);
    assert_ne!(fa, fo);
}

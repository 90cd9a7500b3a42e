//! Contact references and bodies.
use rust_decimal_macros::dec;

use super::*;
use crate::mapping::tests::{customer, policy};

fn cur(s: &str) -> Currency {
    Currency::parse(s).unwrap()
}

#[test]
fn references_by_id_and_currency() {
    let gbp = cur("GBP");
    let c = customer(42, "GB");
    assert_eq!(contact_reference(None, &c, &gbp, &gbp).unwrap(), "C16");
    assert_eq!(contact_reference(None, &c, &cur("EUR"), &gbp).unwrap(), "FEUR16");
    assert_eq!(contact_reference(Some("AB"), &c, &cur("EUR"), &gbp).unwrap(), "ABFEUR16");
    assert_eq!(b2c_reference(None, &cur("EUR")), "B2CEUR");
    assert_eq!(b2c_reference(Some("X1"), &cur("EUR")), "X1B2CEUR");
}

#[test]
fn ids_that_do_not_fit_refuse_rather_than_collide() {
    let gbp = cur("GBP");
    let big = customer(36_i64.pow(6), "GB"); // base36 "1000000": 7 characters
    assert_eq!(contact_reference(None, &big, &gbp, &gbp).unwrap(), "C1000000");
    assert!(contact_reference(None, &big, &cur("EUR"), &gbp).is_err(), "F + EUR + 7 = 11 characters");
    let max = customer(36_i64.pow(6) - 1, "GB");
    assert_eq!(contact_reference(None, &max, &cur("EUR"), &gbp).unwrap(), "FEURZZZZZZ");
}

#[test]
fn guests_are_referenced_by_email_per_currency() {
    let gbp = cur("GBP");
    let mut g = customer(1, "GB");
    g.magento_id = None;
    g.email = "Guest@Example.com ".into();
    let r = contact_reference(None, &g, &gbp, &gbp).unwrap();
    assert!(r.starts_with('G') && r.len() == 10, "{r}");
    g.email = "guest@example.com".into();
    assert_eq!(contact_reference(None, &g, &gbp, &gbp).unwrap(), r, "e-mail case and spaces do not matter");
    assert_ne!(contact_reference(None, &g, &cur("EUR"), &gbp).unwrap(), r);
    let prefixed = contact_reference(Some("ABC"), &g, &gbp, &gbp).unwrap();
    assert!(prefixed.starts_with("ABCG") && prefixed.len() == 10, "{prefixed}");
    g.email = " ".into();
    assert!(contact_reference(None, &g, &gbp, &gbp).is_err());
}

#[test]
fn b2c_applies_to_guests_under_the_threshold() {
    let mut p = policy();
    let mut g = customer(1, "GB");
    g.magento_id = None;
    assert!(!uses_b2c(&p, &g, dec!(10)), "off by default");
    p.b2c.enabled = true;
    assert!(uses_b2c(&p, &g, dec!(10_000)), "no threshold: every guest order");
    p.b2c.threshold = Some(dec!(100));
    assert!(uses_b2c(&p, &g, dec!(99.99)));
    assert!(!uses_b2c(&p, &g, dec!(100)));
    assert!(!uses_b2c(&p, &customer(1, "GB"), dec!(1)), "never a registered customer");
}

#[test]
fn contact_bodies_are_customers_with_limits_applied() {
    let gbp = cur("GBP");
    let mut c = customer(42, "GB");
    c.company = Some("Analytical Engines Ltd".into());
    c.addresses[0].postcode = Some("SW1A 1AA EXTRA".into());
    c.addresses[0].street = vec!["x".repeat(60)];
    let body = post_contact(&c, "C16", &gbp, &gbp);
    assert_eq!(body.contact_type_ids, ["CUSTOMER"]);
    assert_eq!(body.name, "Analytical Engines Ltd");
    assert_eq!(body.reference.as_deref(), Some("C16"));
    assert_eq!(body.currency_id, None, "base currency is Sage's default");
    let main = body.main_address.as_ref().unwrap();
    assert_eq!(main.postal_code.as_deref(), Some("SW1A 1AA E"));
    assert_eq!(main.address_line_1.as_ref().map(|s| s.len()), Some(50));
    assert_eq!(main.country_id.as_deref(), Some("GB"));
    let person = body.main_contact_person.as_ref().unwrap();
    assert_eq!((person.name.as_deref(), person.email.as_deref()), (Some("Ada Lovelace"), Some("c42@example.com")));
    assert_eq!(post_contact(&c, "FEUR16", &cur("EUR"), &gbp).currency_id.as_deref(), Some("EUR"));
    assert_eq!(put_contact(&c, "C16", &gbp, &gbp), body);
    let b2c = b2c_contact("B2CEUR", &cur("EUR"), &gbp);
    assert_eq!((b2c.name.as_str(), b2c.currency_id.as_deref()), ("Web sales (EUR)", Some("EUR")));
}

#[test]
fn customers_outside_the_synced_websites_are_skipped() {
    let mut p = policy();
    let c = customer(42, "GB");
    assert_eq!(contact_scope(&c, &p), Ok(()));
    p.website_ids = Some(vec![2]);
    assert_eq!(contact_scope(&c, &p), Err(SkipReason::StoreNotSynced));
    let mut guest = c.clone();
    guest.magento_id = None;
    guest.website_id = 0;
    assert_eq!(contact_scope(&guest, &p), Ok(()), "guests come with their documents");
}

#[test]
fn the_fingerprint_follows_what_sage_would_hold() {
    let gbp = cur("GBP");
    let c = customer(42, "GB");
    let body = put_contact(&c, "C16", &gbp, &gbp);
    let print = contact_fingerprint(&body);
    assert_eq!(print.len(), 64, "{print}");
    let mut with_id = post_contact(&c, "C16", &gbp, &gbp);
    with_id.idempotency_id = Some(crate::sage::IdempotencyId::derive("contact:42:GBP"));
    assert_eq!(contact_fingerprint(&with_id), print, "the idempotency id is not part of the contact");
    let mut moved = c.clone();
    moved.addresses[0].street = vec!["2 New Street".into()];
    assert_ne!(contact_fingerprint(&put_contact(&moved, "C16", &gbp, &gbp)), print, "a new street");
    let mut renamed = c.clone();
    renamed.last_name = Some("King".into());
    assert_ne!(contact_fingerprint(&put_contact(&renamed, "C16", &gbp, &gbp)), print, "a new last name");
    let mut touched = c;
    touched.updated_at = Some(chrono::Utc::now());
    assert_eq!(contact_fingerprint(&put_contact(&touched, "C16", &gbp, &gbp)), print, "a save without changes");
}

//! Property tests: over generated Magento documents (the store's own line arithmetic), Sage's totals
//! equal what the customer paid, every line passes Sage's tax check and the schema, rounding is half
//! away from zero, references are short, stable and distinct, and settlements add up.
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::conformance::violations;
use super::*;
use crate::policy::RefundMode;

/// Where the customer is: its country and the rates the store charges there.
fn market() -> impl Strategy<Value = (&'static str, &'static str, Vec<Decimal>)> {
    prop_oneof![
        Just(("GB", "GBP", vec![Decimal::ZERO, Decimal::new(5, 2), Decimal::new(20, 2)])),
        Just(("DE", "EUR", vec![Decimal::ZERO, Decimal::new(19, 2)])),
        Just(("FR", "EUR", vec![Decimal::new(20, 2), Decimal::new(55, 3)])),
        Just(("US", "USD", vec![Decimal::ZERO])),
    ]
}

/// An invoice of 1–4 lines, a 10 % discount on some orders, shipping or none.
fn any_invoice() -> impl Strategy<Value = Invoice> {
    market().prop_flat_map(|(country, currency, rates)| {
        let n = rates.len();
        let one = (1u32..=5, 1i64..=50_000, 0..n);
        (prop::collection::vec(one, 1..=4), any::<bool>(), 0i64..=2_000, 0..n, Just((country, currency, rates)))
            .prop_map(|(lines, discounted, shipping, ship_rate, (country, currency, rates))| {
                let pct = if discounted { Decimal::new(10, 2) } else { Decimal::ZERO };
                let lines = lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, (qty, cents, r))| {
                        line(&format!("SKU{i}"), Decimal::from(qty), Decimal::new(cents, 2), pct, rates[r])
                    })
                    .collect();
                invoice(lines, Decimal::new(shipping, 2), rates[ship_rate], country, currency)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sage_totals_equal_the_magento_grand_total(inv in any_invoice()) {
        let w = World::new();
        let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
        let shipping = body.shipping_net_amount.zip(body.shipping_tax_rate_id.as_deref());
        prop_assert_eq!(sage_total(&body.invoice_lines, shipping, &w.rates), inv.grand_total);
        for l in &body.invoice_lines {
            let rate = w.rates[l.tax_rate_id.as_deref().unwrap()];
            let net = crate::money::round2(l.quantity.unwrap() * l.unit_price) - l.discount_amount.unwrap_or_default();
            let tax = l.tax_amount.unwrap();
            prop_assert!((tax - tax_amount(net, rate)).abs() <= crate::mapping::tax::TAX_TOLERANCE, "Sage would refuse {:?}", l);
            prop_assert!(l.discount_amount.unwrap_or_default() <= crate::money::round2(l.quantity.unwrap() * l.unit_price));
        }
        if let Some(s) = body.shipping_net_amount {
            let rate = w.rates[body.shipping_tax_rate_id.as_deref().unwrap()];
            prop_assert_eq!(body.shipping_tax_amount, Some(tax_amount(s, rate)), "Sage recomputes shipping tax");
        }
    }

    #[test]
    fn invoices_and_credit_notes_conform_to_the_schema(inv in any_invoice()) {
        let w = World::new();
        let body = sales_invoice(&inv, &w.ctx(Tier::Plus)).unwrap();
        prop_assert_eq!(violations("/sales_invoices", &body), Vec::<String>::new());
        let m = memo(inv.lines.clone(), inv.shipping_amount, Decimal::ZERO, Decimal::ONE, Decimal::ZERO);
        let mut m = m;
        m.customer = inv.customer.clone();
        m.currency = inv.currency;
        m.base_to_order_rate = inv.base_to_order_rate;
        let credit = sales_credit_note(&m, &w.ctx(Tier::Plus)).unwrap();
        prop_assert_eq!(violations("/sales_credit_notes", &credit), Vec::<String>::new());
        let shipping = credit.shipping_net_amount.zip(credit.shipping_tax_rate_id.as_deref());
        prop_assert_eq!(sage_total(&credit.credit_note_lines, shipping, &w.rates), m.grand_total);
    }

    #[test]
    fn tax_rounds_half_away_from_zero(cents in -10_000_000i64..10_000_000, pct in 0i64..=100) {
        // Exact reference in integers: tax in cents = cents × pct / 100, halves away from zero.
        let exact = cents * pct;
        let rounded = exact.signum() * ((exact.abs() + 50) / 100);
        prop_assert_eq!(tax_amount(Decimal::new(cents, 2), Decimal::from(pct)), Decimal::new(rounded, 2));
    }

    #[test]
    fn references_are_short_stable_and_distinct(
        a in 1i64..2_000_000_000, b in 1i64..2_000_000_000,
        ca in prop::sample::select(vec!["GBP", "EUR", "USD", "CAD", "CHF"]),
        cb in prop::sample::select(vec!["GBP", "EUR", "USD", "CAD", "CHF"]),
        prefix in prop::option::of("[A-Z0-9]{1,3}"),
    ) {
        let gbp = Currency::GBP;
        let (ca, cb) = (Currency::parse(ca).unwrap(), Currency::parse(cb).unwrap());
        let (x, y) = (customer(a, "GB"), customer(b, "GB"));
        let rx = contact_reference(prefix.as_deref(), &x, &ca, &gbp);
        let ry = contact_reference(prefix.as_deref(), &y, &cb, &gbp);
        if let (Ok(rx), Ok(ry)) = (&rx, &ry) {
            prop_assert!(rx.len() <= 10 && ry.len() <= 10);
            prop_assert_eq!(a == b && ca == cb, rx == ry, "{} {} / {} {}", a, ca, b, cb);
            prop_assert_ne!(rx, &b2c_reference(prefix.as_deref(), &cb));
        }
        prop_assert_eq!(rx.clone(), contact_reference(prefix.as_deref(), &x, &ca, &gbp), "deterministic");
        if prefix.as_deref().is_none_or(|p| p.len() == 1) && a < 60_000_000 {
            prop_assert!(rx.is_ok(), "realistic ids always fit with no prefix or a 1-character one");
        }
        let mut guest = x.clone();
        guest.magento_id = None;
        let rg = contact_reference(prefix.as_deref(), &guest, &ca, &gbp).unwrap();
        prop_assert!(rg.len() <= 10);
        if let Ok(rx) = &rx {
            prop_assert_ne!(&rg, rx, "a guest never takes a customer's reference");
        }
    }

    #[test]
    fn settlements_add_up(total in 0i64..1_000_000, outstanding in prop::option::of(-100i64..1_000_000), refund in any::<bool>()) {
        let mode = if refund { RefundMode::Refund } else { RefundMode::CreditNoteOnly };
        let (total, outstanding) = (Decimal::new(total, 2), outstanding.map(|o| Decimal::new(o, 2)));
        let s = credit_settlement(total, outstanding, mode);
        prop_assert_eq!(s.allocate + s.refund + s.left_on_account, total);
        prop_assert!(s.allocate >= Decimal::ZERO && s.allocate <= outstanding.unwrap_or_default().max(Decimal::ZERO));
        prop_assert!(s.refund >= Decimal::ZERO && s.left_on_account >= Decimal::ZERO);
        let amount = receipt_amount(total, outstanding.unwrap_or_default());
        if let Ok(a) = amount {
            prop_assert!(a > Decimal::ZERO && a <= total && Some(a) <= outstanding);
        }
    }
}

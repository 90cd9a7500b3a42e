//! Tax amounts and routing rules.
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::mapping::tests::{gb_rates, policy};

fn taxed(net: Decimal, tax: Decimal) -> Taxed<'static> {
    Taxed { net, tax, tax_class: None }
}

fn id_of(t: Result<TaxTreatment, MapError>) -> String {
    t.unwrap().tax_rate_id().to_owned()
}

#[test]
fn tax_amount_is_net_times_rate_half_away_from_zero() {
    assert_eq!(tax_amount(dec!(9.00), dec!(9.25)), dec!(0.83), "Sage's worked example");
    assert_eq!(tax_amount(dec!(0.125), dec!(20)), dec!(0.03), "0.025 rounds away from zero");
    assert_eq!(tax_amount(dec!(-0.125), dec!(20)), dec!(-0.03));
    assert_eq!(tax_amount(dec!(10), dec!(0)), dec!(0));
}

#[test]
fn keys_are_rates_or_classes() {
    assert_eq!(TaxKey::parse("20"), Some(TaxKey::Percent(dec!(20))));
    assert_eq!(TaxKey::parse("20.00%"), Some(TaxKey::Percent(dec!(20))));
    assert_eq!(TaxKey::parse("class:2"), Some(TaxKey::Class("2".into())));
    for bad in ["", "class:", "abc", "-1", "101"] {
        assert_eq!(TaxKey::parse(bad), None, "{bad}");
    }
}

#[test]
fn home_rates_are_found_from_the_amounts() {
    let (p, r) = (policy(), gb_rates());
    assert_eq!(id_of(route(&taxed(dec!(100), dec!(20)), &Destination::Home, &p, &r)), "GB_STANDARD");
    assert_eq!(id_of(route(&taxed(dec!(100), dec!(5)), &Destination::Home, &p, &r)), "GB_LOWER");
    assert_eq!(id_of(route(&taxed(dec!(100), dec!(0)), &Destination::Home, &p, &r)), "GB_ZERO");
    // A penny off is Sage's tolerance: Magento's tax is sent as is.
    let t = route(&taxed(dec!(100), dec!(20.01)), &Destination::Home, &p, &r).unwrap();
    assert_eq!(t, TaxTreatment::Rate { tax_rate_id: "GB_STANDARD".into(), percent: dec!(20), tax_amount: dec!(20.01) });
    assert!(route(&taxed(dec!(100), dec!(12)), &Destination::Home, &p, &r).is_err());
}

#[test]
fn policy_maps_win_over_the_business_rates() {
    let (mut p, r) = (policy(), gb_rates());
    p.tax_rate_map.insert("class:9".into(), "GB_EXEMPT".into());
    p.tax_rate_map.insert("0".into(), "GB_EXEMPT".into());
    let exempt_class = Taxed { net: dec!(100), tax: dec!(20), tax_class: Some("9") };
    assert_eq!(id_of(route(&exempt_class, &Destination::Home, &p, &r)), "GB_EXEMPT", "a class override wins");
    assert_eq!(id_of(route(&taxed(dec!(10), dec!(0)), &Destination::Home, &p, &r)), "GB_EXEMPT", "zero → map[\"0\"]");
    p.tax_rate_map.insert("20".into(), "MY_20".into());
    assert_eq!(id_of(route(&taxed(dec!(100), dec!(20)), &Destination::Home, &p, &r)), "MY_20");
}

#[test]
fn abroad_taxed_amounts_become_destination_vat() {
    let (p, r) = (policy(), gb_rates());
    let fr = Destination::Abroad("FR".into());
    // 20 % French VAT is not UK VAT, even though GB_STANDARD has the same percentage.
    let t = route(&taxed(dec!(100), dec!(20)), &fr, &p, &r).unwrap();
    assert_eq!(t, TaxTreatment::DestinationVat { zero_rate_id: "GB_ZERO".into(), vat: dec!(20) });
    assert_eq!(id_of(route(&taxed(dec!(100), dec!(0)), &fr, &p, &r)), "GB_ZERO", "exports and EU B2B");
}

#[test]
fn destination_follows_the_home_country() {
    let mut p = policy();
    assert_eq!(Destination::of(Some("gb"), &p), Destination::Home);
    assert_eq!(Destination::of(None, &p), Destination::Home);
    assert_eq!(Destination::of(Some("ie"), &p), Destination::Abroad("IE".into()));
    p.home_country = Some("IE".into());
    assert_eq!(Destination::of(Some("IE"), &p), Destination::Home);
}

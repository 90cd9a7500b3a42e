//! Where generated buyers live: countries, sample addresses, currencies and tax treatment.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// A market the store sells into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Market {
    Uk,
    Eu,
    World,
}

/// A country with one sample address.
#[derive(Debug, Clone, Copy)]
pub struct Country {
    pub code: &'static str,
    pub market: Market,
    pub city: &'static str,
    pub region: Option<&'static str>,
    pub postcode: &'static str,
    pub street: &'static str,
    pub phone_prefix: &'static str,
    /// Destination VAT rate charged to consumers (UK VAT, or the EU rate under IOSS).
    pub consumer_vat: Decimal,
    pub vat_prefix: &'static str,
}

/// The countries generated customers and guests come from.
pub const COUNTRIES: &[Country] = &[
    Country {
        code: "GB",
        market: Market::Uk,
        city: "London",
        region: None,
        postcode: "EC1A 1BB",
        street: "12 Clerkenwell Road",
        phone_prefix: "+44 20",
        consumer_vat: dec!(0.20),
        vat_prefix: "GB",
    },
    Country {
        code: "GB",
        market: Market::Uk,
        city: "Manchester",
        region: Some("Greater Manchester"),
        postcode: "M1 1AE",
        street: "3 Piccadilly Place",
        phone_prefix: "+44 161",
        consumer_vat: dec!(0.20),
        vat_prefix: "GB",
    },
    Country {
        code: "DE",
        market: Market::Eu,
        city: "Berlin",
        region: Some("Berlin"),
        postcode: "10115",
        street: "Invalidenstraße 44",
        phone_prefix: "+49 30",
        consumer_vat: dec!(0.19),
        vat_prefix: "DE",
    },
    Country {
        code: "FR",
        market: Market::Eu,
        city: "Paris",
        region: None,
        postcode: "75001",
        street: "8 Rue de Rivoli",
        phone_prefix: "+33 1",
        consumer_vat: dec!(0.20),
        vat_prefix: "FR",
    },
    Country {
        code: "IE",
        market: Market::Eu,
        city: "Dublin",
        region: Some("Dublin"),
        postcode: "D02 X285",
        street: "21 Dawson Street",
        phone_prefix: "+353 1",
        consumer_vat: dec!(0.23),
        vat_prefix: "IE",
    },
    Country {
        code: "NL",
        market: Market::Eu,
        city: "Amsterdam",
        region: None,
        postcode: "1012 AB",
        street: "Damrak 70",
        phone_prefix: "+31 20",
        consumer_vat: dec!(0.21),
        vat_prefix: "NL",
    },
    Country {
        code: "US",
        market: Market::World,
        city: "New York",
        region: Some("New York"),
        postcode: "10001",
        street: "350 Fifth Avenue",
        phone_prefix: "+1 212",
        consumer_vat: dec!(0),
        vat_prefix: "",
    },
    Country {
        code: "AU",
        market: Market::World,
        city: "Sydney",
        region: Some("New South Wales"),
        postcode: "2000",
        street: "1 Macquarie Street",
        phone_prefix: "+61 2",
        consumer_vat: dec!(0),
        vat_prefix: "",
    },
    Country {
        code: "CH",
        market: Market::World,
        city: "Zürich",
        region: None,
        postcode: "8001",
        street: "Bahnhofstrasse 1",
        phone_prefix: "+41 44",
        consumer_vat: dec!(0),
        vat_prefix: "CHE",
    },
];

/// Countries of one market.
pub fn in_market(m: Market) -> impl Iterator<Item = &'static Country> {
    COUNTRIES.iter().filter(move |c| c.market == m)
}

/// Order currency for a market: GBP at home, EUR in the EU, USD elsewhere.
pub fn currency_for(m: Market) -> &'static str {
    match m {
        Market::Uk => "GBP",
        Market::Eu => "EUR",
        Market::World => "USD",
    }
}

/// base (GBP) → order currency rate.
pub fn base_to_order_rate(currency: &str) -> Decimal {
    match currency {
        "EUR" => dec!(1.1650),
        "USD" => dec!(1.2710),
        _ => dec!(1),
    }
}

/// Store view of a currency (website 1 has three store views).
pub fn store_for(currency: &str) -> u32 {
    match currency {
        "EUR" => 2,
        "USD" => 3,
        _ => 1,
    }
}

/// Tax rate of a line: UK rates at home, destination rates for EU consumers,
/// zero for EU businesses with a VAT number (reverse charge) and exports.
pub fn tax_rate(country: &Country, tax_class_id: u32, b2b_vat: bool) -> Decimal {
    match (country.market, tax_class_id) {
        (_, 0) => Decimal::ZERO,
        (Market::Uk, 5) => dec!(0.05),
        (Market::Uk, _) => dec!(0.20),
        (Market::Eu, _) if !b2b_vat => country.consumer_vat,
        _ => Decimal::ZERO,
    }
}

/// Base-currency shipping charge by market.
pub fn shipping_base(m: Market) -> Decimal {
    match m {
        Market::Uk => dec!(4.95),
        Market::Eu => dec!(9.95),
        Market::World => dec!(14.95),
    }
}

/// Finds the country entry for an ISO code (first match).
pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.code == code)
}

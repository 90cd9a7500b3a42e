//! Fixtures shared by the mapping tests: a working policy, the GB tax rates, and Magento documents
//! built with the store's own line arithmetic (docs/magento-sim.md "Line math").
use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

use super::*;
use crate::magento::{Address, AddressKind, Contact, CreditMemo, Invoice, InvoiceLine, InvoiceState};
use crate::money::round2;
use crate::policy::PaymentMethodMapping;
use crate::{Currency, MagentoEntityId};

mod conformance;
mod props;

pub fn policy() -> SyncPolicy {
    let mut p = SyncPolicy {
        sales_ledger_account_id: Some("sales4000".into()),
        purchase_ledger_account_id: Some("cos5000".into()),
        bank_account_id: Some("bank1200".into()),
        destination_vat_ledger_account_id: Some("other4900".into()),
        ..SyncPolicy::default()
    };
    p.payment_method_map.insert(
        "checkmo".into(),
        PaymentMethodMapping { payment_method_id: Some("CASH".into()), bank_account_id: None },
    );
    p
}

pub fn gb_rates() -> TaxRates {
    [
        ("GB_STANDARD", dec!(20)),
        ("GB_LOWER", dec!(5)),
        ("GB_ZERO", dec!(0)),
        ("GB_EXEMPT", dec!(0)),
        ("GB_NO_TAX", dec!(0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Owns what a [`DocContext`] borrows.
pub struct World {
    pub policy: SyncPolicy,
    pub items: BTreeMap<String, SageItem>,
    pub rates: TaxRates,
    pub defaults: BusinessDefaults,
}

impl World {
    pub fn new() -> Self {
        Self { policy: policy(), items: BTreeMap::new(), rates: gb_rates(), defaults: BusinessDefaults::default() }
    }

    pub fn ctx(&self, tier: Tier) -> DocContext<'_> {
        DocContext {
            policy: &self.policy,
            caps: Capabilities::of(tier),
            base_currency: Currency::GBP,
            contact_id: "contact1",
            items: &self.items,
            tax_rates: &self.rates,
            defaults: &self.defaults,
            today: NaiveDate::from_ymd_opt(2026, 5, 2).unwrap(),
        }
    }
}

/// A line as the store computes it: row = round2(qty × price), discount on the row, tax on the
/// discounted row, `tax_rate` = tax / row to 4 places.
pub fn line(sku: &str, qty: Decimal, unit_price: Decimal, discount_pct: Decimal, rate: Decimal) -> InvoiceLine {
    let row = round2(qty * unit_price);
    let discount = round2(row * discount_pct);
    let tax = round2((row - discount) * rate);
    InvoiceLine {
        sku: sku.into(),
        name: format!("Item {sku}"),
        qty,
        unit_price,
        line_subtotal: row,
        line_tax: tax,
        line_total: row + tax - discount,
        tax_rate: (row > Decimal::ZERO && tax > Decimal::ZERO).then(|| (tax / row).round_dp(4)),
        tax_class: None,
        product_type: Some("simple".into()),
    }
}

pub fn address(country: &str) -> Address {
    Address {
        kind: AddressKind::Billing,
        street: vec!["1 High Street".into(), "Flat 2".into()],
        city: "Leeds".into(),
        region: None,
        postcode: Some("LS1 1AA".into()),
        country_id: country.into(),
        telephone: Some("0113 000".into()),
    }
}

pub fn customer(id: i64, country: &str) -> Contact {
    Contact {
        magento_id: MagentoEntityId::new(id).ok(),
        email: format!("c{id}@example.com"),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        company: None,
        phone: None,
        website_id: 1,
        group_id: Some(1),
        addresses: vec![address(country)],
        created_at: None,
        updated_at: None,
    }
}

/// An invoice whose totals follow its lines; shipping taxed at `shipping_rate`.
pub fn invoice(
    lines: Vec<InvoiceLine>,
    shipping: Decimal,
    shipping_rate: Decimal,
    country: &str,
    currency: &str,
) -> Invoice {
    let shipping_tax = round2(shipping * shipping_rate);
    let subtotal: Decimal = lines.iter().map(|l| l.line_subtotal).sum();
    let tax: Decimal = lines.iter().map(|l| l.line_tax).sum();
    let discount: Decimal = lines.iter().map(|l| l.line_subtotal + l.line_tax - l.line_total).sum();
    let rate = match currency {
        "EUR" => dec!(1.165),
        "USD" => dec!(1.271),
        _ => dec!(1),
    };
    Invoice {
        magento_id: MagentoEntityId::new(41).unwrap(),
        increment_id: "000000041".into(),
        order_id: MagentoEntityId::new(41).unwrap(),
        order_increment_id: "000000041".into(),
        website_id: 1,
        store_id: 1,
        currency: Currency::parse(currency).unwrap(),
        state: InvoiceState::Open,
        customer: customer(42, country),
        lines,
        subtotal,
        tax_amount: tax,
        shipping_amount: shipping,
        shipping_tax_amount: shipping_tax,
        discount_amount: discount,
        grand_total: subtotal + tax + shipping + shipping_tax - discount,
        created_at: Some(Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap()),
        payment_method: Some("checkmo".into()),
        billing_address: Some(address(country)),
        shipping_address: Some(Address { kind: AddressKind::Shipping, ..address(country) }),
        po_number: None,
        base_to_order_rate: Some(rate),
    }
}

/// A credit memo refunding `lines` of an invoice, with adjustments.
pub fn memo(
    lines: Vec<InvoiceLine>,
    shipping: Decimal,
    shipping_rate: Decimal,
    adj_pos: Decimal,
    adj_neg: Decimal,
) -> CreditMemo {
    let shipping_tax = round2(shipping * shipping_rate);
    let lines_total: Decimal = lines.iter().map(|l| l.line_total).sum();
    serde_json::from_value(json!({
        "magento_id": 7, "increment_id": "000000007", "invoice_id": 41, "invoice_increment_id": "000000041",
        "website_id": 1, "currency": "GBP", "customer": serde_json::to_value(customer(42, "GB")).unwrap(),
        "lines": serde_json::to_value(&lines).unwrap(), "adjustment_positive": adj_pos, "adjustment_negative": adj_neg,
        "grand_total": lines_total + shipping + shipping_tax + adj_pos - adj_neg,
        "shipping_amount": shipping, "shipping_tax_amount": shipping_tax,
        "created_at": "2026-05-03T10:00:00Z", "invoice_created_at": "2026-05-01T10:00:00Z"
    }))
    .unwrap()
}

/// What Sage makes of a document: Σ lines (round2(qty × price) − discount + tax) + shipping net +
/// round2(shipping net × its rate) (Sage recomputes shipping tax).
pub fn sage_total(
    lines: &[crate::sage::PostArtefactLine],
    shipping: Option<(Decimal, &str)>,
    rates: &TaxRates,
) -> Decimal {
    let lines: Decimal = lines
        .iter()
        .map(|l| {
            round2(l.quantity.unwrap_or(Decimal::ONE) * l.unit_price) - l.discount_amount.unwrap_or_default()
                + l.tax_amount.unwrap_or_default()
        })
        .sum();
    let shipping = shipping.map_or(Decimal::ZERO, |(net, rate)| net + tax_amount(net, rates[rate]));
    lines + shipping
}

#[test]
fn skip_reasons_have_stable_short_codes() {
    let mut seen = std::collections::BTreeSet::new();
    for r in SkipReason::ALL {
        assert!(r.as_str().len() <= 64 && seen.insert(r.as_str()), "{r}");
        assert_eq!(MapError::from(r).code(), r.as_str());
    }
    assert_eq!(SkipReason::ProductTypeNotSupported.as_str(), "PRODUCT_TYPE_NOT_SUPPORTED", "Magento's own code");
    assert_eq!(SkipReason::PaymentMethodNotMapped.as_str(), "payment_method_not_mapped");
}

#[test]
fn capabilities_follow_the_tier() {
    let start = Capabilities::of(Tier::Start);
    assert!(!start.products && !start.stock && !start.refunds && !start.multi_currency);
    let standard = Capabilities::of(Tier::Standard);
    assert!(standard.products && !standard.stock && standard.refunds && !standard.multi_currency);
    let plus = Capabilities::of(Tier::Plus);
    assert!(plus.products && plus.stock && plus.refunds && plus.multi_currency);
}

//! Document lines shared by invoices and credit notes: Magento lines to Sage lines (discount, net, tax
//! rate and amount, linked item), shipping, and the destination-VAT line.
use rust_decimal::Decimal;

use super::tax::{Destination, TaxTreatment, Taxed, route};
use super::text::plain;
use super::{DocContext, MapError, product::ItemKind};
use crate::magento::{Address, InvoiceLine};
use crate::money::round2;
use crate::sage::{PostArtefactAddress, PostArtefactLine};

/// Longest line description sent.
const MAX_DESCRIPTION: usize = 255;

/// Sage's shipping fields of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipping {
    pub net: Decimal,
    pub tax_rate_id: String,
    pub tax_amount: Decimal,
}

/// The lines and shipping of a document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Built {
    pub lines: Vec<PostArtefactLine>,
    pub shipping: Option<Shipping>,
}

/// The discount Magento took off a line: `line_total = line_subtotal + line_tax − discount` (spec 5.2),
/// whatever sign the store uses for discounts elsewhere.
pub fn line_discount(l: &InvoiceLine) -> Decimal {
    (l.line_subtotal + l.line_tax - l.line_total).max(Decimal::ZERO)
}

fn is_empty_line(l: &InvoiceLine) -> bool {
    l.line_subtotal.is_zero() && l.line_tax.is_zero() && l.line_total.is_zero()
}

/// A line in plain amounts, before tax routing.
pub struct PlainLine {
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub discount: Decimal,
    pub tax: Decimal,
    pub tax_class: Option<String>,
    pub sku: Option<String>,
}

impl PlainLine {
    fn of(l: &InvoiceLine) -> Self {
        let name = if l.name.trim().is_empty() { &l.sku } else { &l.name };
        let name = plain(name, MAX_DESCRIPTION);
        let name = if name.is_empty() { "Item".to_owned() } else { name };
        let discount = line_discount(l).min(l.line_subtotal.abs());
        // Sage computes the gross as round2(quantity × unit_price): keep Magento's quantity when that
        // reproduces its row total, else send the row as one unit so the amounts stay exact.
        let (quantity, unit_price, description) =
            if l.qty > Decimal::ZERO && round2(l.qty * l.unit_price) == l.line_subtotal {
                (l.qty, l.unit_price, name)
            } else {
                (Decimal::ONE, l.line_subtotal, plain(&format!("{} × {name}", l.qty.normalize()), MAX_DESCRIPTION))
            };
        Self {
            description,
            quantity,
            unit_price,
            discount,
            tax: l.line_tax,
            tax_class: l.tax_class.clone(),
            sku: Some(l.sku.clone()).filter(|s| !s.trim().is_empty()),
        }
    }

    pub fn net(&self) -> Decimal {
        round2(self.quantity * self.unit_price) - self.discount
    }
}

/// Accumulates destination VAT while routing, and emits its line.
struct DestinationVat {
    total: Decimal,
}

fn apply(treatment: TaxTreatment, vat: &mut DestinationVat) -> (String, Decimal) {
    if let TaxTreatment::DestinationVat { vat: v, .. } = &treatment {
        vat.total += *v;
    }
    (treatment.tax_rate_id().to_owned(), treatment.sage_tax())
}

/// Builds the Sage lines and shipping of a document whose customer is at `dest`.
pub fn build(
    magento_lines: &[InvoiceLine],
    shipping_net: Decimal,
    shipping_tax: Decimal,
    extra: Vec<PlainLine>,
    dest: &Destination,
    ctx: &DocContext<'_>,
) -> Result<Built, MapError> {
    let ledger = ctx.sales_ledger_account_id()?.to_owned();
    let mut vat = DestinationVat { total: Decimal::ZERO };
    let mut source: Vec<&InvoiceLine> = magento_lines.iter().filter(|l| !is_empty_line(l)).collect();
    if source.is_empty() && extra.is_empty() {
        source = magento_lines.iter().collect();
    }
    let plain_lines = source.into_iter().map(PlainLine::of).chain(extra);
    let mut lines = Vec::new();
    for pl in plain_lines {
        let taxed = Taxed { net: pl.net(), tax: pl.tax, tax_class: pl.tax_class.as_deref() };
        let (tax_rate_id, tax_amount) = apply(route(&taxed, dest, ctx.policy, ctx.tax_rates)?, &mut vat);
        let item = pl.sku.as_ref().and_then(|sku| ctx.items.get(sku));
        let (product_id, service_id) = match item {
            Some(i) if i.kind == ItemKind::Service => (None, Some(i.id.clone())),
            Some(i) => (Some(i.id.clone()), None),
            None => (None, None),
        };
        lines.push(PostArtefactLine {
            description: pl.description,
            ledger_account_id: ledger.clone(),
            unit_price: pl.unit_price,
            quantity: Some(pl.quantity),
            product_id,
            service_id,
            tax_rate_id: Some(tax_rate_id),
            tax_amount: Some(tax_amount),
            discount_amount: (!pl.discount.is_zero()).then_some(pl.discount),
            ..PostArtefactLine::default()
        });
    }
    let shipping = if shipping_net.is_zero() && shipping_tax.is_zero() {
        None
    } else {
        let taxed = Taxed { net: shipping_net, tax: shipping_tax, tax_class: None };
        let (tax_rate_id, tax_amount) = apply(route(&taxed, dest, ctx.policy, ctx.tax_rates)?, &mut vat);
        Some(Shipping { net: shipping_net, tax_rate_id, tax_amount })
    };
    if !vat.total.is_zero() {
        let account = ctx.policy.destination_vat_ledger_account_id.clone().ok_or(MapError::PolicyIncomplete {
            field: "destination_vat_ledger_account_id",
            why: "destination VAT needs its own ledger account",
        })?;
        let country = match dest {
            Destination::Abroad(c) => c.as_str(),
            Destination::Home => "",
        };
        lines.push(PostArtefactLine {
            description: format!("Destination VAT {country}").trim_end().to_owned(),
            ledger_account_id: account,
            unit_price: round2(vat.total),
            quantity: Some(Decimal::ONE),
            tax_rate_id: Some(ctx.policy.no_tax_rate_id().to_owned()),
            tax_amount: Some(Decimal::ZERO),
            ..PostArtefactLine::default()
        });
    }
    if lines.is_empty() {
        return Err(MapError::Unmappable("the document has no lines, and Sage needs at least one".into()));
    }
    Ok(Built { lines, shipping })
}

/// The country that decides VAT: where the goods go, else the billing address, else the customer's.
pub fn tax_country<'a>(
    shipping: Option<&'a Address>,
    billing: Option<&'a Address>,
    customer_addresses: &'a [Address],
) -> Option<&'a str> {
    shipping
        .into_iter()
        .chain(billing)
        .chain(customer_addresses.iter())
        .map(|a| a.country_id.as_str())
        .find(|c| !c.trim().is_empty())
}

/// A Magento address on a document (`main_address` / `delivery_address`).
pub fn artefact_address(a: &Address, address_type_id: &str) -> PostArtefactAddress {
    let c = super::contact::post_address(a, address_type_id);
    PostArtefactAddress {
        address_line_1: c.address_line_1,
        address_line_2: c.address_line_2,
        city: c.city,
        postal_code: c.postal_code,
        region: c.region,
        country_id: c.country_id,
        country_group_id: None,
        address_type_id: c.address_type_id,
    }
}

//! What sales invoices and credit notes share (spec §5.2, §5.3): request lines and addresses, and the
//! line, tax-analysis, payment-allocation and address parts of the resources.
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Link, wire};

/// One line of `invoice_lines` / `credit_note_lines` (the two schemas are identical). Sage reports
/// errors on these as `line_items.<field>`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostArtefactLine {
    pub description: String,
    /// An account visible in sales.
    pub ledger_account_id: String,
    #[serde(with = "wire::dec")]
    pub unit_price: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub quantity: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate_id: Option<String>,
    /// Required on taxable lines: round2(net × rate), computed by us (spec §6).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub discount_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub discount_percentage: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price_includes_tax: Option<bool>,
    /// `GOODS` / `SERVICES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eu_goods_services_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_of_asset: Option<bool>,
}

/// An address on a document request (no name, contact or bank fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostArtefactAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line_1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line_2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type_id: Option<String>,
}

/// The `SalesInvoiceLineItem` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesInvoiceLineItem {
    pub id: Option<String>,
    pub displayed_as: Option<String>,
    pub description: Option<String>,
    pub product: Option<Link>,
    pub service: Option<Link>,
    pub ledger_account: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub quantity: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub unit_price: Option<Decimal>,
    pub unit_price_includes_tax: Option<bool>,
    #[serde(with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    pub tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub discount_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub discount_percentage: Option<Decimal>,
    pub tax_breakdown: Vec<TaxBreakdown>,
    pub eu_goods_services_type: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_total_amount: Option<Decimal>,
}

/// `SalesCreditNoteLineItem` has exactly the fields of [`SalesInvoiceLineItem`].
pub type SalesCreditNoteLineItem = SalesInvoiceLineItem;

/// `TaxBreakdown`: one rate's share of a line or of shipping.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxBreakdown {
    pub tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub percentage: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub amount: Option<Decimal>,
}

/// `ArtefactTaxAnalysis`: a document's totals per tax rate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArtefactTaxAnalysis {
    pub tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub goods_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub service_amount: Option<Decimal>,
}

/// `PaymentAllocation`: a payment or allocation that touched a document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentAllocation {
    pub displayed_as: Option<String>,
    pub date: Option<NaiveDate>,
    pub reference: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(with = "wire::opt_dec")]
    pub amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub discount: Option<Decimal>,
    pub artefact: Option<Link>,
    pub contact_payment: Option<Link>,
    pub contact_allocation: Option<Link>,
}

/// `SalesArtefactAddress`: the address copied onto a document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesArtefactAddress {
    pub id: Option<String>,
    pub displayed_as: Option<String>,
    pub address_line_1: Option<String>,
    pub address_line_2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub region: Option<String>,
    pub country: Option<Link>,
    pub country_group: Option<Link>,
    pub address_type: Option<Link>,
}

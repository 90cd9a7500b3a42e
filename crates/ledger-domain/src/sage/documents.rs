//! Sales invoices and credit notes (`/sales_invoices`, `/sales_credit_notes`, spec §5.2, §5.3): the
//! `postSalesInvoices`/`postSalesCreditNotes` bodies and the `SalesInvoice`/`SalesCreditNote` resources.
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{IdempotencyId, Link, SageBody, wire};

/// The `sales_invoice` object of `postSalesInvoices`. Omit `status_id` for a posted (`UNPAID`) invoice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostSalesInvoice {
    /// A `CUSTOMER` contact.
    pub contact_id: String,
    pub date: NaiveDate,
    pub invoice_lines: Vec<PostArtefactLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    /// Max 25; the Magento increment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub inverse_exchange_rate: Option<Decimal>,
    /// `DRAFT` or `PRO_FORMA` for a non-posting document; `None` for `UNPAID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_address: Option<PostArtefactAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<PostArtefactAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub shipping_net_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_tax_rate_id: Option<String>,
    /// Sage recomputes shipping tax from the rate; usually left out.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub shipping_tax_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_reverse_charge: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_consignment: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostSalesInvoice {
    const ROOT: &'static str = "sales_invoice";
}

/// `putSalesInvoices` has the same fields, none required.
pub type PutSalesInvoice = PostSalesInvoice;

/// The `sales_credit_note` object of `postSalesCreditNotes`. Sage has no link to the original invoice
/// here: the credit note is allocated against it (or refunded) afterwards.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostSalesCreditNote {
    pub contact_id: String,
    pub date: NaiveDate,
    pub credit_note_lines: Vec<PostArtefactLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_invoice_date: Option<NaiveDate>,
    /// Max 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_note_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub inverse_exchange_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_address: Option<PostArtefactAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<PostArtefactAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub shipping_net_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub shipping_tax_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_reverse_charge: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostSalesCreditNote {
    const ROOT: &'static str = "sales_credit_note";
}

/// `putSalesCreditNotes` has the same fields, none required.
pub type PutSalesCreditNote = PostSalesCreditNote;

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

/// The `SalesInvoice` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesInvoice {
    pub id: String,
    /// The invoice number (`SI-27`), `SI-DRAFT` for drafts.
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub invoice_number: Option<String>,
    pub contact: Option<Link>,
    pub contact_name: Option<String>,
    pub contact_reference: Option<String>,
    pub date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub reference: Option<String>,
    /// `DRAFT`, `PRO_FORMA`, `UNPAID`, `PART_PAID`, `PAID`, `VOID`.
    pub status: Option<Link>,
    pub sent: Option<bool>,
    pub void_reason: Option<String>,
    pub editable: Option<bool>,
    /// `None` for drafts.
    pub transaction: Option<Link>,
    pub transaction_type: Option<Link>,
    pub currency: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub inverse_exchange_rate: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_discount_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_paid: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub outstanding_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub shipping_net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub shipping_tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub shipping_total_amount: Option<Decimal>,
    pub shipping_tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_total_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_outstanding_amount: Option<Decimal>,
    pub invoice_lines: Vec<SalesInvoiceLineItem>,
    pub tax_analysis: Vec<ArtefactTaxAnalysis>,
    /// Present when asked for with `show_payments_allocations=true`.
    pub payments_allocations: Vec<PaymentAllocation>,
    pub main_address: Option<SalesArtefactAddress>,
    pub delivery_address: Option<SalesArtefactAddress>,
    pub notes: Option<String>,
    pub last_paid: Option<NaiveDate>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl SalesInvoice {
    pub fn status_id(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.id.as_str())
    }
}

/// The `SalesCreditNote` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesCreditNote {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub credit_note_number: Option<String>,
    pub contact: Option<Link>,
    pub contact_name: Option<String>,
    pub contact_reference: Option<String>,
    pub date: Option<NaiveDate>,
    pub original_invoice_date: Option<NaiveDate>,
    pub reference: Option<String>,
    pub status: Option<Link>,
    pub sent: Option<bool>,
    pub void_reason: Option<String>,
    pub editable: Option<bool>,
    pub transaction: Option<Link>,
    pub transaction_type: Option<Link>,
    pub currency: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub inverse_exchange_rate: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_discount_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_paid: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub outstanding_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub shipping_net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub shipping_tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub shipping_total_amount: Option<Decimal>,
    pub shipping_tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_total_amount: Option<Decimal>,
    pub credit_note_lines: Vec<SalesCreditNoteLineItem>,
    pub tax_analysis: Vec<ArtefactTaxAnalysis>,
    pub payments_allocations: Vec<PaymentAllocation>,
    pub main_address: Option<SalesArtefactAddress>,
    pub delivery_address: Option<SalesArtefactAddress>,
    pub notes: Option<String>,
    pub last_paid: Option<NaiveDate>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl SalesCreditNote {
    pub fn status_id(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.id.as_str())
    }
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

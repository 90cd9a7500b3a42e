//! Sales invoices (`/sales_invoices`, spec §5.2): the `postSalesInvoices` body and the `SalesInvoice`
//! resource.
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::documents::{
    ArtefactTaxAnalysis, PaymentAllocation, PostArtefactAddress, PostArtefactLine, SalesArtefactAddress,
    SalesInvoiceLineItem,
};
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

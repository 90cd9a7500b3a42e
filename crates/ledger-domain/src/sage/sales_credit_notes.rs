//! Sales credit notes (`/sales_credit_notes`, spec §5.3): the `postSalesCreditNotes` body and the
//! `SalesCreditNote` resource.
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::documents::{
    ArtefactTaxAnalysis, PaymentAllocation, PostArtefactAddress, PostArtefactLine, SalesArtefactAddress,
    SalesCreditNoteLineItem,
};
use super::{IdempotencyId, Link, SageBody, wire};

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

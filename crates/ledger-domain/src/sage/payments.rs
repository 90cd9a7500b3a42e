//! Contact payments and allocations (`/contact_payments`, `/contact_allocations`, spec §5.4, §5.5).
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{IdempotencyId, Link, SageBody, wire};

/// The `contact_payment` object of `postContactPayments`: a `CUSTOMER_RECEIPT` or `CUSTOMER_REFUND`.
/// `total_amount` must be at least the sum of `allocated_artefacts` (any excess is a payment on
/// account; a refund's total equals its allocations).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostContactPayment {
    /// `CUSTOMER_RECEIPT`, `CUSTOMER_REFUND`, `VENDOR_PAYMENT`, `VENDOR_REFUND`.
    pub transaction_type_id: String,
    pub contact_id: String,
    pub bank_account_id: String,
    pub date: NaiveDate,
    #[serde(with = "wire::dec")]
    pub total_amount: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<String>,
    /// Max 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub base_currency_total_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub base_currency_currency_charge: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocated_artefacts: Vec<PostAllocatedArtefact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostContactPayment {
    const ROOT: &'static str = "contact_payment";
}

/// The `contact_payment` object of `putContactPayments`: every field optional. `allocated_artefacts:
/// Some(vec![])` clears a receipt's allocations (the first step of refunding an unallocated receipt).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PutContactPayment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_artefacts: Option<Vec<PostAllocatedArtefact>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PutContactPayment {
    const ROOT: &'static str = "contact_payment";
}

/// One entry of `allocated_artefacts` in payment and allocation requests. In allocations, invoices are
/// positive and credit notes / payments on account negative; the amounts sum to zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostAllocatedArtefact {
    pub artefact_id: String,
    #[serde(with = "wire::dec")]
    pub amount: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub discount: Option<Decimal>,
}

/// The `contact_allocation` object of `postContactAllocations`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostContactAllocation {
    /// `CUSTOMER_ALLOCATION` or `VENDOR_ALLOCATION`.
    pub transaction_type_id: String,
    pub contact_id: String,
    pub allocated_artefacts: Vec<PostAllocatedArtefact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostContactAllocation {
    const ROOT: &'static str = "contact_allocation";
}

/// `putContactAllocations` has the same fields, none required.
pub type PutContactAllocation = PostContactAllocation;

/// The `ContactPayment` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPayment {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub transaction: Option<Link>,
    pub transaction_type: Option<Link>,
    pub payment_method: Option<Link>,
    pub contact: Option<Link>,
    pub bank_account: Option<Link>,
    pub date: Option<NaiveDate>,
    pub reference: Option<String>,
    #[serde(with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    pub currency: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_total_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub base_currency_currency_charge: Option<Decimal>,
    pub allocated_artefacts: Vec<AllocatedPaymentArtefact>,
    /// The unallocated remainder, when there is one; its id is an artefact for allocations and refunds.
    pub payment_on_account: Option<PaymentOnAccount>,
    pub editable: Option<bool>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// `AllocatedPaymentArtefact`: one document a payment settles.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedPaymentArtefact {
    pub id: Option<String>,
    pub artefact: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub discount: Option<Decimal>,
}

/// `PaymentOnAccount`: the unallocated part of a payment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentOnAccount {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub contact: Option<Link>,
    pub contact_name: Option<String>,
    pub contact_reference: Option<String>,
    pub date: Option<NaiveDate>,
    pub reference: Option<String>,
    pub status: Option<Link>,
    pub currency: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub exchange_rate: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub net_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub tax_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub total_amount: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub outstanding_amount: Option<Decimal>,
}

/// The `ContactAllocation` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactAllocation {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub transaction: Option<Link>,
    pub transaction_type: Option<Link>,
    pub contact: Option<Link>,
    pub date: Option<NaiveDate>,
    pub allocated_artefacts: Vec<AllocatedArtefact>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// `AllocatedArtefact`: one side of an allocation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedArtefact {
    pub id: Option<String>,
    pub artefact: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub amount: Option<Decimal>,
}

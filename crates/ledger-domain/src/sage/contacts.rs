//! Contacts (`/contacts`, spec §5.1): the `postContacts`/`putContacts` body and the `Contact` resource.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{IdempotencyId, Link, SageBody, wire};

/// The `contact` object of `postContacts`. Sage's contact schema has no top-level `email` in requests:
/// the address goes on `main_contact_person.email` (which is what `GET /contacts?email=` matches).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostContact {
    /// Max 100.
    pub name: String,
    /// Exactly one of `CUSTOMER` / `VENDOR`.
    pub contact_type_ids: Vec<String>,
    /// Max 10, unique per business.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub credit_limit: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_sales_ledger_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_sales_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_address: Option<PostAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<PostAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_contact_person: Option<PostContactPerson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_treatment: Option<ContactTaxTreatment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostContact {
    const ROOT: &'static str = "contact";
}

/// `putContacts` has the same fields, none required.
pub type PutContact = PostContact;

/// An address in a contact request (`main_address`, `delivery_address`); lines, city, region and name
/// max 50, `postal_code` max 10.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAddress {
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
    /// ISO-2 (`GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_group_id: Option<String>,
    /// `SALES`, `DELIVERY`, `ACCOUNTS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_main_address: Option<bool>,
}

/// `main_contact_person` in a contact request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostContactPerson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_person_type_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_main_contact: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_preferred_contact: Option<bool>,
}

/// Tax treatment flags (same shape in requests and responses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactTaxTreatment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_tax: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eu_tax_registered: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eu_not_tax_registered: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest_of_world_tax: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_importer: Option<bool>,
}

/// Bank details of a contact or bank account (same shape both ways).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BankAccountDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
}

/// The `Contact` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contact {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub name: Option<String>,
    pub reference: Option<String>,
    pub email: Option<String>,
    pub contact_types: Vec<Link>,
    pub currency: Option<Link>,
    pub tax_number: Option<String>,
    pub notes: Option<String>,
    pub locale: Option<String>,
    #[serde(with = "wire::opt_dec")]
    pub credit_limit: Option<Decimal>,
    pub credit_days: Option<i32>,
    #[serde(with = "wire::opt_dec")]
    pub balance: Option<Decimal>,
    pub main_address: Option<Address>,
    pub delivery_address: Option<Address>,
    pub main_contact_person: Option<ContactPerson>,
    pub default_sales_ledger_account: Option<Link>,
    pub default_sales_tax_rate: Option<Link>,
    pub tax_treatment: Option<ContactTaxTreatment>,
    pub is_active: Option<bool>,
    pub deletable: Option<bool>,
    pub system: Option<bool>,
    /// When true, Sage refuses new documents for this contact.
    pub gdpr_obfuscated: Option<bool>,
    pub source_guid: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Contact {
    /// Whether the contact carries `type_id` (`CUSTOMER`, `VENDOR`).
    pub fn is_type(&self, type_id: &str) -> bool {
        self.contact_types.iter().any(|t| t.id == type_id)
    }
}

/// The `Address` resource (as nested in contacts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
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
    pub name: Option<String>,
    pub is_main_address: Option<bool>,
}

/// The `ContactPerson` resource (as nested in contacts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPerson {
    pub id: Option<String>,
    pub displayed_as: Option<String>,
    pub name: Option<String>,
    pub job_title: Option<String>,
    pub telephone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub fax: Option<String>,
    pub is_main_contact: Option<bool>,
    pub is_preferred_contact: Option<bool>,
}

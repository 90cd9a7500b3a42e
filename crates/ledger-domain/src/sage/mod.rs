//! Sage Business Cloud Accounting v3.1 wire models (spec `sage-api.md` §2, §5, §6; field names and shapes
//! from Sage's published schema, `sage-fields.json`): pure serde types, no I/O.
//!
//! Requests are the `post*`/`put*` bodies: a singular root key (`{"contact": {...}}`, see [`SageBody`])
//! around an object that references other records by `<thing>_id`, carries decimals as strings and
//! skips every `None`. Responses are the resources Sage returns: references come back as [`Link`]
//! objects (`{id, displayed_as, $path}`) under the bare name, decimals are read from strings or numbers,
//! unknown fields are ignored and every field but `id` may be absent (a collection without
//! `attributes=` returns only `id`, `displayed_as` and `$path`).
//!
//! Sage's `put*` schemas carry exactly the fields of the matching `post*` schema with none required; the
//! sync engine always sends complete records, so each `Put*` is the `Post*` type (the one partial update
//! it needs, clearing a payment's allocations, has [`PutContactPayment`]).
pub mod business;
pub mod catalog;
pub mod contacts;
pub mod documents;
pub mod payments;
pub mod reference;
pub mod sales_credit_notes;
pub mod sales_invoices;
mod wire;

pub use business::{Business, BusinessSubscription, User};
pub use catalog::{
    PostProduct, PostSalesPrice, PostSalesRate, PostService, PostStockItem, PostStockMovement, Product, PutProduct,
    PutService, PutStockItem, PutStockMovement, SalesPrice, SalesRate, Service, StockItem, StockMovement,
};
pub use contacts::{
    Address, BankAccountDetails, Contact, ContactPerson, ContactTaxTreatment, PostAddress, PostContact,
    PostContactPerson, PutContact,
};
pub use documents::{
    ArtefactTaxAnalysis, PaymentAllocation, PostArtefactAddress, PostArtefactLine, SalesArtefactAddress,
    SalesCreditNoteLineItem, SalesInvoiceLineItem, TaxBreakdown,
};
pub use payments::{
    AllocatedArtefact, AllocatedPaymentArtefact, ContactAllocation, ContactPayment, PaymentOnAccount,
    PostAllocatedArtefact, PostContactAllocation, PostContactPayment, PutContactAllocation, PutContactPayment,
};
pub use reference::{
    BankAccount, BusinessSettings, Currency, DefaultLedgerAccounts, FinancialSettings, InvoiceSettings, LedgerAccount,
    PaymentMethod, TaxRate, TaxRatePercentage,
};
pub use sales_credit_notes::{PostSalesCreditNote, PutSalesCreditNote, SalesCreditNote};
pub use sales_invoices::{PostSalesInvoice, PutSalesInvoice, SalesInvoice};

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// A reference to another record as Sage returns it: `{ "id", "displayed_as", "$path" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Link {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
}

/// One page of a collection (spec §2.3). Sage spells the page size `$itemsPerPage` on accounting
/// endpoints and `$items_per_page` on `/businesses`; both are read.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Collection<T> {
    #[serde(rename = "$total", default)]
    pub total: Option<u64>,
    #[serde(rename = "$page", default)]
    pub page: Option<u64>,
    /// The next page (a path relative to the API base, or an absolute URL); `None` on the last page.
    #[serde(rename = "$next", default)]
    pub next: Option<String>,
    #[serde(rename = "$back", default)]
    pub back: Option<String>,
    #[serde(rename = "$itemsPerPage", alias = "$items_per_page", default)]
    pub items_per_page: Option<u64>,
    #[serde(rename = "$items", default = "Vec::new")]
    pub items: Vec<T>,
}

/// A request body: the record inside its singular root key (spec §5.0).
pub trait SageBody: Serialize {
    /// `contact`, `sales_invoice`, …
    const ROOT: &'static str;

    /// The body as sent: `{ROOT: self}`.
    fn wrapped(&self) -> Wrapped<'_, Self>
    where
        Self: Sized,
    {
        Wrapped(self)
    }
}

/// Serialises a [`SageBody`] inside its root key.
pub struct Wrapped<'a, T>(pub &'a T);

impl<T: SageBody> Serialize for Wrapped<'_, T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(Some(1))?;
        map.serialize_entry(T::ROOT, self.0)?;
        map.end()
    }
}

/// Sage's `idempotency_id` (spec §7): 32 lower-case hex characters, sent inside the record on POST and
/// PUT. Derived from a stable description of the operation, so every retry by any process sends the
/// same id and Sage answers a replay with the first result instead of a second record.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a Sage idempotency_id is 32 lower-case hex characters")]
pub struct IdempotencyIdError;

impl IdempotencyId {
    /// The first 128 bits of SHA-256 over `operation_key` (e.g. `tenant|business|invoice|42|create|v1`).
    pub fn derive(operation_key: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(operation_key.as_bytes());
        Self(hex::encode(&digest[..16]))
    }

    pub fn parse(raw: &str) -> Result<Self, IdempotencyIdError> {
        let ok = raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok { Ok(Self(raw.to_owned())) } else { Err(IdempotencyIdError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyId {
    type Error = IdempotencyIdError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<IdempotencyId> for String {
    fn from(v: IdempotencyId) -> String {
        v.0
    }
}

impl fmt::Display for IdempotencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyId({})", self.0)
    }
}

#[cfg(test)]
mod tests;

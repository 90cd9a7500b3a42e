//! The pure Magento → Sage mapping: canonical Magento documents and the binding's [`SyncPolicy`] in,
//! Sage request bodies (or a [`SkipReason`] / [`MapError`]) out. No I/O: the engine resolves what
//! needs Sage (contact ids, synced items, tax rates, outstanding amounts) and passes it in a
//! [`DocContext`]. Rules as implemented: `docs/mapping.md`.
pub mod contact;
pub mod credit_note;
pub mod fx;
pub mod invoice;
pub mod keys;
mod lines;
pub mod payment;
pub mod product;
mod skip;
pub mod tax;
pub mod text;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use contact::{
    b2c_contact, b2c_reference, contact_fingerprint, contact_reference, contact_scope, post_contact, put_contact,
    uses_b2c,
};
pub use credit_note::{
    CreditSettlement, contact_allocation, credit_note_scope, credit_settlement, sales_credit_note, sales_credit_note_of,
};
pub use fx::{Fx, document_fx};
pub use invoice::{invoice_scope, sales_invoice};
pub use keys::{OperationKind, operation_key};
pub use payment::{
    PaymentRoute, ReceiptParams, customer_receipt, customer_refund_payment, payment_route, receipt_amount, refund_route,
};
pub use product::{
    ItemKind, item_kind, post_product, post_service, post_stock_item, product_scope, stock_movement,
    stock_movement_delta,
};
pub use skip::{MapError, SkipReason};
pub use tax::{TaxRates, tax_amount};

use crate::policy::SyncPolicy;
use crate::{Currency, Tier};

/// What a Sage subscription tier can do, decided before any call (sage-api.md §8.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// POST products and services (Standard, Plus).
    pub products: bool,
    /// Stock items and movements (Plus).
    pub stock: bool,
    /// Customer refunds and allocations (Standard, Plus).
    pub refunds: bool,
    /// Documents in a foreign currency (Plus; a business may also have it switched off).
    pub multi_currency: bool,
}

impl Capabilities {
    pub fn of(tier: Tier) -> Self {
        Self {
            products: tier >= Tier::Standard,
            stock: tier == Tier::Plus,
            refunds: tier >= Tier::Standard,
            multi_currency: tier == Tier::Plus,
        }
    }
}

/// The Sage item a Magento SKU is synced to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SageItem {
    pub kind: product::ItemKind,
    pub id: String,
}

/// The business's own defaults (`/business_settings`, `/invoice_settings`), used where the policy
/// names nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessDefaults {
    pub sales_ledger_account_id: Option<String>,
    pub purchase_ledger_account_id: Option<String>,
    pub bank_account_id: Option<String>,
}

/// What the engine resolved for mapping one document.
#[derive(Clone, Debug)]
pub struct DocContext<'a> {
    pub policy: &'a SyncPolicy,
    pub caps: Capabilities,
    /// The Sage business's base currency (`financial_settings.base_currency`).
    pub base_currency: Currency,
    /// The Sage contact the document is for (for a credit note: the original invoice's contact).
    pub contact_id: &'a str,
    /// Magento SKU → the Sage product, service or stock item it is synced to.
    pub items: &'a BTreeMap<String, SageItem>,
    /// The business's tax rates: id → percentage.
    pub tax_rates: &'a TaxRates,
    pub defaults: &'a BusinessDefaults,
    /// The document date when Magento gave none (the engine's clock, UTC).
    pub today: NaiveDate,
}

impl DocContext<'_> {
    /// The ledger account of document lines: the policy's, else the business default.
    pub fn sales_ledger_account_id(&self) -> Result<&str, MapError> {
        self.policy.sales_ledger_account_id.as_deref().or(self.defaults.sales_ledger_account_id.as_deref()).ok_or(
            MapError::PolicyIncomplete {
                field: "sales_ledger_account_id",
                why: "every Sage document line needs a sales ledger account",
            },
        )
    }
}

#[cfg(test)]
mod tests;

//! Typed canonical entities Magento serves under `/rest/V1/byte8/*` (spec §5.2), parsed leniently.
//!
//! Magento omits null fields, prints integral floats as integers and sometimes sends `""` for a missing
//! timestamp, so: optional fields are `Option` with `#[serde(default)]`, money, quantities and rates are
//! `Decimal` from numbers or numeric strings, timestamps are `Option<DateTime<Utc>>` (also for the fields the
//! spec lists as required, since they can arrive as `""`), and unknown fields are ignored.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod de;
mod probe;

pub use probe::{PaymentMethod, PaymentMethods, Ping, SyncEntityType, SyncState, SyncStateError, SyncStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    Billing,
    Shipping,
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub kind: AddressKind,
    #[serde(default)]
    pub street: Vec<String>,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub country_id: String,
    #[serde(default)]
    pub telephone: Option<String>,
}

/// A customer, or the synthetic guest contact (`magento_id == 0`) embedded in documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(deserialize_with = "de::id")]
    pub magento_id: u64,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub website_id: u64,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Contact {
    /// Guests have no customer record; never fetch `/customer/0`.
    pub fn is_guest(&self) -> bool {
        self.magento_id == 0
    }
}

/// A line of an invoice or credit memo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    #[serde(default)]
    pub sku: String,
    #[serde(default)]
    pub name: String,
    #[serde(deserialize_with = "de::decimal")]
    pub qty: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub unit_price: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub line_subtotal: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub line_tax: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub line_total: Decimal,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub tax_rate: Option<Decimal>,
    #[serde(default)]
    pub tax_class: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    Open,
    Paid,
    Cancelled,
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    #[serde(deserialize_with = "de::id")]
    pub magento_id: u64,
    pub increment_id: String,
    #[serde(deserialize_with = "de::id")]
    pub order_id: u64,
    #[serde(default)]
    pub order_increment_id: String,
    #[serde(default, deserialize_with = "de::id")]
    pub website_id: u64,
    #[serde(default, deserialize_with = "de::id")]
    pub store_id: u64,
    pub currency: String,
    pub state: InvoiceState,
    pub customer: Contact,
    #[serde(default)]
    pub lines: Vec<InvoiceLine>,
    #[serde(deserialize_with = "de::decimal")]
    pub subtotal: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub tax_amount: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub shipping_amount: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub shipping_tax_amount: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub discount_amount: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub grand_total: Decimal,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub payment_method: Option<String>,
    #[serde(default)]
    pub billing_address: Option<Address>,
    #[serde(default)]
    pub shipping_address: Option<Address>,
    #[serde(default)]
    pub po_number: Option<String>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub base_to_order_rate: Option<Decimal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditMemo {
    #[serde(deserialize_with = "de::id")]
    pub magento_id: u64,
    pub increment_id: String,
    /// Absent for order-level refunds of offline payments.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub invoice_id: Option<u64>,
    #[serde(default)]
    pub invoice_increment_id: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub website_id: u64,
    pub currency: String,
    pub customer: Contact,
    #[serde(default)]
    pub lines: Vec<InvoiceLine>,
    #[serde(deserialize_with = "de::decimal")]
    pub adjustment_positive: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub adjustment_negative: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub grand_total: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub shipping_amount: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub shipping_tax_amount: Decimal,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub invoice_created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub base_to_order_rate: Option<Decimal>,
}

/// The payment of an invoice (`/payment/:invoice_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    #[serde(deserialize_with = "de::id")]
    pub magento_id: u64,
    #[serde(deserialize_with = "de::id")]
    pub invoice_id: u64,
    #[serde(default)]
    pub invoice_increment_id: String,
    pub method: String,
    pub currency: String,
    #[serde(deserialize_with = "de::decimal")]
    pub amount: Decimal,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub captured_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub gateway_txn_id: Option<String>,
    /// Opaque: may be an object or a plain list (spec open question 2).
    #[serde(default)]
    pub gateway_metadata: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    #[serde(deserialize_with = "de::id")]
    pub magento_id: u64,
    pub sku: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub product_type: String,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub special_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cost: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub weight: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub stock_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "de::boolish")]
    pub manage_stock: bool,
    /// The numeric tax_class_id as a string, e.g. `"2"`.
    #[serde(default)]
    pub tax_class: Option<String>,
    #[serde(default, deserialize_with = "de::ids")]
    pub website_ids: Vec<u64>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests;

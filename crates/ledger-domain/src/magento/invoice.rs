//! Invoices (`/invoice/:id`) and the line shape invoices and credit memos share.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::de;
use super::{Address, Contact};
use crate::{Currency, MagentoEntityId};

/// A line of an invoice or credit memo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    #[serde(default)]
    pub sku: String,
    #[serde(default)]
    pub name: String,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub qty: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub unit_price: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub line_subtotal: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub line_tax: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub line_total: Decimal,
    /// A ratio (`0.2` for 20 %), omitted when the tax or the row total is zero.
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
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
    #[serde(deserialize_with = "de::entity_id")]
    pub magento_id: MagentoEntityId,
    pub increment_id: String,
    #[serde(deserialize_with = "de::entity_id")]
    pub order_id: MagentoEntityId,
    #[serde(default)]
    pub order_increment_id: String,
    #[serde(default, deserialize_with = "de::id")]
    pub website_id: u64,
    #[serde(default, deserialize_with = "de::id")]
    pub store_id: u64,
    /// The order currency (Magento falls back to the base currency).
    pub currency: Currency,
    pub state: InvoiceState,
    pub customer: Contact,
    #[serde(default)]
    pub lines: Vec<InvoiceLine>,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub subtotal: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub tax_amount: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub shipping_amount: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub shipping_tax_amount: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub discount_amount: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
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
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
    pub base_to_order_rate: Option<Decimal>,
}

//! Products (`/product/:id`).
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::de;
use crate::MagentoEntityId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    #[serde(deserialize_with = "de::entity_id")]
    pub magento_id: MagentoEntityId,
    pub sku: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub product_type: String,
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
    pub special_price: Option<Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
    pub cost: Option<Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
    pub weight: Option<Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
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

//! The payment of an invoice (`/payment/:invoice_id`).
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de;
use crate::{Currency, MagentoEntityId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The invoice's id (Magento has no payment entity of its own here).
    #[serde(deserialize_with = "de::entity_id")]
    pub magento_id: MagentoEntityId,
    #[serde(deserialize_with = "de::entity_id")]
    pub invoice_id: MagentoEntityId,
    #[serde(default)]
    pub invoice_increment_id: String,
    pub method: String,
    pub currency: Currency,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub amount: Decimal,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub captured_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub gateway_txn_id: Option<String>,
    /// Opaque: may be an object or a plain list (spec open question 2).
    #[serde(default)]
    pub gateway_metadata: Option<Value>,
}

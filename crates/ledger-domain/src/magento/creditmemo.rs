//! Credit memos (`/creditmemo/:id`): lines like an invoice's, adjustments instead of subtotals.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::de;
use super::{Contact, InvoiceLine};
use crate::{Currency, MagentoEntityId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditMemo {
    #[serde(deserialize_with = "de::entity_id")]
    pub magento_id: MagentoEntityId,
    pub increment_id: String,
    /// Absent for order-level refunds of offline payments.
    #[serde(default, deserialize_with = "de::opt_entity_id")]
    pub invoice_id: Option<MagentoEntityId>,
    #[serde(default)]
    pub invoice_increment_id: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub website_id: u64,
    pub currency: Currency,
    pub customer: Contact,
    #[serde(default)]
    pub lines: Vec<InvoiceLine>,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub adjustment_positive: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub adjustment_negative: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub grand_total: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub shipping_amount: Decimal,
    #[serde(deserialize_with = "crate::decimal::deserialize")]
    pub shipping_tax_amount: Decimal,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub invoice_created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::decimal::opt::deserialize")]
    pub base_to_order_rate: Option<Decimal>,
}

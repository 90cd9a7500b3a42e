//! Contacts (`/customer/:id`, and embedded as a document's `customer`) and their addresses.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de;
use crate::MagentoEntityId;

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

/// A customer, or the synthetic guest contact embedded in documents (`magento_id` `0` on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// `None` for the guest contact, which has no customer record.
    #[serde(deserialize_with = "de::contact_id", serialize_with = "de::serialize_contact_id")]
    pub magento_id: Option<MagentoEntityId>,
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
        self.magento_id.is_none()
    }
}

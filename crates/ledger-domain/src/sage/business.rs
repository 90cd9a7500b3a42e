//! Businesses and the signed-in user (`/businesses`, `/user`, spec §2.2). Sage's published schema omits
//! these (they live in a separate document); the fields are the ones the spec lists.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Link;

/// The `Business` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Business {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub name: Option<String>,
    pub address_line_1: Option<String>,
    pub address_line_2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub region: Option<String>,
    pub country: Option<Link>,
    pub telephone: Option<String>,
    pub mobile: Option<String>,
    pub website: Option<String>,
    pub is_demo: Option<bool>,
    pub ni_based: Option<bool>,
    /// `START`, `MICRO`, `ACCOUNTS`, `ACCOUNTING_10`, `ACCOUNTING`; check `active`.
    pub subscriptions: Vec<BusinessSubscription>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Business {
    /// The ids of the subscriptions that are active (what decides the tier).
    pub fn active_subscription_ids(&self) -> impl Iterator<Item = &str> {
        self.subscriptions.iter().filter(|s| s.active == Some(true)).map(|s| s.id.as_str())
    }
}

/// One entry of a business's `subscriptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BusinessSubscription {
    pub id: String,
    pub displayed_as: Option<String>,
    pub active: Option<bool>,
    pub status: Option<String>,
}

/// The `User` resource (`GET /user`): whose token this is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub displayed_as: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub initials: Option<String>,
    pub email: Option<String>,
    pub locale: Option<String>,
}

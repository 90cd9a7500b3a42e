//! A tenant's binding to an accounting provider: its lifecycle status and the Sage subscription tier.
use serde::{Deserialize, Serialize};

use crate::text_enum::text_enum;

/// Where a binding stands. Only `Active` bindings sync; the others say why not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingStatus {
    /// Authorised (or being authorised) but no business chosen yet.
    Connecting,
    Active,
    /// The provider refused our refresh token (`invalid_grant`): the merchant must connect again.
    ReconnectRequired,
    /// The provider says the subscription lapsed (Sage: 401 with `MSE`).
    Suspended,
    /// Disconnected on purpose: tokens revoked and deleted.
    Disconnected,
}

impl BindingStatus {
    pub const ALL: [Self; 5] =
        [Self::Connecting, Self::Active, Self::ReconnectRequired, Self::Suspended, Self::Disconnected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Active => "active",
            Self::ReconnectRequired => "reconnect_required",
            Self::Suspended => "suspended",
            Self::Disconnected => "disconnected",
        }
    }
}

/// What a Sage subscription allows: Start has no multi-currency, stock or refunds; Plus has all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Start,
    Standard,
    Plus,
}

impl Tier {
    pub const ALL: [Self; 3] = [Self::Start, Self::Standard, Self::Plus];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Standard => "standard",
            Self::Plus => "plus",
        }
    }

    /// The tier of a Sage subscription id (spec sage-api.md §2.2): `START` and `MICRO` (Start through a
    /// partner), `ACCOUNTS` (Standard before May 2020) and `ACCOUNTING_10` (Standard), `ACCOUNTING` (Plus).
    pub fn from_subscription_id(id: &str) -> Option<Self> {
        match id {
            "START" | "MICRO" => Some(Self::Start),
            "ACCOUNTS" | "ACCOUNTING_10" => Some(Self::Standard),
            "ACCOUNTING" => Some(Self::Plus),
            _ => None,
        }
    }
}

text_enum!(BindingStatus, "binding status");
text_enum!(Tier, "tier");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_tiers_round_trip_through_their_text() {
        for s in BindingStatus::ALL {
            assert_eq!(s.as_str().parse::<BindingStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::from(s.as_str()));
        }
        for t in Tier::ALL {
            assert_eq!(t.as_str().parse::<Tier>(), Ok(t));
        }
        assert!("revoked".parse::<BindingStatus>().is_err());
    }

    #[test]
    fn subscription_ids_name_their_tier() {
        assert_eq!(Tier::from_subscription_id("ACCOUNTING"), Some(Tier::Plus));
        assert_eq!(Tier::from_subscription_id("ACCOUNTING_10"), Some(Tier::Standard));
        assert_eq!(Tier::from_subscription_id("ACCOUNTS"), Some(Tier::Standard));
        assert_eq!(Tier::from_subscription_id("START"), Some(Tier::Start));
        assert_eq!(Tier::from_subscription_id("MICRO"), Some(Tier::Start));
        assert_eq!(Tier::from_subscription_id("PAYROLL"), None);
        assert!(Tier::Plus > Tier::Standard && Tier::Standard > Tier::Start);
    }
}

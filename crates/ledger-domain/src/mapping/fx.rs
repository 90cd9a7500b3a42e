//! Foreign-currency documents: `currency_id` and `exchange_rate` from Magento's `base_to_order_rate`,
//! in the direction the policy says (sage-api.md 5.8 leaves Sage's convention open).
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Capabilities, MapError, SkipReason};
use crate::Currency;
use crate::policy::{ExchangeRateDirection, SyncPolicy};

/// Places of a `base_per_foreign` rate (what Byte8 sends successfully).
const INVERSE_PLACES: u32 = 10;

/// The currency fields of a foreign-currency document or payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fx {
    pub currency_id: String,
    pub exchange_rate: Decimal,
}

/// `None` for a document in the business's base currency. A foreign one needs multi-currency
/// (else skipped `tier_without_multi_currency`) and a positive `base_to_order_rate`. Magento's rate is
/// order units per store-base unit, so the store's base currency must be the business's: the engine
/// checks that at connect.
pub fn document_fx(
    currency: &Currency,
    base_currency: &Currency,
    base_to_order_rate: Option<Decimal>,
    policy: &SyncPolicy,
    caps: Capabilities,
) -> Result<Option<Fx>, MapError> {
    if currency == base_currency {
        return Ok(None);
    }
    if !caps.multi_currency {
        return Err(SkipReason::TierWithoutMultiCurrency.into());
    }
    let rate = base_to_order_rate.filter(|r| *r > Decimal::ZERO).ok_or_else(|| {
        MapError::Unmappable(format!(
            "the {currency} document has no base_to_order_rate, so its {base_currency} value is unknown"
        ))
    })?;
    let exchange_rate = match policy.exchange_rate_direction {
        ExchangeRateDirection::ForeignPerBase => rate.normalize(),
        ExchangeRateDirection::BasePerForeign => (Decimal::ONE / rate).round_dp(INVERSE_PLACES).normalize(),
    };
    Ok(Some(Fx { currency_id: currency.to_string(), exchange_rate }))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::Tier;

    fn cur(s: &str) -> Currency {
        Currency::parse(s).unwrap()
    }

    #[test]
    fn base_currency_documents_carry_no_rate() {
        let p = SyncPolicy::default();
        assert_eq!(document_fx(&cur("GBP"), &cur("GBP"), Some(dec!(1)), &p, Capabilities::of(Tier::Start)), Ok(None));
    }

    #[test]
    fn direction_follows_the_policy() {
        let mut p = SyncPolicy::default();
        let plus = Capabilities::of(Tier::Plus);
        let fx = document_fx(&cur("EUR"), &cur("GBP"), Some(dec!(1.1650)), &p, plus).unwrap().unwrap();
        assert_eq!((fx.currency_id.as_str(), fx.exchange_rate), ("EUR", dec!(1.165)));
        p.exchange_rate_direction = ExchangeRateDirection::BasePerForeign;
        let fx = document_fx(&cur("EUR"), &cur("GBP"), Some(dec!(1.1650)), &p, plus).unwrap().unwrap();
        assert_eq!(fx.exchange_rate, dec!(0.8583690987));
    }

    #[test]
    fn foreign_documents_need_multi_currency_and_a_rate() {
        let p = SyncPolicy::default();
        let std = Capabilities::of(Tier::Standard);
        assert_eq!(
            document_fx(&cur("EUR"), &cur("GBP"), Some(dec!(1.1)), &p, std),
            Err(MapError::Skip(SkipReason::TierWithoutMultiCurrency))
        );
        let plus = Capabilities::of(Tier::Plus);
        for missing in [None, Some(dec!(0)), Some(dec!(-1))] {
            assert!(matches!(document_fx(&cur("EUR"), &cur("GBP"), missing, &p, plus), Err(MapError::Unmappable(_))));
        }
    }
}

//! Money: `Decimal` only, rounded in one place to two places, half away from zero (Sage's rule, spec §6).
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds an amount to pennies, half away from zero.
pub fn round2(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The amounts of one document line as Sage expects the client to send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

/// `net = quantity × unit_price − discount`, `tax = round2(net × rate% / 100)`, `total = net + tax`.
pub fn line_amounts(quantity: Decimal, unit_price: Decimal, discount: Decimal, rate_percent: Decimal) -> LineAmounts {
    let net = round2(quantity * unit_price - discount);
    let tax = round2(net * rate_percent / Decimal::ONE_HUNDRED);
    LineAmounts { net, tax, total: net + tax }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round2(d("0.825")), d("0.83"));
        assert_eq!(round2(d("-0.825")), d("-0.83"));
        assert_eq!(round2(d("0.824")), d("0.82"));
    }

    #[test]
    fn sage_worked_example() {
        let line = line_amounts(d("1"), d("10.00"), d("1.00"), d("9.25"));
        assert_eq!((line.net, line.tax, line.total), (d("9.00"), d("0.83"), d("9.83")));
    }
}

//! Tax: the line tax Sage expects (net × rate, 2 dp, half away from zero) and which Sage tax rate an
//! amount Magento taxed gets (policy overrides, the business's rates, destination VAT).
//!
//! Magento's per-line `tax_rate` is a ratio of tax to the *undiscounted* row, so it is not the rate
//! once a discount applies; the rate is therefore found from the amounts: a Sage rate fits a line when
//! round2(net × rate) is within [`TAX_TOLERANCE`] of the tax Magento charged.
use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::MapError;
use crate::money::round2;
use crate::policy::SyncPolicy;

/// Sage's accepted difference between a line's `tax_amount` and round2(net × rate).
pub const TAX_TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// The business's tax rates as read from `/tax_rates`: Sage id → current percentage.
pub type TaxRates = BTreeMap<String, Decimal>;

/// round2(net × rate_percent / 100), half away from zero (spec sage-api.md §6).
pub fn tax_amount(net: Decimal, rate_percent: Decimal) -> Decimal {
    round2(net * rate_percent / Decimal::ONE_HUNDRED)
}

/// A key of the policy's `tax_rate_map`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaxKey {
    /// `class:<id>`: a Magento tax class.
    Class(String),
    /// `20`, `17.5`, `5%`: a rate percentage.
    Percent(Decimal),
}

impl TaxKey {
    pub fn parse(key: &str) -> Option<Self> {
        let key = key.trim();
        if let Some(class) = key.strip_prefix("class:") {
            let class = class.trim();
            return (!class.is_empty()).then(|| Self::Class(class.to_owned()));
        }
        let pct = Decimal::from_str(key.strip_suffix('%').unwrap_or(key).trim()).ok()?;
        (pct >= Decimal::ZERO && pct <= Decimal::ONE_HUNDRED).then(|| Self::Percent(pct.normalize()))
    }
}

/// Where the customer is, for VAT: the business's home country or abroad (exports, the EU).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Home,
    Abroad(String),
}

impl Destination {
    /// From an ISO-2 country (unknown → home: a document without an address is taxed as domestic).
    pub fn of(country: Option<&str>, policy: &SyncPolicy) -> Self {
        match country.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) if !c.eq_ignore_ascii_case(policy.home_country()) => Self::Abroad(c.to_ascii_uppercase()),
            _ => Self::Home,
        }
    }
}

/// How one taxed amount (a line or shipping) goes to Sage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaxTreatment {
    /// A Sage rate and the `tax_amount` to send with it.
    Rate { tax_rate_id: String, percent: Decimal, tax_amount: Decimal },
    /// VAT no Sage rate covers (EU consumers): the amount is zero-rated and `vat` moves to the
    /// document's destination-VAT line.
    DestinationVat { zero_rate_id: String, vat: Decimal },
}

impl TaxTreatment {
    pub fn tax_rate_id(&self) -> &str {
        match self {
            Self::Rate { tax_rate_id, .. } => tax_rate_id,
            Self::DestinationVat { zero_rate_id, .. } => zero_rate_id,
        }
    }

    /// The tax Sage books on the amount itself.
    pub fn sage_tax(&self) -> Decimal {
        match self {
            Self::Rate { tax_amount, .. } => *tax_amount,
            Self::DestinationVat { .. } => Decimal::ZERO,
        }
    }
}

/// One amount to route: its net (after discount), the tax Magento charged on it, its tax class.
#[derive(Clone, Copy, Debug)]
pub struct Taxed<'a> {
    pub net: Decimal,
    pub tax: Decimal,
    pub tax_class: Option<&'a str>,
}

/// The tax to send with `rate_percent`: Magento's own when Sage would accept it (so Sage's total is
/// what the customer paid), else Sage's computation.
pub fn sendable_tax(net: Decimal, magento_tax: Decimal, rate_percent: Decimal) -> Decimal {
    let computed = tax_amount(net, rate_percent);
    if (computed - magento_tax).abs() <= TAX_TOLERANCE { round2(magento_tax) } else { computed }
}

fn rate(id: &str, percent: Decimal, item: &Taxed<'_>) -> TaxTreatment {
    TaxTreatment::Rate { tax_rate_id: id.to_owned(), percent, tax_amount: sendable_tax(item.net, item.tax, percent) }
}

/// The effective rate Magento charged, for messages.
fn effective_percent(item: &Taxed<'_>) -> Option<Decimal> {
    (!item.net.is_zero()).then(|| (item.tax / item.net * Decimal::ONE_HUNDRED).round_dp(1).normalize())
}

/// Routes one amount to a Sage tax rate.
///
/// 1. `tax_rate_map["class:<c>"]` for the item's tax class wins.
/// 2. Untaxed amounts: `tax_rate_map["0"]`, else the policy's zero rate (`GB_ZERO`).
/// 3. At home: the best-fitting rate among `tax_rate_map` percentages, `default_tax_rate_id` and the
///    business's rates (in that order on a tie).
/// 4. Abroad (tax Magento charged a foreign consumer): a `tax_rate_map` percentage that fits, else
///    destination VAT when the policy names its ledger account, else `tax_rate_not_mapped`.
pub fn route(
    item: &Taxed<'_>,
    dest: &Destination,
    policy: &SyncPolicy,
    rates: &TaxRates,
) -> Result<TaxTreatment, MapError> {
    let percent_of = |id: &str, fallback: Option<Decimal>| rates.get(id).copied().or(fallback);
    if let Some(class) = item.tax_class.map(str::trim).filter(|c| !c.is_empty())
        && let Some(id) = policy.tax_rate_map.get(&format!("class:{class}"))
    {
        let percent = percent_of(id, effective_percent(item)).unwrap_or_default();
        return Ok(rate(id, percent, item));
    }
    let mapped = policy.tax_rate_map.iter().filter_map(|(k, id)| match TaxKey::parse(k) {
        Some(TaxKey::Percent(p)) => Some((id.as_str(), percent_of(id, Some(p)).unwrap_or(p))),
        _ => None,
    });
    if item.tax.is_zero() {
        let zero = mapped.clone().find(|(_, p)| p.is_zero()).map_or(policy.zero_tax_rate_id(), |(id, _)| id);
        return Ok(TaxTreatment::Rate {
            tax_rate_id: zero.to_owned(),
            percent: Decimal::ZERO,
            tax_amount: Decimal::ZERO,
        });
    }
    let candidates: Vec<(&str, Decimal)> = match dest {
        Destination::Home => mapped
            .chain(policy.default_tax_rate_id.as_deref().and_then(|id| Some((id, rates.get(id).copied()?))))
            .chain(rates.iter().map(|(id, p)| (id.as_str(), *p)))
            .filter(|(_, p)| !p.is_zero())
            .collect(),
        Destination::Abroad(_) => mapped.filter(|(_, p)| !p.is_zero()).collect(),
    };
    let best = candidates
        .iter()
        .map(|(id, p)| (*id, *p, (tax_amount(item.net, *p) - item.tax).abs()))
        .filter(|(_, _, diff)| *diff <= TAX_TOLERANCE)
        .fold(None::<(&str, Decimal, Decimal)>, |best, c| match best {
            Some(b) if b.2 <= c.2 => Some(b),
            _ => Some(c),
        });
    if let Some((id, percent, _)) = best {
        return Ok(rate(id, percent, item));
    }
    let shown =
        effective_percent(item).map_or_else(|| format!("{} tax on a zero amount", item.tax), |p| format!("{p}%"));
    match dest {
        Destination::Abroad(country) => match &policy.destination_vat_ledger_account_id {
            Some(_) => {
                Ok(TaxTreatment::DestinationVat { zero_rate_id: policy.zero_tax_rate_id().to_owned(), vat: item.tax })
            }
            None => Err(MapError::TaxRateNotMapped(format!(
                "Magento charged {shown} tax to a customer in {country}, which no Sage tax rate covers: set \
                 destination_vat_ledger_account_id (destination VAT on its own line) or map the rate in tax_rate_map"
            ))),
        },
        Destination::Home => Err(MapError::TaxRateNotMapped(format!(
            "Magento charged {shown} tax, which matches no Sage tax rate of the business: map it in tax_rate_map"
        ))),
    }
}

#[cfg(test)]
#[path = "tax_tests.rs"]
mod tests;

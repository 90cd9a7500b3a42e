//! The per-binding sync policy: a typed JSON document (every field optional, `{}` is valid) saying which
//! Sage accounts, tax rates and payment methods Magento's documents go to, and which documents to skip.
//!
//! Parsing and validation are pure; checking that the ids exist in the Sage business is the engine's
//! job (it reads them from Sage), driven by [`SyncPolicy::referenced_ids`].
mod validate;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use validate::{FieldError, IdKind, ReferencedId};

/// The sync policy of one binding. JSON names are part of the API (`GET`/`PUT …/sage/policy`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncPolicy {
    /// Sage tax rate for lines no other rule routes (used only when it reproduces Magento's tax).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_tax_rate_id: Option<String>,
    /// Ledger account (visible in sales) of every document line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_ledger_account_id: Option<String>,
    /// Ledger account Sage requires on products and stock items (`purchase_ledger_account_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_ledger_account_id: Option<String>,
    /// Bank account of receipts and refunds when the method's mapping names none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_account_id: Option<String>,
    /// Magento payment method code → Sage payment method and bank account.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub payment_method_map: BTreeMap<String, PaymentMethodMapping>,
    /// `"class:<magento tax class id>"` or a rate percentage (`"20"`, `"17.5"`) → Sage tax rate id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tax_rate_map: BTreeMap<String, String>,
    /// Where destination VAT (EU consumers, OSS/IOSS) goes, on its own no-tax line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_vat_ledger_account_id: Option<String>,
    /// Sage rate for zero-rated lines and exports (default `GB_ZERO`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_tax_rate_id: Option<String>,
    /// Sage rate of the destination-VAT line (default `GB_NO_TAX`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_tax_rate_id: Option<String>,
    /// ISO-2 country whose VAT the Sage business charges (default `GB`); other countries are exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_country: Option<String>,
    pub b2c: B2cPolicy,
    pub exchange_rate_direction: ExchangeRateDirection,
    /// Documents created before this are skipped (`outside_sync_since`). A date or an RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "de_since", serialize_with = "ser_since")]
    pub sync_since: Option<DateTime<Utc>>,
    /// Magento store views whose invoices sync; absent = all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_ids: Option<Vec<u64>>,
    /// Magento websites whose customers, products and credit memos sync; absent = all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website_ids: Option<Vec<u64>>,
    pub zero_value_invoices: ZeroValueInvoices,
    pub refund_mode: RefundMode,
    pub order_refunds: OrderRefunds,
    /// Managed-stock simple products become stock items with stock movements (Plus only).
    pub sync_stock: bool,
    /// 1–3 characters in front of every contact reference, when several bindings share a business.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_reference_prefix: Option<String>,
}

/// One entry of `payment_method_map`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentMethodMapping {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<String>,
    /// Falls back to the policy's `bank_account_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_account_id: Option<String>,
}

/// B2C consolidation: guest orders under `threshold` (document currency) post to one fallback contact
/// per currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct B2cPolicy {
    pub enabled: bool,
    /// Absent: every guest order consolidates.
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::decimal::opt")]
    pub threshold: Option<Decimal>,
}

/// How `exchange_rate` is derived from Magento's `base_to_order_rate` (sage-api.md 5.8, unverified).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeRateDirection {
    /// Foreign units per 1 base unit: `base_to_order_rate` as is (Sage desktop's convention).
    #[default]
    ForeignPerBase,
    /// Base units per 1 foreign unit: `1 / base_to_order_rate`, 10 places (what Byte8 sends).
    BasePerForeign,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroValueInvoices {
    #[default]
    Skip,
    Sync,
}

/// What happens to the part of a credit note that no outstanding invoice absorbs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundMode {
    /// A `CUSTOMER_REFUND` from the bank account (the money went back to the customer).
    #[default]
    Refund,
    /// Leave it as an open credit on the customer's account.
    CreditNoteOnly,
}

/// Credit memos without an invoice (order-level refunds of offline payments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderRefunds {
    /// A credit note on the customer's contact, settled per `refund_mode`.
    #[default]
    Sync,
    /// Skipped `order_refund_not_synced`.
    Skip,
}

impl SyncPolicy {
    /// The default zero rate when the policy names none.
    pub const ZERO_TAX_RATE: &'static str = "GB_ZERO";
    /// The default no-tax rate when the policy names none.
    pub const NO_TAX_RATE: &'static str = "GB_NO_TAX";
    pub const HOME_COUNTRY: &'static str = "GB";

    /// Parses and validates a policy document; serde errors come back as field errors too.
    pub fn parse(value: &serde_json::Value) -> Result<SyncPolicy, Vec<FieldError>> {
        if !value.is_object() {
            return Err(vec![FieldError::new("", "a sync policy is a JSON object")]);
        }
        let policy: SyncPolicy = serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            vec![FieldError { field, message: e.inner().to_string() }]
        })?;
        policy.validate()?;
        Ok(policy)
    }

    pub fn zero_tax_rate_id(&self) -> &str {
        self.zero_tax_rate_id.as_deref().unwrap_or(Self::ZERO_TAX_RATE)
    }

    pub fn no_tax_rate_id(&self) -> &str {
        self.no_tax_rate_id.as_deref().unwrap_or(Self::NO_TAX_RATE)
    }

    pub fn home_country(&self) -> &str {
        self.home_country.as_deref().unwrap_or(Self::HOME_COUNTRY)
    }
}

fn de_since<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    use serde::de::Error as _;
    let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    crate::magento::de::parse_timestamp(text)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a date (YYYY-MM-DD) or an RFC 3339 time, got {text:?}")))
}

fn ser_since<S: Serializer>(since: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match since {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests;

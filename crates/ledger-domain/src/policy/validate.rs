//! Validation of a parsed [`SyncPolicy`] (field errors with JSON paths) and the list of Sage ids it
//! references, for the engine to check against the business.
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::SyncPolicy;
use crate::mapping::tax::TaxKey;

/// One problem with a policy document: `field` is a JSON path such as
/// `payment_method_map.checkmo.payment_method_id` (empty for the document itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// What kind of Sage record an id in the policy names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    TaxRate,
    LedgerAccount,
    BankAccount,
    PaymentMethod,
}

/// A Sage id the policy names, with where it sits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferencedId {
    pub field: String,
    pub kind: IdKind,
    pub id: String,
}

/// Longest id accepted (Sage's GUIDs are 32 characters, system ids are short).
const MAX_ID: usize = 64;

fn check_id(errors: &mut Vec<FieldError>, field: &str, id: &str) {
    if id.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if id.chars().count() > MAX_ID {
        errors.push(FieldError::new(field, format!("must be at most {MAX_ID} characters")));
    } else if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.push(FieldError::new(field, "must not contain spaces"));
    }
}

fn check_scope(errors: &mut Vec<FieldError>, field: &str, ids: &Option<Vec<u64>>) {
    let Some(ids) = ids else { return };
    if ids.is_empty() {
        errors.push(FieldError::new(field, "is empty: leave it out to sync every one"));
    }
    let mut seen = ids.clone();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != ids.len() {
        errors.push(FieldError::new(field, "lists an id twice"));
    }
}

impl SyncPolicy {
    /// Checks what can be checked without Sage: id syntax, map keys, the prefix, the scopes, and that
    /// every mapped payment method has a bank account.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for r in self.referenced_ids() {
            check_id(&mut errors, &r.field, &r.id);
        }
        for (code, mapping) in &self.payment_method_map {
            let base = format!("payment_method_map.{code}");
            if code.trim().is_empty() || code.chars().count() > MAX_ID {
                errors.push(FieldError::new(&base, "a Magento payment method code is 1 to 64 characters"));
            }
            if mapping.payment_method_id.is_none() {
                errors.push(FieldError::new(format!("{base}.payment_method_id"), "is required"));
            }
            if mapping.bank_account_id.is_none() && self.bank_account_id.is_none() {
                errors.push(FieldError::new(
                    format!("{base}.bank_account_id"),
                    "is required when the policy has no bank_account_id",
                ));
            }
        }
        for key in self.tax_rate_map.keys() {
            if TaxKey::parse(key).is_none() {
                errors.push(FieldError::new(
                    format!("tax_rate_map.{key}"),
                    "a key is a rate percentage (\"20\", \"17.5\") or a Magento tax class (\"class:2\")",
                ));
            }
        }
        if let Some(country) = &self.home_country
            && !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()))
        {
            errors.push(FieldError::new("home_country", "must be an ISO 3166 alpha-2 code such as GB"));
        }
        if self.b2c.threshold.is_some_and(|t| t < Decimal::ZERO) {
            errors.push(FieldError::new("b2c.threshold", "must not be negative"));
        }
        check_scope(&mut errors, "store_ids", &self.store_ids);
        check_scope(&mut errors, "website_ids", &self.website_ids);
        if let Some(prefix) = &self.contact_reference_prefix {
            let ok =
                (1..=3).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                errors.push(FieldError::new("contact_reference_prefix", "must be 1 to 3 upper-case letters or digits"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Every Sage id the policy names, with its field path and kind, in a stable order.
    pub fn referenced_ids(&self) -> Vec<ReferencedId> {
        let mut out = Vec::new();
        let mut push = |field: String, kind: IdKind, id: &Option<String>| {
            if let Some(id) = id {
                out.push(ReferencedId { field, kind, id: id.clone() });
            }
        };
        push("default_tax_rate_id".into(), IdKind::TaxRate, &self.default_tax_rate_id);
        push("sales_ledger_account_id".into(), IdKind::LedgerAccount, &self.sales_ledger_account_id);
        push("purchase_ledger_account_id".into(), IdKind::LedgerAccount, &self.purchase_ledger_account_id);
        push("bank_account_id".into(), IdKind::BankAccount, &self.bank_account_id);
        for (code, m) in &self.payment_method_map {
            push(format!("payment_method_map.{code}.payment_method_id"), IdKind::PaymentMethod, &m.payment_method_id);
            push(format!("payment_method_map.{code}.bank_account_id"), IdKind::BankAccount, &m.bank_account_id);
        }
        for (key, id) in &self.tax_rate_map {
            push(format!("tax_rate_map.{key}"), IdKind::TaxRate, &Some(id.clone()));
        }
        push(
            "destination_vat_ledger_account_id".into(),
            IdKind::LedgerAccount,
            &self.destination_vat_ledger_account_id,
        );
        push("zero_tax_rate_id".into(), IdKind::TaxRate, &self.zero_tax_rate_id);
        push("no_tax_rate_id".into(), IdKind::TaxRate, &self.no_tax_rate_id);
        out
    }
}

//! Reference data the sync engine reads and caches per binding (spec §5.7–§5.12): tax rates, ledger
//! accounts, bank accounts, payment methods, currencies and the business's settings.
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{BankAccountDetails, Link, wire};

/// The `TaxRate` resource (`GB_STANDARD`, `GB_LOWER`, `GB_ZERO`, `GB_EXEMPT`, `GB_NO_TAX` in the UK).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxRate {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    /// `STANDARD`, `LOWER`, `ZERO`, `EXEMPT`, `NO_TAX`.
    pub name: Option<String>,
    pub agency: Option<String>,
    /// The rate today, in percent.
    #[serde(with = "wire::opt_dec")]
    pub percentage: Option<Decimal>,
    /// Date-effective history.
    pub percentages: Vec<TaxRatePercentage>,
    pub is_visible: Option<bool>,
    pub retailer: Option<bool>,
    pub editable: Option<bool>,
    pub deletable: Option<bool>,
    pub is_combined_rate: Option<bool>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `TaxRatePercentage`: the percentage valid between two dates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxRatePercentage {
    #[serde(with = "wire::opt_dec")]
    pub percentage: Option<Decimal>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
}

/// The `LedgerAccount` resource; sales lines need one `visible_in_sales`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LedgerAccount {
    pub id: String,
    /// `Name (code)`, e.g. `Sales Type A (4000)`.
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub nominal_code: Option<i64>,
    /// `SALES`, `BANK`, …
    pub ledger_account_type: Option<Link>,
    pub ledger_account_classification: Option<Link>,
    pub visible_scopes: Vec<String>,
    pub visible_in_sales: Option<bool>,
    pub visible_in_banking: Option<bool>,
    pub visible_in_other_receipts: Option<bool>,
    pub visible_in_journals: Option<bool>,
    pub visible_in_reporting: Option<bool>,
    pub included_in_chart: Option<bool>,
    /// The account's default tax rate.
    pub tax_rate: Option<Link>,
    pub fixed_tax_rate: Option<bool>,
    pub is_control_account: Option<bool>,
    pub control_name: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The `BankAccount` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BankAccount {
    pub id: String,
    /// E.g. `Current (1200)`.
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub bank_account_details: Option<BankAccountDetails>,
    pub ledger_account: Option<Link>,
    /// E.g. `CHECKING`.
    pub bank_account_type: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub balance: Option<Decimal>,
    pub nominal_code: Option<i64>,
    pub currency: Option<Link>,
    /// Used when a payment names no method.
    pub default_payment_method: Option<Link>,
    pub is_active: Option<bool>,
    pub editable: Option<bool>,
    pub deletable: Option<bool>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A payment method (`GET /payment_methods` answers `Base` items: `CASH`, `CREDIT_DEBIT`, `ELECTRONIC`…).
pub type PaymentMethod = Link;

/// A currency (`GET /currencies` answers `Base` items: id `GBP`, displayed as `Pound Sterling (GBP)`).
pub type Currency = Link;

/// The `FinancialSettings` resource (one per business, `GET /financial_settings`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FinancialSettings {
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub base_currency: Option<Link>,
    pub multi_currency_enabled: Option<bool>,
    pub use_live_exchange_rates: Option<bool>,
    /// No document may be dated before it.
    pub accounts_start_date: Option<NaiveDate>,
    pub year_end_date: Option<NaiveDate>,
    /// Documents on or before it are refused.
    pub year_end_lockdown_date: Option<NaiveDate>,
    pub accounting_type: Option<String>,
    pub tax_scheme: Option<Link>,
    pub tax_return_frequency: Option<Link>,
    pub tax_number: Option<String>,
    pub sales_tax_calculation: Option<String>,
    pub purchase_tax_calculation: Option<String>,
    #[serde(with = "wire::opt_dec")]
    pub flat_rate_tax_percentage: Option<Decimal>,
    pub postponed_accounting: Option<bool>,
    pub destination_vat: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The `InvoiceSettings` resource (`GET /invoice_settings`), as far as numbering goes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceSettings {
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub next_invoice_number: Option<i64>,
    pub next_credit_note_number: Option<i64>,
    pub separate_invoice_credit_note_numbering: Option<bool>,
    pub sales_invoice_number_prefix: Option<String>,
    pub sales_credit_note_number_prefix: Option<String>,
    pub customer_credit_days: Option<i32>,
    pub payment_bank_account: Option<Link>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The `BusinessSettings` resource (`GET /business_settings`), for its default ledger accounts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BusinessSettings {
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub default_ledger_accounts: Option<DefaultLedgerAccounts>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `DefaultLedgerAccounts`: the accounts Sage uses when a record names none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DefaultLedgerAccounts {
    pub sales_ledger_account: Option<Link>,
    pub sales_discount_ledger_account: Option<Link>,
    pub product_sales_ledger_account: Option<Link>,
    pub service_sales_ledger_account: Option<Link>,
    pub purchase_ledger_account: Option<Link>,
    pub product_purchase_ledger_account: Option<Link>,
    pub stock_purchase_ledger_account: Option<Link>,
    pub carriage_ledger_account: Option<Link>,
    pub exchange_rate_gains_ledger_account: Option<Link>,
    pub exchange_rate_losses_ledger_account: Option<Link>,
    pub customer_receipt_discount_ledger_account: Option<Link>,
    pub bank_charges_ledger_account: Option<Link>,
    pub other_receipt_ledger_account: Option<Link>,
}

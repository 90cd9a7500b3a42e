//! List filters per collection (spec §2.3, §2.4), sent as query parameters; `None` is left out.
//! `attributes` picks the fields returned (Sage returns only `id`, `displayed_as` and `$path` without
//! it; `"all"` for everything, or a comma list, which is faster). Pages are 200 items unless
//! `items_per_page` says otherwise, so a listing costs as few calls of the shared budget as possible.
use chrono::NaiveDate;
use serde::Serialize;

/// `/contacts`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ContactQuery {
    /// `CUSTOMER` / `VENDOR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_type_id: Option<String>,
    /// Matches name, company name or reference (compare `reference` exactly yourself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// The contact person's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `YYYY-MM-DDThh:mm:ssZ`, inclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_or_created_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// `/sales_invoices`, `/sales_credit_notes`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ArtefactQuery {
    /// Matches reference or contact name (compare `reference` exactly yourself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_or_created_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_payments_allocations: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// `/contact_payments`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PaymentQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_account_id: Option<String>,
    /// `CUSTOMER_RECEIPT`, `CUSTOMER_REFUND`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_type_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// `/contact_allocations`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AllocationQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_type_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// `/products`, `/services`, `/stock_items`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CatalogQuery {
    /// Matches item code or description (compare `item_code` exactly yourself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_or_created_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// `/stock_movements`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StockMovementQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// `/tax_rates`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TaxRateQuery {
    /// `sales` / `purchase`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// Rates valid on this date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_destination_vat_rates: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// `/ledger_accounts`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LedgerAccountQuery {
    /// `sales`, `banking`, `other_receipts`, … (sales lines need `sales`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_in: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_visible_in: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_account_type_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

/// Collections with no filters of their own (`/bank_accounts`, `/payment_methods`, `/currencies`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PageQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u32>,
}

impl PageQuery {
    /// Every attribute of every item.
    pub fn all() -> Self {
        Self { attributes: Some("all".into()), items_per_page: None }
    }
}

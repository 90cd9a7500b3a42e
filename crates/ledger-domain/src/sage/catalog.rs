//! Products, services, stock items and stock movements (spec §5.6): the `post*` bodies and resources.
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{IdempotencyId, Link, SageBody, wire};

/// The `product` object of `postProducts` (Standard and Plus only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostProduct {
    /// Max 255.
    pub description: String,
    pub sales_ledger_account_id: String,
    /// Required by Sage even for products only ever sold.
    pub purchase_ledger_account_id: String,
    /// Max 255; the Magento SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub cost_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_item_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sales_prices: Vec<PostSalesPrice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostProduct {
    const ROOT: &'static str = "product";
}

/// `putProducts` has the same fields, none required.
pub type PutProduct = PostProduct;

/// One of `sales_prices` in product and stock item requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostSalesPrice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_includes_tax: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_sales_price_type_id: Option<String>,
}

/// The `service` object of `postServices` (Standard and Plus only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostService {
    pub description: String,
    pub sales_ledger_account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_ledger_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub cost_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sales_rates: Vec<PostSalesRate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostService {
    const ROOT: &'static str = "service";
}

/// `putServices` has the same fields, none required.
pub type PutService = PostService;

/// One of `sales_rates` in service requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostSalesRate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_includes_tax: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_rate_type_id: Option<String>,
}

/// The `stock_item` object of `postStockItems` (Plus only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostStockItem {
    /// Max 30.
    pub item_code: String,
    pub description: String,
    pub sales_ledger_account_id: String,
    pub purchase_ledger_account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_tax_rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub cost_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub reorder_level: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub reorder_quantity: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wire::opt_dec")]
    pub weight: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sales_prices: Vec<PostSalesPrice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostStockItem {
    const ROOT: &'static str = "stock_item";
}

/// `putStockItems` has the same fields, none required.
pub type PutStockItem = PostStockItem;

/// The `stock_movement` object of `postStockMovements` (Plus only): a signed adjustment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostStockMovement {
    pub stock_item_id: String,
    pub date: NaiveDate,
    /// Signed: positive adds stock.
    #[serde(with = "wire::dec")]
    pub quantity: Decimal,
    /// Per unit.
    #[serde(with = "wire::dec")]
    pub cost_price: Decimal,
    /// Max 50.
    pub details: String,
    /// Max 31.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Max 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub movement_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_id: Option<IdempotencyId>,
}

impl SageBody for PostStockMovement {
    const ROOT: &'static str = "stock_movement";
}

/// `putStockMovements` has the same fields, none required.
pub type PutStockMovement = PostStockMovement;

/// The `Product` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub item_code: Option<String>,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub sales_ledger_account: Option<Link>,
    pub purchase_ledger_account: Option<Link>,
    pub sales_tax_rate: Option<Link>,
    pub purchase_tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub cost_price: Option<Decimal>,
    pub sales_prices: Vec<SalesPrice>,
    pub catalog_item_type: Option<Link>,
    pub active: Option<bool>,
    pub deletable: Option<bool>,
    pub source_guid: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// `SalesPrice`: one named selling price.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesPrice {
    pub id: Option<String>,
    pub displayed_as: Option<String>,
    pub price_name: Option<String>,
    #[serde(with = "wire::opt_dec")]
    pub price: Option<Decimal>,
    pub price_includes_tax: Option<bool>,
    pub product_sales_price_type: Option<Link>,
}

/// The `Service` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub item_code: Option<String>,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub sales_ledger_account: Option<Link>,
    pub purchase_ledger_account: Option<Link>,
    pub sales_tax_rate: Option<Link>,
    pub purchase_tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub cost_price: Option<Decimal>,
    pub sales_rates: Vec<SalesRate>,
    pub active: Option<bool>,
    pub deletable: Option<bool>,
    pub source_guid: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// `Rate`: one named service rate (Sage's schema calls the item type `Rate`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesRate {
    pub id: Option<String>,
    pub displayed_as: Option<String>,
    pub rate_name: Option<String>,
    #[serde(with = "wire::opt_dec")]
    pub rate: Option<Decimal>,
    pub rate_includes_tax: Option<bool>,
    pub service_rate_type: Option<Link>,
}

/// The `StockItem` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StockItem {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub item_code: Option<String>,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub sales_ledger_account: Option<Link>,
    pub purchase_ledger_account: Option<Link>,
    pub sales_tax_rate: Option<Link>,
    pub purchase_tax_rate: Option<Link>,
    #[serde(with = "wire::opt_dec")]
    pub cost_price: Option<Decimal>,
    pub sales_prices: Vec<SalesPrice>,
    /// What Sage holds; a stock movement reconciles it with Magento's quantity.
    #[serde(with = "wire::opt_dec")]
    pub quantity_in_stock: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub reorder_level: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub reorder_quantity: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub last_cost_price: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub average_cost_price: Option<Decimal>,
    pub location: Option<String>,
    pub barcode: Option<String>,
    pub active: Option<bool>,
    pub deletable: Option<bool>,
    pub source_guid: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The `StockMovement` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StockMovement {
    pub id: String,
    pub displayed_as: Option<String>,
    #[serde(rename = "$path")]
    pub path: Option<String>,
    pub stock_item: Option<Link>,
    pub date: Option<NaiveDate>,
    #[serde(with = "wire::opt_dec")]
    pub quantity: Option<Decimal>,
    #[serde(with = "wire::opt_dec")]
    pub cost_price: Option<Decimal>,
    pub details: Option<String>,
    pub reference: Option<String>,
    pub movement_number: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

//! `product.upserted` → a Sage product, service or stock item (decided from the Magento type, the tier
//! and `sync_stock` before any call), and the stock movement that brings Sage's quantity to Magento's.
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::text::{opt_text, plain, truncate};
use super::{BusinessDefaults, Capabilities, MapError, SkipReason};
use crate::magento::Product;
use crate::policy::SyncPolicy;
use crate::sage::{PostProduct, PostSalesPrice, PostSalesRate, PostService, PostStockItem, PostStockMovement};

/// Sage's limit on a stock item's `item_code`.
pub const MAX_STOCK_ITEM_CODE: usize = 30;
/// Sage's limit on a product's or service's `item_code`.
pub const MAX_ITEM_CODE: usize = 255;

/// Which Sage catalogue a Magento product goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Product,
    Service,
    StockItem,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Service => "service",
            Self::StockItem => "stock_item",
        }
    }
}

impl From<ItemKind> for crate::xref::XrefKind {
    fn from(kind: ItemKind) -> Self {
        match kind {
            ItemKind::Product => Self::Product,
            ItemKind::Service => Self::Service,
            ItemKind::StockItem => Self::StockItem,
        }
    }
}

/// Virtual and downloadable → service; simple and configurable → product, or a stock item for a
/// managed-stock simple when `sync_stock` is on and the tier has stock (else a plain product: the
/// item still syncs, its stock does not); bundle, grouped and unknown types are skipped; Start has
/// no catalogue endpoints at all.
pub fn item_kind(product: &Product, caps: Capabilities, policy: &SyncPolicy) -> Result<ItemKind, SkipReason> {
    let kind = match product.product_type.trim() {
        "virtual" | "downloadable" => ItemKind::Service,
        "simple" if product.manage_stock && policy.sync_stock && caps.stock => ItemKind::StockItem,
        "simple" | "configurable" => ItemKind::Product,
        _ => return Err(SkipReason::ProductTypeNotSupported),
    };
    if !caps.products {
        return Err(SkipReason::TierWithoutProducts);
    }
    Ok(kind)
}

/// Whether `product.upserted` syncs: a product in at least one of the policy's `website_ids` (one
/// assigned to no website is kept: it can still be sold through an admin order).
pub fn product_scope(product: &Product, policy: &SyncPolicy) -> Result<(), SkipReason> {
    match &policy.website_ids {
        Some(ids) if !product.website_ids.is_empty() && !product.website_ids.iter().any(|w| ids.contains(w)) => {
            Err(SkipReason::StoreNotSynced)
        }
        _ => Ok(()),
    }
}

fn ledgers<'a>(policy: &'a SyncPolicy, defaults: &'a BusinessDefaults) -> (Option<&'a String>, Option<&'a String>) {
    (
        policy.sales_ledger_account_id.as_ref().or(defaults.sales_ledger_account_id.as_ref()),
        policy.purchase_ledger_account_id.as_ref().or(defaults.purchase_ledger_account_id.as_ref()),
    )
}

fn sales(policy: &SyncPolicy, defaults: &BusinessDefaults) -> Result<String, MapError> {
    ledgers(policy, defaults).0.cloned().ok_or(MapError::PolicyIncomplete {
        field: "sales_ledger_account_id",
        why: "Sage catalogue items need a sales ledger account",
    })
}

fn purchase(policy: &SyncPolicy, defaults: &BusinessDefaults) -> Result<String, MapError> {
    ledgers(policy, defaults).1.cloned().ok_or(MapError::PolicyIncomplete {
        field: "purchase_ledger_account_id",
        why: "Sage requires a purchase ledger account on products and stock items",
    })
}

fn description(p: &Product) -> String {
    let d = plain(&p.name, 255);
    if d.is_empty() { truncate(p.sku.trim(), 255) } else { d }
}

fn item_code(p: &Product, max: usize) -> Result<String, MapError> {
    let sku = p.sku.trim();
    if sku.is_empty() || sku.chars().count() > max {
        return Err(MapError::Unmappable(format!("the SKU {sku:?} does not fit Sage's {max}-character item code")));
    }
    Ok(sku.to_owned())
}

/// The sales tax rate of a product's tax class, when the policy maps the class.
fn sales_tax_rate(p: &Product, policy: &SyncPolicy) -> Option<String> {
    let class = p.tax_class.as_deref()?.trim();
    policy.tax_rate_map.get(&format!("class:{class}")).cloned()
}

fn sales_prices(p: &Product) -> Vec<PostSalesPrice> {
    p.price
        .map(|price| PostSalesPrice {
            price_name: Some("Selling Price".to_owned()),
            price: Some(price),
            price_includes_tax: Some(false),
            product_sales_price_type_id: None,
        })
        .into_iter()
        .collect()
}

/// The `postProducts` body (item code = SKU, price = Magento's regular price, not a special price).
pub fn post_product(p: &Product, policy: &SyncPolicy, defaults: &BusinessDefaults) -> Result<PostProduct, MapError> {
    Ok(PostProduct {
        description: description(p),
        sales_ledger_account_id: sales(policy, defaults)?,
        purchase_ledger_account_id: purchase(policy, defaults)?,
        item_code: Some(item_code(p, MAX_ITEM_CODE)?),
        sales_tax_rate_id: sales_tax_rate(p, policy),
        cost_price: p.cost,
        active: Some(true),
        sales_prices: sales_prices(p),
        ..PostProduct::default()
    })
}

/// The `postServices` body.
pub fn post_service(p: &Product, policy: &SyncPolicy, defaults: &BusinessDefaults) -> Result<PostService, MapError> {
    Ok(PostService {
        description: description(p),
        sales_ledger_account_id: sales(policy, defaults)?,
        item_code: Some(item_code(p, MAX_ITEM_CODE)?),
        sales_tax_rate_id: sales_tax_rate(p, policy),
        cost_price: p.cost,
        active: Some(true),
        sales_rates: p
            .price
            .map(|rate| PostSalesRate {
                rate_name: Some("Selling Price".to_owned()),
                rate: Some(rate),
                rate_includes_tax: Some(false),
                service_rate_type_id: None,
            })
            .into_iter()
            .collect(),
        ..PostService::default()
    })
}

/// The `postStockItems` body (item code = SKU, at most 30 characters).
pub fn post_stock_item(
    p: &Product,
    policy: &SyncPolicy,
    defaults: &BusinessDefaults,
) -> Result<PostStockItem, MapError> {
    Ok(PostStockItem {
        item_code: item_code(p, MAX_STOCK_ITEM_CODE)?,
        description: description(p),
        sales_ledger_account_id: sales(policy, defaults)?,
        purchase_ledger_account_id: purchase(policy, defaults)?,
        sales_tax_rate_id: sales_tax_rate(p, policy),
        cost_price: p.cost,
        weight: p.weight,
        active: Some(true),
        sales_prices: sales_prices(p),
        ..PostStockItem::default()
    })
}

/// The signed movement that brings Sage's quantity to Magento's; `None` when they agree.
pub fn stock_movement_delta(magento_qty: Decimal, sage_qty: Decimal) -> Option<Decimal> {
    let delta = magento_qty - sage_qty;
    (!delta.is_zero()).then(|| delta.normalize())
}

/// The `postStockMovements` body of a `delta` from [`stock_movement_delta`], at Magento's cost price.
pub fn stock_movement(stock_item_id: &str, p: &Product, delta: Decimal, date: NaiveDate) -> PostStockMovement {
    PostStockMovement {
        stock_item_id: stock_item_id.to_owned(),
        date,
        quantity: delta,
        cost_price: p.cost.unwrap_or_default(),
        details: truncate(&format!("Magento stock level {}", p.stock_qty.unwrap_or_default().normalize()), 50),
        reference: opt_text(Some(&p.sku), 31),
        movement_number: None,
        idempotency_id: None,
    }
}

#[cfg(test)]
#[path = "product_tests.rs"]
mod tests;

//! Catalogue items: kind by type and tier, bodies, stock movements.
use chrono::NaiveDate;
use rust_decimal_macros::dec;
use serde_json::json;

use super::*;
use crate::Tier;
use crate::mapping::tests::policy;

fn product(kind: &str, manage_stock: bool) -> Product {
    serde_json::from_value(json!({
        "magento_id": 9, "sku": "KETTLE-1", "name": "Kettle &amp; lid", "product_type": kind, "price": 24.99,
        "cost": 11.5, "weight": 1.2, "stock_qty": 7, "manage_stock": manage_stock, "tax_class": "2", "website_ids": [1]
    }))
    .unwrap()
}

#[test]
fn kind_follows_type_tier_and_sync_stock() {
    let mut p = policy();
    let plus = Capabilities::of(Tier::Plus);
    assert_eq!(item_kind(&product("virtual", false), plus, &p), Ok(ItemKind::Service));
    assert_eq!(item_kind(&product("downloadable", false), plus, &p), Ok(ItemKind::Service));
    assert_eq!(item_kind(&product("configurable", true), plus, &p), Ok(ItemKind::Product));
    assert_eq!(item_kind(&product("simple", true), plus, &p), Ok(ItemKind::Product), "sync_stock is off");
    p.sync_stock = true;
    assert_eq!(item_kind(&product("simple", true), plus, &p), Ok(ItemKind::StockItem));
    assert_eq!(item_kind(&product("simple", false), plus, &p), Ok(ItemKind::Product), "unmanaged stock");
    let standard = Capabilities::of(Tier::Standard);
    assert_eq!(item_kind(&product("simple", true), standard, &p), Ok(ItemKind::Product), "no stock below Plus");
    for t in ["bundle", "grouped", "giftcard"] {
        assert_eq!(item_kind(&product(t, false), plus, &p), Err(SkipReason::ProductTypeNotSupported), "{t}");
    }
    let start = Capabilities::of(Tier::Start);
    assert_eq!(item_kind(&product("simple", false), start, &p), Err(SkipReason::TierWithoutProducts));
}

#[test]
fn bodies_carry_sku_price_accounts_and_class_rate() {
    let mut p = policy();
    p.tax_rate_map.insert("class:2".into(), "GB_STANDARD".into());
    let d = BusinessDefaults::default();
    let prod = post_product(&product("simple", false), &p, &d).unwrap();
    assert_eq!((prod.description.as_str(), prod.item_code.as_deref()), ("Kettle & lid", Some("KETTLE-1")));
    assert_eq!(
        (prod.sales_ledger_account_id.as_str(), prod.purchase_ledger_account_id.as_str()),
        ("sales4000", "cos5000")
    );
    assert_eq!(prod.sales_tax_rate_id.as_deref(), Some("GB_STANDARD"));
    assert_eq!(prod.sales_prices[0].price, Some(dec!(24.99)));
    let svc = post_service(&product("virtual", false), &p, &d).unwrap();
    assert_eq!(svc.sales_rates[0].rate, Some(dec!(24.99)));
    let stock = post_stock_item(&product("simple", true), &p, &d).unwrap();
    assert_eq!((stock.item_code.as_str(), stock.weight), ("KETTLE-1", Some(dec!(1.2))));

    let mut long = product("simple", true);
    long.sku = "S".repeat(31);
    assert!(matches!(post_stock_item(&long, &p, &d), Err(MapError::Unmappable(_))), "stock codes are ≤ 30");
    assert!(post_product(&long, &p, &d).is_ok(), "product codes are ≤ 255");
    p.purchase_ledger_account_id = None;
    assert!(matches!(post_product(&product("simple", false), &p, &d), Err(MapError::PolicyIncomplete { .. })));
    assert!(post_service(&product("virtual", false), &p, &d).is_ok(), "services need no purchase ledger");
}

#[test]
fn stock_movements_close_the_gap() {
    assert_eq!(stock_movement_delta(dec!(7), dec!(7.000)), None);
    assert_eq!(stock_movement_delta(dec!(7), dec!(10)), Some(dec!(-3)));
    assert_eq!(stock_movement_delta(dec!(12.5), dec!(10)), Some(dec!(2.5)));
    let m = stock_movement("st1", &product("simple", true), dec!(-3), NaiveDate::from_ymd_opt(2026, 5, 1).unwrap());
    assert_eq!((m.quantity, m.cost_price, m.reference.as_deref()), (dec!(-3), dec!(11.5), Some("KETTLE-1")));
    assert!(m.details.chars().count() <= 50);
}

#[test]
fn products_outside_the_synced_websites_are_skipped() {
    let mut p = policy();
    let mut prod = product("simple", false);
    assert_eq!(product_scope(&prod, &p), Ok(()));
    p.website_ids = Some(vec![2, 3]);
    assert_eq!(product_scope(&prod, &p), Err(SkipReason::StoreNotSynced));
    prod.website_ids = vec![1, 3];
    assert_eq!(product_scope(&prod, &p), Ok(()));
    prod.website_ids = vec![];
    assert_eq!(product_scope(&prod, &p), Ok(()), "a product on no website can still be sold");
}

#[test]
fn each_kind_has_its_xref_kind() {
    use crate::xref::XrefKind;
    assert_eq!(XrefKind::from(ItemKind::Product), XrefKind::Product);
    assert_eq!(XrefKind::from(ItemKind::Service), XrefKind::Service);
    assert_eq!(XrefKind::from(ItemKind::StockItem), XrefKind::StockItem);
    assert_eq!(ItemKind::StockItem.as_str(), XrefKind::StockItem.as_str());
}

//! Catalog end to end: a managed-stock simple product with `sync_stock` becomes a stock item whose
//! movement brings Sage to the store's quantity; bundles are skipped; a tier without
//! products skips before any Sage call.
use serde_json::{Value, json};

use crate::sync::{World, cents, chip};

fn product_of(fixtures: &Value, pick: impl Fn(&Value) -> bool) -> u64 {
    fixtures["products"].as_array().unwrap().iter().find(|p| pick(p)).expect("the seeded store has one")["id"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_stock_product_becomes_a_stock_item_holding_the_store_quantity() {
    let w = World::start("Plus").await;
    w.set_policy(json!({"sync_stock": true})).await;
    let id = product_of(&w.fixtures().await, |p| p["product_type"] == "simple" && p["manage_stock"] == true);
    w.fire(json!({"action": "save_product", "product_id": id, "stock_qty": 25})).await;
    w.drain().await;
    w.settled(1).await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "product", id);
    assert_eq!(c["sync_status"], "synced", "{c} {:#?}", w.events().await);
    let items = w.records("stock_items").await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0]["id"], c["provider_entity_id"]);
    let moved: i64 = w.records("stock_movements").await.iter().map(|m| cents(&m["quantity"])).sum();
    assert_eq!(moved, 2500, "Sage holds what the store holds: {:#?}", w.records("stock_movements").await);

    let items = w.records("stock_items").await;
    assert_eq!(cents(&items[0]["quantity_in_stock"]), 2500, "{items:#?}");
    // A second save of the product never reaches the ledger: the module's outbox keeps one
    // `product.upserted:<id>` row per product (magento-protocol.md 1.4), so there is no second
    // movement to check end to end.
    let again = w.fire(json!({"action": "save_product", "product_id": id, "stock_qty": 31})).await;
    assert_eq!(again["events"][0]["dropped_because"], "duplicate_key", "{again}");
    assert_eq!(w.duplicates().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_are_skipped_and_start_skips_products_before_any_call() {
    let w = World::start("Plus").await;
    let bundle = product_of(&w.fixtures().await, |p| p["product_type"] == "bundle");
    w.fire(json!({"action": "save_product", "product_id": bundle})).await;
    w.drain().await;
    let rows = w.chips(1).await;
    let c = chip(&rows, "product", bundle);
    assert_eq!(
        (c["sync_status"].as_str(), c["skip_reason"].as_str()),
        (Some("skipped"), Some("PRODUCT_TYPE_NOT_SUPPORTED"))
    );

    let start = World::start("Start").await;
    let virt = start.fire(json!({"action": "save_product", "product_type": "virtual"})).await;
    let simple = start.fire(json!({"action": "save_product", "product_type": "simple"})).await;
    start.drain().await;
    let rows = start.chips(2).await;
    for p in [&virt, &simple] {
        let c = chip(&rows, "product", p["product_id"].as_u64().unwrap());
        assert_eq!(
            (c["sync_status"].as_str(), c["skip_reason"].as_str()),
            (Some("skipped"), Some("tier_without_products"))
        );
    }
    let catalog_calls: Vec<Value> = start
        .calls()
        .await
        .into_iter()
        .filter(|c| {
            ["/products", "/services", "/stock_items", "/stock_movements"]
                .iter()
                .any(|p| c["path"].as_str().unwrap_or("").contains(p))
        })
        .collect();
    assert_eq!(catalog_calls, Vec::<Value>::new(), "decided before any call");
}

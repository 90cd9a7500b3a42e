//! The sync-state callback: validation (400), upsert semantics and the write-through rows.

use serde_json::{Value, json};

use crate::support::*;

async fn setup() -> (magento_sim::RunningSim, reqwest::Client, String) {
    let sim = start(cfg()).await;
    let c = client();
    pair(&c, &sim.base_url(), "http://127.0.0.1:9").await;
    let url = format!("{}/rest/V1/byte8/sync-state", sim.base_url());
    (sim, c, url)
}

type Mutation = Box<dyn Fn(&mut Value)>;

fn valid() -> Value {
    json!({ "entity_type": "invoice", "magento_entity_id": 7, "provider": "sage_accounting",
            "sync_status": "synced", "provider_entity_id": "0a1b-uuid", "provider_reference": "SI-27",
            "error_code": null, "last_sync_at": "2026-04-29T10:11:12Z" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bodies_are_400() {
    let (sim, c, url) = setup().await;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "entity_type missing",
            Box::new(|b| {
                b.as_object_mut().map(|o| o.remove("entity_type"));
            }),
        ),
        ("entity_type order", Box::new(|b| b["entity_type"] = json!("order"))),
        ("payment is not a type", Box::new(|b| b["entity_type"] = json!("payment"))),
        ("id 0", Box::new(|b| b["magento_entity_id"] = json!(0))),
        ("id negative", Box::new(|b| b["magento_entity_id"] = json!(-3))),
        ("id text", Box::new(|b| b["magento_entity_id"] = json!("abc"))),
        (
            "id missing",
            Box::new(|b| {
                b.as_object_mut().map(|o| o.remove("magento_entity_id"));
            }),
        ),
        ("provider empty", Box::new(|b| b["provider"] = json!(""))),
        ("provider 33 chars", Box::new(|b| b["provider"] = json!("x".repeat(33)))),
        ("status pending", Box::new(|b| b["sync_status"] = json!("pending"))),
        ("status bogus", Box::new(|b| b["sync_status"] = json!("done"))),
        (
            "status missing",
            Box::new(|b| {
                b.as_object_mut().map(|o| o.remove("sync_status"));
            }),
        ),
        ("provider_entity_id 65", Box::new(|b| b["provider_entity_id"] = json!("y".repeat(65)))),
        ("skip_reason 65", Box::new(|b| b["skip_reason"] = json!("z".repeat(65)))),
    ];
    for (name, mutate) in cases {
        let mut b = valid();
        mutate(&mut b);
        let (s, v) = post_auth(&c, &url, &token(), &b).await;
        assert_eq!(s, 400, "{name}: {v}");
        assert!(v["message"].is_string(), "{name}");
    }
    let rows = sim_get(&c, &format!("{}/_sim/sync-state", sim.base_url())).await;
    assert_eq!(rows, json!([]), "nothing written");
    let (s, _) = post_auth(&c, &url, "not-a-token", &valid()).await;
    assert_eq!(s, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_overwrites_every_column() {
    let (sim, c, url) = setup().await;
    assert_eq!(post_auth(&c, &url, &token(), &valid()).await, (200, json!([])));
    let rows = sim_get(&c, &format!("{}/_sim/sync-state", sim.base_url())).await;
    assert_eq!(rows[0]["provider_reference"], "SI-27");
    assert_eq!(rows[0]["last_sync_at"], "2026-04-29 10:11:12");
    let minimal = json!({ "entity_type": "invoice", "magento_entity_id": 7, "provider": "sage_accounting",
                          "sync_status": "failed", "error_code": "validation" });
    assert_eq!(post_auth(&c, &url, &token(), &minimal).await.0, 200);
    let rows = sim_get(&c, &format!("{}/_sim/sync-state", sim.base_url())).await;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "same key, one row");
    let r = &rows[0];
    assert_eq!(r["entity_id"], 1);
    assert_eq!(r["sync_status"], "failed");
    assert_eq!(r["error_code"], "validation");
    assert_eq!(r["provider_entity_id"], Value::Null, "omitted optional fields become NULL");
    assert_eq!(r["provider_reference"], Value::Null);
    assert_ne!(r["last_sync_at"], "2026-04-29 10:11:12", "defaults to now");
    // Another provider is another row.
    let mut xero = minimal.clone();
    xero["provider"] = json!("xero");
    assert_eq!(post_auth(&c, &url, &token(), &xero).await.0, 200);
    let rows = sim_get(&c, &format!("{}/_sim/sync-state", sim.base_url())).await;
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_through_is_pending_and_never_downgrades() {
    let (sim, c, url) = setup().await;
    let base = sim.base_url();
    let (_, made) =
        post(&c, &format!("{base}/_sim/entities"), &json!({ "action": "save_customer", "customer_id": 3 })).await;
    assert_eq!(made["events"][0]["enqueued"], true);
    let rows = sim_get(&c, &format!("{base}/_sim/sync-state")).await;
    assert_eq!(rows[0]["sync_status"], "pending");
    assert_eq!(rows[0]["entity_type"], "customer");
    assert_eq!(rows[0]["provider"], "sage_accounting");
    let synced = json!({ "entity_type": "customer", "magento_entity_id": 3, "provider": "sage_accounting", "sync_status": "synced" });
    assert_eq!(post_auth(&c, &url, &token(), &synced).await.0, 200);
    let (_, again) =
        post(&c, &format!("{base}/_sim/entities"), &json!({ "action": "save_customer", "customer_id": 3 })).await;
    assert_eq!(again["events"][0]["enqueued"], false, "existing key wins");
    let rows = sim_get(&c, &format!("{base}/_sim/sync-state")).await;
    assert_eq!(rows[0]["sync_status"], "synced", "terminal status is not downgraded");
}

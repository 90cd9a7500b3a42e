//! Snapshots of the JSON shapes clients depend on: the module reads the tile and shows 4xx bodies to
//! merchants; the module's sync CLI reads `sync_run_id`.
use serde_json::Value;
use test_support::{TestApp, envelope};

/// serde_json's `arbitrary_precision` (on for exact money) hides numbers from insta's own serializer, so
/// snapshots are taken of the pretty-printed JSON text.
fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_shapes_clients_read() {
    let app = TestApp::spawn().await;
    let t = app.create_tenant("shop").await;
    let mut accepted: Value =
        app.post_event(&t, "invoice.created", "invoice.created:1", &envelope(1)).await.json().await.unwrap();
    assert!(accepted["sync_run_id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    accepted["sync_run_id"] = Value::from("[uuid]");
    insta::assert_snapshot!("accepted", pretty(&accepted));

    let tile: Value = app.tile(&t).await.json().await.unwrap();
    insta::assert_snapshot!("tile", pretty(&tile));

    let unknown: Value =
        app.post_event(&t, "order.created", "order.created:1", &envelope(1)).await.json().await.unwrap();
    insta::assert_snapshot!("unknown_event_problem", pretty(&unknown));
    let bad_body: Value = app.post_event(&t, "invoice.created", "invoice.created:2", "{}").await.json().await.unwrap();
    insta::assert_snapshot!("bad_body_problem", pretty(&bad_body));
}

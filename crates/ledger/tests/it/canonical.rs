//! The ledger's typed Magento client reads every entity of magento-sim's seeded store: the two sides were
//! written apart from the spec, so this is where their shapes must agree.
use ledger_domain::magento::InvoiceState;
use ledger_domain::{Currency, MagentoEntityId, TenantId};
use rust_decimal::Decimal;
use test_support::TestApp;

use crate::magento::{control, paired, sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seeded_entity_parses_into_the_ledgers_models() {
    let app = TestApp::spawn().await;
    let sim = sim().await;
    let tenant: TenantId = paired(&app, &sim).await.parse().unwrap();
    let key_version: i32 = sqlx::query_scalar("SELECT key_version FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let client = app.state.outbound.clients.get(tenant, &sim.base_url(), key_version).await.unwrap();
    let fixtures = control(&app.http, reqwest::Method::GET, format!("{}/_sim/fixtures", sim.base_url()), None).await;
    let ids = |kind: &str| -> Vec<MagentoEntityId> {
        let id = |v: &serde_json::Value| MagentoEntityId::try_from(v["id"].as_u64().unwrap()).unwrap();
        fixtures[kind].as_array().unwrap().iter().map(id).collect()
    };

    let ping = client.ping().await.unwrap();
    assert_eq!(ping.tenant_id.as_deref(), Some(tenant.to_string().as_str()));
    assert!(!client.payment_methods().await.unwrap().methods.is_empty());

    let mut currencies = std::collections::BTreeSet::new();
    for (i, id) in ids("invoices").into_iter().enumerate() {
        let inv = client.invoice(id).await.unwrap_or_else(|e| panic!("invoice {id}: {e}"));
        assert_eq!(inv.magento_id, id);
        assert!(!inv.lines.is_empty(), "invoice {id} has lines");
        let lines: Decimal = inv.lines.iter().map(|l| l.line_subtotal).sum();
        assert_eq!(lines, inv.subtotal, "invoice {id}: lines add up to the subtotal");
        currencies.insert(inv.currency);
        if inv.state == InvoiceState::Paid && i % 3 == 0 {
            let pay = client.payment(id).await.unwrap_or_else(|e| panic!("payment {id}: {e}"));
            assert_eq!(pay.amount, inv.grand_total, "payment {id} is the invoice total");
        }
    }
    let want = ["GBP", "EUR", "USD"].map(|c| Currency::parse(c).unwrap());
    assert!(want.iter().all(|c| currencies.contains(c)), "{currencies:?}");
    for id in ids("credit_memos") {
        let memo = client.creditmemo(id).await.unwrap_or_else(|e| panic!("credit memo {id}: {e}"));
        assert_eq!(memo.magento_id, id);
    }
    for id in ids("customers") {
        let c = client.customer(id).await.unwrap_or_else(|e| panic!("customer {id}: {e}"));
        assert_eq!(c.magento_id, Some(id));
    }
    for id in ids("products") {
        let p = client.product(id).await.unwrap_or_else(|e| panic!("product {id}: {e}"));
        assert_eq!(p.magento_id, id);
    }
    let missing = client.invoice(MagentoEntityId::new(999_999).unwrap()).await.unwrap_err();
    assert_eq!(missing.class(), ledger_domain::ErrorClass::NotFound);
}

//! `product.upserted` → a Sage product, service or stock item (decided by type, tier and policy before
//! any call), created once and updated by PUT after; a stock item's quantity is brought to Magento's by
//! a stock movement of the difference.
use ledger_domain::magento::Product;
use ledger_domain::mapping::{self, ItemKind};
use ledger_domain::policy::SyncPolicy;
use ledger_domain::{RunOutcome, RunResult, XrefKind};
use serde_json::json;

use super::failure::{Step, magento_failure, outcome};
use super::run::{Run, sku_key};

pub(super) async fn upserted(run: &Run<'_>) -> RunResult {
    let product = run.magento.product(run.entity_id()?).await.map_err(magento_failure)?;
    run.keep_snapshot(&product);
    outcome(steps(run, &product).await)
}

async fn steps(run: &Run<'_>, p: &Product) -> Step<RunOutcome> {
    let policy = run.policy()?;
    mapping::product_scope(p, &policy)?;
    let kind = mapping::item_kind(p, run.capabilities(), &policy)?;
    let key = sku_key(&p.sku);
    let xkind = XrefKind::from(kind);
    let known = run.xref(xkind, &key, "").await?.map(|x| x.sage_id);
    let (id, sage_qty) = match kind {
        ItemKind::Product => (product(run, &policy, p, known).await?, None),
        ItemKind::Service => (service(run, &policy, p, known).await?, None),
        ItemKind::StockItem => {
            let (id, qty) = stock_item(run, &policy, p, known).await?;
            (id, Some(qty))
        }
    };
    let detail = json!({ "magento_id": p.magento_id, "kind": kind.as_str() });
    run.put_xref(xkind, &key, "", &id, Some(&p.sku), &detail).await?;
    if let (Some(sage_qty), Some(magento_qty)) = (sage_qty, p.stock_qty)
        && let Some(delta) = mapping::stock_movement_delta(magento_qty, sage_qty)
    {
        let mut body = mapping::stock_movement(&id, p, delta, run.today());
        body.idempotency_id = Some(run.idempotency(&format!("stock_movement:{key}:{sage_qty}:{magento_qty}")));
        run.sage.create_stock_movement(&body).await.map_err(|e| run.sage_refused(e))?;
    }
    Ok(RunOutcome::synced(id, Some(p.sku.clone())))
}

/// Updates the known product, or the one found by item code (made by a run that crashed before
/// recording it), or creates it.
async fn product(run: &Run<'_>, policy: &SyncPolicy, p: &Product, known: Option<String>) -> Step<String> {
    let refdata = run.refdata().await?;
    let mut body = mapping::post_product(p, policy, &refdata.defaults)?;
    let known = match known {
        Some(id) => Some(id),
        None => run.sage.product_by_item_code(&p.sku).await.map_err(|e| run.sage_refused(e))?.map(|x| x.id),
    };
    let made = match known {
        Some(id) => run.sage.update_product(&id, &body).await,
        None => {
            body.idempotency_id = Some(run.idempotency(&format!("product:{}", p.sku)));
            run.sage.create_product(&body).await
        }
    };
    Ok(made.map_err(|e| run.sage_refused(e))?.id)
}

async fn service(run: &Run<'_>, policy: &SyncPolicy, p: &Product, known: Option<String>) -> Step<String> {
    let refdata = run.refdata().await?;
    let mut body = mapping::post_service(p, policy, &refdata.defaults)?;
    let known = match known {
        Some(id) => Some(id),
        None => run.sage.service_by_item_code(&p.sku).await.map_err(|e| run.sage_refused(e))?.map(|x| x.id),
    };
    let made = match known {
        Some(id) => run.sage.update_service(&id, &body).await,
        None => {
            body.idempotency_id = Some(run.idempotency(&format!("service:{}", p.sku)));
            run.sage.create_service(&body).await
        }
    };
    Ok(made.map_err(|e| run.sage_refused(e))?.id)
}

/// The stock item and the quantity Sage holds for it.
async fn stock_item(
    run: &Run<'_>,
    policy: &SyncPolicy,
    p: &Product,
    known: Option<String>,
) -> Step<(String, rust_decimal::Decimal)> {
    let refdata = run.refdata().await?;
    let mut body = mapping::post_stock_item(p, policy, &refdata.defaults)?;
    let known = match known {
        Some(id) => Some(id),
        None => run.sage.stock_item_by_item_code(&p.sku).await.map_err(|e| run.sage_refused(e))?.map(|x| x.id),
    };
    let made = match known {
        Some(id) => run.sage.update_stock_item(&id, &body).await,
        None => {
            body.idempotency_id = Some(run.idempotency(&format!("stock_item:{}", p.sku)));
            run.sage.create_stock_item(&body).await
        }
    };
    let made = made.map_err(|e| run.sage_refused(e))?;
    Ok((made.id, made.quantity_in_stock.unwrap_or_default()))
}

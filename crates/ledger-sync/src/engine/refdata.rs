//! What the mapping needs from a Sage business besides the document itself: its tax rates and default
//! accounts, read once and cached per binding in this process (refreshed after `TTL`, or at once when
//! Sage refuses an id we sent), so a synced invoice costs one Sage call at steady state.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger_domain::RunFailure;
use ledger_domain::mapping::{BusinessDefaults, TaxRates};
use ledger_sage::SageBusiness;
use ledger_sage::queries::{PageQuery, TaxRateQuery};
use uuid::Uuid;

use super::failure::sage_failure;

/// How long reference data is trusted before it is read again.
const TTL: Duration = Duration::from_secs(600);

#[derive(Debug)]
pub(super) struct RefData {
    pub tax_rates: TaxRates,
    pub defaults: BusinessDefaults,
    read_at: Instant,
}

/// The per-binding cache, shared by every run of this process.
#[derive(Default, Clone)]
pub(super) struct RefCache(Arc<Mutex<HashMap<Uuid, Arc<RefData>>>>);

impl RefCache {
    pub async fn get(&self, binding: Uuid, sage: &SageBusiness) -> Result<Arc<RefData>, RunFailure> {
        if let Some(data) = self.lock().get(&binding).filter(|d| d.read_at.elapsed() < TTL) {
            return Ok(data.clone());
        }
        let data = Arc::new(read(sage).await?);
        self.lock().insert(binding, data.clone());
        Ok(data)
    }

    /// Forgets a binding's data (Sage refused an id: a rate or an account may have been removed).
    pub fn forget(&self, binding: Uuid) {
        self.lock().remove(&binding);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<RefData>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn read(sage: &SageBusiness) -> Result<RefData, RunFailure> {
    let rates = sage
        .tax_rates(&TaxRateQuery {
            usage: Some("sales".into()),
            attributes: Some("percentage".into()),
            ..TaxRateQuery::default()
        })
        .await
        .map_err(sage_failure)?;
    let tax_rates = rates.into_iter().filter_map(|r| r.percentage.map(|p| (r.id, p))).collect();
    let settings = sage.business_settings().await.map_err(sage_failure)?;
    let accounts = settings.default_ledger_accounts.unwrap_or_default();
    let banks = sage.bank_accounts(&PageQuery::default()).await.map_err(sage_failure)?;
    let defaults = BusinessDefaults {
        sales_ledger_account_id: accounts.product_sales_ledger_account.or(accounts.sales_ledger_account).map(|l| l.id),
        purchase_ledger_account_id: accounts
            .product_purchase_ledger_account
            .or(accounts.purchase_ledger_account)
            .map(|l| l.id),
        bank_account_id: banks.into_iter().next().map(|b| b.id),
    };
    Ok(RefData { tax_rates, defaults, read_at: Instant::now() })
}

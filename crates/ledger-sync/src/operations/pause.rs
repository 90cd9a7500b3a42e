//! Pausing a tenant's sync: events keep being accepted and stored but park `tenant_paused`; resuming
//! wakes them at once.
use ledger_domain::{ParkReason, TenantId};
use ledger_store::tenants::{self, Tenant};
use ledger_store::{PgPool, runs};

use super::{MAX_REASON_CHARS, OpsError};

/// Pauses `tenant` with a reason people read (1-500 characters).
pub async fn pause(pool: &PgPool, tenant: TenantId, reason: &str) -> Result<Tenant, OpsError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(OpsError::InvalidReason);
    }
    tenants::set_paused(pool, tenant, Some(reason)).await?.ok_or(OpsError::UnknownTenant)
}

/// Resumes `tenant`; returns it and how many parked events were woken.
pub async fn resume(pool: &PgPool, tenant: TenantId) -> Result<(Tenant, usize), OpsError> {
    let resumed = tenants::set_paused(pool, tenant, None).await?.ok_or(OpsError::UnknownTenant)?;
    let woken = runs::wake_parked(pool, tenant, &[ParkReason::TenantPaused]).await?;
    Ok((resumed, woken))
}

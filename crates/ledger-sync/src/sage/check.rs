//! "Test connection" (`ledger sage check`): one authorised `GET /businesses/{id}` for a tenant's binding,
//! through the custody (refreshing when due) and the call gate, as every sync call goes.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ledger_domain::{BindingStatus, ErrorClass, TenantId, Tier};
use ledger_sage::{CallGate, SageClient, SageClientError, SageHttp};
use ledger_store::{PgPool, StoreError, bindings};
use serde::Serialize;
use uuid::Uuid;

use super::Custody;

/// What a successful check saw.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub tenant_id: TenantId,
    pub binding_id: Uuid,
    pub business_id: String,
    pub business_name: String,
    /// The tier Sage reports now (the binding keeps the one read at connect).
    pub tier: Option<Tier>,
    pub status: BindingStatus,
    /// When the access token the call used expires.
    pub access_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("the tenant has no Sage connection")]
    NotConnected,
    #[error("the Sage connection is waiting for a business to be chosen")]
    NoBusiness,
    /// The call failed; `status` is the binding's status after it (a refused refresh token makes it
    /// `reconnect_required`, a lapsed subscription `suspended`).
    #[error("{error} (binding status: {status})")]
    Sage { error: SageClientError, status: BindingStatus },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CheckError {
    /// A stable code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::NoBusiness => "business_not_chosen",
            Self::Sage { error, .. } => error.class().as_str(),
            Self::Store(_) => "unavailable",
        }
    }
}

/// Checks `tenant`'s Sage connection with one authorised call.
pub async fn check(
    pool: &PgPool,
    custody: &Arc<Custody>,
    http: SageHttp,
    gate: Arc<dyn CallGate>,
    tenant: TenantId,
) -> Result<CheckReport, CheckError> {
    let binding = bindings::sage(pool, tenant).await?.ok_or(CheckError::NotConnected)?;
    if binding.status == BindingStatus::Disconnected {
        return Err(CheckError::NotConnected);
    }
    let business = binding.business_id.clone().ok_or(CheckError::NoBusiness)?;
    let client = SageClient::new(http, Arc::new(custody.tokens(tenant, binding.id)), gate);
    let answer = client.business_details(business.as_str()).await;
    if let Err(SageClientError::Api(e)) = &answer
        && e.class() == ErrorClass::Subscription
    {
        custody.subscription_lapsed(tenant, binding.id, e.message().unwrap_or("MSE")).await?;
    }
    let status = bindings::get(pool, tenant, binding.id).await?.map_or(binding.status, |b| b.status);
    let found = answer.map_err(|error| CheckError::Sage { error, status })?;
    let tier = found.active_subscription_ids().filter_map(Tier::from_subscription_id).max();
    Ok(CheckReport {
        tenant_id: tenant,
        binding_id: binding.id,
        business_id: business.to_string(),
        business_name: found.name.or(found.displayed_as).unwrap_or_else(|| found.id.clone()),
        tier,
        status,
        access_expires_at: custody.cached_expiry(binding.id),
    })
}

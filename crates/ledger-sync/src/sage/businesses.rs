//! Reading the authorising user's Sage businesses at connect, through the shared Sage client (so these
//! calls pass the same call gate, timeouts and error classes as the sync's): `/businesses` (paged),
//! each business's subscriptions from `/businesses/{id}` (its tier) and its base currency from
//! `/financial_settings`.
use std::sync::Arc;

use ledger_domain::{Currency, SageBusinessId, Tier};
use ledger_sage::{CallGate, SageClient, SageClientError, SageConfig, SageHttp, StaticToken, Unlimited};
use ledger_store::bindings::BusinessChoice;
use secrecy::SecretString;
use url::Url;

#[derive(Debug, thiserror::Error)]
#[error("reading the Sage businesses: {0}")]
pub struct ListError(#[from] SageClientError);

pub struct Api {
    http: SageHttp,
    gate: Arc<dyn CallGate>,
}

impl Api {
    pub fn new(base: Url, http: reqwest::Client) -> Self {
        Self { http: SageHttp::with_client(http, &SageConfig::new(base)), gate: Arc::new(Unlimited) }
    }

    /// Passes these calls through `gate` (the app-wide budget) instead of admitting them all.
    pub fn with_gate(mut self, gate: Arc<dyn CallGate>) -> Self {
        self.gate = gate;
        self
    }

    /// Every business the token's user can reach, in Sage's order, with tier, region and base currency.
    pub async fn businesses(
        &self,
        token: &SecretString,
        region_hint: Option<&str>,
    ) -> Result<Vec<BusinessChoice>, ListError> {
        let client = SageClient::new(self.http.clone(), Arc::new(StaticToken::new(token.clone())), self.gate.clone());
        let listed = client.businesses().await?;
        let mut out = Vec::with_capacity(listed.len());
        for item in listed {
            let Ok(business_id) = SageBusinessId::parse(&item.id) else {
                tracing::warn!(business_id = %item.id, "skipping a Sage business with an unusable id");
                continue;
            };
            let b = client.business_details(&item.id).await?;
            let tier = b.active_subscription_ids().filter_map(Tier::from_subscription_id).max();
            let subscription_active = b.active_subscription_ids().next().is_some();
            let base_currency = if subscription_active {
                match client.business(business_id.clone()).financial_settings().await {
                    Ok(f) => f.base_currency.and_then(|c| Currency::parse(&c.id).ok()),
                    Err(e) => {
                        tracing::warn!(business_id = %item.id, error = %e, "no base currency for a Sage business");
                        None
                    }
                }
            } else {
                None
            };
            let region = b.country.as_ref().map(|c| c.id.clone()).or_else(|| region_hint.map(str::to_owned));
            out.push(BusinessChoice {
                id: business_id,
                name: b.name.clone().or(b.displayed_as.clone()).unwrap_or_else(|| b.id.clone()),
                tier,
                region,
                base_currency,
                subscription_active,
            });
        }
        Ok(out)
    }
}

//! Reading the authorising user's Sage businesses at connect: `/businesses` (paged through `$next`), each
//! business's subscriptions from `/businesses/{id}` (its tier) and its base currency from
//! `/financial_settings`. A plain authorised GET until the shared Sage client serves these calls.
use std::time::Duration;

use ledger_domain::{Currency, SageBusinessId, Tier};
use ledger_store::bindings::BusinessChoice;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("GET {path}: {source}")]
    Transport { path: String, source: reqwest::Error },
    #[error("GET {path} answered {status}")]
    Status { path: String, status: u16 },
    #[error("GET {path}: unexpected body: {source}")]
    Body { path: String, source: reqwest::Error },
    #[error("{0}")]
    Url(String),
}

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "$items", default)]
    items: Vec<Item>,
    #[serde(rename = "$next", default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
}

#[derive(Deserialize)]
struct Business {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    displayed_as: Option<String>,
    #[serde(default)]
    country: Option<Reference>,
    #[serde(default)]
    subscriptions: Vec<Subscription>,
}

#[derive(Deserialize)]
struct Reference {
    id: String,
}

#[derive(Deserialize)]
struct Subscription {
    id: String,
    #[serde(default)]
    active: bool,
}

#[derive(Deserialize)]
struct FinancialSettings {
    #[serde(default)]
    base_currency: Option<Reference>,
}

/// Pages followed at most (200 businesses each): a bound on a misbehaving `$next`.
const MAX_PAGES: usize = 50;

pub struct Api {
    base: Url,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: Url, http: reqwest::Client) -> Self {
        Self { base, http }
    }

    /// `path` (relative, with its query) resolved against the API base, as Sage's `$next` is.
    fn url(&self, path: &str) -> Result<Url, ListError> {
        if let Ok(abs) = Url::parse(path) {
            return Ok(abs);
        }
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{}", path.trim_start_matches('/'))).map_err(|e| ListError::Url(e.to_string()))
    }

    /// Owned `path` and `business`: a generic async fn with borrowed `&str` arguments trips rustc's
    /// higher-ranked `Send` check when an axum handler awaits it.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        token: &SecretString,
        path: String,
        business: Option<String>,
    ) -> Result<T, ListError> {
        let url = self.url(&path)?;
        let mut req = self
            .http
            .get(url)
            .bearer_auth(token.expose_secret())
            .header("accept", "application/json")
            .timeout(Duration::from_secs(20));
        if let Some(b) = business {
            req = req.header("x-business", b.as_str());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(source) => return Err(ListError::Transport { path, source }),
        };
        if !resp.status().is_success() {
            return Err(ListError::Status { path, status: resp.status().as_u16() });
        }
        resp.json().await.map_err(|source| ListError::Body { path, source })
    }

    /// Every business the token's user can reach, in Sage's order, with tier, region and base currency.
    pub async fn businesses(
        &self,
        token: &SecretString,
        region_hint: Option<&str>,
    ) -> Result<Vec<BusinessChoice>, ListError> {
        let mut ids = Vec::new();
        let mut next = Some("/businesses?items_per_page=200".to_owned());
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else { break };
            let page: Page = self.get(token, path, None).await?;
            ids.extend(page.items.into_iter().map(|i| i.id));
            next = page.next.filter(|n| !n.is_empty());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Ok(business_id) = SageBusinessId::parse(&id) else {
                tracing::warn!(business_id = %id, "skipping a Sage business with an unusable id");
                continue;
            };
            let b: Business = self.get(token, format!("/businesses/{id}"), None).await?;
            let tier =
                b.subscriptions.iter().filter(|s| s.active).filter_map(|s| Tier::from_subscription_id(&s.id)).max();
            let subscription_active = b.subscriptions.iter().any(|s| s.active);
            let base_currency = if subscription_active {
                match self.get::<FinancialSettings>(token, "/financial_settings".to_owned(), Some(id.clone())).await {
                    Ok(f) => f.base_currency.and_then(|c| Currency::parse(&c.id).ok()),
                    Err(e) => {
                        tracing::warn!(business_id = %id, error = %e, "no base currency for a Sage business");
                        None
                    }
                }
            } else {
                None
            };
            let region = b.country.map(|c| c.id).or_else(|| region_hint.map(str::to_owned));
            out.push(BusinessChoice {
                id: business_id,
                name: b.name.or(b.displayed_as).unwrap_or_else(|| b.id.clone()),
                tier,
                region,
                base_currency,
                subscription_active,
            });
        }
        Ok(out)
    }
}

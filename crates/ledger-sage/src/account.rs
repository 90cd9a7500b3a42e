//! Calls that name no business (spec §2.2): the businesses a token can reach and the user it belongs to.
//! Sage answers these without an `X-Business` header, so none is sent or checked.
use ledger_domain::sage::{Business, Collection, User};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::business::{segment, with_query};
use crate::client::{Request, SageClient};
use crate::errors::SageClientError;
use crate::gate::CallKind;
use crate::queries::PageQuery;

const MAX_PAGES: usize = 100;

impl SageClient {
    /// Every business the token's user can reach (all pages).
    pub async fn businesses(&self) -> Result<Vec<Business>, SageClientError> {
        let url = with_query(self.http.resolve("/businesses")?, &PageQuery::all(), true)?;
        let mut page: Collection<Business> = self.unscoped(url).await?;
        let mut items = std::mem::take(&mut page.items);
        for _ in 0..MAX_PAGES {
            let Some(next) = page.next.take() else { return Ok(items) };
            page = self.unscoped(self.http.resolve(&next)?).await?;
            items.append(&mut page.items);
        }
        Err(SageClientError::Url(format!("/businesses: more than {MAX_PAGES} pages")))
    }

    /// One business with its subscriptions (what decides the tier).
    pub async fn business_details(&self, id: &str) -> Result<Business, SageClientError> {
        self.unscoped(self.http.resolve(&format!("/businesses/{}", segment(id)?))?).await
    }

    /// The user's lead business (what Sage uses when no `X-Business` is sent).
    pub async fn lead_business(&self) -> Result<Business, SageClientError> {
        self.unscoped(self.http.resolve("/businesses/lead")?).await
    }

    /// The Sage user the token belongs to.
    pub async fn user(&self) -> Result<User, SageClientError> {
        self.unscoped(self.http.resolve("/user")?).await
    }

    async fn unscoped<T: DeserializeOwned>(&self, url: url::Url) -> Result<T, SageClientError> {
        self.send(Request { method: Method::GET, url, body: None, kind: CallKind::Read, business: None }).await?.json()
    }
}

//! Calls scoped to one Sage business: `X-Business` on every request and checked on every answer, the
//! generic verbs the typed resource methods use, and paging through `$next` (spec §2.3).
use ledger_domain::SageBusinessId;
use ledger_domain::sage::{Collection, SageBody};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::{Request, SageClient};
use crate::errors::SageClientError;
use crate::gate::CallKind;

/// Sage's largest page; listings ask for it unless told otherwise.
pub const MAX_ITEMS_PER_PAGE: u32 = 200;

/// A guard against a `$next` chain that never ends (200 × 10,000 records is far past any business).
const MAX_PAGES: usize = 10_000;

#[derive(Clone, Debug)]
pub struct SageBusiness {
    pub(crate) client: SageClient,
    business: SageBusinessId,
}

impl SageBusiness {
    pub(crate) fn new(client: SageClient, business: SageBusinessId) -> Self {
        Self { client, business }
    }

    pub fn id(&self) -> &SageBusinessId {
        &self.business
    }

    /// `GET path`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, SageClientError> {
        let url = self.client.http.resolve(path)?;
        self.call(Method::GET, url, None, CallKind::Read).await?.json()
    }

    /// `GET path?query` for a single resource.
    pub async fn get_with<T: DeserializeOwned, Q: Serialize>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, SageClientError> {
        let url = with_query(self.client.http.resolve(path)?, query, false)?;
        self.call(Method::GET, url, None, CallKind::Read).await?.json()
    }

    /// `POST path` with `{ROOT: body}`; answers the created resource.
    pub async fn create<B: SageBody, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, SageClientError> {
        let url = self.client.http.resolve(path)?;
        let body = serde_json::to_value(body.wrapped()).map_err(|e| SageClientError::Decode(e.to_string()))?;
        self.call(Method::POST, url, Some(body), CallKind::Create).await?.json()
    }

    /// `PUT path` with `{ROOT: body}`; answers the updated resource.
    pub async fn update<B: SageBody, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, SageClientError> {
        let url = self.client.http.resolve(path)?;
        let body = serde_json::to_value(body.wrapped()).map_err(|e| SageClientError::Decode(e.to_string()))?;
        self.call(Method::PUT, url, Some(body), CallKind::Update).await?.json()
    }

    /// `POST path` with no body (`/sales_invoices/{id}/release`).
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, SageClientError> {
        let url = self.client.http.resolve(path)?;
        self.call(Method::POST, url, None, CallKind::Update).await?.json()
    }

    /// `DELETE path` (204).
    pub async fn delete(&self, path: &str) -> Result<(), SageClientError> {
        let url = self.client.http.resolve(path)?;
        self.call(Method::DELETE, url, None, CallKind::Delete).await.map(|_| ())
    }

    /// `DELETE path?query` answering the record (voiding a document answers it, `VOID`).
    pub async fn delete_returning<T: DeserializeOwned, Q: Serialize>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, SageClientError> {
        let url = with_query(self.client.http.resolve(path)?, query, false)?;
        self.call(Method::DELETE, url, None, CallKind::Delete).await?.json()
    }

    /// One page of a collection (200 items unless the query says otherwise).
    pub async fn list_page<T: DeserializeOwned, Q: Serialize>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<Collection<T>, SageClientError> {
        let url = with_query(self.client.http.resolve(path)?, query, true)?;
        self.call(Method::GET, url, None, CallKind::Read).await?.json()
    }

    /// The page after `page`, or `None` when its `$next` is null.
    pub async fn next_page<T: DeserializeOwned>(
        &self,
        page: &Collection<T>,
    ) -> Result<Option<Collection<T>>, SageClientError> {
        let Some(next) = page.next.as_deref() else { return Ok(None) };
        let url = self.client.http.resolve(next)?;
        self.call(Method::GET, url, None, CallKind::Read).await?.json().map(Some)
    }

    /// Every item of a collection, following `$next` until it is null (never stopping on an empty page:
    /// Sage answers a page past the end with the last page again).
    pub async fn list_all<T: DeserializeOwned, Q: Serialize>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<Vec<T>, SageClientError> {
        let mut page = self.list_page::<T, Q>(path, query).await?;
        let mut items = std::mem::take(&mut page.items);
        for _ in 0..MAX_PAGES {
            match self.next_page(&page).await? {
                Some(mut next) => {
                    items.append(&mut next.items);
                    page = next;
                }
                None => return Ok(items),
            }
        }
        Err(SageClientError::Url(format!("{path}: more than {MAX_PAGES} pages")))
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        kind: CallKind,
    ) -> Result<crate::client::Answer, SageClientError> {
        self.client.send(Request { method, url, body, kind, business: Some(&self.business) }).await
    }
}

/// Appends `query` (and the page size, for listings) to `url`.
pub(crate) fn with_query<Q: Serialize>(mut url: Url, query: &Q, listing: bool) -> Result<Url, SageClientError> {
    let mut encoded = serde_urlencoded::to_string(query).map_err(|e| SageClientError::Url(e.to_string()))?;
    if listing && !encoded.split('&').any(|p| p.starts_with("items_per_page=")) {
        if !encoded.is_empty() {
            encoded.push('&');
        }
        encoded.push_str(&format!("items_per_page={MAX_ITEMS_PER_PAGE}"));
    }
    url.set_query((!encoded.is_empty()).then_some(encoded.as_str()));
    Ok(url)
}

/// A record id as a path segment: Sage's ids are hex GUIDs or readable codes (`GB_STANDARD`); anything
/// else is refused rather than spliced into a path.
pub(crate) fn segment(id: &str) -> Result<&str, SageClientError> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(id) } else { Err(SageClientError::Url(format!("{id:?} is not a Sage id"))) }
}

//! What operators do with event runs, shared by the API and the CLI: list with filters (keyset paged),
//! show one run with its audit trail, requeue a failed, dead-lettered or discarded run as a new linked
//! run, discard a run with a reason; pause and resume a tenant's sync.
mod pause;
mod view;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ledger_domain::{EventName, EventState, TenantId};
use ledger_store::operations::{self as store, Discarded, ListFilter, Requeued};
use ledger_store::{PgPool, StoreError, audit, runs, tenants};
use uuid::Uuid;

pub use pause::{pause, resume};
pub use view::{AttemptView, Diff, EventDetail, EventItem, EventPage, RunError};

/// Items per page unless asked otherwise, and the most a page holds.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
/// The longest discard reason (the schema's bound too).
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("no such tenant")]
    UnknownTenant,
    #[error("no such event")]
    NotFound,
    #[error("{0}")]
    InvalidFilter(String),
    #[error("a {0} event cannot be requeued; only failed, dead_lettered or discarded ones can")]
    NotRequeueable(EventState),
    #[error("{}", superseded(*.0))]
    Superseded(Option<Uuid>),
    #[error("a {0} event cannot be discarded; only pending, failed or dead_lettered ones can")]
    NotDiscardable(EventState),
    #[error("reason must be 1 to {MAX_REASON_CHARS} characters")]
    InvalidReason,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn superseded(newer: Option<Uuid>) -> String {
    match newer {
        Some(id) => format!("a newer run of this event exists ({id}); requeue that one"),
        None => "a newer run of this event replaced it".to_owned(),
    }
}

impl OpsError {
    /// The stable problem code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTenant => "unknown_tenant",
            Self::NotFound => "unknown_event",
            Self::InvalidFilter(_) => "invalid_filter",
            Self::NotRequeueable(_) => "not_requeueable",
            Self::Superseded(_) => "superseded",
            Self::NotDiscardable(_) => "not_discardable",
            Self::InvalidReason => "invalid_reason",
            Self::Store(_) => "internal",
        }
    }
}

/// A listing request as typed by a person or sent in a query string; every field optional.
/// `state` and `event` take comma-separated lists.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub state: Option<String>,
    pub event: Option<String>,
    pub q: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl ListParams {
    /// Checks every filter, naming the first bad one.
    pub fn filter(&self) -> Result<ListFilter, OpsError> {
        let bad = |m: String| OpsError::InvalidFilter(m);
        let states = list_of(self.state.as_deref(), |s| {
            s.parse::<EventState>().map_err(|_| {
                let all: Vec<_> = EventState::ALL.iter().map(|s| s.as_str()).collect();
                bad(format!("state `{s}` is not one of {}", all.join(", ")))
            })
        })?;
        let events =
            list_of(self.event.as_deref(), |s| s.parse::<EventName>().map_err(|e| bad(format!("event `{s}`: {e}"))))?;
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > 100) {
            return Err(bad("q must be at most 100 characters".into()));
        }
        let time = |name: &str, raw: Option<&str>| {
            raw.filter(|r| !r.trim().is_empty())
                .map(|r| {
                    DateTime::parse_from_rfc3339(r.trim())
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| bad(format!("{name} must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z")))
                })
                .transpose()
        };
        let (from, to) = (time("from", self.from.as_deref())?, time("to", self.to.as_deref())?);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(bad("from must be before to".into()));
        }
        let limit = match self.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| bad(format!("limit must be 1 to {MAX_LIMIT}")))?,
        };
        let after = match self.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
            None => None,
            Some(raw) => Some(view::decode_cursor(raw).ok_or_else(|| bad("cursor is not one this API gave".into()))?),
        };
        Ok(ListFilter {
            states,
            events,
            q: q.map(str::to_owned),
            magento_id: q.and_then(|q| q.parse::<i64>().ok()).filter(|id| *id > 0),
            from,
            to,
            after,
            limit,
        })
    }
}

fn list_of<T>(raw: Option<&str>, parse: impl Fn(&str) -> Result<T, OpsError>) -> Result<Vec<T>, OpsError> {
    raw.into_iter().flat_map(|r| r.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(parse).collect()
}

/// One page of `tenant`'s runs, newest first.
pub async fn list(pool: &PgPool, tenant: TenantId, params: &ListParams) -> Result<EventPage, OpsError> {
    let filter = params.filter()?;
    if tenants::get(pool, tenant).await?.is_none() {
        return Err(OpsError::UnknownTenant);
    }
    // One row more than asked says whether another page follows.
    let mut rows = store::list(pool, tenant, &ListFilter { limit: filter.limit + 1, ..filter.clone() }).await?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
    let next_cursor = more.then(|| rows.last().map(|r| view::encode_cursor(r.received_at, r.id))).flatten();
    Ok(EventPage { items: rows.into_iter().map(EventItem::from).collect(), next_cursor })
}

/// The newest runs of every tenant matching `params` (no cursor: a first page across tenants).
pub async fn list_all(pool: &PgPool, params: &ListParams) -> Result<Vec<EventItem>, OpsError> {
    let filter = params.filter()?;
    if filter.after.is_some() {
        return Err(OpsError::InvalidFilter("cursor needs a tenant".into()));
    }
    let mut rows = Vec::new();
    for tenant in tenants::list(pool).await? {
        rows.extend(store::list(pool, tenant.tenant_id(), &filter).await?);
    }
    rows.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.id.cmp(&a.id)));
    rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
    Ok(rows.into_iter().map(EventItem::from).collect())
}

/// Every run of `tenant` matching `params` (all pages, ids only), for acting on them in bulk.
pub async fn matching(pool: &PgPool, tenant: TenantId, params: &ListParams) -> Result<Vec<Uuid>, OpsError> {
    let mut filter = ListParams { limit: None, cursor: None, ..params.clone() }.filter()?;
    filter.limit = MAX_LIMIT;
    if tenants::get(pool, tenant).await?.is_none() {
        return Err(OpsError::UnknownTenant);
    }
    let mut ids = Vec::new();
    loop {
        let rows = store::list(pool, tenant, &filter).await?;
        ids.extend(rows.iter().map(|r| r.id));
        match rows.last() {
            Some(last) if rows.len() as i64 == filter.limit => filter.after = Some((last.received_at, last.id)),
            _ => return Ok(ids),
        }
    }
}

async fn owner(pool: &PgPool, event_id: Uuid) -> Result<TenantId, OpsError> {
    store::tenant_of(pool, event_id).await?.ok_or(OpsError::NotFound)
}

/// One run (of any tenant) with its attempts, their snapshots and Sage calls, and the diff.
pub async fn show(pool: &PgPool, event_id: Uuid) -> Result<EventDetail, OpsError> {
    let tenant = owner(pool, event_id).await?;
    let summary = store::summary(pool, tenant, event_id).await?.ok_or(OpsError::NotFound)?;
    let payload = store::payload(pool, tenant, event_id).await?.unwrap_or_default();
    let mut snapshots: HashMap<i64, serde_json::Value> =
        store::snapshots(pool, tenant, event_id).await?.into_iter().collect();
    let mut calls: HashMap<i64, Vec<audit::SageCall>> = HashMap::new();
    for (lease_token, call) in audit::calls(pool, tenant, event_id).await? {
        calls.entry(lease_token).or_default().push(call);
    }
    let attempts: Vec<AttemptView> = runs::attempts(pool, tenant, event_id)
        .await?
        .into_iter()
        .map(|a| AttemptView {
            snapshot: snapshots.remove(&a.lease_token),
            sage_calls: calls.remove(&a.lease_token).unwrap_or_default(),
            attempt: a,
        })
        .collect();
    Ok(EventDetail {
        tenant_id: summary.tenant_id,
        rerun_of: summary.rerun_of,
        diff: view::diff(&attempts),
        item: summary.into(),
        payload,
        attempts,
    })
}

/// Starts a new run of a failed, dead-lettered or discarded run; returns the new run's id.
pub async fn requeue(pool: &PgPool, event_id: Uuid) -> Result<Uuid, OpsError> {
    requeue_from(pool, event_id, &[]).await
}

/// [`requeue`], refused unless the run is in one of `allowed` (empty: any requeueable state).
pub async fn requeue_from(pool: &PgPool, event_id: Uuid, allowed: &[EventState]) -> Result<Uuid, OpsError> {
    let tenant = owner(pool, event_id).await?;
    match store::requeue_from(pool, tenant, event_id, allowed).await? {
        Requeued::Queued(id) => {
            tracing::info!(tenant_id = %tenant, event_id = %event_id, sync_run_id = %id, "event requeued by an operator");
            Ok(id)
        }
        Requeued::NotFound => Err(OpsError::NotFound),
        Requeued::NotRequeueable(state) => Err(OpsError::NotRequeueable(state)),
        Requeued::Superseded(newer) => Err(OpsError::Superseded(newer)),
    }
}

/// Checks a discard reason: trimmed, 1 to 500 characters.
pub fn discard_reason(raw: &str) -> Result<&str, OpsError> {
    let reason = raw.trim();
    let chars = reason.chars().count();
    if (1..=MAX_REASON_CHARS).contains(&chars) { Ok(reason) } else { Err(OpsError::InvalidReason) }
}

/// Sets a pending, failed or dead-lettered run aside with `reason`; returns it as it now stands.
pub async fn discard(pool: &PgPool, event_id: Uuid, reason: &str) -> Result<EventItem, OpsError> {
    let reason = discard_reason(reason)?;
    let tenant = owner(pool, event_id).await?;
    match store::discard(pool, tenant, event_id, reason).await? {
        Discarded::Done => {}
        Discarded::NotFound => return Err(OpsError::NotFound),
        Discarded::NotDiscardable(state) => return Err(OpsError::NotDiscardable(state)),
        Discarded::Superseded => return Err(OpsError::Superseded(None)),
    }
    tracing::info!(tenant_id = %tenant, event_id = %event_id, "event discarded by an operator");
    Ok(store::summary(pool, tenant, event_id).await?.ok_or(OpsError::NotFound)?.into())
}

/// A bulk job's discard: refused unless the run is in one of `allowed` (empty: any discardable state)
/// and is still its event's current run.
pub async fn discard_from(pool: &PgPool, event_id: Uuid, reason: &str, allowed: &[EventState]) -> Result<(), OpsError> {
    let reason = discard_reason(reason)?;
    let tenant = owner(pool, event_id).await?;
    match store::discard_from(pool, tenant, event_id, reason, allowed, true).await? {
        Discarded::Done => Ok(()),
        Discarded::NotFound => Err(OpsError::NotFound),
        Discarded::NotDiscardable(state) => Err(OpsError::NotDiscardable(state)),
        Discarded::Superseded => Err(OpsError::Superseded(None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(f: impl FnOnce(&mut ListParams)) -> ListParams {
        let mut p = ListParams::default();
        f(&mut p);
        p
    }

    #[test]
    fn filters_are_parsed_and_bad_ones_named() {
        let f = params(|p| {
            p.state = Some("failed, dead_lettered".into());
            p.event = Some("invoice.created".into());
            p.q = Some(" 42 ".into());
        })
        .filter()
        .unwrap();
        assert_eq!(f.states, vec![EventState::Failed, EventState::DeadLettered]);
        assert_eq!(f.events, vec![EventName::InvoiceCreated]);
        assert_eq!((f.q.as_deref(), f.magento_id, f.limit), (Some("42"), Some(42), DEFAULT_LIMIT));
        let f = params(|p| p.q = Some("INV-7".into())).filter().unwrap();
        assert_eq!((f.q.as_deref(), f.magento_id), (Some("INV-7"), None));
        for (p, named) in [
            (params(|p| p.state = Some("done".into())), "state `done`"),
            (params(|p| p.event = Some("order.created".into())), "event `order.created`"),
            (params(|p| p.limit = Some("0".into())), "limit"),
            (params(|p| p.limit = Some("201".into())), "limit"),
            (params(|p| p.limit = Some("ten".into())), "limit"),
            (params(|p| p.from = Some("yesterday".into())), "from"),
            (params(|p| p.cursor = Some("abc".into())), "cursor"),
            (
                params(|p| {
                    p.from = Some("2026-12-02T00:00:00Z".into());
                    p.to = Some("2026-12-01T00:00:00Z".into());
                }),
                "before",
            ),
        ] {
            let e = p.filter().unwrap_err();
            assert!(matches!(&e, OpsError::InvalidFilter(m) if m.contains(named)), "{e} should name {named}");
        }
    }

    #[test]
    fn discard_reasons_are_bounded() {
        assert_eq!(discard_reason("  duplicate order  ").unwrap(), "duplicate order");
        assert!(discard_reason("   ").is_err());
        assert!(discard_reason(&"é".repeat(500)).is_ok(), "characters, not bytes");
        assert!(discard_reason(&"x".repeat(501)).is_err());
    }
}

//! The event log of one store: filters (state, event, date, increment id), keyset pages, state chips
//! refreshed in place every 2 s by htmx, one run's detail (attempt timeline, Sage calls, the diff, the
//! link to the record in Sage), retry, and discard with a reason. Bulk retry and discard by the log's
//! filters live in `bulk`. Everything goes through `ledger_sync::operations`, like the JSON API and `ledger events`.
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ledger_domain::{EventName, EventState, TenantId};
use ledger_store::{console, tenants};
use ledger_sync::operations::{self, EventDetail, EventItem, EventPage, ListParams, OpsError};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dashboard::{authorize_event, authorize_tenant};
use crate::layout::{self, chip, csrf_field, opt_time, time};
use crate::session::Signed;
use crate::{WebError, WebState};

/// Rows per page of the log.
pub const PAGE_SIZE: &str = "50";

/// The log's filters as the form sends them (dates as `YYYY-MM-DD` from date inputs).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LogQuery {
    #[serde(default, skip_serializing_if = "blank")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub cursor: Option<String>,
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// A date input's `YYYY-MM-DD` as the start of that day (UTC); `end` takes the start of the next day,
/// so `to` includes the day named. Anything else passes through for the service to judge.
fn day_bound(raw: Option<&str>, end: bool) -> Option<String> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(day) => {
            let day = if end { day.succ_opt().unwrap_or(day) } else { day };
            Some(format!("{day}T00:00:00Z"))
        }
        Err(_) => Some(raw.to_owned()),
    }
}

impl LogQuery {
    pub fn params(&self) -> ListParams {
        ListParams {
            state: self.state.clone(),
            event: self.event.clone(),
            q: self.q.clone(),
            from: day_bound(self.from.as_deref(), false),
            to: day_bound(self.to.as_deref(), true),
            limit: Some(PAGE_SIZE.into()),
            cursor: self.cursor.clone(),
        }
    }

    pub(crate) fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    pub(crate) fn without_cursor(&self) -> Self {
        Self { cursor: None, ..self.clone() }
    }
}

fn rows_url(tenant: TenantId, q: &LogQuery) -> String {
    format!("/stores/{tenant}/events/rows?{}", q.query_string())
}

fn row(item: &EventItem) -> Markup {
    html! {
        tr {
            td { (time(item.received_at)) }
            td.opt { (item.event.as_str()) }
            td {
                @if let Some(inc) = &item.increment_id { (inc) br; }
                span.muted { "#" (item.magento_entity_id) }
            }
            td {
                (chip(item.state.as_str()))
                @if let Some(p) = item.parked_reason { br; span.muted { "waiting: " (p.as_str().replace('_', " ")) } }
            }
            td.opt { (item.attempt) }
            td { @if let Some(r) = &item.sage_reference { (r) } @else { "—" } }
            td.opt {
                @if let Some(e) = &item.error { (e.message.as_deref().unwrap_or("")) }
                @if let Some(r) = &item.discard_reason { "Discarded: " (r) }
            }
            td { a href={ "/events/" (item.id) } aria-label={ "Details of " (item.event.as_str()) " " (item.increment_id.as_deref().unwrap_or("")) } { "Details" } }
        }
    }
}

/// The table body; it asks for itself again every 2 s, so chips change without a reload.
fn tbody(tenant: TenantId, q: &LogQuery, page: &EventPage) -> Markup {
    html! {
        tbody id="event-rows" hx-get=(rows_url(tenant, q)) hx-trigger="every 2s" hx-swap="outerHTML" {
            @for item in &page.items { (row(item)) }
            @if page.items.is_empty() { tr { td colspan="8" { "No events match." } } }
        }
    }
}

fn filters(tenant: TenantId, q: &LogQuery, error: Option<&str>) -> Markup {
    let selected = |v: &Option<String>, s: &str| v.as_deref() == Some(s);
    html! {
        form.filters method="get" action={ "/stores/" (tenant) "/events" } role="search" aria-label="Filter events" {
            div {
                label for="state" { "State" }
                select id="state" name="state" {
                    option value="" { "Any" }
                    option value="pending,running" selected[selected(&q.state, "pending,running")] { "Pending" }
                    @for s in [EventState::Synced, EventState::Skipped, EventState::Failed, EventState::DeadLettered, EventState::Discarded] {
                        option value=(s.as_str()) selected[selected(&q.state, s.as_str())] { (s.as_str().replace('_', " ")) }
                    }
                    option value="failed,dead_lettered" selected[selected(&q.state, "failed,dead_lettered")] { "Failed or dead-lettered" }
                }
            }
            div {
                label for="event" { "Event" }
                select id="event" name="event" {
                    option value="" { "Any" }
                    @for e in EventName::ALL {
                        option value=(e.as_str()) selected[selected(&q.event, e.as_str())] { (e.as_str()) }
                    }
                }
            }
            div {
                label for="q" { "Increment or Magento id" }
                input id="q" type="text" name="q" value=(q.q.as_deref().unwrap_or("")) maxlength="100";
            }
            div {
                label for="from" { "From (UTC)" }
                input id="from" type="date" name="from" value=(q.from.as_deref().unwrap_or(""));
            }
            div {
                label for="to" { "To (UTC, inclusive)" }
                input id="to" type="date" name="to" value=(q.to.as_deref().unwrap_or(""));
            }
            div { button type="submit" { "Filter" } " " a href={ "/stores/" (tenant) "/events" } { "Clear" } }
        }
        @if let Some(e) = error { p.field-error role="alert" { (e) } }
    }
}

pub(crate) fn hidden_filters(q: &LogQuery) -> Markup {
    html! {
        @for (name, value) in [("state", &q.state), ("event", &q.event), ("q", &q.q), ("from", &q.from), ("to", &q.to)] {
            @if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) { input type="hidden" name=(name) value=(v); }
        }
    }
}

pub(crate) async fn store_title(state: &WebState, tenant: TenantId) -> Result<String, WebError> {
    let t = tenants::get(&state.app.pool, tenant).await?.ok_or(WebError::NotFound)?;
    Ok(format!("Events of {}", t.name))
}

pub async fn log(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let title = store_title(&state, tenant).await?;
    let (page, error) = match operations::list(&state.app.pool, tenant, &q.params()).await {
        Ok(page) => (page, None),
        Err(OpsError::InvalidFilter(m)) => (EventPage { items: Vec::new(), next_cursor: None }, Some(m)),
        Err(e) => return Err(e.into()),
    };
    let body = html! {
        p { a href="/dashboard" { "← All stores" } " · " a href={ "/stores/" (tenant) "/sage" } { "Sage connection" } }
        (filters(tenant, &q, error.as_deref()))
        div.table-wrap {
            table {
                caption.muted { "Newest first. States update by themselves." }
                thead { tr {
                    th scope="col" { "Received" } th.opt scope="col" { "Event" } th scope="col" { "Document" }
                    th scope="col" { "State" } th.opt scope="col" { "Attempt" } th scope="col" { "Sage" }
                    th.opt scope="col" { "Last error" } th scope="col" { span.muted { "Open" } }
                } }
                (tbody(tenant, &q, &page))
            }
        }
        nav.actions aria-label="Pages" {
            @if q.cursor.is_some() { a href={ "/stores/" (tenant) "/events?" (q.without_cursor().query_string()) } { "Newest" } }
            @if let Some(next) = &page.next_cursor {
                a href={ "/stores/" (tenant) "/events?" (LogQuery { cursor: Some(next.clone()), ..q.clone() }.query_string()) } { "Older events" }
            }
        }
        section aria-labelledby="bulk" {
            h2 id="bulk" { "Retry in bulk" }
            p { "Retry every failed or dead-lettered event that matches the filters above. You will see how many first." }
            form method="post" action={ "/stores/" (tenant) "/events/retry" } {
                (csrf_field(&signed.csrf))
                (hidden_filters(&q))
                button.secondary type="submit" { "Count matching events…" }
            }
            h2 id="bulk-discard" { "Discard in bulk" }
            p { "Set aside every failed or dead-lettered event that matches the filters above (pending ones too when the filter says pending). You will see how many first." }
            form method="post" action={ "/stores/" (tenant) "/events/discard" } aria-labelledby="bulk-discard" {
                (csrf_field(&signed.csrf))
                (hidden_filters(&q))
                label for="bulk-reason" { "Reason to discard" }
                input id="bulk-reason" type="text" name="reason" required maxlength="500";
                button.secondary type="submit" { "Count events to discard…" }
            }
        }
    };
    let mut r = layout::html(layout::page(&title, signed.chrome(), body));
    if error.is_some() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

/// The table body alone, for the 2 s refresh.
pub async fn rows(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let page = operations::list(&state.app.pool, tenant, &q.params()).await?;
    Ok(layout::html(tbody(tenant, &q, &page)))
}

/// The link to the record in Sage's web app: the `alternate` link Sage returned for the record.
fn sage_link(detail: &EventDetail) -> Option<String> {
    detail.attempts.iter().rev().flat_map(|a| a.sage_calls.iter().rev()).find_map(|call| {
        call.response_body.as_ref()?.get("links")?.as_array()?.iter().find_map(|l| {
            (l.get("rel")?.as_str()? == "alternate").then(|| l.get("href")?.as_str().map(str::to_owned)).flatten()
        })
    })
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn detail_page(signed: &Signed, d: &EventDetail, discard_error: Option<&str>) -> Markup {
    let item = &d.item;
    let requeueable = matches!(item.state, EventState::Failed | EventState::DeadLettered | EventState::Discarded);
    let discardable = matches!(item.state, EventState::Pending | EventState::Failed | EventState::DeadLettered);
    let body = html! {
        p { a href={ "/stores/" (d.tenant_id) "/events" } { "← Events of this store" } }
        dl.facts {
            dt { "State" } dd { (chip(item.state.as_str())) @if let Some(p) = item.parked_reason { " waiting: " (p.as_str().replace('_', " ")) } }
            dt { "Magento" } dd { (item.event.as_str()) " " (item.increment_id.as_deref().unwrap_or("")) " (#" (item.magento_entity_id) ")" }
            dt { "Received" } dd { (time(item.received_at)) }
            dt { "Finished" } dd { (opt_time(item.finished_at)) }
            dt { "Attempts" } dd { (item.attempt) }
            dt { "In Sage" } dd {
                @if let Some(r) = &item.sage_reference { (r) " " }
                @if let Some(id) = &item.sage_id { span.muted { (id) } }
                @if let Some(href) = sage_link(d) { " " a href=(href) rel="noopener" target="_blank" { "Open in Sage" } }
                @if item.sage_id.is_none() { "—" }
            }
            @if let Some(e) = &item.error {
                dt { "Error" } dd.error {
                    @if let Some(c) = e.class { (c.to_string()) ": " }
                    (e.message.as_deref().unwrap_or(""))
                    @if let Some(s) = e.http_status { " (HTTP " (s) ")" }
                }
            }
            @if let Some(r) = &item.discard_reason { dt { "Discarded because" } dd { (r) } }
            @if let Some(prev) = d.rerun_of { dt { "Retry of" } dd { a href={ "/events/" (prev) } { (prev) } } }
        }
        div.actions {
            @if requeueable {
                form method="post" action={ "/events/" (item.id) "/retry" } {
                    (csrf_field(&signed.csrf))
                    button type="submit" { "Retry" }
                }
            }
            @if discardable {
                form method="post" action={ "/events/" (item.id) "/discard" } {
                    (csrf_field(&signed.csrf))
                    label for="reason" { "Reason to discard" }
                    input id="reason" type="text" name="reason" required maxlength="500"
                        aria-describedby=[discard_error.map(|_| "reason-error")];
                    @if let Some(m) = discard_error { p.field-error id="reason-error" role="alert" { (m) } }
                    button.danger type="submit" { "Discard" }
                }
            }
        }
        h2 { "Attempts" }
        @if d.attempts.is_empty() { p { "Not attempted yet." } }
        ol {
            @for a in &d.attempts {
                li {
                    p {
                        strong { "Attempt " (a.attempt.attempt) } " · " (time(a.attempt.started_at))
                        @if let Some(o) = a.attempt.outcome { " · " (chip(o.as_str())) }
                        @if let Some(c) = a.attempt.error_class { " · " (c.to_string()) }
                        @if let Some(x) = &a.attempt.detail { br; span.muted { (x) } }
                    }
                    @if !a.sage_calls.is_empty() {
                        div.table-wrap { table {
                            caption.muted { "Calls to Sage" }
                            thead { tr { th scope="col" { "Call" } th scope="col" { "Status" } th.opt scope="col" { "Time" } th.opt scope="col" { "Request id" } th scope="col" { "Bodies" } } }
                            tbody {
                                @for c in &a.sage_calls {
                                    tr {
                                        td { (c.method) " " (c.path) }
                                        td { @if let Some(s) = c.status { (s) } @else { (c.error.as_deref().unwrap_or("no answer")) } }
                                        td.opt { (c.latency_ms) " ms" }
                                        td.opt { (c.x_request_id.as_deref().unwrap_or("—")) }
                                        td {
                                            @if let Some(b) = &c.request_body { details { summary { "Request" } pre { (pretty(b)) } } }
                                            @if let Some(b) = &c.response_body { details { summary { "Response (redacted)" } pre { (pretty(b)) } } }
                                        }
                                    }
                                }
                            }
                        } }
                    }
                }
            }
        }
        @if let Some(diff) = &d.diff {
            h2 { "What the store said, and what Sage got" }
            div.diff {
                section { h3 { "Magento snapshot" } pre { (pretty(&diff.magento)) } }
                section {
                    h3 { "Sent to Sage" @if let Some(c) = &diff.sage_call { " (" (c) ")" } }
                    @if let Some(s) = &diff.sage { pre { (pretty(s)) } } @else { p { "Nothing was written to Sage in that attempt." } }
                }
            }
        }
        details { summary { "Event as the store sent it" } pre { (pretty(&d.payload)) } }
    };
    let title = format!("{} {}", item.event.as_str(), item.increment_id.as_deref().unwrap_or(""));
    layout::page(title.trim(), signed.chrome(), body)
}

pub async fn detail(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let (_, id) = authorize_event(&state, &signed, &raw).await?;
    let d = operations::show(&state.app.pool, id).await?;
    Ok(layout::html(detail_page(&signed, &d, None)))
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn audit(
    state: &WebState,
    signed: &Signed,
    action: &str,
    id: uuid::Uuid,
    detail: Option<&str>,
) -> Result<(), WebError> {
    if signed.is_operator() {
        let pool = &state.app.pool;
        console::record_action(
            pool,
            signed.account.id,
            &signed.account.email,
            action,
            &format!("event {id}"),
            1,
            detail,
        )
        .await?;
    }
    Ok(())
}

pub async fn retry(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let (_, id) = authorize_event(&state, &signed, &raw).await?;
    let new = operations::requeue(&state.app.pool, id).await?;
    audit(&state, &signed, "requeue", id, Some(&format!("new run {new}"))).await?;
    Ok(Redirect::to(&format!("/events/{new}")).into_response())
}

pub async fn discard(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let (_, id) = authorize_event(&state, &signed, &raw).await?;
    match operations::discard(&state.app.pool, id, &form.reason).await {
        Ok(_) => {
            audit(&state, &signed, "discard", id, Some(form.reason.trim())).await?;
            Ok(Redirect::to(&format!("/events/{id}")).into_response())
        }
        Err(e @ OpsError::InvalidReason) => {
            let d = operations::show(&state.app.pool, id).await?;
            let message = format!("Give a reason: {e}.");
            let mut r = layout::html(detail_page(&signed, &d, Some(&message)));
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_inputs_become_day_bounds() {
        assert_eq!(day_bound(Some("2026-12-04"), false).as_deref(), Some("2026-12-04T00:00:00Z"));
        assert_eq!(day_bound(Some("2026-12-04"), true).as_deref(), Some("2026-12-05T00:00:00Z"), "to includes the day");
        assert_eq!(day_bound(Some(" "), false), None);
        assert_eq!(
            day_bound(Some("yesterday"), false).as_deref(),
            Some("yesterday"),
            "passed on for the service to refuse"
        );
    }

    #[test]
    fn filters_round_trip_through_links() {
        let q = LogQuery {
            state: Some("failed".into()),
            q: Some("INV 7".into()),
            from: Some(String::new()),
            ..LogQuery::default()
        };
        assert_eq!(q.query_string(), "state=failed&q=INV+7");
    }
}

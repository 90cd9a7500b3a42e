//! Bulk actions on a store's log: retry, or discard with a reason, every run matching the log's
//! filters. First a dry-run count that changes nothing, then, confirmed, a background job
//! (`bulk_actions`, worked by `ledger_sync::bulk`) with a live progress page. The progress markup is
//! shared with the operator console's jobs across tenants (`ops_bulk`).
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ledger_domain::{EventState, TenantId};
use ledger_store::bulk::{self, BulkAction, BulkKind, NewBulk};
use ledger_sync::operations;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use crate::dashboard::authorize_tenant;
use crate::events::{LogQuery, hidden_filters, store_title};
use crate::layout::{self, csrf_field};
use crate::session::Signed;
use crate::{WebError, WebState};

#[derive(Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    filters: LogQuery,
    confirm: Option<String>,
    reason: Option<String>,
}

/// The states of `filter` an action accepts (`default` when the filter names none), joined for a
/// query string.
fn states_for(filter: Option<&str>, accepted: &[&str], default: &str) -> String {
    let wanted: Vec<&str> = filter.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if wanted.is_empty() {
        return default.into();
    }
    wanted.into_iter().filter(|s| accepted.contains(s)).collect::<Vec<_>>().join(",")
}

/// The states a bulk retry acts on: those of the filter that can be requeued (failed and dead-lettered
/// when the filter names none).
fn retryable_states(filter: Option<&str>) -> String {
    states_for(filter, &["failed", "dead_lettered", "discarded"], "failed,dead_lettered")
}

/// The states a bulk discard acts on: those of the filter that can be discarded (failed and
/// dead-lettered when the filter names none; pending only when asked for).
fn discardable_states(filter: Option<&str>) -> String {
    states_for(filter, &["pending", "failed", "dead_lettered"], "failed,dead_lettered")
}

fn parse_states(joined: &str) -> Vec<EventState> {
    joined.split(',').filter_map(|s| s.parse().ok()).collect()
}

/// The runs of `tenant` a bulk action would act on now: those matching `filters` that are still their
/// event's current run.
async fn matching(state: &WebState, tenant: TenantId, filters: &LogQuery) -> Result<Vec<Uuid>, WebError> {
    let ids = operations::matching(&state.app.pool, tenant, &filters.params()).await?;
    Ok(bulk::current_runs(&state.app.pool, tenant, &ids).await?)
}

/// What both bulk forms start from: the signed merchant's tenant, the page title, the way back to the
/// log, the filters narrowed to `states` (refused with `none` when the filter names none of them), and
/// the runs they match now.
struct Prepared {
    tenant: TenantId,
    title: String,
    back: String,
    filters: LogQuery,
    ids: Vec<Uuid>,
}

async fn prepare(
    state: &WebState,
    signed: &Signed,
    raw: &str,
    form: &BulkForm,
    states: &str,
    none: &str,
) -> Result<Prepared, WebError> {
    signed.check_csrf(&form.csrf)?;
    let tenant = authorize_tenant(state, signed, raw).await?;
    let title = store_title(state, tenant).await?;
    let back = format!("/stores/{tenant}/events?{}", form.filters.without_cursor().query_string());
    if states.is_empty() {
        return Err(WebError::BadRequest(none.into()));
    }
    let filters = LogQuery { state: Some(states.to_owned()), cursor: None, ..form.filters.clone() };
    let ids = matching(state, tenant, &filters).await?;
    Ok(Prepared { tenant, title, back, filters, ids })
}

pub async fn retry(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<BulkForm>,
) -> Result<Response, WebError> {
    let states = retryable_states(form.filters.state.as_deref());
    let none = "Only failed, dead-lettered or discarded events can be retried; the filter names none of them.";
    let Prepared { tenant, title, back, filters, ids } = prepare(&state, &signed, &raw, &form, &states, none).await?;
    // Nothing matching (any more) queues nothing: the count says so instead.
    if form.confirm.as_deref() != Some("yes") || ids.is_empty() {
        let body = html! {
            p role="status" { strong { (ids.len()) } " failed or dead-lettered events match these filters." }
            @if ids.is_empty() {
                p { a href=(back) { "Back to the events" } }
            } @else {
                form method="post" action={ "/stores/" (tenant) "/events/retry" } {
                    (csrf_field(&signed.csrf))
                    (hidden_filters(&filters))
                    input type="hidden" name="confirm" value="yes";
                    button type="submit" { "Retry " (ids.len()) " events" }
                    " " a href=(back) { "Cancel" }
                }
            }
        };
        return Ok(layout::html(layout::page(&title, signed.chrome(), body)));
    }
    let id = queue(&state, &signed, tenant, BulkKind::Requeue, &filters, &parse_states(&states), &ids).await?;
    Ok(Redirect::to(&format!("/stores/{tenant}/bulk/{id}")).into_response())
}

pub async fn discard(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<BulkForm>,
) -> Result<Response, WebError> {
    let states = discardable_states(form.filters.state.as_deref());
    let none = "Only pending, failed or dead-lettered events can be discarded; the filter names none of them.";
    let Prepared { tenant, title, back, filters, ids } = prepare(&state, &signed, &raw, &form, &states, none).await?;
    let raw_reason = form.reason.as_deref().unwrap_or("");
    let reason = operations::discard_reason(raw_reason).map_err(|e| format!("Give a reason: {e}."));
    if let (Some("yes"), Ok(reason), false) = (form.confirm.as_deref(), &reason, ids.is_empty()) {
        let kind = BulkKind::Discard { reason };
        let id = queue(&state, &signed, tenant, kind, &filters, &parse_states(&states), &ids).await?;
        return Ok(Redirect::to(&format!("/stores/{tenant}/bulk/{id}")).into_response());
    }
    let error = reason.as_ref().err();
    let body = html! {
        p role="status" { strong { (ids.len()) } " events in " (states.replace(',', " or ").replace('_', "-")) " state match these filters." }
        @if ids.is_empty() {
            p { a href=(back) { "Back to the events" } }
        } @else {
            form method="post" action={ "/stores/" (tenant) "/events/discard" } {
                (csrf_field(&signed.csrf))
                (hidden_filters(&filters))
                input type="hidden" name="confirm" value="yes";
                (reason_field(raw_reason, error.map(String::as_str)))
                button.danger type="submit" { "Discard " (ids.len()) " events" }
                " " a href=(back) { "Cancel" }
            }
        }
    };
    let mut r = layout::html(layout::page(&title, signed.chrome(), body));
    if error.is_some() && !ids.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The discard reason's field, with its message beside it when refused.
pub(crate) fn reason_field(value: &str, error: Option<&str>) -> Markup {
    html! {
        label for="reason" { "Reason to discard (kept on every event)" }
        input id="reason" type="text" name="reason" required maxlength="500" value=(value.trim())
            aria-describedby=[error.map(|_| "reason-error")];
        @if let Some(m) = error { p.field-error id="reason-error" role="alert" { (m) } }
    }
}

async fn queue(
    state: &WebState,
    signed: &Signed,
    tenant: TenantId,
    kind: BulkKind<'_>,
    filters: &LogQuery,
    from_states: &[EventState],
    ids: &[Uuid],
) -> Result<Uuid, WebError> {
    let id = bulk::create(
        &state.app.pool,
        &NewBulk {
            tenant: Some(tenant),
            account: signed.account.id,
            actor_email: &signed.account.email,
            operator: signed.is_operator(),
            kind,
            filters: &filters.query_string(),
            from_states,
            event_ids: ids,
        },
    )
    .await?;
    tracing::info!(tenant_id = %tenant, bulk_id = %id, events = ids.len(), account_id = %signed.account.id,
        kind = ?kind, "bulk action queued from the dashboard");
    Ok(id)
}

/// A bulk action's progress page: a progress bar that refreshes itself every second while it runs.
pub async fn page(
    State(state): State<WebState>,
    signed: Signed,
    Path((raw, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let job = job_of(&state, tenant, &id).await?;
    let title = store_title(&state, tenant).await?;
    let body = html! {
        h2 { (heading(&job)) }
        (progress(&format!("/stores/{tenant}/bulk/{}/progress", job.id), &job))
        p { a href={ "/stores/" (tenant) "/events" } { "Back to the events" } }
    };
    Ok(layout::html(layout::page(&title, signed.chrome(), body)))
}

/// The progress fragment alone, for the refresh.
pub async fn progress_fragment(
    State(state): State<WebState>,
    signed: Signed,
    Path((raw, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let job = job_of(&state, tenant, &id).await?;
    Ok(layout::html(progress(&format!("/stores/{tenant}/bulk/{}/progress", job.id), &job)))
}

async fn job_of(state: &WebState, tenant: TenantId, raw: &str) -> Result<BulkAction, WebError> {
    let id: Uuid = raw.parse().map_err(|_| WebError::NotFound)?;
    bulk::get(&state.app.pool, tenant, id).await?.ok_or(WebError::NotFound)
}

pub(crate) fn heading(job: &BulkAction) -> &'static str {
    if job.action == "discard" { "Discarding events" } else { "Retrying events" }
}

/// The progress bar and, once finished, the summary; `refresh` is where the fragment reloads from.
pub(crate) fn progress(refresh: &str, job: &BulkAction) -> Markup {
    let handled = job.done + job.refused;
    let running = job.state == "running";
    let verb = if job.action == "discard" { "discarded" } else { "queued again" };
    html! {
        div id="bulk-progress" role="status" aria-live="polite"
            hx-get=[running.then_some(refresh)]
            hx-trigger=[running.then_some("every 1s")] hx-swap="outerHTML" {
            label for="bulk-bar" { (handled) " of " (job.total) " events handled" }
            progress id="bulk-bar" value=(handled) max=(job.total.max(1)) { (handled) " / " (job.total) }
            @if running {
                p.muted { "Running in the background: you can leave this page." }
            } @else {
                p.notice { (job.done) " events " (verb) "."
                    @if job.refused > 0 { " " (job.refused) " had changed since the count and were left alone." } }
            }
            @if let Some(r) = &job.reason { p.muted { "Reason: " (r) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_actions_act_only_on_the_states_they_accept() {
        assert_eq!(retryable_states(None), "failed,dead_lettered");
        assert_eq!(retryable_states(Some("synced,failed")), "failed");
        assert_eq!(retryable_states(Some("pending,running")), "");
        assert_eq!(discardable_states(None), "failed,dead_lettered");
        assert_eq!(discardable_states(Some("pending,running")), "pending");
        assert_eq!(discardable_states(Some("discarded")), "");
        assert_eq!(parse_states("failed,dead_lettered"), vec![EventState::Failed, EventState::DeadLettered]);
    }
}

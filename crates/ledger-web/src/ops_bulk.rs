//! Operator bulk actions across tenants from the console's failures page: requeue, or discard with a
//! reason, every failed or dead-lettered run of one group (error class and Sage `$dataCode`),
//! optionally narrowed to one tenant and one state. A dry run shows the count, per tenant, and changes
//! nothing; confirmed, a background job (`bulk_actions` with no tenant) does the work with a live
//! progress page at `/ops/bulk/{id}`. The finished job is written to the operator audit log.
use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ledger_domain::{EventState, TenantId};
use ledger_store::bulk::{self, BulkKind, NewBulk};
use ledger_store::console::{self, FailureFilter};
use ledger_sync::operations;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::bulk::{heading, progress, reason_field};
use crate::layout::{self, csrf_field};
use crate::session::OperatorOnly;
use crate::{WebError, WebState};

/// The failures page's filter as links and forms carry it. `class` and `code` name a group, `""`
/// standing for "none" (runs without a class or `$dataCode`); `tenant` and `state` are optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct FailureQuery {
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub state: Option<String>,
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn none_if_blank(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl FailureQuery {
    /// Whether a group is open (its runs listed, bulk actions offered).
    pub fn group_open(&self) -> bool {
        self.class.is_some() || self.code.is_some()
    }

    /// Checks the tenant and state, naming a bad one.
    pub fn filter(&self) -> Result<FailureFilter, String> {
        let tenant = match none_if_blank(&self.tenant) {
            None => None,
            Some(raw) => Some(raw.parse::<TenantId>().map_err(|_| format!("tenant `{raw}` is not a tenant id"))?),
        };
        let states = match none_if_blank(&self.state).as_deref() {
            None => Vec::new(),
            Some("failed") => vec![EventState::Failed],
            Some("dead_lettered") => vec![EventState::DeadLettered],
            Some(other) => return Err(format!("state `{other}` is not failed or dead_lettered")),
        };
        Ok(FailureFilter { class: none_if_blank(&self.class), data_code: none_if_blank(&self.code), tenant, states })
    }

    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    /// The filter as hidden fields of a form.
    pub fn hidden(&self) -> Markup {
        html! {
            input type="hidden" name="class" value=(self.class.as_deref().unwrap_or(""));
            input type="hidden" name="code" value=(self.code.as_deref().unwrap_or(""));
            @if let Some(t) = none_if_blank(&self.tenant) { input type="hidden" name="tenant" value=(t); }
            @if let Some(s) = none_if_blank(&self.state) { input type="hidden" name="state" value=(s); }
        }
    }
}

/// The two bulk forms under an open group on the failures page.
pub fn bulk_forms(csrf: &str, q: &FailureQuery) -> Markup {
    html! {
        section aria-labelledby="bulk-all" {
            h2 id="bulk-all" { "Act on all matching" }
            p { "Every failed or dead-lettered event of this group that matches the filter, in every tenant unless one is chosen. You will see how many first." }
            div.actions {
                form method="post" action="/ops/failures/bulk" {
                    (csrf_field(csrf))
                    (q.hidden())
                    input type="hidden" name="action" value="requeue";
                    button type="submit" { "Requeue all matching" }
                }
                form method="post" action="/ops/failures/bulk" {
                    (csrf_field(csrf))
                    (q.hidden())
                    input type="hidden" name="action" value="discard";
                    label for="ops-reason" { "Reason to discard" }
                    input id="ops-reason" type="text" name="reason" required maxlength="500";
                    button.danger type="submit" { "Discard all matching" }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    filter: FailureQuery,
    #[serde(default)]
    action: String,
    reason: Option<String>,
    confirm: Option<String>,
}

pub async fn start(
    State(state): State<WebState>,
    OperatorOnly(signed): OperatorOnly,
    Form(form): Form<BulkForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let discard = match form.action.as_str() {
        "requeue" => false,
        "discard" => true,
        _ => return Err(WebError::BadRequest("Choose requeue or discard.".into())),
    };
    let filter = form.filter.filter().map_err(WebError::BadRequest)?;
    let runs = console::matching_failures(&state.app.pool, &filter).await?;
    let raw_reason = form.reason.as_deref().unwrap_or("");
    let reason = operations::discard_reason(raw_reason).map_err(|e| format!("Give a reason: {e}."));
    // Nothing matching (any more) queues nothing: the dry run says so instead.
    let ready = form.confirm.as_deref() == Some("yes") && (!discard || reason.is_ok()) && !runs.is_empty();
    if ready {
        let ids: Vec<Uuid> = runs.iter().map(|r| r.id).collect();
        let kind = match &reason {
            Ok(reason) if discard => BulkKind::Discard { reason },
            _ => BulkKind::Requeue,
        };
        let from_states: Vec<EventState> = if filter.states.is_empty() {
            vec![EventState::Failed, EventState::DeadLettered]
        } else {
            filter.states.clone()
        };
        let id = bulk::create(
            &state.app.pool,
            &NewBulk {
                tenant: None,
                account: signed.account.id,
                actor_email: &signed.account.email,
                operator: true,
                kind,
                filters: &form.filter.query_string(),
                from_states: &from_states,
                event_ids: &ids,
            },
        )
        .await?;
        tracing::info!(bulk_id = %id, events = ids.len(), account_id = %signed.account.id, kind = ?kind,
            "operator bulk action queued from the console");
        return Ok(Redirect::to(&format!("/ops/bulk/{id}")).into_response());
    }
    // The dry run: how many, per tenant; nothing changes.
    let mut per_tenant: BTreeMap<(String, TenantId), usize> = BTreeMap::new();
    for r in &runs {
        *per_tenant.entry((r.tenant_name.clone(), r.tenant_id)).or_default() += 1;
    }
    let back = format!("/ops/failures?{}", form.filter.query_string());
    let error = if discard { reason.as_ref().err() } else { None };
    let verb = if discard { "Discard" } else { "Requeue" };
    let body = html! {
        p role="status" { strong id="bulk-count" { (runs.len()) } " failed or dead-lettered events match, in " (per_tenant.len()) " tenants." }
        p.muted { "Group: " (form.filter.class.as_deref().filter(|c| !c.is_empty()).unwrap_or("unclassified"))
            " · $dataCode " (form.filter.code.as_deref().filter(|c| !c.is_empty()).unwrap_or("none"))
            @if let Some(s) = none_if_blank(&form.filter.state) { " · " (s.replace('_', " ")) " only" }
            ". Runs a newer run already replaced are left out." }
        @if !per_tenant.is_empty() {
            div.table-wrap { table {
                caption.muted { "Per tenant" }
                thead { tr { th scope="col" { "Tenant" } th scope="col" { "Events" } } }
                tbody {
                    @for ((name, id), n) in &per_tenant {
                        tr { td { (name) br; span.muted { (id) } } td.tenant-count { (n) } }
                    }
                }
            } }
        }
        @if runs.is_empty() {
            p { a href=(back) { "Back to the failures" } }
        } @else {
            form method="post" action="/ops/failures/bulk" {
                (csrf_field(&signed.csrf))
                (form.filter.hidden())
                input type="hidden" name="action" value=(form.action);
                input type="hidden" name="confirm" value="yes";
                @if discard { (reason_field(raw_reason, error.map(String::as_str))) }
                button.danger[discard] type="submit" { (verb) " " (runs.len()) " events" }
                " " a href=(back) { "Cancel" }
            }
        }
    };
    let mut r = layout::html(layout::page(&format!("{verb} failures in bulk"), signed.chrome(), body));
    if error.is_some() && !runs.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn job_of(state: &WebState, raw: &str) -> Result<bulk::BulkAction, WebError> {
    let id: Uuid = raw.parse().map_err(|_| WebError::NotFound)?;
    bulk::get_any(&state.app.pool, id).await?.ok_or(WebError::NotFound)
}

/// An operator job's progress page.
pub async fn page(
    State(state): State<WebState>,
    OperatorOnly(signed): OperatorOnly,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let job = job_of(&state, &raw).await?;
    let scope = match job.tenant_id {
        Some(t) => format!("tenant {t}"),
        None => "all tenants".to_owned(),
    };
    let body = html! {
        p.muted { "Started by " (job.actor_email) " on " (layout::time(job.created_at)) " · " (scope) " · filter " code { (job.filters) } }
        (progress(&format!("/ops/bulk/{}/progress", job.id), &job))
        p { a href="/ops/failures" { "Back to the failures" } " · " a href="/ops/audit" { "Operator audit log" } }
    };
    Ok(layout::html(layout::page(heading(&job), signed.chrome(), body)))
}

/// The progress fragment alone, for the refresh.
pub async fn progress_fragment(
    State(state): State<WebState>,
    OperatorOnly(_): OperatorOnly,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let job = job_of(&state, &raw).await?;
    Ok(layout::html(progress(&format!("/ops/bulk/{}/progress", job.id), &job)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_is_checked_and_round_trips() {
        let q = FailureQuery {
            class: Some("validation".into()),
            code: Some(String::new()),
            tenant: Some(" ".into()),
            state: Some("dead_lettered".into()),
        };
        let f = q.filter().unwrap();
        assert_eq!(
            (f.class.as_deref(), f.data_code, f.tenant, f.states),
            (Some("validation"), None, None, vec![EventState::DeadLettered])
        );
        assert_eq!(q.query_string(), "class=validation&code=&state=dead_lettered");
        let bad = FailureQuery { state: Some("synced".into()), ..q.clone() };
        assert!(bad.filter().unwrap_err().contains("state `synced`"));
        let bad = FailureQuery { tenant: Some("nope".into()), ..q };
        assert!(bad.filter().unwrap_err().contains("tenant `nope`"));
    }
}

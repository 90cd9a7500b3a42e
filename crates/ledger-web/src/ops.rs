//! The operator console (operators only, checked on every page): every tenant at a glance (sortable,
//! searchable), failed and dead-lettered runs across tenants grouped by error class and Sage
//! `$dataCode` (a group narrowed by tenant and state, with bulk requeue and discard: `ops_bulk`), and the
//! audit log of what operators did. Actions on one run go through the event pages, which write the
//! audit log when an operator acts.
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use ledger_store::console::{self, StoreRow};
use maud::html;
use serde::Deserialize;

use crate::WebError;
use crate::WebState;
use crate::layout::{self, chip, opt_time, time};
use crate::ops_bulk::{FailureQuery, bulk_forms};
use crate::session::OperatorOnly;

#[derive(Deserialize, Default)]
pub struct TenantsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
}

fn sort_rows(rows: &mut [StoreRow], key: &str) {
    match key {
        "pending" => rows.sort_by_key(|r| std::cmp::Reverse(r.pending)),
        // Oldest waiting first; tenants with nothing waiting last.
        "oldest" => rows.sort_by_key(|r| (r.oldest_pending_at.is_none(), r.oldest_pending_at)),
        "failed" => rows.sort_by_key(|r| std::cmp::Reverse(r.failed_24h)),
        "name" => rows.sort_by_key(|r| r.name.to_lowercase()),
        _ => {}
    }
}

pub async fn tenants(
    State(state): State<WebState>,
    OperatorOnly(signed): OperatorOnly,
    Query(q): Query<TenantsQuery>,
) -> Result<Response, WebError> {
    let mut rows = console::all_stores(&state.app.pool, q.q.trim()).await?;
    let calls = console::sage_calls_today(&state.app.pool).await?;
    let budget = state.config.sage_daily_budget.max(1) as f64;
    let calls_of = |r: &StoreRow| calls.get(&r.tenant_id).copied().unwrap_or(0);
    sort_rows(&mut rows, &q.sort);
    if q.sort == "budget" {
        rows.sort_by_key(|r| std::cmp::Reverse(calls_of(r)));
    }
    let now = Utc::now();
    let sort_link = |key: &str, label: &str| {
        let href =
            format!("/ops?{}", serde_urlencoded::to_string([("q", q.q.as_str()), ("sort", key)]).unwrap_or_default());
        html! { a href=(href) aria-current=[(q.sort == key).then_some("true")] { (label) } }
    };
    let body = html! {
        form.filters method="get" action="/ops" role="search" {
            div {
                label for="q" { "Search tenants (name, store URL, owner email, id)" }
                input id="q" type="text" name="q" value=(q.q);
                input type="hidden" name="sort" value=(q.sort);
            }
            div { button type="submit" { "Search" } }
        }
        div.table-wrap { table {
            caption.muted { (rows.len()) " tenants. Sort by a column heading." }
            thead { tr {
                th scope="col" { (sort_link("name", "Tenant")) }
                th scope="col" { "Magento" }
                th scope="col" { "Sage" }
                th scope="col" { (sort_link("pending", "Pending")) }
                th scope="col" { (sort_link("oldest", "Oldest pending")) }
                th scope="col" { (sort_link("failed", "Failed 24 h")) }
                th scope="col" { (sort_link("budget", "Sage budget today")) }
                th.opt scope="col" { "Owner" }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        td { a href={ "/stores/" (r.tenant_id) "/events" } { (r.name) } br; span.muted { (r.tenant_id) } }
                        td { @if r.status == "revoked" { strong.error { "revoked" } } @else { (r.magento_connection_status.replace('_', " ")) } }
                        td {
                            @match r.binding_status.as_deref() {
                                None => "not connected",
                                Some("reconnect_required") => strong.error { "reconnect required" },
                                Some(s) => (s.replace('_', " ")),
                            }
                            @if let Some(t) = &r.tier { " · " (t) }
                        }
                        td { (r.pending) }
                        td { @if let Some(at) = r.oldest_pending_at { (layout::age(at, now)) } @else { "—" } }
                        td { (r.failed_24h) }
                        td { (format!("{:.2} %", calls_of(r) as f64 * 100.0 / budget)) br; span.muted { (calls_of(r)) " calls" } }
                        td.opt { (r.merchant_email.as_deref().unwrap_or("—")) }
                    }
                }
            }
        } }
    };
    Ok(layout::html(layout::page("All tenants", signed.chrome(), body)))
}

pub async fn failures(
    State(state): State<WebState>,
    OperatorOnly(signed): OperatorOnly,
    Query(q): Query<FailureQuery>,
) -> Result<Response, WebError> {
    let pool = &state.app.pool;
    let groups = console::failure_groups(pool).await?;
    let filter = q.filter().map_err(WebError::BadRequest)?;
    let open = if q.group_open() {
        let tenants = console::group_tenants(pool, filter.class.as_deref(), filter.data_code.as_deref()).await?;
        Some((console::failures_in_group(pool, &filter, 200).await?, tenants))
    } else {
        None
    };
    let chosen = |v: &Option<String>, s: &str| v.as_deref().unwrap_or("") == s;
    let body = html! {
        div.table-wrap { table {
            caption.muted { "Failed and dead-lettered events of every tenant, by error class and Sage $dataCode." }
            thead { tr { th scope="col" { "Class" } th scope="col" { "$dataCode" } th scope="col" { "Events" } th scope="col" { "Tenants" } th.opt scope="col" { "Latest" } th.opt scope="col" { "Example" } } }
            tbody {
                @for g in &groups {
                    @let href = format!("/ops/failures?{}", serde_urlencoded::to_string([("class", g.error_class.as_deref().unwrap_or("")), ("code", g.data_code.as_deref().unwrap_or(""))]).unwrap_or_default());
                    tr {
                        td { a href=(href) { (g.error_class.as_deref().unwrap_or("unclassified")) } }
                        td { (g.data_code.as_deref().unwrap_or("—")) }
                        td { (g.count) }
                        td { (g.tenants) }
                        td.opt { (opt_time(g.latest_at)) }
                        td.opt { (g.example.as_deref().unwrap_or("")) }
                    }
                }
                @if groups.is_empty() { tr { td colspan="6" { "Nothing failed." } } }
            }
        } }
        @if let Some((runs, tenants)) = &open {
            h2 { "In this group" }
            form.filters method="get" action="/ops/failures" aria-label="Narrow the group" {
                input type="hidden" name="class" value=(q.class.as_deref().unwrap_or(""));
                input type="hidden" name="code" value=(q.code.as_deref().unwrap_or(""));
                div {
                    label for="tenant" { "Tenant" }
                    select id="tenant" name="tenant" {
                        option value="" { "Every tenant" }
                        @for (id, name) in tenants {
                            option value=(id) selected[chosen(&q.tenant, &id.to_string())] { (name) }
                        }
                    }
                }
                div {
                    label for="state" { "State" }
                    select id="state" name="state" {
                        option value="" { "Failed or dead-lettered" }
                        option value="failed" selected[chosen(&q.state, "failed")] { "failed" }
                        option value="dead_lettered" selected[chosen(&q.state, "dead_lettered")] { "dead lettered" }
                    }
                }
                div { button type="submit" { "Filter" } }
            }
            p.muted { "Open an event to retry or discard it alone, or act on all matching below." }
            div.table-wrap { table {
                thead { tr { th scope="col" { "Tenant" } th scope="col" { "Event" } th scope="col" { "State" } th.opt scope="col" { "Error" } th scope="col" { "Finished" } } }
                tbody {
                    @for r in runs {
                        tr {
                            td { a href={ "/stores/" (r.tenant_id) "/events?state=failed,dead_lettered" } { (r.tenant_name) } }
                            td { a href={ "/events/" (r.id) } { (r.event_name) " #" (r.magento_entity_id) } }
                            td { (chip(&r.state)) }
                            td.opt { (r.last_error.as_deref().unwrap_or("")) }
                            td { (opt_time(r.finished_at)) }
                        }
                    }
                }
            } }
            @if !runs.is_empty() { (bulk_forms(&signed.csrf, &q)) }
        }
    };
    Ok(layout::html(layout::page("Failures across tenants", signed.chrome(), body)))
}

pub async fn audit(State(state): State<WebState>, OperatorOnly(signed): OperatorOnly) -> Result<Response, WebError> {
    let entries = console::recent_actions(&state.app.pool, 200).await?;
    let jobs = ledger_store::bulk::recent_operator_jobs(&state.app.pool, 20).await?;
    let body = html! {
        @if !jobs.is_empty() {
            div.table-wrap { table {
                caption.muted { "Bulk actions across tenants, newest first (each is logged below when it ends)." }
                thead { tr { th scope="col" { "Started" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Progress" } th.opt scope="col" { "Filter" } } }
                tbody {
                    @for j in &jobs {
                        tr {
                            td { a href={ "/ops/bulk/" (j.id) } { (time(j.created_at)) } }
                            td { (j.actor_email) }
                            td { (j.action) }
                            td { (j.done) " done, " (j.refused) " refused of " (j.total) @if j.state == "running" { " (running)" } }
                            td.opt { code { (j.filters) } }
                        }
                    }
                }
            } }
        }
        div.table-wrap { table {
            caption.muted { "The newest 200 operator actions." }
            thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "On" } th scope="col" { "How many" } th.opt scope="col" { "Detail" } } }
            tbody {
                @for e in &entries {
                    tr { td { (time(e.at)) } td { (e.actor_email) } td { (e.action) } td { (e.target) } td { (e.affected) } td.opt { (e.detail.as_deref().unwrap_or("")) } }
                }
                @if entries.is_empty() { tr { td colspan="6" { "No operator actions yet." } } }
            }
        } }
    };
    Ok(layout::html(layout::page("Operator audit log", signed.chrome(), body)))
}

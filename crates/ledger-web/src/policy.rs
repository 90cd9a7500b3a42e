//! The sync policy editor of a store: default tax rate, sales ledger account, bank account and
//! destination-VAT account (choices read from Sage), the payment method map (the store's methods on the
//! left, a Sage method and bank account on the right, codes typed by hand accepted), B2C consolidation,
//! the exchange-rate direction, zero-value invoices, `sync_since`, stock sync, the zero-rate and no-tax
//! rate overrides, the home country and the contact reference prefix. Saved through
//! `SyncEngine::save_policy`, which validates and checks every id against the business; each refusal
//! is shown beside its field. Fields the form does not show are kept as stored.
use std::collections::{BTreeMap, BTreeSet};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ledger_domain::TenantId;
use ledger_domain::policy::FieldError;
use ledger_sync::engine::{Choice, PolicyChoices, PolicyError, SyncEngine};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::dashboard::authorize_tenant;
use crate::layout::{self, csrf_field};
use crate::session::Signed;
use crate::{WebError, WebState};

fn engine(state: &WebState) -> Result<&SyncEngine, WebError> {
    state.app.engine.as_deref().ok_or(WebError::NotFound)
}

fn policy_error(e: PolicyError) -> WebError {
    match e {
        PolicyError::Store(s) => s.into(),
        other => WebError::BadRequest(other.to_string()),
    }
}

/// The text of `path` (`a.b.c`) in the policy document, for a form field's current value.
fn current(doc: &Value, path: &str) -> String {
    let mut v = doc;
    for part in split_path(path) {
        match v.get(part) {
            Some(next) => v = next,
            None => return String::new(),
        }
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // Store and website id lists, shown as `1, 2`.
        Value::Array(items) => items.iter().map(|i| current(i, "")).collect::<Vec<_>>().join(", "),
        _ => String::new(),
    }
}

/// `payment_method_map.<code>.payment_method_id` → its three parts (codes may hold dots only at
/// their ends' expense: the code is everything between the first and the last dot).
fn split_path(path: &str) -> Vec<&str> {
    if path.is_empty() {
        return Vec::new();
    }
    // Tax rate map keys (`class:2`, `17.5`) may hold dots and colons: the key is all after the prefix.
    if let Some(key) = path.strip_prefix("tax_rate_map.") {
        return vec!["tax_rate_map", key];
    }
    match path.strip_prefix("payment_method_map.") {
        Some(rest) => match rest.rsplit_once('.') {
            Some((code, field)) => vec!["payment_method_map", code, field],
            None => vec!["payment_method_map", rest],
        },
        None => path.split('.').collect(),
    }
}

struct View<'a> {
    doc: &'a Value,
    choices: &'a PolicyChoices,
    errors: &'a [FieldError],
    /// The submitted values, shown again after a refusal.
    submitted: Option<&'a BTreeMap<String, String>>,
}

impl View<'_> {
    fn value(&self, field: &str) -> String {
        match self.submitted {
            Some(s) => s.get(field).cloned().unwrap_or_default(),
            None => current(self.doc, field),
        }
    }

    fn error(&self, field: &str) -> Markup {
        let id = error_id(field);
        html! {
            @for e in self.errors.iter().filter(|e| e.field == field) {
                p.field-error id=(id) { (e.message) }
            }
        }
    }

    fn described(&self, field: &str) -> Option<String> {
        self.errors.iter().any(|e| e.field == field).then(|| error_id(field))
    }

    /// A one-line text field with its error beside it.
    fn text(&self, field: &str, label: &str, placeholder: &str) -> Markup {
        html! {
            label for=(field) { (label) }
            input id=(field) type="text" name=(field) value=(self.value(field)) placeholder=(placeholder)
                autocomplete="off" aria-describedby=[self.described(field)];
            (self.error(field))
        }
    }

    fn select(&self, field: &str, label: &str, options: &[Choice]) -> Markup {
        let value = self.value(field);
        let known = options.iter().any(|c| c.id == value);
        html! {
            label for=(field) { (label) }
            select id=(field) name=(field) aria-describedby=[self.described(field)] {
                option value="" { "— not set —" }
                @if !value.is_empty() && !known { option value=(value) selected { (value) " (not in Sage)" } }
                @for c in options { option value=(c.id) selected[c.id == value] { (c.name) } }
            }
            (self.error(field))
        }
    }
}

fn error_id(field: &str) -> String {
    format!("{}-error", field.replace(|c: char| !c.is_ascii_alphanumeric(), "-"))
}

/// The tax rate map keys to show: those stored, and those just submitted.
fn tax_keys(view: &View<'_>) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = view
        .doc
        .get("tax_rate_map")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(s) = view.submitted {
        keys.extend(s.keys().filter_map(|k| k.strip_prefix("tax_rate_map.").map(str::to_owned)));
    }
    keys
}

/// A comma-separated list of ids, or the field's error.
fn id_list(raw: &str, field: &str) -> Result<Option<Vec<u64>>, FieldError> {
    let parts: Vec<&str> = raw.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Ok(None);
    }
    parts.iter().map(|p| p.parse::<u64>()).collect::<Result<Vec<_>, _>>().map(Some).map_err(|_| FieldError {
        field: field.into(),
        message: "Enter whole numbers separated by commas, like 1, 2.".into(),
    })
}

/// The payment method codes to show: the store's, those already mapped, and those just submitted.
fn method_codes(view: &View<'_>) -> BTreeSet<String> {
    let mut codes: BTreeSet<String> = view.choices.store_methods.iter().map(|m| m.id.clone()).collect();
    if let Some(map) = view.doc.get("payment_method_map").and_then(Value::as_object) {
        codes.extend(map.keys().cloned());
    }
    if let Some(s) = view.submitted {
        codes.extend(
            s.keys().filter_map(|k| k.strip_prefix("payment_method_map.")?.rsplit_once('.').map(|(c, _)| c.to_owned())),
        );
    }
    codes
}

fn form(tenant: TenantId, signed: &Signed, view: &View<'_>) -> Markup {
    let c = view.choices;
    let checked = |field: &str| view.value(field) == "true";
    let labels: BTreeMap<&str, &str> = c.store_methods.iter().map(|m| (m.id.as_str(), m.name.as_str())).collect();
    html! {
        @if !view.errors.is_empty() {
            div.alert role="alert" { p { "The policy was not saved: " (view.errors.len()) " field(s) need attention, marked below." } }
            @for e in view.errors.iter().filter(|e| e.field.is_empty()) { p.field-error { (e.message) } }
        }
        form method="post" action={ "/stores/" (tenant) "/sage/policy" } {
            (csrf_field(&signed.csrf))
            h2 { "Accounts and tax" }
            (view.select("default_tax_rate_id", "Default tax rate", &c.tax_rates))
            (view.select("sales_ledger_account_id", "Sales ledger account", &c.sales_ledger_accounts))
            (view.select("bank_account_id", "Bank account for receipts and refunds", &c.bank_accounts))
            (view.select("destination_vat_ledger_account_id", "Ledger account for EU destination VAT (OSS/IOSS)", &c.sales_ledger_accounts))
            (view.select("zero_tax_rate_id", "Tax rate of zero-rated lines and exports (not set: GB_ZERO)", &c.tax_rates))
            (view.select("no_tax_rate_id", "Tax rate of the destination-VAT line (not set: GB_NO_TAX)", &c.tax_rates))
            (view.text("home_country", "Country whose VAT the Sage business charges (two letters; empty: GB)", "GB"))
            p.hint { "Sales to other countries are treated as exports." }
            h2 { "Contacts" }
            (view.text("contact_reference_prefix", "Contact reference prefix (1 to 3 upper-case letters or digits; empty: none)", "M1"))
            p.hint { "Put in front of every contact reference, so stores sharing one Sage business do not share contacts." }
            h2 { "Payment methods" }
            @if let Some(e) = &c.store_error { p.muted { "The store's payment methods could not be read (" (e) "); type the codes below." } }
            div.table-wrap { table {
                thead { tr { th scope="col" { "Magento method" } th scope="col" { "Sage payment method" } th scope="col" { "Bank account" } } }
                tbody {
                    @for code in method_codes(view) {
                        @let pm = format!("payment_method_map.{code}.payment_method_id");
                        @let bank = format!("payment_method_map.{code}.bank_account_id");
                        tr {
                            th scope="row" { (labels.get(code.as_str()).copied().unwrap_or(code.as_str())) br; span.muted { (code) } }
                            td { (view.select(&pm, "Sage method", &c.payment_methods)) }
                            td { (view.select(&bank, "Bank account (default above when not set)", &c.bank_accounts)) }
                        }
                    }
                }
            } }
            label for="new_method_code" { "Another Magento payment method code" }
            input id="new_method_code" type="text" name="new_method_code" maxlength="64" autocomplete="off";
            button.secondary type="submit" { "Add this code" }
            h2 { "Tax rates by Magento rate or tax class" }
            p.hint { "A Magento rate (" code { "20" } ", " code { "17.5" } ") or a product tax class (" code { "class:2" }
                ") routed to a Sage tax rate; lines no entry matches use the default rate when it reproduces Magento's tax." }
            @let tax_keys = tax_keys(view);
            @if !tax_keys.is_empty() {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Magento rate or class" } th scope="col" { "Sage tax rate (empty: remove)" } } }
                    tbody {
                        @for key in &tax_keys {
                            @let field = format!("tax_rate_map.{key}");
                            tr { th scope="row" { code { (key) } } td { (view.select(&field, "Sage tax rate", &c.tax_rates)) } }
                        }
                    }
                } }
            }
            label for="new_tax_key" { "Add a Magento rate or class" }
            input id="new_tax_key" type="text" name="new_tax_key" maxlength="32" autocomplete="off" placeholder="20 or class:2";
            (view.select("new_tax_rate_id", "Its Sage tax rate", &c.tax_rates))
            h2 { "Refunds" }
            label for="refund_mode" { "A credit memo of a paid invoice" }
            select id="refund_mode" name="refund_mode" {
                option value="refund" selected[view.value("refund_mode") != "credit_note_only"] { "Credit note and a refund from the bank account" }
                option value="credit_note_only" selected[view.value("refund_mode") == "credit_note_only"] { "Credit note only (left as credit on the customer's account)" }
            }
            label for="order_refunds" { "Refunds of an order without an invoice" }
            select id="order_refunds" name="order_refunds" {
                option value="sync" selected[view.value("order_refunds") != "skip"] { "Sync them as credit notes" }
                option value="skip" selected[view.value("order_refunds") == "skip"] { "Skip them" }
            }
            h2 { "Which stores and websites" }
            label for="store_ids" { "Magento store view ids whose invoices sync (empty: all)" }
            input id="store_ids" type="text" name="store_ids" inputmode="numeric" placeholder="1, 2" value=(view.value("store_ids")) aria-describedby=[view.described("store_ids")];
            (view.error("store_ids"))
            label for="website_ids" { "Magento website ids whose customers, products and credit memos sync (empty: all)" }
            input id="website_ids" type="text" name="website_ids" inputmode="numeric" placeholder="1" value=(view.value("website_ids")) aria-describedby=[view.described("website_ids")];
            (view.error("website_ids"))
            h2 { "Documents" }
            div {
                input id="b2c.enabled" type="checkbox" name="b2c.enabled" value="true" checked[checked("b2c.enabled")];
                label.inline for="b2c.enabled" { "Post guest orders to one B2C contact per currency" }
            }
            label for="b2c.threshold" { "Only guest orders under this total (empty: all)" }
            input id="b2c.threshold" type="text" inputmode="decimal" name="b2c.threshold" value=(view.value("b2c.threshold")) aria-describedby=[view.described("b2c.threshold")];
            (view.error("b2c.threshold"))
            label for="zero_value_invoices" { "Invoices with a zero total" }
            select id="zero_value_invoices" name="zero_value_invoices" {
                option value="skip" selected[view.value("zero_value_invoices") != "sync"] { "Skip them" }
                option value="sync" selected[view.value("zero_value_invoices") == "sync"] { "Sync them" }
            }
            label for="exchange_rate_direction" { "Exchange rate sent to Sage" }
            select id="exchange_rate_direction" name="exchange_rate_direction" {
                option value="foreign_per_base" selected[view.value("exchange_rate_direction") != "base_per_foreign"] { "Foreign currency per 1 base unit" }
                option value="base_per_foreign" selected[view.value("exchange_rate_direction") == "base_per_foreign"] { "Base currency per 1 foreign unit" }
            }
            label for="sync_since" { "Sync documents created from (empty: all)" }
            input id="sync_since" type="text" name="sync_since" placeholder="2026-01-01" value=(view.value("sync_since")) aria-describedby=[view.described("sync_since")];
            (view.error("sync_since"))
            div {
                input id="sync_stock" type="checkbox" name="sync_stock" value="true" checked[checked("sync_stock")];
                label.inline for="sync_stock" { "Sync stock levels (Sage Plus)" }
            }
            p { button type="submit" { "Save policy" } }
        }
    }
}

async fn render(
    state: &WebState,
    signed: &Signed,
    tenant: TenantId,
    errors: &[FieldError],
    submitted: Option<&BTreeMap<String, String>>,
    notice: Option<&str>,
) -> Result<Response, WebError> {
    let engine = engine(state)?;
    let body = match engine.policy_choices(tenant).await {
        Ok(choices) => {
            let doc = engine.policy(tenant).await.map_err(policy_error)?;
            let view = View { doc: &doc, choices: &choices, errors, submitted };
            html! {
                p { a href={ "/stores/" (tenant) "/sage" } { "← Sage connection" } }
                @if let Some(n) = notice { p.notice role="status" { (n) } }
                (form(tenant, signed, &view))
            }
        }
        Err(e @ (PolicyError::NoBinding | PolicyError::NotActive)) => html! {
            p { (e.to_string()) "." }
            p { a href={ "/stores/" (tenant) "/sage" } { "Connect Sage" } }
        },
        Err(e) => return Err(policy_error(e)),
    };
    let mut r = layout::html(layout::page("Sync policy", signed.chrome(), body));
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Query(q): Query<Saved>,
) -> Result<Response, WebError> {
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let notice = q
        .saved
        .is_some()
        .then_some("The policy is saved. Events that failed for want of a setting can be retried from the log.");
    render(&state, &signed, tenant, &[], None, notice).await
}

/// The fields the form owns; everything else in the stored document is kept.
const OWNED: [&str; 18] = [
    "tax_rate_map",
    "refund_mode",
    "order_refunds",
    "store_ids",
    "website_ids",
    "default_tax_rate_id",
    "sales_ledger_account_id",
    "bank_account_id",
    "destination_vat_ledger_account_id",
    "payment_method_map",
    "zero_value_invoices",
    "exchange_rate_direction",
    "sync_since",
    "sync_stock",
    "zero_tax_rate_id",
    "no_tax_rate_id",
    "home_country",
    "contact_reference_prefix",
];

/// The stored document with the form's fields put in (empty means not set).
fn merge(stored: &Value, form: &BTreeMap<String, String>) -> Value {
    let mut doc: Map<String, Value> = stored.as_object().cloned().unwrap_or_default();
    for key in OWNED {
        doc.remove(key);
    }
    let text = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    for key in [
        "default_tax_rate_id",
        "sales_ledger_account_id",
        "bank_account_id",
        "destination_vat_ledger_account_id",
        "zero_value_invoices",
        "exchange_rate_direction",
        "sync_since",
        "refund_mode",
        "order_refunds",
        "zero_tax_rate_id",
        "no_tax_rate_id",
        "home_country",
        "contact_reference_prefix",
    ] {
        if let Some(v) = text(key) {
            doc.insert(key.into(), Value::String(v.into()));
        }
    }
    doc.insert("sync_stock".into(), Value::Bool(text("sync_stock") == Some("true")));
    for key in ["store_ids", "website_ids"] {
        if let Ok(Some(ids)) = id_list(text(key).unwrap_or(""), key) {
            doc.insert(key.into(), Value::Array(ids.into_iter().map(Value::from).collect()));
        }
    }
    let mut taxes = Map::new();
    for (k, v) in form {
        if let Some(key) = k.strip_prefix("tax_rate_map.").map(str::trim).filter(|k| !k.is_empty())
            && !v.trim().is_empty()
        {
            taxes.insert(key.to_owned(), Value::String(v.trim().to_owned()));
        }
    }
    if let (Some(key), Some(rate)) = (text("new_tax_key"), text("new_tax_rate_id")) {
        taxes.insert(key.to_owned(), Value::String(rate.to_owned()));
    }
    if !taxes.is_empty() {
        doc.insert("tax_rate_map".into(), Value::Object(taxes));
    }
    let mut b2c = Map::new();
    b2c.insert("enabled".into(), Value::Bool(text("b2c.enabled") == Some("true")));
    if let Some(t) = text("b2c.threshold") {
        b2c.insert("threshold".into(), Value::String(t.into()));
    }
    doc.insert("b2c".into(), Value::Object(b2c));
    let mut map: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (k, v) in form {
        let Some((code, field)) = k.strip_prefix("payment_method_map.").and_then(|r| r.rsplit_once('.')) else {
            continue;
        };
        let v = v.trim();
        if !v.is_empty() && matches!(field, "payment_method_id" | "bank_account_id") {
            map.entry(code.to_owned()).or_default().insert(field.into(), Value::String(v.into()));
        }
    }
    if !map.is_empty() {
        doc.insert(
            "payment_method_map".into(),
            Value::Object(map.into_iter().map(|(k, v)| (k, Value::Object(v))).collect()),
        );
    }
    Value::Object(doc)
}

pub async fn save(
    State(state): State<WebState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let mut form: BTreeMap<String, String> = fields.into_iter().collect();
    signed.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let tenant = authorize_tenant(&state, &signed, &raw).await?;
    let engine = engine(&state)?;
    // A code typed by hand becomes a row to fill in; nothing is saved yet.
    if let Some(code) = form.remove("new_method_code").map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()) {
        form.entry(format!("payment_method_map.{code}.payment_method_id")).or_default();
        let notice = format!("Choose the Sage payment method for \u{201c}{code}\u{201d}, then save.");
        return render(&state, &signed, tenant, &[], Some(&form), Some(&notice)).await;
    }
    let list_errors: Vec<FieldError> = ["store_ids", "website_ids"]
        .into_iter()
        .filter_map(|k| id_list(form.get(k).map(String::as_str).unwrap_or(""), k).err())
        .collect();
    if !list_errors.is_empty() {
        return render(&state, &signed, tenant, &list_errors, Some(&form), None).await;
    }
    let stored = engine.policy(tenant).await.map_err(policy_error)?;
    let doc = merge(&stored, &form);
    match engine.save_policy(tenant, &doc).await {
        Ok(_) => {
            tracing::info!(tenant_id = %tenant, account_id = %signed.account.id, "sync policy saved from the dashboard");
            Ok(Redirect::to(&format!("/stores/{tenant}/sage/policy?saved=1")).into_response())
        }
        Err(PolicyError::Invalid(errors)) => render(&state, &signed, tenant, &errors, Some(&form), None).await,
        Err(e) => Err(policy_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_form_replaces_its_fields_and_keeps_the_rest() {
        let stored = json!({"purchase_ledger_account_id": "P", "home_country": "GB", "bank_account_id": "old", "payment_method_map": {"gone": {"payment_method_id": "X"}}});
        let form: BTreeMap<String, String> = [
            ("bank_account_id", "bank-1"),
            ("default_tax_rate_id", " "),
            ("payment_method_map.checkmo.payment_method_id", "CHECK"),
            ("payment_method_map.checkmo.bank_account_id", ""),
            ("payment_method_map.pay.pal.payment_method_id", "CARD"),
            ("b2c.enabled", "true"),
            ("b2c.threshold", "50"),
            ("home_country", "IE"),
            ("contact_reference_prefix", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            merge(&stored, &form),
            json!({
                "purchase_ledger_account_id": "P",
                "home_country": "IE",
                "bank_account_id": "bank-1",
                "payment_method_map": {"checkmo": {"payment_method_id": "CHECK"}, "pay.pal": {"payment_method_id": "CARD"}},
                "b2c": {"enabled": true, "threshold": "50"},
                "sync_stock": false,
            })
        );
        assert_eq!(
            current(
                &json!({"payment_method_map": {"pay.pal": {"bank_account_id": "B"}}}),
                "payment_method_map.pay.pal.bank_account_id"
            ),
            "B"
        );
        assert_eq!(
            error_id("payment_method_map.pay.pal.payment_method_id"),
            "payment-method-map-pay-pal-payment-method-id-error"
        );
    }
}

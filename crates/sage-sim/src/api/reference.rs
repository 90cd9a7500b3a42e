//! Read-only resources: businesses, user, tax rates, currencies, exchange rates, ledger and bank accounts, settings.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::common::{Reply, day, nested, ok, ts};
use crate::error::ApiError;
use crate::http::gate::Ctx;
use crate::http::listing::{Params, envelope};
use crate::money::jv;
use crate::state::{Business, Sim, lock};

/// Full JSON for a business.
pub fn business_json(b: &Business) -> Value {
    let sub_name = format!("Sage Accounting {}", b.tier.label());
    json!({
        "id": b.id, "displayed_as": b.name, "$path": format!("/businesses/{}", b.id),
        "name": b.name, "address_line_1": "1 Simulator Street", "address_line_2": null,
        "city": "Newcastle upon Tyne", "postal_code": "NE1 1AA", "region": null,
        "country": {"id": "GB", "displayed_as": "United Kingdom (GB)", "$path": "/countries/GB"},
        "telephone": null, "mobile": null, "website": null, "is_demo": false, "ni_based": false,
        "subscriptions": [{"id": b.tier.subscription_id(), "displayed_as": sub_name,
            "active": !b.mse, "status": if b.mse { "CANCELLED" } else { "ACTIVE" }}],
        "created_at": ts(b.created_at), "updated_at": ts(b.created_at),
    })
}

fn businesses_of(sim: &Sim, ctx: &Ctx) -> Vec<Value> {
    let user = sim.user();
    if user.id != ctx.user_id {
        return Vec::new();
    }
    sim.businesses().iter().map(|b| business_json(&lock(b))).collect()
}

pub async fn list_businesses(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Reply {
    let params = Params::parse(q.as_deref());
    let items = businesses_of(&sim, &ctx);
    let mut v = envelope("businesses", &params, &sim.config, &items, Clone::clone)?;
    if let Value::Object(m) = &mut v {
        m.remove("$itemsPerPage");
        m.insert("$items_per_page".to_owned(), json!(i32::MAX));
    }
    ok(v)
}

pub async fn lead_business(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>) -> Reply {
    let lead = sim.user().businesses.first().cloned().unwrap_or_default();
    let _ = ctx;
    sim.with_business(&lead, |b| ok(business_json(b)))
}

pub async fn get_business(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Reply {
    if !sim.user().businesses.contains(&id) || sim.user().id != ctx.user_id {
        return Err(ApiError::not_found());
    }
    sim.with_business(&id, |b| ok(business_json(b)))
}

pub async fn get_user(State(sim): State<Arc<Sim>>) -> Reply {
    let u = sim.user();
    ok(json!({
        "id": u.id, "displayed_as": format!("{} {}", u.first_name, u.last_name), "$path": "/user",
        "first_name": u.first_name, "last_name": u.last_name, "initials": "SS", "email": u.email, "locale": "en-GB",
    }))
}

fn tax_rate_json(b: &Business, id: &str) -> Value {
    let Some(t) = b.tax_rate(id) else { return Value::Null };
    json!({
        "id": t.id, "displayed_as": t.displayed_as, "$path": format!("/tax_rates/{}", t.id),
        "name": t.name, "agency": null, "percentage": jv(t.percentage),
        "percentages": [{"percentage": jv(t.percentage), "from_date": day(t.from_date), "to_date": null}],
        "is_visible": true, "retailer": false, "editable": false, "deletable": false,
        "is_combined_rate": false, "component_tax_rates": [],
        "created_at": ts(b.created_at), "updated_at": ts(b.created_at),
    })
}

/// A tax rate as a nested reference.
pub fn tax_rate_ref(b: &Business, id: &str) -> Value {
    b.tax_rate(id).map(|t| nested("tax_rates", &t.id, &t.displayed_as)).unwrap_or(Value::Null)
}

/// A ledger account as a nested reference.
pub fn ledger_ref(b: &Business, id: &str) -> Value {
    b.ledger_account(id).map(|l| nested("ledger_accounts", &l.id, &l.displayed_as())).unwrap_or(Value::Null)
}

pub fn currency_ref(b: &Business, id: &str) -> Value {
    let name = b.currencies.iter().find(|(c, _)| c == id).map(|(_, n)| n.as_str()).unwrap_or(id);
    nested("currencies", id, &format!("{name} ({id})"))
}

fn ledger_json(b: &Business, id: &str) -> Value {
    let Some(l) = b.ledger_account(id) else { return Value::Null };
    let vis = |s: &str| l.visible_in(s);
    json!({
        "id": l.id, "displayed_as": l.displayed_as(), "$path": format!("/ledger_accounts/{}", l.id),
        "name": l.name, "display_name": l.name, "nominal_code": l.nominal_code,
        "ledger_account_type": {"id": l.account_type, "displayed_as": l.account_type},
        "visible_scopes": l.visible_scopes, "visible_in_banking": vis("bank"), "visible_in_sales": vis("sales"),
        "visible_in_expenses": vis("purchasing"), "visible_in_journals": vis("journals"),
        "visible_in_other_payments": false, "visible_in_other_receipts": false, "visible_in_reporting": vis("reporting"),
        "included_in_chart": true, "is_control_account": l.is_control,
        "tax_rate": l.tax_rate_id.as_deref().map(|t| tax_rate_ref(b, t)).unwrap_or(Value::Null),
        "created_at": ts(b.created_at), "updated_at": ts(b.created_at),
    })
}

fn bank_json(b: &Business, id: &str) -> Value {
    let Some(a) = b.bank_account(id) else { return Value::Null };
    let shown = format!("{} ({})", a.name, a.nominal_code);
    let method = b.payment_methods.iter().find(|(m, _)| *m == a.default_payment_method);
    json!({
        "id": a.id, "displayed_as": shown, "$path": format!("/bank_accounts/{}", a.id),
        "bank_account_details": {"account_name": a.name, "account_number": "12345678", "sort_code": "40-00-01", "bic": null, "iban": null},
        "ledger_account": ledger_ref(b, &a.ledger_account_id),
        "bank_account_type": {"id": "CHECKING", "displayed_as": "Current", "$path": "/bank_account_types/CHECKING"},
        "balance": jv(a.balance), "nominal_code": a.nominal_code, "currency": currency_ref(b, &a.currency),
        "default_payment_method": method.map(|(i, n)| nested("payment_methods", i, n)).unwrap_or(Value::Null),
        "is_active": true, "editable": true, "deletable": false,
        "created_at": ts(b.created_at), "updated_at": ts(b.created_at),
    })
}

/// Every exchange rate of the business as `/exchange_rates` returns them.
fn rate_json(b: &Business, currency: &str, rate: Decimal) -> Value {
    let inverse = if rate.is_zero() { Decimal::ZERO } else { (Decimal::ONE / rate).round_dp(6) };
    json!({
        "id": currency, "displayed_as": format!("{currency} exchange rate"), "$path": format!("/exchange_rates/{currency}"),
        "rate": jv(rate), "inverse_rate": jv(inverse),
        "base_currency": currency_ref(b, b.base_currency()), "currency": currency_ref(b, currency),
        "retrieved_at": ts(b.created_at),
    })
}

/// `GET /<reference collection>` for the static lists.
pub async fn list(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
    route: axum::extract::MatchedPath,
) -> Reply {
    let params = Params::parse(q.as_deref());
    let collection = route.as_str().trim_start_matches("/v3.1/").to_owned();
    sim.with_business(&ctx.business, |b| {
        let items: Vec<Value> = match collection.as_str() {
            "tax_rates" => b.tax_rates.iter().map(|t| tax_rate_json(b, &t.id)).collect(),
            "currencies" => b.currencies.iter().map(|(id, _)| currency_ref(b, id)).collect(),
            "exchange_rates" => b.rates.iter().map(|(c, r)| rate_json(b, c, *r)).collect(),
            "ledger_accounts" => b
                .ledger_accounts
                .iter()
                .filter(|l| params.get("visible_in").is_none_or(|s| l.visible_in(scope_of(s))))
                .filter(|l| params.get("not_visible_in").is_none_or(|s| !l.visible_in(scope_of(s))))
                .filter(|l| params.get("ledger_account_type_id").is_none_or(|t| l.account_type == t))
                .filter(|l| {
                    params.get("search").is_none_or(|s| {
                        let s = s.to_lowercase();
                        l.name.to_lowercase().contains(&s) || l.nominal_code.to_string().contains(&s)
                    })
                })
                .map(|l| ledger_json(b, &l.id))
                .collect(),
            "bank_accounts" => b.bank_accounts.iter().map(|a| bank_json(b, &a.id)).collect(),
            "payment_methods" => {
                b.payment_methods.iter().map(|(id, name)| nested("payment_methods", id, name)).collect()
            }
            _ => return Err(ApiError::not_found()),
        };
        ok(envelope(&collection, &params, &sim.config, &items, Clone::clone)?)
    })
}

/// `visible_in` values name scopes slightly differently from `visible_scopes`.
fn scope_of(visible_in: &str) -> &str {
    match visible_in {
        "banking" => "bank",
        "expenses" => "purchasing",
        "other_payments" => "other_payment",
        "other_receipts" => "other_receipt",
        other => other,
    }
}

/// `GET /<reference collection>/{id}`.
pub async fn get_one(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    route: axum::extract::MatchedPath,
) -> Reply {
    let collection = route.as_str().trim_start_matches("/v3.1/").split('/').next().unwrap_or_default().to_owned();
    sim.with_business(&ctx.business, |b| {
        let v = match collection.as_str() {
            "tax_rates" => tax_rate_json(b, &id),
            "ledger_accounts" => ledger_json(b, &id),
            "bank_accounts" => bank_json(b, &id),
            "exchange_rates" => b.rate_for(&id).map(|r| rate_json(b, &id, r)).unwrap_or(Value::Null),
            "currencies" if b.has_currency(&id) => currency_ref(b, &id),
            "payment_methods" => b
                .payment_methods
                .iter()
                .find(|(m, _)| *m == id)
                .map_or(Value::Null, |(m, name)| nested("payment_methods", m, name)),
            _ => Value::Null,
        };
        if v.is_null() { Err(ApiError::not_found()) } else { ok(v) }
    })
}

pub async fn financial_settings(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        ok(json!({
            "$path": "/financial_settings",
            "year_end_date": "2025-12-31", "year_end_lockdown_date": b.lockdown_date.map(day),
            "accounting_type": "accrual", "accounts_start_date": day(b.accounts_start_date),
            "base_currency": currency_ref(b, b.base_currency()), "multi_currency_enabled": b.multi_currency,
            "use_live_exchange_rates": false, "mtd_activation_status": "active", "mtd_connected": true,
            "tax_number": "GB123456789", "tax_scheme": {"id": "STANDARD", "displayed_as": "Standard"},
            "tax_return_frequency": {"id": "QUARTERLY", "displayed_as": "Quarterly"},
            "sales_tax_calculation": "invoice", "purchase_tax_calculation": "invoice",
            "flat_rate_tax_percentage": null, "postponed_accounting": false, "destination_vat": false,
            "updated_at": ts(b.created_at),
        }))
    })
}

pub async fn invoice_settings(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        let bank = b
            .bank_accounts
            .first()
            .map(|a| nested("bank_accounts", &a.id, &format!("{} ({})", a.name, a.nominal_code)));
        ok(json!({
            "$path": "/invoice_settings",
            "next_invoice_number": b.next_invoice, "next_credit_note_number": b.next_credit_note,
            "separate_invoice_credit_note_numbering": true,
            "sales_invoice_number_prefix": b.invoice_prefix, "sales_credit_note_number_prefix": b.credit_note_prefix,
            "invoice_terms_and_conditions": null, "default_note_on_invoice": null, "default_note_on_credit_note": null,
            "customer_credit_days": 30, "customer_credit_terms": "date_from_invoice",
            "payment_bank_account": bank,
        }))
    })
}

pub async fn business_settings(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>) -> Reply {
    sim.with_business(&ctx.business, |b| {
        let by_code = |code: u32| {
            b.ledger_accounts.iter().find(|l| l.nominal_code == code).map(|l| ledger_ref(b, &l.id)).unwrap_or(Value::Null)
        };
        ok(json!({
            "$path": "/business_settings",
            "siret": null, "management_centre_member": false, "business_type": {"id": "LIMITED_COMPANY"},
            "country_of_registration": {"id": "GB", "displayed_as": "United Kingdom (GB)"},
            "default_ledger_accounts": {
                "sales_ledger_account": by_code(4000), "sales_discount_ledger_account": by_code(4009),
                "product_sales_ledger_account": by_code(4000), "service_sales_ledger_account": by_code(4010),
                "carriage_ledger_account": by_code(4905), "other_receipt_ledger_account": by_code(4900),
                "exchange_rate_gains_ledger_account": by_code(7906), "exchange_rate_losses_ledger_account": by_code(7906),
                "purchase_ledger_account": by_code(5000), "product_purchase_ledger_account": by_code(5000),
                "customer_receipt_discount_ledger_account": by_code(4009), "bank_charges_ledger_account": Value::Null,
            },
            "business_created_at": ts(b.created_at), "share_capital": null, "auxiliary_accounts_visible": false,
        }))
    })
}

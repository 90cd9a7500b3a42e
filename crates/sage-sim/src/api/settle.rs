//! Artefacts that payments and allocations settle: invoices, credit notes and payments on account.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::common::nested;
use super::documents::{displayed, table, table_mut};
use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::http::body::Obj;
use crate::model::{AllocatedArtefact, DocKind, Settlement};
use crate::money::jv;
use crate::state::Business;

/// What an `artefact_id` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Artefact {
    Doc(DocKind),
    OnAccount { payment_id: String },
}

/// A validated line of `allocated_artefacts`.
#[derive(Debug, Clone)]
pub struct Planned {
    pub artefact_id: String,
    pub what: Artefact,
    pub amount: Decimal,
    pub discount: Decimal,
}

pub fn resolve(b: &Business, id: &str) -> Option<Artefact> {
    if b.invoices.get(id).is_some() {
        Some(Artefact::Doc(DocKind::Invoice))
    } else if b.credit_notes.get(id).is_some() {
        Some(Artefact::Doc(DocKind::CreditNote))
    } else {
        b.poa_index
            .get(id)
            .filter(|p| b.payments.get(p).is_some())
            .map(|p| Artefact::OnAccount { payment_id: p.clone() })
    }
}

/// Contact, currency, outstanding and payability of an artefact.
fn facts(b: &Business, id: &str, what: &Artefact) -> Option<(String, String, Decimal, bool)> {
    match what {
        Artefact::Doc(k) => {
            table(b, *k).get(id).map(|d| (d.contact_id.clone(), d.currency.clone(), d.outstanding, d.payable()))
        }
        Artefact::OnAccount { payment_id } => b.payments.get(payment_id).and_then(|p| {
            let poa = p.on_account.as_ref()?;
            Some((p.contact_id.clone(), p.currency.clone(), poa.outstanding, poa.outstanding > Decimal::ZERO))
        }),
    }
}

/// Validate `allocated_artefacts` for `contact_id`; `sign` says which kinds must be positive.
pub fn plan(
    b: &Business,
    config: &SimConfig,
    items: &[Value],
    contact_id: &str,
    currency: Option<&str>,
    sign: impl Fn(&Artefact) -> Decimal,
) -> ApiResult<Vec<Planned>> {
    let mut out: Vec<Planned> = Vec::with_capacity(items.len());
    for raw in items {
        let Value::Object(m) = raw else { return Err(ApiError::invalid("allocated_artefacts", "is not an object")) };
        let o = Obj::new(m, "allocated_artefacts.");
        let id = o.str_opt("artefact_id")?.ok_or_else(|| ApiError::required(o.src("artefact_id")))?;
        let what = resolve(b, &id)
            .ok_or_else(|| ApiError::bad_reference(config.bad_reference_status, o.src("artefact_id")))?;
        let (owner, doc_currency, outstanding, payable) = facts(b, &id, &what)
            .ok_or_else(|| ApiError::bad_reference(config.bad_reference_status, o.src("artefact_id")))?;
        if owner != contact_id {
            return Err(ApiError::invalid(o.src("artefact_id"), "The artefact does not belong to this contact."));
        }
        if out.iter().any(|p| p.artefact_id == id) {
            return Err(ApiError::invalid(o.src("artefact_id"), "The same artefact is listed twice."));
        }
        if !payable {
            return Err(ApiError::invalid("base", "You can only pay unpaid or part-paid invoices."));
        }
        if let Some(c) = currency
            && config.payment_currency_must_match
            && c != doc_currency
        {
            return Err(ApiError::invalid(
                "currency_id",
                "The payment currency must match the currency of the allocated artefacts.",
            ));
        }
        let amount = o.dec_req("amount")?;
        let expected_sign = sign(&what);
        if amount.is_zero() || amount.is_sign_negative() != expected_sign.is_sign_negative() {
            let want = if expected_sign.is_sign_negative() { "negative" } else { "positive" };
            return Err(ApiError::invalid(o.src("amount"), format!("must be {want} for this artefact")));
        }
        if amount.abs() > outstanding {
            return Err(ApiError::invalid(
                o.src("amount"),
                format!(
                    "The amount {} exceeds the outstanding amount {}.",
                    crate::money::fmt(amount.abs()),
                    crate::money::fmt(outstanding)
                ),
            ));
        }
        let discount = o.dec_opt("discount")?.unwrap_or(Decimal::ZERO);
        out.push(Planned { artefact_id: id, what, amount, discount });
    }
    Ok(out)
}

/// Apply planned lines as settlements made by `by_id`; returns the stored allocation lines.
pub fn apply(
    b: &mut Business,
    plan: &[Planned],
    by_id: &str,
    by_type: &'static str,
    date: NaiveDate,
) -> Vec<AllocatedArtefact> {
    let mut out = Vec::with_capacity(plan.len());
    for p in plan {
        let magnitude = p.amount.abs();
        match &p.what {
            Artefact::Doc(k) => {
                if let Some(d) = table_mut(b, *k).get_mut(&p.artefact_id) {
                    d.settle(Settlement { by_id: by_id.to_owned(), by_type, date, amount: magnitude });
                    d.meta.updated_at = chrono::Utc::now();
                }
            }
            Artefact::OnAccount { payment_id } => {
                if let Some(poa) = b.payments.get_mut(payment_id).and_then(|x| x.on_account.as_mut()) {
                    poa.outstanding -= magnitude;
                }
            }
        }
        out.push(AllocatedArtefact {
            id: b.new_id(),
            artefact_id: p.artefact_id.clone(),
            amount: p.amount,
            discount: p.discount,
        });
    }
    out
}

/// Undo what `by_id` settled.
pub fn reverse(b: &mut Business, lines: &[AllocatedArtefact], by_id: &str) {
    for l in lines {
        match resolve(b, &l.artefact_id) {
            Some(Artefact::Doc(k)) => {
                if let Some(d) = table_mut(b, k).get_mut(&l.artefact_id) {
                    d.unsettle(by_id);
                }
            }
            Some(Artefact::OnAccount { payment_id }) => {
                if let Some(poa) = b.payments.get_mut(&payment_id).and_then(|x| x.on_account.as_mut()) {
                    poa.outstanding += l.amount.abs();
                }
            }
            None => {}
        }
    }
}

/// Settlement type names as `&'static str`.
pub fn static_type(t: &str) -> &'static str {
    match t {
        "CUSTOMER_RECEIPT" => "CUSTOMER_RECEIPT",
        "CUSTOMER_REFUND" => "CUSTOMER_REFUND",
        "VENDOR_PAYMENT" => "VENDOR_PAYMENT",
        "VENDOR_REFUND" => "VENDOR_REFUND",
        "VENDOR_ALLOCATION" => "VENDOR_ALLOCATION",
        _ => "CUSTOMER_ALLOCATION",
    }
}

/// `allocated_artefacts[]` as responses show them: a payment's lines carry a `discount`, an allocation's do not.
pub fn render_lines(b: &Business, lines: &[AllocatedArtefact], with_discount: bool) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let artefact = match resolve(b, &l.artefact_id) {
                Some(Artefact::Doc(k)) => table(b, k)
                    .any(&l.artefact_id)
                    .map(|d| nested(k.collection(), &l.artefact_id, &displayed(b, d)))
                    .unwrap_or(Value::Null),
                Some(Artefact::OnAccount { .. }) => nested("payments_on_account", &l.artefact_id, "Payment on Account"),
                None => json!({"id": l.artefact_id}),
            };
            let mut v = json!({"id": l.id, "artefact": artefact, "amount": jv(l.amount)});
            if with_discount {
                v["discount"] = jv(l.discount);
            }
            v
        })
        .collect()
}

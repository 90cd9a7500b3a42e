//! Validation and arithmetic of sales invoices and credit notes: lines, tax, shipping, currency, numbering.

use chrono::{Days, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::common::{AddressShape, check_currency, check_date, render_address};
use crate::config::{FxDirection, SimConfig};
use crate::error::{ApiError, ApiResult};
use crate::http::body::Obj;
use crate::model::{DocKind, Document, Line, Meta};
use crate::money::{fmt, jv, round2};
use crate::state::Business;

/// Header keys echoed back unchanged.
const PASSTHROUGH: &[&str] = &["notes", "terms_and_conditions", "vat_reverse_charge", "destination_consignment"];

/// The amount in base currency for a document amount.
pub fn to_base(config: &SimConfig, amount: Decimal, rate: Decimal) -> Decimal {
    if rate.is_zero() {
        return amount;
    }
    round2(match config.fx_direction {
        FxDirection::ForeignPerBase => amount / rate,
        FxDirection::BasePerForeign => amount * rate,
    })
}

fn build_line(
    biz: &Business,
    config: &SimConfig,
    map: &Map<String, Value>,
    date: chrono::NaiveDate,
    id: String,
) -> ApiResult<Line> {
    let o = Obj::new(map, "line_items.");
    let description = o.str_req("description", 1000)?;
    let ledger_account_id =
        o.str_opt("ledger_account_id")?.ok_or_else(|| ApiError::required(o.src("ledger_account_id")))?;
    if !biz.ledger_account(&ledger_account_id).is_some_and(|l| l.visible_in("sales")) {
        return Err(ApiError::bad_reference(config.bad_reference_status, o.src("ledger_account_id")));
    }
    let quantity = o.dec_req("quantity")?;
    let unit_price = o.dec_req("unit_price")?;
    let includes_tax = o.bool_opt("unit_price_includes_tax")?.unwrap_or(false);
    let tax_rate_id = o.str_opt("tax_rate_id")?.ok_or_else(|| ApiError::required(o.src("tax_rate_id")))?;
    let rate = biz
        .tax_rate(&tax_rate_id)
        .ok_or_else(|| ApiError::bad_reference(config.bad_reference_status, o.src("tax_rate_id")))?;
    if date < rate.from_date {
        return Err(ApiError::invalid(o.src("tax_rate_id"), "The tax rate is not valid on the document date."));
    }
    for (key, table) in [("product_id", &biz.products), ("service_id", &biz.services)] {
        if let Some(id) = o.str_opt(key)?
            && table.get(&id).is_none()
            && (key == "service_id" || biz.stock_items.get(&id).is_none())
        {
            return Err(ApiError::bad_reference(config.bad_reference_status, o.src(key)));
        }
    }
    let gross = round2(quantity * unit_price);
    let discount = match (o.dec_opt("discount_amount")?, o.dec_opt("discount_percentage")?) {
        (Some(d), _) => round2(d),
        (None, Some(p)) => round2(gross * p / Decimal::ONE_HUNDRED),
        (None, None) => Decimal::ZERO,
    };
    if discount < Decimal::ZERO || discount > gross.abs() {
        return Err(ApiError::invalid(o.src("discount_amount"), "must be between 0 and the line amount"));
    }
    let after_discount = gross - discount;
    let pct = rate.percentage;
    let (net, expected_tax) = if includes_tax {
        let net = round2(after_discount * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + pct));
        (net, after_discount - net)
    } else {
        (after_discount, round2(after_discount * pct / Decimal::ONE_HUNDRED))
    };
    if config.validate_supplied_totals
        && let Some(n) = o.dec_opt("net_amount")?
        && round2(n) != net
    {
        return Err(ApiError::invalid(
            o.src("net_amount"),
            format!("must equal quantity × unit_price − discount ({})", fmt(net)),
        ));
    }
    let tax = match o.dec_opt("tax_amount")? {
        None if rate.zero_type || pct.is_zero() => Decimal::ZERO,
        None => return Err(ApiError::required(o.src("tax_amount"))),
        Some(t) => {
            let t = round2(t);
            let tolerance = if config.strict_tax { Decimal::ZERO } else { config.tax_tolerance };
            if config.validate_tax_amount && (t - expected_tax).abs() > tolerance {
                return Err(ApiError::invalid(
                    o.src("tax_amount"),
                    format!(
                        "The tax amount {} does not match {}% of {} ({}).",
                        fmt(t),
                        fmt(pct),
                        fmt(net),
                        fmt(expected_tax)
                    ),
                ));
            }
            t
        }
    };
    let total = net + tax;
    if config.validate_supplied_totals
        && let Some(t) = o.dec_opt("total_amount")?
        && round2(t) != total
    {
        return Err(ApiError::invalid(
            o.src("total_amount"),
            format!("must equal net_amount + tax_amount ({})", fmt(total)),
        ));
    }
    Ok(Line {
        id,
        description,
        ledger_account_id,
        quantity,
        unit_price,
        unit_price_includes_tax: includes_tax,
        discount,
        net,
        tax_rate_id: Some(tax_rate_id),
        tax,
        total,
        product_id: o.str_opt("product_id")?,
        service_id: o.str_opt("service_id")?,
    })
}

/// Validate a document body. `existing` is the stored document a PUT updates.
pub fn build(
    biz: &mut Business,
    config: &SimConfig,
    kind: DocKind,
    map: &Map<String, Value>,
    existing: Option<&Document>,
) -> ApiResult<Document> {
    let o = Obj::new(map, "");
    let contact_id = o.str_opt("contact_id")?.ok_or_else(|| ApiError::required("contact_id"))?;
    let contact = biz
        .contacts
        .get(&contact_id)
        .ok_or_else(|| ApiError::bad_reference(config.bad_reference_status, "contact_id"))?;
    if contact.contact_type != "CUSTOMER" {
        return Err(ApiError::invalid("contact_id", "can't find customer"));
    }
    let contact = contact.clone();
    let date = o.date_req("date")?;
    check_date(biz, config, date, "date")?;
    let reference = o.str_max("reference", 25)?.filter(|r| !r.is_empty());
    o.str_max("notes", 2000)?;
    o.str_max("terms_and_conditions", 2000)?;
    let requested_status = o.str_opt("status_id")?;
    let status = match (requested_status.as_deref(), existing) {
        (None, Some(e)) => e.status.clone(),
        (None, None) => "UNPAID".to_owned(),
        (Some(s @ ("DRAFT" | "PRO_FORMA" | "UNPAID")), None) => s.to_owned(),
        (Some(s), Some(e)) if s == e.status => s.to_owned(),
        (Some(_), _) => {
            return Err(ApiError::invalid("status_id", "A new document can only be UNPAID, DRAFT or PRO_FORMA."));
        }
    };
    let currency = o.str_opt("currency_id")?.unwrap_or_else(|| contact.currency.clone());
    check_currency(biz, &currency, "currency_id")?;
    if currency != contact.currency {
        return Err(ApiError::invalid("currency_id", "The currency must be the same as the contact's currency."));
    }
    let exchange_rate = if currency == biz.base_currency() {
        Decimal::ONE
    } else {
        let inverse = o.dec_opt("inverse_exchange_rate")?.filter(|r| !r.is_zero()).map(|r| Decimal::ONE / r);
        let rate = o.dec_opt("exchange_rate")?.or(inverse).or_else(|| biz.rate_for(&currency)).unwrap_or(Decimal::ONE);
        if rate <= Decimal::ZERO {
            return Err(ApiError::invalid("exchange_rate", "must be greater than 0"));
        }
        rate
    };
    let lines_raw =
        o.array(kind.lines_key())?.filter(|a| !a.is_empty()).ok_or_else(|| ApiError::required("line_items"))?;
    let mut lines = Vec::with_capacity(lines_raw.len());
    for raw in lines_raw {
        let Value::Object(lm) = raw else { return Err(ApiError::invalid("line_items", "is not an object")) };
        let id = biz.new_id();
        lines.push(build_line(biz, config, lm, date, id)?);
    }
    let shipping_net = round2(o.dec_opt("shipping_net_amount")?.unwrap_or(Decimal::ZERO));
    if shipping_net < Decimal::ZERO {
        return Err(ApiError::invalid("shipping_net_amount", "must be greater than or equal to 0"));
    }
    let shipping_tax_rate_id = o.str_opt("shipping_tax_rate_id")?;
    let shipping_tax = match &shipping_tax_rate_id {
        Some(id) => {
            let r = biz
                .tax_rate(id)
                .ok_or_else(|| ApiError::bad_reference(config.bad_reference_status, "shipping_tax_rate_id"))?;
            round2(shipping_net * r.percentage / Decimal::ONE_HUNDRED)
        }
        None => Decimal::ZERO,
    };
    let net = lines.iter().map(|l| l.net).sum::<Decimal>() + shipping_net;
    let tax = lines.iter().map(|l| l.tax).sum::<Decimal>() + shipping_tax;
    let total = net + tax;
    if config.validate_supplied_totals {
        for (key, value) in [("net_amount", net), ("tax_amount", tax), ("total_amount", total)] {
            if let Some(v) = o.dec_opt(key)?
                && round2(v) != value
            {
                return Err(ApiError::invalid(
                    key,
                    format!("must equal the sum of the lines and shipping ({})", fmt(value)),
                ));
            }
        }
    }
    if let Some(e) = existing
        && !e.settlements.is_empty()
        && (total != e.total || contact_id != e.contact_id || currency != e.currency)
    {
        return Err(ApiError::invalid("base", "Remove the payments and allocations before changing the amounts."));
    }
    let credit_days = contact.extra.get("credit_days").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
    let due_date = o
        .date_opt("due_date")?
        .unwrap_or_else(|| date.checked_add_days(Days::new(credit_days.unwrap_or(30))).unwrap_or(date));
    let posting = !matches!(status.as_str(), "DRAFT" | "PRO_FORMA");
    let number = match existing.and_then(|e| e.number.clone()) {
        Some(n) => Some(n),
        None if posting => Some(match o.str_opt(kind.number_key())? {
            Some(n) => n,
            None => next_number(biz, kind),
        }),
        None => None,
    };
    let now = Utc::now();
    let meta = match existing {
        Some(e) => Meta { updated_at: now, ..e.meta.clone() },
        None => Meta::new(biz.new_id(), now),
    };
    let transaction_id = match existing.and_then(|e| e.transaction_id.clone()) {
        Some(t) => Some(t),
        None if posting => Some(biz.new_id()),
        None => None,
    };
    let mut extra = Map::new();
    o.keep(PASSTHROUGH, &mut extra);
    if kind == DocKind::CreditNote {
        o.keep(&["original_invoice_date"], &mut extra);
    }
    for key in ["withholding_tax_rate", "withholding_tax_amount"] {
        if let Some(d) = o.dec_opt(key)? {
            extra.insert(key.into(), jv(d));
        }
    }
    for (key, default_type) in [("main_address", "SALES"), ("delivery_address", "DELIVERY")] {
        if let Some(addr) = o.object(key)? {
            let id = existing
                .and_then(|e| e.extra.get(key))
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .map_or_else(|| biz.new_id(), str::to_owned);
            extra.insert(key.into(), render_address(addr, &id, default_type, AddressShape::Document));
        }
    }
    let total_paid = existing.map(|e| e.total_paid).unwrap_or(Decimal::ZERO);
    let mut doc = Document {
        meta,
        kind,
        number,
        contact_name: o.str_opt("contact_name")?.unwrap_or_else(|| contact.name.clone()),
        contact_reference: o.str_opt("contact_reference")?.or_else(|| contact.reference.clone()),
        contact_id,
        date,
        due_date,
        reference,
        status,
        currency,
        exchange_rate,
        lines,
        shipping_net,
        shipping_tax_rate_id,
        shipping_tax,
        net,
        tax,
        total,
        total_paid,
        outstanding: total - total_paid,
        void_reason: None,
        sent: o.bool_opt("sent")?.unwrap_or_else(|| existing.is_some_and(|e| e.sent)),
        transaction_id,
        settlements: existing.map(|e| e.settlements.clone()).unwrap_or_default(),
        extra,
        request: map.clone(),
    };
    // A posted document with nothing to pay (a zero-value invoice) is `PAID` from the start and takes
    // no payment or allocation; a PUT that changes the total moves the status with it.
    doc.restatus();
    Ok(doc)
}

/// The next number in the invoice or credit note sequence.
pub fn next_number(biz: &mut Business, kind: DocKind) -> String {
    match kind {
        DocKind::Invoice => {
            biz.next_invoice += 1;
            format!("{}{}", biz.invoice_prefix, biz.next_invoice - 1)
        }
        DocKind::CreditNote => {
            biz.next_credit_note += 1;
            format!("{}{}", biz.credit_note_prefix, biz.next_credit_note - 1)
        }
    }
}

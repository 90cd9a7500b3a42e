//! Admin actions and the module's observers: entity changes that enqueue outbox events.

use chrono::{DateTime, Utc};
use rand::Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::catalog::BuyerChoice;
use crate::error::ControlError;
use crate::generate::{guest, make_customer, make_product};
use crate::model::{InvoiceState, ProductType};
use crate::outbox::{PayloadValue, envelope};
use crate::regions::{self, Market};
use crate::store::{SAGE, Store, StoreState};
use crate::wire::event_key;

/// A `/_sim/entities` request: what the admin (or a customer at checkout) did.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EntityAction {
    /// Places an order and invoices it (`paid` invoices fire `invoice.paid` too).
    CreateInvoice {
        customer_id: Option<u64>,
        #[serde(default)]
        guest: bool,
        /// `uk`, `eu` or `world` for a guest.
        market: Option<String>,
        /// The guest's e-mail (a returning guest checks out with the same address); guests only.
        email: Option<String>,
        #[serde(default)]
        paid: bool,
        /// A 100 % discount with free shipping: grand total 0, paid by Magento's `free` method, which
        /// invoices the order as paid at creation (so `paid` is implied).
        #[serde(default)]
        free: bool,
    },
    /// Captures an open invoice.
    PayInvoice { invoice_id: u64 },
    /// A credit memo against a paid `invoice_id`, or an order-level refund when only `order_id` is given;
    /// `adjustment_positive` refunds that much on top of the items (Magento's "Adjustment Refund").
    Refund {
        invoice_id: Option<u64>,
        order_id: Option<u64>,
        #[serde(default)]
        adjustment_positive: Option<Decimal>,
    },
    /// Saves an existing customer, or creates one; `street` replaces the first street line of the
    /// default address(es) and `lastname` the last name, so a save can be a real edit.
    SaveCustomer {
        customer_id: Option<u64>,
        country: Option<String>,
        company: Option<String>,
        street: Option<String>,
        lastname: Option<String>,
    },
    /// Saves an existing product (optionally its stock item only), or creates one.
    SaveProduct { product_id: Option<u64>, product_type: Option<ProductType>, stock_qty: Option<Decimal> },
}

impl<'de> Deserialize<'de> for ProductType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "virtual" => Self::Virtual,
            "downloadable" => Self::Downloadable,
            "configurable" => Self::Configurable,
            "bundle" => Self::Bundle,
            _ => Self::Simple,
        })
    }
}

/// One observer firing.
#[derive(Debug, Clone, Serialize)]
pub struct Emitted {
    pub event: String,
    pub idempotency_key: String,
    /// False when a row with the key already existed or the store is unpaired.
    pub enqueued: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_because: Option<&'static str>,
}

/// Runs an observer: write-through mirror row and outbox insert ("existing key wins").
#[allow(clippy::too_many_arguments)]
fn emit(
    st: &mut StoreState,
    event: &str,
    entity_id: u64,
    website_id: u32,
    store_id: u32,
    payload: &[(&str, PayloadValue)],
    now: DateTime<Utc>,
) -> Emitted {
    let key = event_key(event, entity_id);
    if st.creds.paired().is_none() {
        return Emitted {
            event: event.to_owned(),
            idempotency_key: key,
            enqueued: false,
            dropped_because: Some("not_paired"),
        };
    }
    let entity_type = event.split('.').next().unwrap_or(event);
    st.mirror.write_through(entity_type, entity_id, SAGE, now);
    let body = envelope(entity_id, website_id, store_id, now, payload);
    let enqueued = st.outbox.enqueue(&key, event, body, now);
    Emitted {
        event: event.to_owned(),
        idempotency_key: key,
        enqueued,
        dropped_because: (!enqueued).then_some("duplicate_key"),
    }
}

fn market(s: Option<&str>) -> Market {
    match s {
        Some("eu") => Market::Eu,
        Some("world") => Market::World,
        _ => Market::Uk,
    }
}

impl Store {
    /// Performs an entity action and fires the observers it triggers.
    pub fn fire(&self, action: EntityAction) -> Result<Value, ControlError> {
        let now = self.now();
        let mut guard = self.lock();
        let st = &mut *guard;
        match action {
            EntityAction::CreateInvoice { customer_id, guest: is_guest, market: m, email, paid, free } => {
                if email.is_some() && !is_guest {
                    return Err(ControlError::bad_request("email is for guest orders (guest: true)"));
                }
                let buyer = match customer_id {
                    Some(id) if !is_guest => {
                        if !st.catalog.customers.contains_key(&id) {
                            return Err(ControlError::not_found(format!("no customer {id}")));
                        }
                        BuyerChoice::Customer(id)
                    }
                    _ if is_guest || st.catalog.customers.is_empty() => {
                        let n = st.rng.r#gen::<u32>() as u64;
                        let mut buyer = guest(&mut st.rng, market(m.as_deref()), n);
                        if let (BuyerChoice::Guest { email: slot, .. }, Some(e)) = (&mut buyer, email) {
                            *slot = e;
                        }
                        buyer
                    }
                    _ => {
                        let ids: Vec<u64> = st.catalog.customers.keys().copied().collect();
                        BuyerChoice::Customer(ids[st.rng.gen_range(0..ids.len())])
                    }
                };
                let order_id = st
                    .catalog
                    .create_order(&mut st.rng, &buyer, now)
                    .ok_or_else(|| ControlError::bad_request("could not place an order"))?;
                if free {
                    st.catalog.make_free(order_id);
                }
                let paid = paid || free;
                let invoice_id = st
                    .catalog
                    .create_invoice(order_id, paid, now)
                    .ok_or_else(|| ControlError::bad_request("could not invoice the order"))?;
                let (website, store, inc) = invoice_ctx(st, invoice_id)?;
                let mut events = vec![emit(
                    st,
                    "invoice.created",
                    invoice_id,
                    website,
                    store,
                    &[("increment_id", PayloadValue::Str(inc.clone())), ("paid", PayloadValue::Bool(paid))],
                    now,
                )];
                if paid {
                    events.push(emit(
                        st,
                        "invoice.paid",
                        invoice_id,
                        website,
                        store,
                        &[("increment_id", PayloadValue::Str(inc.clone()))],
                        now,
                    ));
                }
                Ok(json!({ "order_id": order_id, "invoice_id": invoice_id, "increment_id": inc, "events": events }))
            }
            EntityAction::PayInvoice { invoice_id } => {
                let inv = st
                    .catalog
                    .invoices
                    .get_mut(&invoice_id)
                    .ok_or_else(|| ControlError::not_found(format!("no invoice {invoice_id}")))?;
                if inv.state != InvoiceState::Open {
                    return Err(ControlError::bad_request(format!("invoice {invoice_id} is {}", inv.state.as_str())));
                }
                inv.state = InvoiceState::Paid;
                let (website, store, inc) = invoice_ctx(st, invoice_id)?;
                let events = vec![emit(
                    st,
                    "invoice.paid",
                    invoice_id,
                    website,
                    store,
                    &[("increment_id", PayloadValue::Str(inc))],
                    now,
                )];
                Ok(json!({ "invoice_id": invoice_id, "events": events }))
            }
            EntityAction::Refund { invoice_id, order_id, adjustment_positive } => {
                let order_id = match (invoice_id, order_id) {
                    (Some(i), _) => st
                        .catalog
                        .invoices
                        .get(&i)
                        .map(|inv| inv.order_id)
                        .ok_or_else(|| ControlError::not_found(format!("no invoice {i}")))?,
                    (None, Some(o)) if st.catalog.orders.contains_key(&o) => o,
                    (None, Some(o)) => {
                        return Err(ControlError::not_found(format!("no order {o}")));
                    }
                    (None, None) => {
                        return Err(ControlError::bad_request("refund needs invoice_id or order_id"));
                    }
                };
                let cm_id = st
                    .catalog
                    .create_credit_memo(
                        &mut st.rng,
                        order_id,
                        invoice_id,
                        adjustment_positive.unwrap_or(Decimal::ZERO),
                        now,
                    )
                    .map_err(|e| ControlError::bad_request(e.to_string()))?;
                let (website, store) =
                    st.catalog.orders.get(&order_id).map(|o| (o.website_id, o.store_id)).unwrap_or((0, 0));
                let inc = crate::catalog::increment(cm_id);
                let events = vec![emit(
                    st,
                    "creditmemo.created",
                    cm_id,
                    website,
                    store,
                    &[("increment_id", PayloadValue::Str(inc.clone()))],
                    now,
                )];
                Ok(
                    json!({ "creditmemo_id": cm_id, "order_id": order_id, "invoice_id": invoice_id, "increment_id": inc, "events": events }),
                )
            }
            EntityAction::SaveCustomer { customer_id, country, company, street, lastname } => {
                let id = match customer_id {
                    Some(id) => {
                        let c = st
                            .catalog
                            .customers
                            .get_mut(&id)
                            .ok_or_else(|| ControlError::not_found(format!("no customer {id}")))?;
                        c.updated_at = now;
                        if company.is_some() {
                            c.company = company;
                        }
                        if let Some(last) = lastname {
                            c.last_name = last;
                        }
                        if let Some(line) = street {
                            for addr in [&mut c.billing, &mut c.shipping].into_iter().flatten() {
                                match addr.street.first_mut() {
                                    Some(first) => *first = line.clone(),
                                    None => addr.street.push(line.clone()),
                                }
                            }
                        }
                        id
                    }
                    None => {
                        let code = country.as_deref().unwrap_or("GB");
                        let country = regions::country(code)
                            .ok_or_else(|| ControlError::bad_request(format!("unknown country {code}")))?;
                        let id = st.catalog.next_customer_id();
                        let c = make_customer(&mut st.rng, id, country, company.as_deref(), true, now);
                        st.catalog.customers.insert(id, c);
                        id
                    }
                };
                let website = st.catalog.customers.get(&id).map_or(0, |c| c.website_id);
                let events = vec![emit(st, "customer.upserted", id, website, 0, &[], now)];
                Ok(json!({ "customer_id": id, "events": events }))
            }
            EntityAction::SaveProduct { product_id, product_type, stock_qty } => {
                let id = match product_id {
                    Some(id) => {
                        let p = st
                            .catalog
                            .products
                            .get_mut(&id)
                            .ok_or_else(|| ControlError::not_found(format!("no product {id}")))?;
                        p.updated_at = now;
                        if let Some(q) = stock_qty {
                            p.manage_stock = true;
                            p.stock_qty = Some(q);
                        }
                        id
                    }
                    None => {
                        let id = st.catalog.next_product_id();
                        let ty = product_type.unwrap_or(ProductType::Simple);
                        let n = id as usize + 100;
                        let p = make_product(&mut st.rng, id, ty, "NEW", "New Product", n, now);
                        st.catalog.products.insert(id, p);
                        id
                    }
                };
                let events = vec![emit(st, "product.upserted", id, 0, 0, &[], now)];
                Ok(json!({ "product_id": id, "events": events }))
            }
        }
    }
}

fn invoice_ctx(st: &StoreState, invoice_id: u64) -> Result<(u32, u32, String), ControlError> {
    let inv = st
        .catalog
        .invoices
        .get(&invoice_id)
        .ok_or_else(|| ControlError::not_found(format!("no invoice {invoice_id}")))?;
    let order = st
        .catalog
        .orders
        .get(&inv.order_id)
        .ok_or_else(|| ControlError::not_found(format!("no order {}", inv.order_id)))?;
    Ok((order.website_id, order.store_id, inv.increment_id.clone()))
}

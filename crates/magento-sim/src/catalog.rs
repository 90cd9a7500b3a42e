//! The store's entity tables and the operations that create orders, invoices and credit memos.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::seq::SliceRandom;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::model::{Address, Buyer, CreditMemo, Customer, Invoice, InvoiceState, Line, Order, Product, round2};
use crate::regions::{self, Country};

/// All entities of one store.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub products: BTreeMap<u64, Product>,
    pub customers: BTreeMap<u64, Customer>,
    pub orders: BTreeMap<u64, Order>,
    pub invoices: BTreeMap<u64, Invoice>,
    pub credit_memos: BTreeMap<u64, CreditMemo>,
}

fn next<V>(m: &BTreeMap<u64, V>) -> u64 {
    m.keys().next_back().map_or(1, |k| k + 1)
}

/// Magento-style increment id.
pub fn increment(id: u64) -> String {
    format!("{id:09}")
}

/// A buyer for a new order.
#[derive(Debug, Clone)]
pub enum BuyerChoice {
    Customer(u64),
    Guest { country: &'static Country, first_name: String, last_name: String, email: String, company: Option<String> },
}

impl Catalog {
    /// Next free product id.
    pub fn next_product_id(&self) -> u64 {
        next(&self.products)
    }

    /// Next free customer id.
    pub fn next_customer_id(&self) -> u64 {
        next(&self.customers)
    }

    /// Places an order of 1–4 lines for `buyer`; returns its id (None without products or buyer).
    pub fn create_order<R: Rng>(&mut self, rng: &mut R, buyer: &BuyerChoice, now: DateTime<Utc>) -> Option<u64> {
        let (buyer, country, billing, shipping, b2b) = match buyer {
            BuyerChoice::Customer(id) => {
                let c = self.customers.get(id)?;
                let addr = c.billing.clone().or_else(|| c.shipping.clone()).unwrap_or_else(|| {
                    regions::country("GB")
                        .map(|k| sample_address(k, c.company.clone(), c.phone.clone()))
                        .unwrap_or_else(|| blank_address("GB"))
                });
                let country = regions::country(&addr.country_id)?;
                let shipping = c.shipping.clone().unwrap_or_else(|| addr.clone());
                let buyer = Buyer {
                    customer_id: Some(c.id),
                    email: c.email.clone(),
                    first_name: c.first_name.clone(),
                    last_name: c.last_name.clone(),
                };
                (buyer, country, addr, shipping, c.vat_number.is_some())
            }
            BuyerChoice::Guest { country, first_name, last_name, email, company } => {
                let addr = sample_address(country, company.clone(), Some(phone(rng, country)));
                let buyer = Buyer {
                    customer_id: None,
                    email: email.clone(),
                    first_name: first_name.clone(),
                    last_name: last_name.clone(),
                };
                (buyer, *country, addr.clone(), addr, false)
            }
        };
        let currency = regions::currency_for(country.market);
        let rate = regions::base_to_order_rate(currency);
        let products: Vec<&Product> = self.products.values().collect();
        let n = rng.gen_range(1..=4).min(products.len());
        let picked: Vec<&Product> = products.choose_multiple(rng, n).copied().collect();
        if picked.is_empty() {
            return None;
        }
        let discount_pct = if rng.gen_bool(0.3) { dec!(0.10) } else { Decimal::ZERO };
        let lines: Vec<Line> = picked
            .iter()
            .map(|p| {
                let qty = Decimal::from(rng.gen_range(1..=3));
                let unit = round2(p.selling_price() * rate);
                Line::new(p, unit, qty, discount_pct, regions::tax_rate(country, p.tax_class_id, b2b))
            })
            .collect();
        let ships = lines.iter().any(|l| l.product_type.ships());
        let (shipping_amount, shipping_tax) = if ships {
            let amount = round2(regions::shipping_base(country.market) * rate);
            (amount, round2(amount * regions::tax_rate(country, 2, b2b)))
        } else {
            (Decimal::ZERO, Decimal::ZERO)
        };
        let payment_method = if b2b {
            "purchaseorder"
        } else {
            ["checkmo", "banktransfer", "stripe_payments", "paypal_express"][rng.gen_range(0..4)]
        };
        let id = next(&self.orders);
        let order = Order {
            id,
            increment_id: increment(id),
            store_id: regions::store_for(currency),
            website_id: 1,
            currency: currency.to_owned(),
            base_to_order_rate: rate,
            buyer,
            billing,
            shipping: ships.then_some(shipping),
            payment_method: payment_method.to_owned(),
            po_number: b2b.then(|| format!("PO-{}", rng.gen_range(10_000..99_999))),
            gateway_txn_id: matches!(payment_method, "stripe_payments" | "paypal_express")
                .then(|| format!("txn_{:016x}", rng.r#gen::<u64>())),
            lines,
            shipping_amount,
            shipping_tax,
            created_at: now,
        };
        self.orders.insert(id, order);
        Some(id)
    }

    /// Makes `order_id` free, as a 100 % coupon with free shipping does: every row fully discounted (so
    /// no tax), no shipping, paid by Magento's zero-total `free` method.
    pub fn make_free(&mut self, order_id: u64) {
        if let Some(order) = self.orders.get_mut(&order_id) {
            for line in &mut order.lines {
                line.discount = line.row_total;
                line.tax = Decimal::ZERO;
            }
            order.shipping_amount = Decimal::ZERO;
            order.shipping_tax = Decimal::ZERO;
            order.payment_method = "free".to_owned();
            order.gateway_txn_id = None;
            order.po_number = None;
        }
    }

    /// Invoices the whole order; returns the invoice id.
    pub fn create_invoice(&mut self, order_id: u64, paid: bool, now: DateTime<Utc>) -> Option<u64> {
        let order = self.orders.get(&order_id)?;
        let id = next(&self.invoices);
        let inv = Invoice {
            id,
            increment_id: increment(id),
            order_id,
            state: if paid { InvoiceState::Paid } else { InvoiceState::Open },
            lines: order.lines.clone(),
            shipping_amount: order.shipping_amount,
            shipping_tax: order.shipping_tax,
            created_at: now,
        };
        self.invoices.insert(id, inv);
        Some(id)
    }

    /// What a new credit memo may still refund: against `invoice_id`, or for the whole order.
    /// `None` when the order (or the invoice, on that order) does not exist.
    pub fn refundable(&self, order_id: u64, invoice_id: Option<u64>) -> Option<Refundable> {
        let order = self.orders.get(&order_id)?;
        let (source, shipping, shipping_tax, total) = match invoice_id {
            Some(i) => {
                let inv = self.invoices.get(&i).filter(|inv| inv.order_id == order_id)?;
                (&inv.lines, inv.shipping_amount, inv.shipping_tax, inv.grand_total())
            }
            None => {
                let total =
                    order.lines.iter().map(Line::total).sum::<Decimal>() + order.shipping_amount + order.shipping_tax;
                (&order.lines, order.shipping_amount, order.shipping_tax, total)
            }
        };
        // An invoice's refunds are its own credit memos; an order-level refund draws on every refund of the order.
        let earlier: Vec<&CreditMemo> = self
            .credit_memos
            .values()
            .filter(|m| m.order_id == order_id && (invoice_id.is_none() || m.invoice_id == invoice_id))
            .collect();
        let refunded: Decimal = earlier.iter().map(|m| m.grand_total()).sum();
        let shipping_refunded = earlier.iter().any(|m| !m.shipping_amount.is_zero());
        let lines: Vec<Line> = source
            .iter()
            .filter(|l| !earlier.iter().any(|m| m.lines.iter().any(|x| x.product_id == l.product_id)))
            .cloned()
            .collect();
        let (shipping, shipping_tax) =
            if shipping_refunded { (Decimal::ZERO, Decimal::ZERO) } else { (shipping, shipping_tax) };
        Some(Refundable { lines, shipping, shipping_tax, amount: (total - refunded).max(Decimal::ZERO) })
    }

    /// Whether a credit memo against this invoice is possible now (paid and not fully refunded).
    pub fn can_refund_invoice(&self, invoice_id: u64) -> bool {
        self.invoices.get(&invoice_id).filter(|i| i.state == InvoiceState::Paid).is_some_and(|i| {
            self.refundable(i.order_id, Some(invoice_id)).is_some_and(|r| r.has_items() && r.amount > Decimal::ZERO)
        })
    }

    /// Refunds part of an order: with `invoice_id` against that (paid) invoice, without it as an
    /// order-level (offline) refund. Like Magento, it refuses a credit memo once nothing is left to
    /// refund and one whose total exceeds what is left (`adjustment_positive` adds to the refund).
    pub fn create_credit_memo<R: Rng>(
        &mut self,
        rng: &mut R,
        order_id: u64,
        invoice_id: Option<u64>,
        adjustment_positive: Decimal,
        now: DateTime<Utc>,
    ) -> Result<u64, RefundError> {
        if let Some(i) = invoice_id {
            let inv = self.invoices.get(&i).filter(|inv| inv.order_id == order_id).ok_or(RefundError::NoSuchInvoice)?;
            if inv.state != InvoiceState::Paid {
                return Err(RefundError::NotRefundable);
            }
        }
        let left = self.refundable(order_id, invoice_id).ok_or(RefundError::NoSuchInvoice)?;
        if !left.has_items() || left.amount <= Decimal::ZERO {
            return Err(RefundError::NotRefundable);
        }
        let full = rng.gen_bool(0.5);
        let lines: Vec<Line> = if full { left.lines.clone() } else { left.lines.iter().take(1).cloned().collect() };
        let (shipping_amount, shipping_tax) =
            if full { (left.shipping, left.shipping_tax) } else { (Decimal::ZERO, Decimal::ZERO) };
        let fee = if !full && rng.gen_bool(0.3) { dec!(5) } else { Decimal::ZERO };
        let reason = ["Damaged in transit", "Customer changed mind", "", "Wrong size"][rng.gen_range(0..4)];
        let id = next(&self.credit_memos);
        let mut memo = CreditMemo {
            id,
            increment_id: increment(id),
            order_id,
            invoice_id,
            lines,
            shipping_amount,
            shipping_tax,
            adjustment_positive: round2(adjustment_positive.max(Decimal::ZERO)),
            adjustment_negative: Decimal::ZERO,
            reason: (!reason.is_empty()).then(|| reason.to_owned()),
            created_at: now,
        };
        // A fee that would leave nothing to pay back is not charged (Magento wants a positive total).
        if memo.grand_total() > fee {
            memo.adjustment_negative = fee;
        }
        if memo.grand_total() > left.amount {
            return Err(RefundError::AboveRefundable(left.amount));
        }
        self.credit_memos.insert(id, memo);
        Ok(id)
    }
}

/// What is left to refund of an invoice or order.
#[derive(Debug, Clone)]
pub struct Refundable {
    /// Lines no credit memo has refunded yet.
    pub lines: Vec<Line>,
    pub shipping: Decimal,
    pub shipping_tax: Decimal,
    /// The total minus every earlier credit memo's grand total.
    pub amount: Decimal,
}

impl Refundable {
    fn has_items(&self) -> bool {
        !self.lines.is_empty() || !self.shipping.is_zero()
    }
}

/// Why Magento refuses a credit memo (its own messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("The invoice does not exist or does not belong to the order.")]
    NoSuchInvoice,
    /// Not paid, or already refunded in full.
    #[error("We can't create creditmemo for the invoice.")]
    NotRefundable,
    #[error("The most money available to refund is {0:.2}.")]
    AboveRefundable(Decimal),
}

/// A phone number in the country's format.
pub fn phone<R: Rng>(rng: &mut R, c: &Country) -> String {
    format!("{} {:04} {:04}", c.phone_prefix, rng.gen_range(1000..9999), rng.gen_range(0..9999))
}

/// The country's sample address.
pub fn sample_address(c: &Country, company: Option<String>, telephone: Option<String>) -> Address {
    Address {
        street: vec![c.street.to_owned(), String::new()],
        city: c.city.to_owned(),
        region: c.region.map(str::to_owned),
        postcode: Some(c.postcode.to_owned()),
        country_id: c.code.to_owned(),
        telephone,
        company,
    }
}

fn blank_address(country: &str) -> Address {
    Address {
        street: vec![],
        city: String::new(),
        region: None,
        postcode: None,
        country_id: country.to_owned(),
        telephone: None,
        company: None,
    }
}

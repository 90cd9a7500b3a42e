//! A minimal engine in test form: the mapping's own calls in the order the real engine makes them,
//! against one seeded Sage business, keeping what it created (contacts, invoices, items) in memory.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use ledger_domain::magento::{Contact, CreditMemo, Invoice, InvoiceState, Payment, Product};
use ledger_domain::mapping::{self, Capabilities, DocContext, ItemKind, MapError, ReceiptParams, SageItem};
use ledger_domain::{Currency, SyncPolicy, Tier};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::sage::{Business, Sage, decimal};

/// The policy `ledger dev connect-sim` would save: every store method mapped, destination VAT routed.
pub fn demo_policy(b: &Business) -> SyncPolicy {
    let doc = json!({
        "sales_ledger_account_id": b.defaults.sales_ledger_account_id,
        "purchase_ledger_account_id": b.defaults.purchase_ledger_account_id,
        "bank_account_id": b.defaults.bank_account_id,
        "destination_vat_ledger_account_id": b.other_income,
        "payment_method_map": {
            "checkmo": {"payment_method_id": "CASH"},
            "banktransfer": {"payment_method_id": "ELECTRONIC"},
            "purchaseorder": {"payment_method_id": "ELECTRONIC"},
            "stripe_payments": {"payment_method_id": "CREDIT_DEBIT"},
            "paypal_express": {"payment_method_id": "CREDIT_DEBIT"}
        },
        "tax_rate_map": {"class:0": "GB_ZERO"},
        "sync_stock": true
    });
    SyncPolicy::parse(&doc).unwrap()
}

pub struct Flow<'a> {
    pub sage: &'a Sage,
    pub biz: Business,
    pub tier: Tier,
    pub policy: SyncPolicy,
    pub contacts: BTreeMap<String, String>,
    /// Magento invoice id → (Sage invoice id, Sage contact id, the Magento invoice).
    pub invoices: BTreeMap<u64, (String, String, Invoice)>,
    pub items: BTreeMap<String, SageItem>,
    pub skipped: Vec<(String, &'static str)>,
    /// Sage writes made, by path (`/sales_invoices`, `/contact_payments`, …).
    pub writes: BTreeMap<&'static str, usize>,
}

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

impl<'a> Flow<'a> {
    pub async fn new(sage: &'a Sage, tier: Tier) -> Self {
        let biz = sage
            .business(if tier == Tier::Plus {
                "Plus"
            } else if tier == Tier::Standard {
                "Standard"
            } else {
                "Start"
            })
            .await;
        let policy = demo_policy(&biz);
        Self {
            sage,
            biz,
            tier,
            policy,
            contacts: BTreeMap::new(),
            invoices: BTreeMap::new(),
            items: BTreeMap::new(),
            skipped: Vec::new(),
            writes: BTreeMap::new(),
        }
    }

    async fn create<T: ledger_domain::sage::SageBody>(&mut self, path: &'static str, body: &T) -> Value {
        *self.writes.entry(path).or_default() += 1;
        self.sage.create(&self.biz.id, path, body).await
    }

    pub fn caps(&self) -> Capabilities {
        Capabilities::of(self.tier)
    }

    fn ctx<'b>(&'b self, contact_id: &'b str) -> DocContext<'b> {
        DocContext {
            policy: &self.policy,
            caps: self.caps(),
            base_currency: Currency::GBP,
            contact_id,
            items: &self.items,
            tax_rates: &self.biz.rates,
            defaults: &self.biz.defaults,
            today: today(),
        }
    }

    /// The Sage contact of `customer` in `currency` (or the B2C contact), created on first use.
    pub async fn contact(&mut self, customer: &Contact, currency: &Currency, total: Decimal) -> String {
        let gbp = Currency::GBP;
        let prefix = self.policy.contact_reference_prefix.clone();
        let (reference, body) = if mapping::uses_b2c(&self.policy, customer, total) {
            let r = mapping::b2c_reference(prefix.as_deref(), currency);
            let body = mapping::b2c_contact(&r, currency, &gbp);
            (r, body)
        } else {
            let r = mapping::contact_reference(prefix.as_deref(), customer, currency, &gbp).unwrap();
            let body = mapping::post_contact(customer, &r, currency, &gbp);
            (r, body)
        };
        if let Some(id) = self.contacts.get(&reference) {
            return id.clone();
        }
        let created = self.create("/contacts", &body).await;
        assert_eq!(created["reference"], reference.as_str());
        let id = created["id"].as_str().unwrap().to_owned();
        self.contacts.insert(reference, id.clone());
        id
    }

    fn skip(&mut self, what: String, e: MapError) {
        match e {
            MapError::Skip(r) => self.skipped.push((what, r.as_str())),
            other => panic!("{what} failed to map: {other}"),
        }
    }

    /// `invoice.created`: scope, contact, invoice; checks Sage's total is what the customer paid.
    pub async fn invoice(&mut self, inv: Invoice) -> Option<String> {
        let what = format!("invoice {}", inv.increment_id);
        if let Err(r) = mapping::invoice_scope(&inv, &self.policy, self.caps(), &Currency::GBP) {
            self.skip(what, r.into());
            return None;
        }
        let contact = self.contact(&inv.customer, &inv.currency, inv.grand_total).await;
        let body = match mapping::sales_invoice(&inv, &self.ctx(&contact)) {
            Ok(b) => b,
            Err(e) => {
                self.skip(what, e);
                return None;
            }
        };
        let created = self.create("/sales_invoices", &body).await;
        assert_eq!(decimal(&created["total_amount"]), inv.grand_total, "{what}: Sage total ≠ Magento grand total");
        assert_eq!(created["status"]["id"], "UNPAID", "{what}: posted outstanding");
        let id = created["id"].as_str().unwrap().to_owned();
        self.invoices.insert(u64::from(inv.magento_id), (id.clone(), contact, inv));
        Some(id)
    }

    async fn outstanding(&self, kind: &str, id: &str) -> Decimal {
        decimal(&self.sage.get(&self.biz.id, &format!("/{kind}/{id}?mark_as_sent=false")).await["outstanding_amount"])
    }

    /// `invoice.paid`: the receipt, allocated to the Sage invoice; leaves it `PAID`.
    pub async fn payment(&mut self, payment: Payment) {
        let what = format!("payment of {}", payment.invoice_increment_id);
        let Some((sage_id, contact, inv)) = self.invoices.get(&u64::from(payment.invoice_id)).cloned() else { return };
        let route = match mapping::payment_route(&self.policy, &payment.method, &self.biz.defaults) {
            Ok(r) => r,
            Err(e) => return self.skip(what, e),
        };
        let amount =
            mapping::receipt_amount(payment.amount, self.outstanding("sales_invoices", &sage_id).await).unwrap();
        let fx = mapping::document_fx(&inv.currency, &Currency::GBP, inv.base_to_order_rate, &self.policy, self.caps())
            .unwrap();
        let params = ReceiptParams {
            contact_id: &contact,
            artefact_id: &sage_id,
            amount,
            route: &route,
            date: payment.captured_at.map_or_else(today, |t| t.date_naive()),
            reference: &payment.invoice_increment_id,
            fx: fx.as_ref(),
        };
        self.create("/contact_payments", &mapping::customer_receipt(&params)).await;
        let after = self.sage.get(&self.biz.id, &format!("/sales_invoices/{sage_id}?mark_as_sent=false")).await;
        assert_eq!(after["status"]["id"], "PAID", "{what}");
    }

    /// `creditmemo.created`: the credit note, then allocation and refund per the settlement.
    pub async fn credit_memo(&mut self, memo: CreditMemo) {
        let what = format!("credit memo {}", memo.increment_id);
        let original = memo.invoice_id.and_then(|id| self.invoices.get(&u64::from(id)).cloned());
        if memo.invoice_id.is_some() && original.is_none() {
            return; // its invoice was skipped; the engine reports the invoice's reason
        }
        let inv = original.as_ref().map(|o| &o.2);
        if let Err(r) = mapping::credit_note_scope(&memo, inv, &self.policy, self.caps(), &Currency::GBP) {
            return self.skip(what, r.into());
        }
        let contact = match &original {
            Some((_, c, _)) => c.clone(),
            None => self.contact(&memo.customer, &memo.currency, memo.grand_total).await,
        };
        let body = mapping::sales_credit_note_of(&memo, inv, &self.ctx(&contact)).unwrap();
        let created = self.create("/sales_credit_notes", &body).await;
        assert_eq!(decimal(&created["total_amount"]), memo.grand_total, "{what}: Sage total ≠ Magento grand total");
        let note = created["id"].as_str().unwrap().to_owned();
        let outstanding = match &original {
            Some((id, _, _)) => Some(self.outstanding("sales_invoices", id).await),
            None => None,
        };
        let s = mapping::credit_settlement(memo.grand_total, outstanding, self.policy.refund_mode);
        let date = memo.created_at.map_or_else(today, |t| t.date_naive());
        if s.allocate > Decimal::ZERO {
            let (inv_id, _, _) = original.as_ref().unwrap();
            let a = mapping::contact_allocation(&contact, inv_id, &note, s.allocate, date);
            self.create("/contact_allocations", &a).await;
        }
        if s.refund > Decimal::ZERO {
            let method = inv.and_then(|i| i.payment_method.as_deref());
            let route = mapping::refund_route(&self.policy, method, &self.biz.defaults).unwrap();
            let currency = inv.map_or(memo.currency, |i| i.currency);
            let rate = inv.map_or(memo.base_to_order_rate, |i| i.base_to_order_rate);
            let fx = mapping::document_fx(&currency, &Currency::GBP, rate, &self.policy, self.caps()).unwrap();
            let params = ReceiptParams {
                contact_id: &contact,
                artefact_id: &note,
                amount: s.refund,
                route: &route,
                date,
                reference: &memo.increment_id,
                fx: fx.as_ref(),
            };
            self.create("/contact_payments", &mapping::customer_refund_payment(&params)).await;
            *self.writes.entry("refunds").or_default() += 1;
        }
        assert_eq!(self.outstanding("sales_credit_notes", &note).await, s.left_on_account, "{what}");
    }

    /// `product.upserted`: the item of its kind, and for a stock item the movement to Magento's level.
    pub async fn product(&mut self, p: Product) {
        let what = format!("product {}", p.sku);
        let kind = match mapping::item_kind(&p, self.caps(), &self.policy) {
            Ok(k) => k,
            Err(r) => return self.skip(what, r.into()),
        };
        let (d, pol) = (&self.biz.defaults.clone(), &self.policy.clone());
        let created: Value = match kind {
            ItemKind::Product => self.create("/products", &mapping::post_product(&p, pol, d).unwrap()).await,
            ItemKind::Service => self.create("/services", &mapping::post_service(&p, pol, d).unwrap()).await,
            ItemKind::StockItem => self.create("/stock_items", &mapping::post_stock_item(&p, pol, d).unwrap()).await,
        };
        let id = created["id"].as_str().unwrap().to_owned();
        if kind == ItemKind::StockItem
            && let Some(delta) = mapping::stock_movement_delta(p.stock_qty.unwrap_or_default(), Decimal::ZERO)
        {
            let m = mapping::stock_movement(&id, &p, delta, today());
            self.create("/stock_movements", &m).await;
            let item = self.sage.get(&self.biz.id, &format!("/stock_items/{id}")).await;
            assert_eq!(decimal(&item["quantity_in_stock"]), p.stock_qty.unwrap_or_default(), "{what}");
        }
        self.items.insert(p.sku.clone(), SageItem { kind, id });
    }

    pub fn skipped_with(&self, reason: &str) -> usize {
        self.skipped.iter().filter(|(_, r)| *r == reason).count()
    }
}

/// Unused-state guard: a document the store marks paid is one the flow pays.
pub fn is_paid(inv: &Invoice) -> bool {
    inv.state == InvoiceState::Paid
}

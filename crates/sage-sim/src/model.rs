//! The records a simulated business holds: reference data, contacts, documents, payments, catalog.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// Subscription tier of a business (spec 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Start,
    Standard,
    Plus,
}

impl Tier {
    pub fn subscription_id(self) -> &'static str {
        match self {
            Tier::Start => "START",
            Tier::Standard => "ACCOUNTING_10",
            Tier::Plus => "ACCOUNTING",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Tier::Start => "Start",
            Tier::Standard => "Standard",
            Tier::Plus => "Plus",
        }
    }
}

/// Creation/update/deletion stamps every stored record carries.
#[derive(Debug, Clone)]
pub struct Meta {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Meta {
    pub fn new(id: String, now: DateTime<Utc>) -> Self {
        Self { id, created_at: now, updated_at: now, deleted_at: None }
    }
    pub fn live(&self) -> bool {
        self.deleted_at.is_none()
    }
}

/// Anything kept in a [`Table`].
pub trait Record {
    fn meta(&self) -> &Meta;
}

/// Records of one type in creation order, indexed by id.
#[derive(Debug, Clone)]
pub struct Table<T> {
    pub items: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self { items: Vec::new(), index: HashMap::new() }
    }
}

impl<T: Record> Table<T> {
    pub fn insert(&mut self, rec: T) {
        self.index.insert(rec.meta().id.clone(), self.items.len());
        self.items.push(rec);
    }
    /// Any record with this id, deleted or not.
    pub fn any(&self, id: &str) -> Option<&T> {
        self.index.get(id).and_then(|&i| self.items.get(i))
    }
    /// A live (not deleted) record.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.any(id).filter(|r| r.meta().live())
    }
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let i = *self.index.get(id)?;
        self.items.get_mut(i).filter(|r| r.meta().live())
    }
    pub fn live(&self) -> impl Iterator<Item = &T> {
        self.items.iter().filter(|r| r.meta().live())
    }
}

macro_rules! record {
    ($($t:ty),*) => { $(impl Record for $t { fn meta(&self) -> &Meta { &self.meta } })* };
}
record!(Contact, Document, Payment, Allocation, Item, StockMovement);

#[derive(Debug, Clone)]
pub struct TaxRate {
    pub id: String,
    pub name: String,
    pub displayed_as: String,
    pub percentage: Decimal,
    pub from_date: NaiveDate,
    /// Zero, exempt or no-tax: `tax_amount` may be omitted.
    pub zero_type: bool,
}

#[derive(Debug, Clone)]
pub struct LedgerAccount {
    pub id: String,
    pub name: String,
    pub nominal_code: u32,
    pub account_type: &'static str,
    pub visible_scopes: Vec<&'static str>,
    pub tax_rate_id: Option<String>,
    pub is_control: bool,
}

impl LedgerAccount {
    pub fn displayed_as(&self) -> String {
        format!("{} ({})", self.name, self.nominal_code)
    }
    pub fn visible_in(&self, scope: &str) -> bool {
        self.visible_scopes.contains(&scope)
    }
}

#[derive(Debug, Clone)]
pub struct BankAccount {
    pub id: String,
    pub name: String,
    pub nominal_code: u32,
    pub ledger_account_id: String,
    pub currency: String,
    pub default_payment_method: String,
    pub balance: Decimal,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub meta: Meta,
    pub name: String,
    pub contact_type: String,
    pub reference: Option<String>,
    pub email: Option<String>,
    pub currency: String,
    pub has_documents: bool,
    pub extra: Map<String, Value>,
}

impl Contact {
    pub fn displayed_as(&self) -> String {
        match &self.reference {
            Some(r) if !r.is_empty() => format!("{} ({r})", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Sales invoice or sales credit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Invoice,
    CreditNote,
}

impl DocKind {
    pub fn collection(self) -> &'static str {
        match self {
            DocKind::Invoice => "sales_invoices",
            DocKind::CreditNote => "sales_credit_notes",
        }
    }
    pub fn root(self) -> &'static str {
        match self {
            DocKind::Invoice => "sales_invoice",
            DocKind::CreditNote => "sales_credit_note",
        }
    }
    pub fn lines_key(self) -> &'static str {
        match self {
            DocKind::Invoice => "invoice_lines",
            DocKind::CreditNote => "credit_note_lines",
        }
    }
    pub fn number_key(self) -> &'static str {
        match self {
            DocKind::Invoice => "invoice_number",
            DocKind::CreditNote => "credit_note_number",
        }
    }
    pub fn transaction_type(self) -> &'static str {
        match self {
            DocKind::Invoice => "SALES_INVOICE",
            DocKind::CreditNote => "SALES_CREDIT_NOTE",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Line {
    pub id: String,
    pub description: String,
    pub ledger_account_id: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub unit_price_includes_tax: bool,
    pub discount: Decimal,
    pub net: Decimal,
    pub tax_rate_id: Option<String>,
    pub tax: Decimal,
    pub total: Decimal,
    pub product_id: Option<String>,
    pub service_id: Option<String>,
}

/// An allocation of a payment, allocation or refund against a document.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub by_id: String,
    pub by_type: &'static str,
    pub date: NaiveDate,
    pub amount: Decimal,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub meta: Meta,
    pub kind: DocKind,
    pub number: Option<String>,
    pub contact_id: String,
    pub contact_name: String,
    pub contact_reference: Option<String>,
    pub date: NaiveDate,
    pub due_date: NaiveDate,
    pub reference: Option<String>,
    pub status: String,
    pub currency: String,
    pub exchange_rate: Decimal,
    pub lines: Vec<Line>,
    pub shipping_net: Decimal,
    pub shipping_tax_rate_id: Option<String>,
    pub shipping_tax: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    pub total_paid: Decimal,
    pub outstanding: Decimal,
    pub void_reason: Option<String>,
    pub sent: bool,
    pub transaction_id: Option<String>,
    pub settlements: Vec<Settlement>,
    pub extra: Map<String, Value>,
    /// The (merged) request body, so a PUT can re-validate the whole document.
    pub request: Map<String, Value>,
}

impl Document {
    pub fn payable(&self) -> bool {
        matches!(self.status.as_str(), "UNPAID" | "PART_PAID")
    }
    /// Apply a settlement (positive amount reduces `outstanding`) and move the status.
    pub fn settle(&mut self, s: Settlement) {
        self.total_paid += s.amount;
        self.outstanding -= s.amount;
        self.settlements.push(s);
        self.restatus();
    }
    pub fn unsettle(&mut self, by_id: &str) {
        let (gone, keep): (Vec<_>, Vec<_>) = self.settlements.drain(..).partition(|s| s.by_id == by_id);
        self.settlements = keep;
        for s in gone {
            self.total_paid -= s.amount;
            self.outstanding += s.amount;
        }
        self.restatus();
    }
    /// The status a posted document's amounts give it (drafts, pro-formas and voids keep theirs).
    pub fn restatus(&mut self) {
        if matches!(self.status.as_str(), "DRAFT" | "PRO_FORMA" | "VOID") {
            return;
        }
        self.status = if self.outstanding <= Decimal::ZERO {
            "PAID"
        } else if self.total_paid > Decimal::ZERO {
            "PART_PAID"
        } else {
            "UNPAID"
        }
        .to_owned();
    }
}

#[derive(Debug, Clone)]
pub struct AllocatedArtefact {
    pub id: String,
    pub artefact_id: String,
    pub amount: Decimal,
    pub discount: Decimal,
}

#[derive(Debug, Clone)]
pub struct PaymentOnAccount {
    pub id: String,
    pub amount: Decimal,
    pub outstanding: Decimal,
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub meta: Meta,
    pub transaction_type: String,
    pub contact_id: String,
    pub bank_account_id: String,
    pub payment_method_id: String,
    pub date: NaiveDate,
    pub total: Decimal,
    pub currency: String,
    pub exchange_rate: Decimal,
    pub reference: Option<String>,
    pub allocated: Vec<AllocatedArtefact>,
    pub on_account: Option<PaymentOnAccount>,
    pub transaction_id: String,
}

#[derive(Debug, Clone)]
pub struct Allocation {
    pub meta: Meta,
    pub transaction_type: String,
    pub contact_id: String,
    pub date: NaiveDate,
    pub allocated: Vec<AllocatedArtefact>,
    pub transaction_id: String,
}

/// Product, service or stock item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Product,
    Service,
    StockItem,
}

impl ItemKind {
    pub fn collection(self) -> &'static str {
        match self {
            ItemKind::Product => "products",
            ItemKind::Service => "services",
            ItemKind::StockItem => "stock_items",
        }
    }
    pub fn root(self) -> &'static str {
        match self {
            ItemKind::Product => "product",
            ItemKind::Service => "service",
            ItemKind::StockItem => "stock_item",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub meta: Meta,
    pub kind: ItemKind,
    pub item_code: Option<String>,
    pub description: String,
    pub sales_ledger_account_id: String,
    pub purchase_ledger_account_id: Option<String>,
    pub quantity_in_stock: Decimal,
    pub active: bool,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct StockMovement {
    pub meta: Meta,
    pub stock_item_id: String,
    pub date: NaiveDate,
    pub quantity: Decimal,
    pub cost_price: Decimal,
    pub details: String,
    pub reference: Option<String>,
    pub movement_number: Option<String>,
}

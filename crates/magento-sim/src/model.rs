//! The store's entities (catalog, customers, orders, invoices, credit memos) and their line math.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

/// Rounds money to 2 dp, half away from zero (the one place rounding happens).
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Magento product types the simulator generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductType {
    Simple,
    Virtual,
    Downloadable,
    Configurable,
    Bundle,
}

impl ProductType {
    /// Wire name (`simple`, `virtual`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Virtual => "virtual",
            Self::Downloadable => "downloadable",
            Self::Configurable => "configurable",
            Self::Bundle => "bundle",
        }
    }

    /// Whether an order line of this type needs shipping.
    pub fn ships(self) -> bool {
        !matches!(self, Self::Virtual | Self::Downloadable)
    }
}

/// A catalog product.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub sku: String,
    pub name: String,
    pub product_type: ProductType,
    pub price: Option<Decimal>,
    pub special_price: Option<Decimal>,
    pub cost: Option<Decimal>,
    pub weight: Option<Decimal>,
    pub manage_stock: bool,
    pub stock_qty: Option<Decimal>,
    /// Magento tax_class_id: 2 taxable goods (20%), 5 reduced (5%), 0 none.
    pub tax_class_id: u32,
    pub website_ids: Vec<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// The price an order line uses: special price when set, else price.
    pub fn selling_price(&self) -> Decimal {
        self.special_price.or(self.price).unwrap_or_default()
    }
}

/// A postal address (customer default or order address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub street: Vec<String>,
    pub city: String,
    pub region: Option<String>,
    pub postcode: Option<String>,
    pub country_id: String,
    pub telephone: Option<String>,
    pub company: Option<String>,
}

/// A registered customer.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    /// VAT number of a B2B customer (Magento `taxvat`); not part of the canonical contact.
    pub vat_number: Option<String>,
    pub phone: Option<String>,
    pub website_id: u32,
    pub group_id: u32,
    pub billing: Option<Address>,
    pub shipping: Option<Address>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who bought: a registered customer or a guest (canonical `magento_id` 0).
#[derive(Debug, Clone)]
pub struct Buyer {
    pub customer_id: Option<u64>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// One order/invoice/credit-memo line with its amounts already computed.
#[derive(Debug, Clone)]
pub struct Line {
    pub product_id: u64,
    pub sku: String,
    pub name: String,
    pub product_type: ProductType,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub row_total: Decimal,
    pub discount: Decimal,
    pub tax: Decimal,
}

impl Line {
    /// Builds a line: row total = qty × price; discount = row × pct; tax on the discounted row.
    pub fn new(p: &Product, unit_price: Decimal, qty: Decimal, discount_pct: Decimal, tax_rate: Decimal) -> Self {
        let row_total = round2(qty * unit_price);
        let discount = round2(row_total * discount_pct);
        let tax = round2((row_total - discount) * tax_rate);
        Self {
            product_id: p.id,
            sku: p.sku.clone(),
            name: p.name.clone(),
            product_type: p.product_type,
            qty,
            unit_price,
            row_total,
            discount,
            tax,
        }
    }

    /// Row total + tax − discount.
    pub fn total(&self) -> Decimal {
        self.row_total + self.tax - self.discount
    }
}

/// A sales order (not exposed on the wire; invoices and credit memos hang off it).
#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub increment_id: String,
    pub store_id: u32,
    pub website_id: u32,
    pub currency: String,
    pub base_to_order_rate: Decimal,
    pub buyer: Buyer,
    pub billing: Address,
    pub shipping: Option<Address>,
    pub payment_method: String,
    pub po_number: Option<String>,
    pub gateway_txn_id: Option<String>,
    pub lines: Vec<Line>,
    pub shipping_amount: Decimal,
    pub shipping_tax: Decimal,
    pub created_at: DateTime<Utc>,
}

/// Invoice states (Magento 1 open, 2 paid, 3 cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceState {
    Open,
    Paid,
    Cancelled,
}

impl InvoiceState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
        }
    }
}

/// An invoice; totals follow the lines.
#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: u64,
    pub increment_id: String,
    pub order_id: u64,
    pub state: InvoiceState,
    pub lines: Vec<Line>,
    pub shipping_amount: Decimal,
    pub shipping_tax: Decimal,
    pub created_at: DateTime<Utc>,
}

/// Sums shared by invoices and credit memos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: Decimal,
    pub tax: Decimal,
    pub discount: Decimal,
}

/// Subtotal, item tax and discount of a set of lines.
pub fn totals(lines: &[Line]) -> Totals {
    Totals {
        subtotal: lines.iter().map(|l| l.row_total).sum(),
        tax: lines.iter().map(|l| l.tax).sum(),
        discount: lines.iter().map(|l| l.discount).sum(),
    }
}

impl Invoice {
    /// subtotal + tax + shipping + shipping tax − discount.
    pub fn grand_total(&self) -> Decimal {
        let t = totals(&self.lines);
        t.subtotal + t.tax + self.shipping_amount + self.shipping_tax - t.discount
    }
}

/// A credit memo: `invoice_id` is `None` for an order-level refund of an offline payment.
#[derive(Debug, Clone)]
pub struct CreditMemo {
    pub id: u64,
    pub increment_id: String,
    pub order_id: u64,
    pub invoice_id: Option<u64>,
    pub lines: Vec<Line>,
    pub shipping_amount: Decimal,
    pub shipping_tax: Decimal,
    pub adjustment_positive: Decimal,
    pub adjustment_negative: Decimal,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl CreditMemo {
    /// Σ line totals + shipping + shipping tax + adjustment refund − adjustment fee.
    pub fn grand_total(&self) -> Decimal {
        self.lines.iter().map(Line::total).sum::<Decimal>()
            + self.shipping_amount
            + self.shipping_tax
            + self.adjustment_positive
            - self.adjustment_negative
    }
}

/// A payment method installed in the store.
#[derive(Debug, Clone)]
pub struct PaymentMethod {
    pub code: &'static str,
    pub label: Option<&'static str>,
    pub is_active: bool,
}

/// The store's installed payment methods.
pub const PAYMENT_METHODS: &[PaymentMethod] = &[
    PaymentMethod { code: "checkmo", label: Some("Check / Money order"), is_active: true },
    PaymentMethod { code: "banktransfer", label: Some("Bank Transfer Payment"), is_active: true },
    PaymentMethod { code: "purchaseorder", label: Some("Purchase Order"), is_active: true },
    PaymentMethod { code: "stripe_payments", label: Some("Credit Card (Stripe)"), is_active: true },
    PaymentMethod { code: "paypal_express", label: Some("PayPal Express Checkout"), is_active: true },
    PaymentMethod { code: "cashondelivery", label: Some("Cash On Delivery"), is_active: false },
    PaymentMethod { code: "free", label: None, is_active: true },
];

//! Canonical JSON of the module's GET endpoints (spec 5.1/5.2): null fields omitted, PHP-style numbers.

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{Address, Buyer, CreditMemo, Customer, Invoice, Line, Order, PAYMENT_METHODS, Product, totals};
use crate::wire::{Num, iso_z};

/// Wire shape of `/ping` (spec open question 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PingShape {
    /// `{"ok":true,"tenant_id":"...","server_time":"...+00:00"}`
    #[default]
    Object,
    /// `[true,"<tenant>","<time>"]` (Magento re-indexing the top-level array)
    List,
}

/// Wire shape of `/payment-methods` (spec open question 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodsShape {
    /// `[{"code":...,"label":...,"is_active":...}]`
    #[default]
    Objects,
    /// `[["checkmo","Check / Money order",true], ...]`
    Lists,
}

/// Wire shape of a payment's `gateway_metadata` (spec open question 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayMetadataShape {
    /// `{"method_title":"...", ...}`
    #[default]
    Object,
    /// `["...", ...]` (keys dropped)
    List,
}

#[derive(Debug, Serialize)]
pub struct AddressDto {
    kind: &'static str,
    street: Vec<String>,
    city: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postcode: Option<String>,
    country_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    telephone: Option<String>,
}

fn address(a: &Address, kind: &'static str) -> AddressDto {
    AddressDto {
        kind,
        street: a.street.iter().filter(|s| !s.is_empty()).cloned().collect(),
        city: a.city.clone(),
        region: a.region.clone(),
        postcode: a.postcode.clone(),
        country_id: a.country_id.clone(),
        telephone: a.telephone.clone(),
    }
}

#[derive(Debug, Serialize)]
pub struct ContactDto {
    magento_id: u64,
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    website_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<u32>,
    addresses: Vec<AddressDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// `/customer/:id`: default billing and shipping (an address that is both appears twice).
pub fn contact(c: &Customer) -> ContactDto {
    let mut addresses = Vec::new();
    if let Some(b) = &c.billing {
        addresses.push(address(b, "billing"));
    }
    if let Some(s) = &c.shipping {
        addresses.push(address(s, "shipping"));
    }
    ContactDto {
        magento_id: c.id,
        email: c.email.clone(),
        first_name: non_empty(&c.first_name),
        last_name: non_empty(&c.last_name),
        company: c.company.clone(),
        phone: c.phone.clone(),
        website_id: c.website_id,
        group_id: Some(c.group_id),
        addresses,
        created_at: Some(iso_z(c.created_at)),
        updated_at: Some(iso_z(c.updated_at)),
    }
}

/// The contact embedded in an invoice/credit memo: the customer enriched with the order's
/// addresses when the profile lacks them, or a synthetic guest contact (`magento_id` 0).
pub fn order_contact(order: &Order, customer: Option<&Customer>) -> ContactDto {
    let order_billing = address(&order.billing, "billing");
    let order_shipping = order.shipping.as_ref().filter(|s| **s != order.billing).map(|s| address(s, "shipping"));
    match customer {
        Some(c) => {
            let mut dto = contact(c);
            if c.billing.is_none() {
                dto.addresses.push(order_billing);
                dto.company = dto.company.or_else(|| order.billing.company.clone());
                dto.phone = dto.phone.or_else(|| order.billing.telephone.clone());
            }
            if c.shipping.is_none()
                && let Some(s) = order_shipping
            {
                dto.addresses.push(s);
            }
            dto
        }
        None => guest(order, order_billing, order_shipping),
    }
}

fn guest(order: &Order, billing: AddressDto, shipping: Option<AddressDto>) -> ContactDto {
    let Buyer { email, first_name, last_name, .. } = &order.buyer;
    ContactDto {
        magento_id: 0,
        email: email.clone(),
        first_name: non_empty(first_name),
        last_name: non_empty(last_name),
        company: order.billing.company.clone(),
        phone: order.billing.telephone.clone(),
        website_id: 0,
        group_id: None,
        addresses: std::iter::once(billing).chain(shipping).collect(),
        created_at: Some(iso_z(order.created_at)),
        updated_at: Some(iso_z(order.created_at)),
    }
}

#[derive(Debug, Serialize)]
pub struct LineDto {
    sku: String,
    name: String,
    qty: Num,
    unit_price: Num,
    line_subtotal: Num,
    line_tax: Num,
    line_total: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_rate: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_type: Option<&'static str>,
}

fn line(l: &Line) -> LineDto {
    let zero = rust_decimal::Decimal::ZERO;
    let tax_rate = (l.row_total > zero && l.tax > zero).then(|| Num((l.tax / l.row_total).round_dp(4)));
    LineDto {
        sku: l.sku.clone(),
        name: l.name.clone(),
        qty: Num(l.qty),
        unit_price: Num(l.unit_price),
        line_subtotal: Num(l.row_total),
        line_tax: Num(l.tax),
        line_total: Num(l.total()),
        tax_rate,
        product_type: Some(l.product_type.as_str()),
    }
}

#[derive(Debug, Serialize)]
pub struct InvoiceDto {
    magento_id: u64,
    increment_id: String,
    order_id: u64,
    order_increment_id: String,
    website_id: u32,
    store_id: u32,
    currency: String,
    state: &'static str,
    customer: ContactDto,
    lines: Vec<LineDto>,
    subtotal: Num,
    tax_amount: Num,
    shipping_amount: Num,
    shipping_tax_amount: Num,
    discount_amount: Num,
    grand_total: Num,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_address: Option<AddressDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_address: Option<AddressDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    po_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_to_order_rate: Option<Num>,
}

/// `/invoice/:id`.
pub fn invoice(inv: &Invoice, order: &Order, customer: Option<&Customer>) -> InvoiceDto {
    let t = totals(&inv.lines);
    InvoiceDto {
        magento_id: inv.id,
        increment_id: inv.increment_id.clone(),
        order_id: order.id,
        order_increment_id: order.increment_id.clone(),
        website_id: order.website_id,
        store_id: order.store_id,
        currency: order.currency.clone(),
        state: inv.state.as_str(),
        customer: order_contact(order, customer),
        lines: inv.lines.iter().map(line).collect(),
        subtotal: Num(t.subtotal),
        tax_amount: Num(t.tax),
        shipping_amount: Num(inv.shipping_amount),
        shipping_tax_amount: Num(inv.shipping_tax),
        discount_amount: Num(t.discount),
        grand_total: Num(inv.grand_total()),
        created_at: iso_z(inv.created_at),
        payment_method: Some(order.payment_method.clone()),
        billing_address: Some(address(&order.billing, "billing")),
        shipping_address: order.shipping.as_ref().map(|s| address(s, "shipping")),
        po_number: order.po_number.clone(),
        base_to_order_rate: Some(Num(order.base_to_order_rate)),
    }
}

#[derive(Debug, Serialize)]
pub struct CreditMemoDto {
    magento_id: u64,
    increment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_increment_id: Option<String>,
    website_id: u32,
    currency: String,
    customer: ContactDto,
    lines: Vec<LineDto>,
    adjustment_positive: Num,
    adjustment_negative: Num,
    grand_total: Num,
    shipping_amount: Num,
    shipping_tax_amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_to_order_rate: Option<Num>,
}

/// `/creditmemo/:id`.
pub fn credit_memo(
    cm: &CreditMemo,
    order: &Order,
    invoice: Option<&Invoice>,
    customer: Option<&Customer>,
) -> CreditMemoDto {
    CreditMemoDto {
        magento_id: cm.id,
        increment_id: cm.increment_id.clone(),
        invoice_id: invoice.map(|i| i.id),
        invoice_increment_id: invoice.map(|i| i.increment_id.clone()),
        website_id: order.website_id,
        currency: order.currency.clone(),
        customer: order_contact(order, customer),
        lines: cm.lines.iter().map(line).collect(),
        adjustment_positive: Num(cm.adjustment_positive),
        adjustment_negative: Num(cm.adjustment_negative),
        grand_total: Num(cm.grand_total()),
        shipping_amount: Num(cm.shipping_amount),
        shipping_tax_amount: Num(cm.shipping_tax),
        reason: cm.reason.clone(),
        created_at: iso_z(cm.created_at),
        invoice_created_at: invoice.map(|i| iso_z(i.created_at)),
        base_to_order_rate: Some(Num(order.base_to_order_rate)),
    }
}

/// `/payment/:id` (id = invoice id).
pub fn payment(inv: &Invoice, order: &Order, shape: GatewayMetadataShape) -> Value {
    let method_title =
        PAYMENT_METHODS.iter().find(|m| m.code == order.payment_method).and_then(|m| m.label).unwrap_or("");
    let meta = match shape {
        GatewayMetadataShape::Object => json!({ "method_title": method_title }),
        GatewayMetadataShape::List => json!([method_title]),
    };
    let mut v = json!({
        "magento_id": inv.id,
        "invoice_id": inv.id,
        "invoice_increment_id": inv.increment_id,
        "method": order.payment_method,
        "currency": order.currency,
        "amount": Num(inv.grand_total()),
        "captured_at": iso_z(inv.created_at),
        "gateway_metadata": meta,
    });
    if let (Some(txn), Some(obj)) = (&order.gateway_txn_id, v.as_object_mut()) {
        obj.insert("gateway_txn_id".into(), Value::String(txn.clone()));
    }
    v
}

#[derive(Debug, Serialize)]
pub struct ProductDto {
    magento_id: u64,
    sku: String,
    name: String,
    product_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    special_price: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stock_qty: Option<Num>,
    manage_stock: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_class: Option<String>,
    website_ids: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

/// `/product/:id`.
pub fn product(p: &Product) -> ProductDto {
    ProductDto {
        magento_id: p.id,
        sku: p.sku.clone(),
        name: p.name.clone(),
        product_type: p.product_type.as_str(),
        price: p.price.map(Num),
        special_price: p.special_price.map(Num),
        cost: p.cost.map(Num),
        weight: p.weight.map(Num),
        stock_qty: p.stock_qty.map(Num),
        manage_stock: p.manage_stock,
        tax_class: Some(p.tax_class_id.to_string()),
        website_ids: p.website_ids.clone(),
        created_at: Some(iso_z(p.created_at)),
        updated_at: Some(iso_z(p.updated_at)),
    }
}

/// `/ping` body in the configured shape.
pub fn ping(shape: PingShape, tenant_id: &str, now: chrono::DateTime<chrono::Utc>) -> Value {
    let time = now.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    match shape {
        PingShape::Object => json!({ "ok": true, "tenant_id": tenant_id, "server_time": time }),
        PingShape::List => json!([true, tenant_id, time]),
    }
}

/// `/payment-methods` body in the configured shape.
pub fn payment_methods(shape: PaymentMethodsShape) -> Value {
    let rows = PAYMENT_METHODS.iter().map(|m| match shape {
        PaymentMethodsShape::Objects => {
            json!({ "code": m.code, "label": m.label, "is_active": m.is_active })
        }
        PaymentMethodsShape::Lists => json!([m.code, m.label, m.is_active]),
    });
    Value::Array(rows.collect())
}

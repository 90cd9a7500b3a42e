//! Cross-references: which kind of Sage record the ledger made for a Magento thing.
use serde::{Deserialize, Serialize};

use crate::text_enum::text_enum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XrefKind {
    /// A Magento customer (per currency), a guest by email, or the B2C fallback → a Sage contact.
    Contact,
    /// A Magento invoice → a Sage sales invoice.
    SalesInvoice,
    /// The payment of a Magento invoice → a Sage customer receipt allocated to the invoice.
    Receipt,
    /// A Magento credit memo → a Sage sales credit note.
    SalesCreditNote,
    /// The money paid back for a credit memo → a Sage customer refund.
    Refund,
    /// A Magento product → a Sage product, service or stock item.
    Product,
    Service,
    StockItem,
}

impl XrefKind {
    pub const ALL: [XrefKind; 8] = [
        Self::Contact,
        Self::SalesInvoice,
        Self::Receipt,
        Self::SalesCreditNote,
        Self::Refund,
        Self::Product,
        Self::Service,
        Self::StockItem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::SalesInvoice => "sales_invoice",
            Self::Receipt => "receipt",
            Self::SalesCreditNote => "sales_credit_note",
            Self::Refund => "refund",
            Self::Product => "product",
            Self::Service => "service",
            Self::StockItem => "stock_item",
        }
    }
}

text_enum!(XrefKind, "xref kind");

//! Why a mapping did not produce a Sage request: a deliberate skip (reported to Magento as
//! `skip_reason`) or a failure the merchant must fix (reported as `failed` with a code and message).
use std::fmt;

use serde::{Deserialize, Serialize};

/// A deliberate skip, with a stable code for Magento's `skip_reason` (≤ 64 characters, spec 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SkipReason {
    /// The document predates the policy's `sync_since`.
    OutsideSyncSince,
    /// Grand total zero and the policy skips those.
    ZeroValueInvoice,
    /// The store view or website is outside the policy's `store_ids` / `website_ids`.
    StoreNotSynced,
    /// The invoice was cancelled in Magento: nothing to post.
    InvoiceCancelled,
    /// The Magento payment method has no entry in `payment_method_map`.
    PaymentMethodNotMapped,
    /// The Sage invoice has nothing outstanding: the receipt would pay nothing.
    InvoiceAlreadyPaid,
    /// Bundle and grouped products (Magento's module spells this code in capitals).
    ProductTypeNotSupported,
    /// Start has no product or service endpoints.
    TierWithoutProducts,
    /// Stock items and movements are Plus only.
    TierWithoutStock,
    /// Start can neither refund nor allocate credit notes.
    TierWithoutRefunds,
    /// Foreign-currency documents need multi-currency (Plus).
    TierWithoutMultiCurrency,
    /// An order-level refund (no invoice) and the policy skips those.
    OrderRefundNotSynced,
}

impl SkipReason {
    pub const ALL: [SkipReason; 12] = [
        Self::OutsideSyncSince,
        Self::ZeroValueInvoice,
        Self::StoreNotSynced,
        Self::InvoiceCancelled,
        Self::PaymentMethodNotMapped,
        Self::InvoiceAlreadyPaid,
        Self::ProductTypeNotSupported,
        Self::TierWithoutProducts,
        Self::TierWithoutStock,
        Self::TierWithoutRefunds,
        Self::TierWithoutMultiCurrency,
        Self::OrderRefundNotSynced,
    ];

    /// The code sent as `skip_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutsideSyncSince => "outside_sync_since",
            Self::ZeroValueInvoice => "zero_value_invoice",
            Self::StoreNotSynced => "store_not_synced",
            Self::InvoiceCancelled => "invoice_cancelled",
            Self::PaymentMethodNotMapped => "payment_method_not_mapped",
            Self::InvoiceAlreadyPaid => "invoice_already_paid",
            Self::ProductTypeNotSupported => "PRODUCT_TYPE_NOT_SUPPORTED",
            Self::TierWithoutProducts => "tier_without_products",
            Self::TierWithoutStock => "tier_without_stock",
            Self::TierWithoutRefunds => "tier_without_refunds",
            Self::TierWithoutMultiCurrency => "tier_without_multi_currency",
            Self::OrderRefundNotSynced => "order_refund_not_synced",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a Magento document could not be mapped: a skip, or a terminal failure with a stable `code()`
/// and a message naming what to fix (the engine reports it as a validation failure, not retried).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("skipped: {0}")]
    Skip(SkipReason),
    /// Magento charged a tax rate no Sage rate or policy rule covers.
    #[error("{0}")]
    TaxRateNotMapped(String),
    /// The policy (and the business defaults) lack a setting this document needs.
    #[error("the sync policy has no {field}: {why}")]
    PolicyIncomplete { field: &'static str, why: &'static str },
    /// The Magento data cannot be expressed in Sage (too long, missing rate, empty document).
    #[error("{0}")]
    Unmappable(String),
}

impl MapError {
    /// A stable code for the failure (`error_code` callbacks use the error class; this goes in the
    /// event's error detail).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Skip(r) => r.as_str(),
            Self::TaxRateNotMapped(_) => "tax_rate_not_mapped",
            Self::PolicyIncomplete { .. } => "policy_incomplete",
            Self::Unmappable(_) => "unmappable",
        }
    }

    pub fn skip_reason(&self) -> Option<SkipReason> {
        match self {
            Self::Skip(r) => Some(*r),
            _ => None,
        }
    }
}

impl From<SkipReason> for MapError {
    fn from(r: SkipReason) -> Self {
        Self::Skip(r)
    }
}

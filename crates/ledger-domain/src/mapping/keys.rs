//! Operation keys: a stable text naming one Sage write, the same on every retry by any process, for
//! [`IdempotencyId::derive`](crate::sage::IdempotencyId::derive).
use serde::{Deserialize, Serialize};

/// The Sage write an operation key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    CreateContact,
    UpdateContact,
    CreateInvoice,
    CreateReceipt,
    CreateCreditNote,
    CreateAllocation,
    CreateRefund,
    CreateProduct,
    UpdateProduct,
    CreateService,
    UpdateService,
    CreateStockItem,
    UpdateStockItem,
    CreateStockMovement,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateContact => "contact.create",
            Self::UpdateContact => "contact.update",
            Self::CreateInvoice => "sales_invoice.create",
            Self::CreateReceipt => "receipt.create",
            Self::CreateCreditNote => "sales_credit_note.create",
            Self::CreateAllocation => "allocation.create",
            Self::CreateRefund => "refund.create",
            Self::CreateProduct => "product.create",
            Self::UpdateProduct => "product.update",
            Self::CreateService => "service.create",
            Self::UpdateService => "service.update",
            Self::CreateStockItem => "stock_item.create",
            Self::UpdateStockItem => "stock_item.update",
            Self::CreateStockMovement => "stock_movement.create",
        }
    }
}

/// Version of the key format; bump it only to make every operation new again.
const VERSION: &str = "v1";

/// `v1|<scope>|<kind>|<subject>|<currency or ->|<variant>`.
///
/// - `scope`: who writes where, e.g. `<tenant id>/<binding id>` (a business bound twice gets two);
/// - `subject`: the Magento entity (its id, or a contact reference for guests and B2C);
/// - `currency`: the document or contact currency, when it is part of the record's identity;
/// - `variant`: what makes a repeat of the same kind a different write: empty for creates; for updates
///   and stock movements a digest of the content or the target level, so a changed record is a new
///   operation while a retry of the same change is not.
///
/// `|` inside a part is escaped so parts cannot run into each other.
pub fn operation_key(kind: OperationKind, scope: &str, subject: &str, currency: Option<&str>, variant: &str) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('|', "\\|");
    format!(
        "{VERSION}|{}|{}|{}|{}|{}",
        esc(scope),
        kind.as_str(),
        esc(subject),
        currency.map_or_else(|| "-".to_owned(), esc),
        esc(variant)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sage::IdempotencyId;

    #[test]
    fn keys_are_stable_and_tell_operations_apart() {
        let k = operation_key(OperationKind::CreateInvoice, "t1/b1", "41", Some("EUR"), "");
        assert_eq!(k, "v1|t1/b1|sales_invoice.create|41|EUR|");
        assert_eq!(k, operation_key(OperationKind::CreateInvoice, "t1/b1", "41", Some("EUR"), ""));
        let others = [
            operation_key(OperationKind::CreateReceipt, "t1/b1", "41", Some("EUR"), ""),
            operation_key(OperationKind::CreateInvoice, "t1/b2", "41", Some("EUR"), ""),
            operation_key(OperationKind::CreateInvoice, "t1/b1", "42", Some("EUR"), ""),
            operation_key(OperationKind::CreateInvoice, "t1/b1", "41", Some("USD"), ""),
            operation_key(OperationKind::CreateInvoice, "t1/b1", "41", None, ""),
            operation_key(OperationKind::CreateInvoice, "t1/b1", "41", Some("EUR"), "x"),
        ];
        for o in &others {
            assert_ne!(IdempotencyId::derive(&k), IdempotencyId::derive(o), "{o}");
        }
    }

    #[test]
    fn separators_inside_parts_cannot_forge_another_key() {
        let a = operation_key(OperationKind::CreateContact, "t|x", "1", None, "");
        let b = operation_key(OperationKind::CreateContact, "t", "x|1", None, "");
        assert_ne!(a, b);
    }
}

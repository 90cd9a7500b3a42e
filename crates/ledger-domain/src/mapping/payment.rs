//! `invoice.paid` → a `CUSTOMER_RECEIPT` allocated to the Sage invoice, through the payment method
//! and bank account the policy maps the Magento method to.
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fx::Fx;
use super::{BusinessDefaults, MapError, SkipReason};
use crate::policy::SyncPolicy;
use crate::sage::{PostAllocatedArtefact, PostContactPayment};

/// Where a Magento payment method's money goes in Sage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRoute {
    /// `None`: Sage uses the bank account's default method.
    pub payment_method_id: Option<String>,
    pub bank_account_id: String,
}

fn bank_account(policy: &SyncPolicy, defaults: &BusinessDefaults, own: Option<&String>) -> Result<String, MapError> {
    own.or(policy.bank_account_id.as_ref())
        .or(defaults.bank_account_id.as_ref())
        .cloned()
        .ok_or(MapError::PolicyIncomplete { field: "bank_account_id", why: "receipts and refunds need a bank account" })
}

/// The route of a Magento method code: unmapped codes skip `payment_method_not_mapped`.
pub fn payment_route(
    policy: &SyncPolicy,
    method_code: &str,
    defaults: &BusinessDefaults,
) -> Result<PaymentRoute, MapError> {
    let mapping = policy.payment_method_map.get(method_code.trim()).ok_or(SkipReason::PaymentMethodNotMapped)?;
    Ok(PaymentRoute {
        payment_method_id: mapping.payment_method_id.clone(),
        bank_account_id: bank_account(policy, defaults, mapping.bank_account_id.as_ref())?,
    })
}

/// The route of a refund: the original method's when it is mapped, else the policy's bank account
/// (money goes back even when the method was never mapped).
pub fn refund_route(
    policy: &SyncPolicy,
    method_code: Option<&str>,
    defaults: &BusinessDefaults,
) -> Result<PaymentRoute, MapError> {
    match method_code.and_then(|c| policy.payment_method_map.get(c.trim())) {
        Some(m) => Ok(PaymentRoute {
            payment_method_id: m.payment_method_id.clone(),
            bank_account_id: bank_account(policy, defaults, m.bank_account_id.as_ref())?,
        }),
        None => Ok(PaymentRoute { payment_method_id: None, bank_account_id: bank_account(policy, defaults, None)? }),
    }
}

/// What a receipt pays: Magento's amount, capped at what the Sage invoice still has outstanding (a
/// receipt above it would become a payment on account, which Start refuses); skipped when nothing is
/// outstanding.
pub fn receipt_amount(magento_amount: Decimal, sage_outstanding: Decimal) -> Result<Decimal, SkipReason> {
    let amount = magento_amount.min(sage_outstanding);
    if amount > Decimal::ZERO { Ok(amount) } else { Err(SkipReason::InvoiceAlreadyPaid) }
}

/// What a receipt or refund needs besides the amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptParams<'a> {
    pub contact_id: &'a str,
    /// The Sage invoice (receipt) or credit note (refund) the payment is allocated to.
    pub artefact_id: &'a str,
    pub amount: Decimal,
    pub route: &'a PaymentRoute,
    pub date: NaiveDate,
    /// The Magento increment id (≤ 25).
    pub reference: &'a str,
    /// The document's currency, when foreign (the payment must be in the document's currency).
    pub fx: Option<&'a Fx>,
}

fn payment(kind: &str, p: &ReceiptParams<'_>) -> PostContactPayment {
    PostContactPayment {
        transaction_type_id: kind.to_owned(),
        contact_id: p.contact_id.to_owned(),
        bank_account_id: p.route.bank_account_id.clone(),
        date: p.date,
        total_amount: p.amount,
        payment_method_id: p.route.payment_method_id.clone(),
        reference: Some(super::text::truncate(p.reference.trim(), 25)).filter(|r| !r.is_empty()),
        currency_id: p.fx.map(|f| f.currency_id.clone()),
        exchange_rate: p.fx.map(|f| f.exchange_rate),
        allocated_artefacts: vec![PostAllocatedArtefact {
            artefact_id: p.artefact_id.to_owned(),
            amount: p.amount,
            discount: None,
        }],
        ..PostContactPayment::default()
    }
}

/// A `CUSTOMER_RECEIPT` of `amount` (see [`receipt_amount`]) fully allocated to the invoice.
pub fn customer_receipt(p: &ReceiptParams<'_>) -> PostContactPayment {
    payment("CUSTOMER_RECEIPT", p)
}

/// A `CUSTOMER_REFUND` of `amount` allocated to the credit note (its total equals the allocation).
pub fn customer_refund_payment(p: &ReceiptParams<'_>) -> PostContactPayment {
    payment("CUSTOMER_REFUND", p)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::policy::PaymentMethodMapping;

    fn policy() -> SyncPolicy {
        let mut p = SyncPolicy { bank_account_id: Some("bank".into()), ..SyncPolicy::default() };
        p.payment_method_map.insert(
            "checkmo".into(),
            PaymentMethodMapping { payment_method_id: Some("CASH".into()), bank_account_id: None },
        );
        p.payment_method_map.insert(
            "stripe_payments".into(),
            PaymentMethodMapping {
                payment_method_id: Some("CREDIT_DEBIT".into()),
                bank_account_id: Some("stripe".into()),
            },
        );
        p
    }

    #[test]
    fn mapped_methods_route_and_unmapped_ones_skip() {
        let d = BusinessDefaults::default();
        let r = payment_route(&policy(), "checkmo", &d).unwrap();
        assert_eq!((r.payment_method_id.as_deref(), r.bank_account_id.as_str()), (Some("CASH"), "bank"));
        let r = payment_route(&policy(), "stripe_payments", &d).unwrap();
        assert_eq!(r.bank_account_id, "stripe", "the method's own bank account wins");
        assert_eq!(
            payment_route(&policy(), "paypal_express", &d),
            Err(MapError::Skip(SkipReason::PaymentMethodNotMapped))
        );
        let no_bank = SyncPolicy { bank_account_id: None, ..policy() };
        assert!(matches!(payment_route(&no_bank, "checkmo", &d), Err(MapError::PolicyIncomplete { .. })));
        let d = BusinessDefaults { bank_account_id: Some("default".into()), ..d };
        assert_eq!(payment_route(&no_bank, "checkmo", &d).unwrap().bank_account_id, "default");
    }

    #[test]
    fn refunds_fall_back_to_the_policy_bank_account() {
        let d = BusinessDefaults::default();
        let r = refund_route(&policy(), Some("paypal_express"), &d).unwrap();
        assert_eq!((r.payment_method_id, r.bank_account_id.as_str()), (None, "bank"));
        assert_eq!(refund_route(&policy(), Some("stripe_payments"), &d).unwrap().bank_account_id, "stripe");
    }

    #[test]
    fn receipts_pay_at_most_what_is_outstanding() {
        assert_eq!(receipt_amount(dec!(61.12), dec!(61.12)), Ok(dec!(61.12)));
        assert_eq!(receipt_amount(dec!(61.12), dec!(20)), Ok(dec!(20)));
        assert_eq!(receipt_amount(dec!(10), dec!(61.12)), Ok(dec!(10)));
        assert_eq!(receipt_amount(dec!(61.12), dec!(0)), Err(SkipReason::InvoiceAlreadyPaid));
    }

    #[test]
    fn a_receipt_is_allocated_to_its_invoice_in_its_currency() {
        let route = payment_route(&policy(), "checkmo", &BusinessDefaults::default()).unwrap();
        let fx = Fx { currency_id: "EUR".into(), exchange_rate: dec!(1.165) };
        let p = ReceiptParams {
            contact_id: "c1",
            artefact_id: "si1",
            amount: dec!(12.50),
            route: &route,
            date: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
            reference: "000000041",
            fx: Some(&fx),
        };
        let body = customer_receipt(&p);
        assert_eq!(body.transaction_type_id, "CUSTOMER_RECEIPT");
        assert_eq!(body.total_amount, dec!(12.50));
        assert_eq!(
            body.allocated_artefacts,
            vec![PostAllocatedArtefact { artefact_id: "si1".into(), amount: dec!(12.50), discount: None }]
        );
        assert_eq!((body.currency_id.as_deref(), body.exchange_rate), (Some("EUR"), Some(dec!(1.165))));
        assert_eq!(body.payment_method_id.as_deref(), Some("CASH"));
        assert_eq!(customer_refund_payment(&p).transaction_type_id, "CUSTOMER_REFUND");
    }
}

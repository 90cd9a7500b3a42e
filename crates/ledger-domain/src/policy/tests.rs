//! Policy parsing, validation and the ids it references.
use rust_decimal_macros::dec;
use serde_json::json;

use super::*;

fn fields(errors: Vec<FieldError>) -> Vec<String> {
    errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn the_empty_document_is_a_valid_empty_policy() {
    let p = SyncPolicy::parse(&json!({})).unwrap();
    assert_eq!(p, SyncPolicy::default());
    assert_eq!(serde_json::to_value(&p).unwrap()["exchange_rate_direction"], "foreign_per_base");
    assert_eq!((p.zero_tax_rate_id(), p.no_tax_rate_id(), p.home_country()), ("GB_ZERO", "GB_NO_TAX", "GB"));
}

#[test]
fn a_full_document_round_trips() {
    let doc = json!({
        "default_tax_rate_id": "GB_STANDARD",
        "sales_ledger_account_id": "a1",
        "bank_account_id": "b1",
        "payment_method_map": {"checkmo": {"payment_method_id": "CASH", "bank_account_id": "b2"},
                               "stripe_payments": {"payment_method_id": "CREDIT_DEBIT"}},
        "tax_rate_map": {"20": "GB_STANDARD", "class:5": "GB_LOWER"},
        "destination_vat_ledger_account_id": "a2",
        "b2c": {"enabled": true, "threshold": "250.00"},
        "exchange_rate_direction": "base_per_foreign",
        "sync_since": "2026-01-01",
        "store_ids": [1, 2],
        "zero_value_invoices": "sync",
        "refund_mode": "credit_note_only",
        "sync_stock": true
    });
    let p = SyncPolicy::parse(&doc).unwrap();
    assert_eq!(p.b2c.threshold, Some(dec!(250)));
    assert_eq!(p.sync_since.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
    assert_eq!(p.exchange_rate_direction, ExchangeRateDirection::BasePerForeign);
    assert_eq!(p.refund_mode, RefundMode::CreditNoteOnly);
    let again = SyncPolicy::parse(&serde_json::to_value(&p).unwrap()).unwrap();
    assert_eq!(again, p);
    assert_eq!(serde_json::to_value(&p).unwrap()["sync_since"], "2026-01-01T00:00:00Z");
}

#[test]
fn serde_errors_name_the_field() {
    let err = SyncPolicy::parse(&json!({"payment_method_map": {"checkmo": {"payment_method": "CASH"}}})).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].field, "payment_method_map.checkmo.payment_method");
    assert!(err[0].message.contains("unknown field `payment_method`"), "{}", err[0].message);
    let err = SyncPolicy::parse(&json!({"refund_mode": "sometimes"})).unwrap_err();
    assert_eq!(err[0].field, "refund_mode");
    let err = SyncPolicy::parse(&json!({"sync_since": "last tuesday"})).unwrap_err();
    assert_eq!(err[0].field, "sync_since");
    let err = SyncPolicy::parse(&json!({"colour": "blue"})).unwrap_err();
    assert!(err[0].message.contains("unknown field `colour`"), "{:?}", err);
    let err = SyncPolicy::parse(&json!([])).unwrap_err();
    assert_eq!(err[0].field, "");
}

#[test]
fn validation_reports_every_problem_with_its_path() {
    let doc = json!({
        "payment_method_map": {"checkmo": {}},
        "tax_rate_map": {"twenty": "GB_STANDARD", "20": " "},
        "home_country": "gbr",
        "b2c": {"enabled": true, "threshold": -1},
        "store_ids": [],
        "website_ids": [1, 1],
        "contact_reference_prefix": "abcd",
        "sales_ledger_account_id": "has space"
    });
    let got = fields(SyncPolicy::parse(&doc).unwrap_err());
    for want in [
        "payment_method_map.checkmo.payment_method_id",
        "payment_method_map.checkmo.bank_account_id",
        "tax_rate_map.twenty",
        "tax_rate_map.20",
        "home_country",
        "b2c.threshold",
        "store_ids",
        "website_ids",
        "contact_reference_prefix",
        "sales_ledger_account_id",
    ] {
        assert!(got.iter().any(|f| f == want), "missing {want} in {got:?}");
    }
}

#[test]
fn a_method_without_its_own_bank_uses_the_policy_bank() {
    let doc = json!({"bank_account_id": "b1", "payment_method_map": {"checkmo": {"payment_method_id": "CASH"}}});
    assert!(SyncPolicy::parse(&doc).is_ok());
}

#[test]
fn referenced_ids_list_every_sage_id_with_its_kind() {
    let doc = json!({
        "default_tax_rate_id": "GB_STANDARD", "sales_ledger_account_id": "a1", "bank_account_id": "b1",
        "payment_method_map": {"checkmo": {"payment_method_id": "CASH"}},
        "tax_rate_map": {"class:5": "GB_LOWER"}, "destination_vat_ledger_account_id": "a2"
    });
    let ids: Vec<(String, IdKind, String)> =
        SyncPolicy::parse(&doc).unwrap().referenced_ids().into_iter().map(|r| (r.field, r.kind, r.id)).collect();
    let want = [
        ("default_tax_rate_id", IdKind::TaxRate, "GB_STANDARD"),
        ("sales_ledger_account_id", IdKind::LedgerAccount, "a1"),
        ("bank_account_id", IdKind::BankAccount, "b1"),
        ("payment_method_map.checkmo.payment_method_id", IdKind::PaymentMethod, "CASH"),
        ("tax_rate_map.class:5", IdKind::TaxRate, "GB_LOWER"),
        ("destination_vat_ledger_account_id", IdKind::LedgerAccount, "a2"),
    ];
    assert_eq!(ids, want.map(|(f, k, i)| (f.to_owned(), k, i.to_owned())));
}

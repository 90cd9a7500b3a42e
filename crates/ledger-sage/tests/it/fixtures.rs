//! Golden fixtures from the Sage spec's literal examples (`fixtures/sage/`), checked on the ledger's side;
//! sage-sim checks the same files on its side.
use std::str::FromStr;

use ledger_domain::ErrorClass;
use ledger_domain::money::line_amounts;
use ledger_sage::{SageError, TokenResponse};
use rust_decimal::Decimal;
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../fixtures/sage/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn dec(v: &Value) -> Decimal {
    ledger_domain::decimal::from_json(v).unwrap_or_else(|e| panic!("{v}: {e}"))
}

#[test]
fn the_983_invoice_is_what_our_money_rules_compute() {
    let request: Value = serde_json::from_slice(&fixture("invoice_9_83_request.json")).unwrap();
    let response: Value = serde_json::from_slice(&fixture("invoice_9_83_response.json")).unwrap();
    let line = &request["sales_invoice"]["invoice_lines"][0];
    let amounts = line_amounts(
        dec(&line["quantity"]),
        dec(&line["unit_price"]),
        dec(&line["discount_amount"]),
        Decimal::from_str("9.25").unwrap(),
    );
    assert_eq!(amounts.tax, dec(&line["tax_amount"]), "the tax we would send is the one in the request");
    let written = ledger_domain::decimal::to_short_string(&amounts.tax);
    assert_eq!(Some(written.as_str()), line["tax_amount"].as_str(), "and we write it as the request does");
    let out = &response["invoice_lines"][0];
    assert_eq!(amounts.net, dec(&out["net_amount"]));
    assert_eq!(amounts.tax, dec(&out["tax_amount"]));
    assert_eq!(amounts.total, dec(&out["total_amount"]));
    assert_eq!(amounts.total, dec(&response["total_amount"]));
    assert_eq!(dec(&response["outstanding_amount"]), amounts.total);
}

#[test]
fn error_arrays_parse_and_classify() {
    let cases = [
        ("error_tax_amount_required.json", 422, "RecordInvalid", ErrorClass::Validation),
        ("error_mse.json", 401, "AuthorizationFailure", ErrorClass::Subscription),
        ("error_multi_user_access_denied.json", 403, "MultiUserAccessDenied", ErrorClass::Permission),
        ("error_unexpected.json", 500, "UnexpectedError", ErrorClass::Transient),
    ];
    for (file, status, code, class) in cases {
        let err = SageError::from_body(status, &fixture(file));
        assert_eq!(err.items.len(), 1, "{file}");
        assert!(err.has_code(code), "{file}: {err:?}");
        assert_eq!(err.class(), class, "{file}");
    }
    let tax = SageError::from_body(422, &fixture("error_tax_amount_required.json"));
    assert_eq!(tax.items[0].source, "line_items.tax_amount");
    assert!(SageError::from_body(401, &fixture("error_mse.json")).is_subscription_lapsed());
    assert_eq!(SageError::from_body(401, b"[]").class(), ErrorClass::Auth, "a plain 401 is a token problem");
}

#[test]
fn token_response_parses_with_its_lifetimes() {
    let token: TokenResponse = serde_json::from_slice(&fixture("token_response.json")).unwrap();
    assert_eq!(token.token_type, "bearer");
    assert_eq!(token.expires_in, 300);
    assert_eq!(token.refresh_token_expires_in, 2_678_400);
    assert_eq!(token.scope.as_deref(), Some("full_access"));
    assert!(!format!("{token:?}").contains("JWT-shaped"), "tokens never appear in Debug output");
    let err: Value = serde_json::from_slice(&fixture("token_error_invalid_grant.json")).unwrap();
    assert_eq!(err["error"], "invalid_grant");
}

#[test]
fn decimals_are_read_from_strings_or_numbers() {
    for (raw, want) in [(r#""9.83""#, "9.83"), ("9.83", "9.83"), (r#""10.0""#, "10.0"), ("1e-2", "0.01")] {
        let v: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(dec(&v), Decimal::from_str(want).unwrap(), "{raw}");
    }
    assert!(ledger_domain::decimal::from_json(&Value::Bool(true)).is_err());
    assert!(ledger_domain::decimal::from_json(&Value::String("9,83".into())).is_err());
}

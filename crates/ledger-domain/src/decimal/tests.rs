//! The decimal reader against both wires' forms, and properties over arbitrary values and input.
use proptest::prelude::*;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct Probe {
    #[serde(with = "crate::decimal")]
    d: Decimal,
    #[serde(default, with = "crate::decimal::opt", skip_serializing_if = "Option::is_none")]
    o: Option<Decimal>,
}

fn probe(json: &str) -> Result<Probe, serde_json::Error> {
    serde_json::from_str(json)
}

#[test]
fn reads_magento_numbers_and_numeric_strings() {
    assert_eq!(probe(r#"{"d":100}"#).unwrap().d, dec!(100));
    assert_eq!(probe(r#"{"d":19.99}"#).unwrap().d, dec!(19.99));
    assert_eq!(probe(r#"{"d":"19.99"}"#).unwrap().d, dec!(19.99));
    assert_eq!(probe(r#"{"d":" 7 "}"#).unwrap().d, dec!(7));
    assert_eq!(probe(r#"{"d":-0.0825}"#).unwrap().d, dec!(-0.0825));
    assert_eq!(probe(r#"{"d":1e-2}"#).unwrap().d, dec!(0.01));
    assert_eq!(probe(r#"{"d":0.1000000000000000055511}"#).unwrap().d, dec!(0.1000000000000000055511));
}

#[test]
fn reads_sage_decimal_strings() {
    for (raw, want) in [("9.83", dec!(9.83)), ("10.0", dec!(10)), ("-3", dec!(-3)), (".5", dec!(0.5)), ("7.", dec!(7))]
    {
        assert_eq!(from_json(&json!(raw)), Ok(want), "{raw}");
    }
    assert_eq!(from_json(&json!("1E+3")), Ok(dec!(1000)));
}

#[test]
fn exponents_are_exact_in_range_rounded_past_precision_and_bounded() {
    assert_eq!(parse("1.5e1"), Ok(dec!(15)));
    assert_eq!(parse("25e-3"), Ok(dec!(0.025)));
    assert_eq!(parse("0e30"), Ok(Decimal::ZERO));
    assert_eq!(parse("1e28"), Ok(dec!(10000000000000000000000000000)));
    assert_eq!(parse("1e-30"), Ok(Decimal::ZERO), "past 28 places rounds to zero");
    assert_eq!(parse("1e-999999999999"), Ok(Decimal::ZERO));
    assert!(parse("1e29").is_err(), "past Decimal's range");
    assert!(parse("1e999999999999").is_err());
}

#[test]
fn refuses_garbage_with_an_error_that_names_it() {
    for bad in ["abc", "", " ", "1_000", "1.2.3", "--1", "+", ".", "e5", "1e", "0x10", "NaN", "1,5", "1 2"] {
        assert_eq!(parse(bad), Err(DecimalError::invalid(bad)), "{bad:?}");
    }
    assert_eq!(from_json(&json!(true)), Err(DecimalError::WrongType("a boolean")));
    assert_eq!(from_json(&json!(null)), Err(DecimalError::WrongType("null")));
    assert_eq!(from_json(&json!([1])), Err(DecimalError::WrongType("an array")));
    assert_eq!(
        probe(r#"{"d":"abc"}"#).unwrap_err().to_string(),
        "not a decimal: \"abc\" at line 1 column 11",
        "the serde error carries the refused text"
    );
    let long = "9".repeat(100);
    assert_eq!(parse(&long), Err(DecimalError::Invalid(format!("{}…", "9".repeat(40)))), "out of range, quoted short");
}

#[test]
fn required_and_optional_fields() {
    assert!(probe(r#"{"d":null}"#).is_err());
    assert!(probe(r#"{"d":""}"#).is_err());
    assert!(probe(r#"{}"#).is_err());
    for absent in [r#"{"d":1}"#, r#"{"d":1,"o":null}"#, r#"{"d":1,"o":""}"#, r#"{"d":1,"o":"  "}"#] {
        assert_eq!(probe(absent).unwrap().o, None, "{absent}");
    }
    assert_eq!(probe(r#"{"d":1,"o":"0.2"}"#).unwrap().o, Some(dec!(0.2)));
    assert!(probe(r#"{"d":1,"o":"x"}"#).is_err());
}

#[test]
fn writes_sages_short_string_form() {
    let p = Probe { d: dec!(10.50), o: Some(dec!(-0.000)) };
    assert_eq!(serde_json::to_value(&p).unwrap(), json!({"d": "10.5", "o": "0"}));
    assert_eq!(to_short_string(&dec!(9.83)), "9.83");
    assert_eq!(to_short_string(&dec!(100)), "100");
    assert_eq!(to_short_string(&Decimal::MAX), "79228162514264337593543950335");
}

fn any_decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale))
}

proptest! {
    #[test]
    fn short_string_round_trips(d in any_decimal()) {
        prop_assert_eq!(parse(&to_short_string(&d)), Ok(d));
        let written = serde_json::to_string(&Probe { d, o: Some(d) }).unwrap();
        prop_assert_eq!(serde_json::from_str::<Probe>(&written).unwrap(), Probe { d, o: Some(d) });
    }

    #[test]
    fn string_and_number_forms_agree(d in any_decimal()) {
        let text = d.to_string();
        let number: Value = serde_json::from_str(&text).unwrap();
        prop_assert!(number.is_number());
        prop_assert_eq!(from_json(&number), Ok(d));
        prop_assert_eq!(from_json(&Value::String(text)), Ok(d));
    }

    #[test]
    fn json_number_text_reads_the_same_either_way(text in "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?") {
        let number: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(from_json(&number).ok(), from_json(&Value::String(text.clone())).ok());
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse(&text);
        let _ = from_json(&Value::String(text));
    }

    #[test]
    fn decimal_like_text_never_panics(text in "[-+]?[0-9.]{0,40}([eE][-+]?[0-9]{0,25})?") {
        if let Ok(d) = parse(&text) {
            prop_assert_eq!(parse(&to_short_string(&d)), Ok(d));
        }
    }
}

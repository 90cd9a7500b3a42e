//! Conformance of JSON bodies to Sage's published v3.1 field schema (`fixtures/sage/sage-fields.json`).
//!
//! The schema is extracted from Sage's own OpenAPI document (see `shared/spec/sage-api.md`) and
//! embedded in this crate, so any crate's tests can check what they send to or receive from Sage:
//!
//! ```
//! use sage_sim::conformance::{check_request, check_response};
//! use serde_json::json;
//!
//! let body = json!({"contact": {"name": "Ada", "contact_type_ids": ["CUSTOMER"], "credit_terms": "net_30"}});
//! let violations = check_request("POST", "/contacts", &body).unwrap();
//! assert_eq!(violations.len(), 1);
//! assert_eq!(violations[0].path, "$.contact.credit_terms");
//!
//! let contact = json!({"id": "abc", "main_address": {"country_id": "GB"}});
//! let violations = check_response("GET", "/contacts/abc", &contact).unwrap();
//! assert_eq!(violations[0].to_string(), "$.main_address.country_id: unknown field");
//! ```
//!
//! Rules, for both directions unless noted:
//! - **unknown fields**: every key must be a field of the definition (requests may also carry
//!   `idempotency_id` in their resource object: Sage documents it outside the OpenAPI);
//! - **types**: `string`, `integer`, `boolean`, `object` (a `ref` is an object of that definition), `array`;
//!   `number` accepts a JSON number or a decimal string (Sage answers money as `"9.83"` and accepts both);
//!   `date` (`YYYY-MM-DD`) and `date-time` (RFC 3339) formats; `null` stands for an absent field;
//! - **required** fields (requests only): present and not `null`;
//! - **enums**, `maxLength` (characters) and integer `minimum`/`maximum`. A request field without a
//!   length or enum of its own takes the ones of the response field it becomes (request
//!   `contact.reference` is held to `Contact.reference`'s 10 characters).
//!
//! List endpoints (`GET /contacts`) are checked as Sage's envelope (`$total`, `$page`, `$next`,
//! `$back`, `$itemsPerPage`, `$items`) with every item checked against the resource definition.

mod walk;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// The embedded copy of Sage's field schema (kept identical to `shared/spec/sage-fields.json` by a test).
pub const SCHEMA_JSON: &str = include_str!("../../../../fixtures/sage/sage-fields.json");

/// Which side of the wire a body is on: requests have required fields, responses do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// One way a body departs from the schema, at a JSON path such as `$.sales_invoice.invoice_lines[0].tax_rate_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub problem: Problem,
}

/// What is wrong at a [`Violation`]'s path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The definition has no such field.
    UnknownField,
    /// The value has another JSON type; `expected` is `string`, `number`, `integer`, `boolean`, `object` or `array`.
    WrongType { expected: &'static str },
    /// A required request field is absent or `null`.
    Missing,
    /// The value is not one of the enum's values.
    NotInEnum { allowed: Vec<String> },
    /// A string longer than `max` characters.
    TooLong { max: usize, len: usize },
    /// An integer outside `[min, max]`.
    OutOfRange { min: Option<i64>, max: Option<i64> },
    /// A string that is not a valid `date` or `date-time`.
    BadFormat { format: &'static str },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownField => write!(f, "unknown field"),
            Problem::WrongType { expected } => write!(f, "is not {}", article(expected)),
            Problem::Missing => write!(f, "is required"),
            Problem::NotInEnum { allowed } => write!(f, "is not one of {}", allowed.join(", ")),
            Problem::TooLong { max, len } => write!(f, "is too long ({len} characters, maximum is {max})"),
            Problem::OutOfRange { min, max } => {
                let show = |b: &Option<i64>| b.map_or_else(|| "…".to_owned(), |v| v.to_string());
                write!(f, "is outside {}..={}", show(min), show(max))
            }
            Problem::BadFormat { format } => write!(f, "is not a valid {format}"),
        }
    }
}

fn article(noun: &str) -> String {
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {noun}"),
        _ => format!("a {noun}"),
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// Why a body could not be checked at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConformanceError {
    /// No path of the schema matches this method and path.
    #[error("{method} {path} is not an operation of Sage's v3.1 schema")]
    UnknownOperation { method: String, path: String },
    /// The operation exists but the schema extract carries no definition for its body.
    #[error("the schema extract has no definition {0:?}")]
    NoDefinition(String),
    /// The embedded schema did not parse (a broken fixture; a test guards against it).
    #[error("the embedded Sage schema is unreadable: {0}")]
    Schema(String),
}

/// Check a request body for `method` `path` (e.g. `"POST"`, `"/sales_invoices"` or `"/v3.1/contacts/{id}?x=1"`).
///
/// An operation without a request body (GET, DELETE) accepts only an absent (`null`) body.
pub fn check_request(method: &str, path: &str, body: &Value) -> Result<Vec<Violation>, ConformanceError> {
    let schema = schema()?;
    let op = schema.operation(method, path)?;
    let Some(def) = &op.body else {
        return Ok(if body.is_null() {
            Vec::new()
        } else {
            vec![Violation { path: "$".into(), problem: Problem::UnknownField }]
        });
    };
    walk::request(schema, def, op.response.as_deref(), body)
}

/// Check a successful response body of `method` `path`; list endpoints are checked as envelopes.
///
/// Operations answering 204 (most DELETEs) accept only an absent (`null`) body.
pub fn check_response(method: &str, path: &str, body: &Value) -> Result<Vec<Violation>, ConformanceError> {
    let schema = schema()?;
    let op = schema.operation(method, path)?;
    let Some(def) = &op.response else {
        return Ok(if body.is_null() {
            Vec::new()
        } else {
            vec![Violation { path: "$".into(), problem: Problem::UnknownField }]
        });
    };
    if op.array { walk::envelope(schema, def, body) } else { walk::definition(schema, def, Side::Response, body) }
}

/// Check `body` against one named definition (`"SalesInvoice"`, `"postContacts"`…) on `side`.
pub fn check_definition(definition: &str, side: Side, body: &Value) -> Result<Vec<Violation>, ConformanceError> {
    walk::definition(schema()?, definition, side, body)
}

/// One field of a definition as the schema describes it.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Field {
    #[serde(rename = "type")]
    pub ty: Option<String>,
    pub format: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub fields: Option<BTreeMap<String, Field>>,
    pub items: Option<Box<Field>>,
    #[serde(default)]
    pub required: bool,
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<Value>>,
    #[serde(rename = "maxLength")]
    pub max_length: Option<usize>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Definition {
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Operation {
    pub body: Option<String>,
    pub response: Option<String>,
    #[serde(default)]
    pub array: bool,
}

/// The parsed schema: definitions by name and operations by path template and method.
#[derive(Debug, Deserialize)]
pub(crate) struct Schema {
    pub definitions: HashMap<String, Definition>,
    paths: BTreeMap<String, HashMap<String, Operation>>,
}

impl Schema {
    pub fn definition(&self, name: &str) -> Result<&Definition, ConformanceError> {
        self.definitions.get(name).ok_or_else(|| ConformanceError::NoDefinition(name.to_owned()))
    }

    /// The operation whose template matches `path` best (literal segments win over `{key}`).
    fn operation(&self, method: &str, path: &str) -> Result<&Operation, ConformanceError> {
        let unknown = || ConformanceError::UnknownOperation { method: method.to_owned(), path: path.to_owned() };
        let bare = path.split(['?', '#']).next().unwrap_or_default();
        let bare = bare.strip_prefix("/v3.1").unwrap_or(bare);
        let segs: Vec<&str> = bare.trim_matches('/').split('/').collect();
        let method = method.to_ascii_lowercase();
        let mut best: Option<(usize, &Operation)> = None;
        for (template, ops) in &self.paths {
            let tsegs: Vec<&str> = template.trim_matches('/').split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let fits = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') {
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            if let (true, Some(op)) = (fits, ops.get(&method))
                && best.is_none_or(|(n, _)| literal > n)
            {
                best = Some((literal, op));
            }
        }
        best.map(|(_, op)| op).ok_or_else(unknown)
    }
}

/// The embedded schema, parsed once.
pub(crate) fn schema() -> Result<&'static Schema, ConformanceError> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| serde_json::from_str(SCHEMA_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ConformanceError::Schema(e.clone()))
}

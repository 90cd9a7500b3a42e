//! The OpenAPI 3.1 description of the JSON API, generated from the handlers' `#[utoipa::path]` and the
//! answer types' `ToSchema`; served at `GET /api/openapi.json` and committed as `docs/openapi.json`
//! (a test fails when the two differ). Error answers are one `Problem` schema listing every stable code.
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::{events, health, ingest, policy, problem, sage, stores, tile};

/// Every stable problem code the API answers: `(code, statuses, meaning)`. The `type` of a problem is
/// `/problems/{code}`. Tests check that the codes of the error enums are all here.
pub const PROBLEM_TYPES: &[(&str, &str, &str)] = &[
    ("bad-request", "400", "the request is malformed (header, query or body)"),
    ("unauthorized", "401", "missing, wrong, expired, replayed or revoked credentials"),
    ("not-found", "404", "no such endpoint, tenant or event name, or the feature is off in this process"),
    ("unsupported-media-type", "415", "the body is not declared `application/json`"),
    ("payload-too-large", "413", "the body is larger than `server.max_body_bytes`"),
    ("unavailable", "503", "busy, timed out or the database is unavailable; retry (`Retry-After: 5`)"),
    ("shutting-down", "503", "the process is stopping and takes no new webhooks; retry"),
    ("internal", "500", "an unexpected error, logged with the request id"),
    // Event operations.
    ("unknown_tenant", "404", "no such tenant"),
    ("unknown_event", "404", "no such event run"),
    ("invalid_filter", "400", "a listing filter does not parse"),
    ("not_requeueable", "409", "the run is not failed, dead-lettered or discarded"),
    ("superseded", "409", "a newer run of the same event exists"),
    ("not_discardable", "409", "the run is running or finished"),
    ("invalid_reason", "422", "a discard needs a reason of 1-500 characters"),
    // Pairing a store.
    ("invalid_store_url", "422", "the store URL is not a usable http(s) URL"),
    ("pairing_code_missing", "422", "no pairing code"),
    ("ledger_url_not_https", "422", "the URL the store would call is not https and plain http is not allowed"),
    ("public_url_invalid", "500", "`server.public_url` is not usable"),
    ("pairing_code_rejected", "422", "the store refused the pairing code (wrong, used or expired)"),
    ("pair_bad_request", "422", "the store refused the pairing request"),
    ("store_url_refused", "422", "the store URL points where the ledger may not call"),
    ("store_unreachable", "502", "the store could not be reached"),
    ("store_no_answer", "502", "the store did not answer in time"),
    ("store_tls_error", "502", "the store's TLS certificate or handshake failed"),
    ("store_redirects", "502", "the store answered with a redirect"),
    ("not_a_byte8_store", "502", "the URL does not answer like a Magento store"),
    ("byte8_module_missing", "502", "the store lacks the ledger's Magento module"),
    ("store_error", "502", "the store answered with an error"),
    // Sage connect and policy.
    ("tenant_revoked", "409", "the store's binding is revoked"),
    ("sage_not_configured", "503", "no Sage client credentials are configured"),
    ("sage_authorization_denied", "403", "the merchant refused at Sage"),
    ("missing_code", "400", "the callback carries no authorization code"),
    ("state_unknown", "400", "the callback's state is unknown"),
    ("state_used", "409", "the callback's state was already used"),
    ("state_expired", "410", "the callback's state expired (10 minutes)"),
    ("state_session_mismatch", "403", "the connect was started in another browser session"),
    ("code_rejected", "400", "Sage refused the authorization code"),
    ("sage_unavailable", "502", "Sage did not answer usefully"),
    ("not_connected", "404", "the tenant has no Sage connection"),
    ("unknown_business", "404", "the business was not offered at the last connect"),
    ("business_inactive", "409", "the business has no active subscription"),
    ("sage_not_connected", "404", "the tenant has no Sage binding"),
    ("sage_not_active", "409", "the Sage binding is not active"),
    ("invalid_policy", "422", "the policy does not validate; `errors` lists each field"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ledger",
        description = "Receives signed events from the Magento module and syncs them to Sage Accounting. \
            Errors are `application/problem+json` (schema `Problem`). Dashboard HTML routes are not described.",
        license(name = "Proprietary"),
    ),
    paths(
        ingest::receive,
        tile::tile_health,
        tile::disconnect,
        stores::pair,
        stores::disconnect,
        sage::connect,
        sage::callback,
        sage::businesses,
        sage::pick,
        sage::disconnect,
        sage::binding,
        policy::read,
        policy::save,
        events::list,
        events::show,
        events::requeue,
        events::discard,
        health::live,
        health::ready,
        crate::metrics::scrape,
        openapi_json,
    ),
    components(schemas(problem::Problem, policy::PolicyProblem)),
    modifiers(&Additions),
    tags(
        (name = "magento", description = "Calls from the Magento module (HS256 JWT the module mints)"),
        (name = "stores", description = "Operators pair and disconnect stores"),
        (name = "sage", description = "Connecting a tenant to Sage Accounting"),
        (name = "policy", description = "The binding's sync policy"),
        (name = "events", description = "Operators inspect, requeue and discard event runs"),
        (name = "health", description = "Liveness and readiness"),
        (name = "meta", description = "This document"),
    ),
)]
struct ApiDoc;

/// Security schemes, and the problem codes in the `Problem` schema's description.
struct Additions;

impl Modify for Additions {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let jwt = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "HS256 token the Magento module mints per request with the key pairing gave it (single-use `jti`)",
            ))
            .build();
        components.add_security_scheme("magento_jwt", SecurityScheme::Http(jwt));
        let operator = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("One of the `admin.tokens` operator tokens"))
            .build();
        components.add_security_scheme("operator", SecurityScheme::Http(operator));
        if let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") {
            let mut text = String::from(
                "RFC 9457 problem details. `type` is `/problems/{code}`; errors with their own code also send \
                 it as `code`. The stable codes:\n\n| code | status | meaning |\n| --- | --- | --- |\n",
            );
            for (code, status, meaning) in PROBLEM_TYPES {
                text.push_str(&format!("| `{code}` | {status} | {meaning} |\n"));
            }
            problem.description = Some(text);
        }
    }
}

/// The document.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline, as committed in `docs/openapi.json`.
pub fn to_json() -> String {
    let mut text = document().to_pretty_json().expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

/// `GET /api/openapi.json`: no authentication, it holds no data.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This OpenAPI document",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], to_json())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

    /// `docs/openapi.json` is what the code generates. `UPDATE_OPENAPI=1` rewrites it.
    #[test]
    fn committed_document_matches_the_code() {
        let generated = to_json();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json differs from the code; regenerate it with \
             `cargo run -p ledger -- openapi > docs/openapi.json` (or `UPDATE_OPENAPI=1 cargo test -p ledger-api openapi`)"
        );
    }

    /// `(METHOD, path)` of every route the routers register, read from their source (`.route("…",
    /// get(…).put(…))`), against what the document describes: a route added without its
    /// `#[utoipa::path]` (or listed in `ApiDoc`) fails here.
    #[test]
    fn every_route_is_documented() {
        let sources =
            [include_str!("router.rs"), include_str!("sage.rs"), include_str!("policy.rs"), include_str!("events.rs")];
        let mut routed = BTreeSet::new();
        for source in sources {
            let code = source.split("#[cfg(test)]").next().unwrap();
            for chunk in code.split(".route(").skip(1) {
                let Some(chunk) = chunk.trim_start().strip_prefix('"') else { continue };
                let (path, rest) = chunk.split_once('"').unwrap();
                // The handlers of this route: up to the call's closing parenthesis at depth zero.
                let mut depth = 1;
                let end = rest
                    .char_indices()
                    .find(|&(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map(|(i, _)| i)
                    .unwrap();
                let handlers = &rest[..end];
                for method in ["get", "post", "put", "delete", "patch"] {
                    let first = handlers.trim_start_matches(',').trim_start().starts_with(&format!("{method}("));
                    if first || handlers.contains(&format!(".{method}(")) {
                        routed.insert((method.to_uppercase(), path.to_owned()));
                    }
                }
            }
        }
        assert!(routed.len() >= 20, "the route scan found the routes: {routed:?}");
        let doc = serde_json::to_value(document()).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let missing: Vec<_> = routed.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "undocumented routes {missing:?}; documented but not routed {extra:?}"
        );
    }

    #[test]
    fn every_problem_code_is_listed() {
        use ledger_sync::engine::PolicyError;
        use ledger_sync::operations::OpsError;
        use ledger_sync::pairing::PairingError;
        use ledger_sync::sage::connect::ConnectError;
        let listed: BTreeSet<&str> = PROBLEM_TYPES.iter().map(|(c, _, _)| *c).collect();
        assert_eq!(listed.len(), PROBLEM_TYPES.len(), "no code twice");
        let mut codes = vec![
            OpsError::UnknownTenant.code(),
            OpsError::NotFound.code(),
            OpsError::InvalidFilter(String::new()).code(),
            OpsError::InvalidReason.code(),
            ConnectError::UnknownTenant.code(),
            ConnectError::TenantRevoked.code(),
            ConnectError::NotConfigured.code(),
            ConnectError::MissingCode.code(),
            ConnectError::StateUnknown.code(),
            ConnectError::StateUsed.code(),
            ConnectError::StateExpired.code(),
            ConnectError::StateNotYours.code(),
            ConnectError::NotConnected.code(),
            PolicyError::NoBinding.code(),
            PolicyError::NotActive.code(),
            PolicyError::Invalid(Vec::new()).code(),
            PairingError::InvalidUrl.code(),
            PairingError::EmptyCode.code(),
            PairingError::PublicUrl.code(),
        ];
        for e in [
            crate::ApiError::Unauthorized(""),
            crate::ApiError::BadRequest(String::new()),
            crate::ApiError::NotFound(""),
            crate::ApiError::UnsupportedMediaType,
            crate::ApiError::PayloadTooLarge(1),
            crate::ApiError::Unavailable,
            crate::ApiError::ShuttingDown,
            crate::ApiError::Shed,
        ] {
            codes.push(e.code());
        }
        for code in codes {
            assert!(listed.contains(code), "problem code {code} is not in PROBLEM_TYPES");
        }
    }

    /// The document parses as OpenAPI 3.1 with a typed reader, and its references resolve.
    #[test]
    fn document_is_valid_openapi() {
        let text = to_json();
        let spec: oas3::Spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
        assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
        for (path, item) in spec.paths.iter().flatten() {
            for (method, op) in item.methods() {
                assert!(!op.responses(&spec).is_empty(), "{method} {path} lists its answers");
            }
        }
        // Every $ref names a schema that exists.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let schemas = value["components"]["schemas"].as_object().unwrap();
        for reference in text.match_indices("\"$ref\": \"#/components/schemas/") {
            let name = text[reference.0 + reference.1.len()..].split('"').next().unwrap();
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }
}

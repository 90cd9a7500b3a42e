//! The anonymous pair call (spec §4.2) and its errors, worded for the merchant's connect form.
use std::fmt;

use reqwest::Method;
use reqwest::header::{ACCEPT, LOCATION};
use serde::Serialize;
use url::Url;

use super::{endpoint, header_text, magento_message};
use crate::keys::ApiKey;
use crate::ssrf::{GuardedHttp, HttpError, Refusal};

/// What the ledger hands Magento when the merchant submits the connect form.
#[derive(Clone)]
pub struct PairRequest {
    /// As typed; normalised before sending.
    pub pairing_code: String,
    pub tenant_id: String,
    pub api_key: ApiKey,
    /// The ledger's own public base URL (trailing slash stripped when sent).
    pub ledger_base_url: Url,
}

impl fmt::Debug for PairRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairRequest")
            .field("tenant_id", &self.tenant_id)
            .field("ledger_base_url", &self.ledger_base_url.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct PairBody<'a> {
    pairing_code: String,
    tenant_id: &'a str,
    byte8_api_key: &'a str,
    ledger_base_url: &'a str,
}

/// Trims, removes inner whitespace and lowercases: Magento compares SHA-256 of the exact string.
pub fn normalise_pairing_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase()
}

/// Why pairing failed. `Display` is a short message for the merchant; [`PairError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error(
        "Magento rejected the pairing code ({message}). Codes work once and expire after 30 minutes: generate a new one in the Magento admin."
    )]
    CodeRejected { message: String },
    #[error("Magento refused the pairing request: {message}")]
    BadRequest { message: String },
    #[error("Could not reach the store: {detail}. Check the URL and that the store is online.")]
    Unreachable { detail: String },
    /// The request went out but no answer came back (a timeout or a dropped connection).
    #[error("The store did not answer {detail}.")]
    NoAnswer { detail: String },
    #[error("The store's HTTPS certificate or TLS setup was not accepted: {detail}")]
    Tls { detail: String },
    #[error("The URL redirects to {location}. Enter the exact Magento base URL: {suggested_base}")]
    Redirect { location: String, suggested_base: String },
    #[error(
        "The URL did not answer like a Magento store with the Byte8 module (HTTP {status}). Use the Magento Base URL shown in the Byte8 settings."
    )]
    NotMagento { status: u16 },
    #[error(
        "The store answered like Magento but has no Byte8 pairing route ({message}). Is the Byte8 Sage Accounting module installed and enabled?"
    )]
    ModuleMissing { message: String },
    #[error("This store URL cannot be used: {0}")]
    Refused(Refusal),
    #[error("The store answered HTTP {status}{}. Try again later.", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    StoreError { status: u16, message: Option<String> },
}

impl PairError {
    /// A stable machine code for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CodeRejected { .. } => "pairing_code_rejected",
            Self::BadRequest { .. } => "pair_bad_request",
            Self::Unreachable { .. } => "store_unreachable",
            Self::NoAnswer { .. } => "store_no_answer",
            Self::Tls { .. } => "store_tls_error",
            Self::Redirect { .. } => "store_redirects",
            Self::NotMagento { .. } => "not_a_byte8_store",
            Self::ModuleMissing { .. } => "byte8_module_missing",
            Self::Refused(_) => "store_url_refused",
            Self::StoreError { .. } => "store_error",
        }
    }
}

impl From<HttpError> for PairError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Refused(r) => Self::Refused(r),
            HttpError::Tls(detail) => Self::Tls { detail },
            HttpError::Timeout => Self::NoAnswer { detail: "in time".into() },
            HttpError::Transport(detail) => {
                Self::NoAnswer { detail: format!("before the connection dropped ({detail})") }
            }
            other => Self::Unreachable { detail: other.to_string() },
        }
    }
}

/// The base URL to suggest after a redirect: the part of the target before `/rest/`, or its origin.
fn suggested_base(request_url: &Url, location: &str) -> (String, String) {
    let Ok(mut target) = request_url.join(location) else {
        return (location.to_owned(), location.to_owned());
    };
    target.set_query(None);
    target.set_fragment(None);
    let path = target.path();
    let base_path = path.find("/rest/").map_or("", |i| &path[..i]).to_owned();
    target.set_path(&base_path);
    let shown = request_url.join(location).map_or_else(|_| location.to_owned(), |u| u.to_string());
    (shown, target.as_str().trim_end_matches('/').to_owned())
}

/// `POST {magento}/rest/V1/byte8/setup/pair`: no auth header, the code is the credential. Any 2xx is
/// success unless its body is not JSON (an HTML page means the URL is not the store's REST API). Never
/// retried: a code is single use, so a retry after a lost answer would be refused anyway.
pub async fn pair(http: &GuardedHttp, magento_base_url: &Url, req: &PairRequest) -> Result<(), PairError> {
    let url = endpoint(magento_base_url, "setup/pair");
    let ledger_base = req.ledger_base_url.as_str().trim_end_matches('/');
    let body = PairBody {
        pairing_code: normalise_pairing_code(&req.pairing_code),
        tenant_id: &req.tenant_id,
        byte8_api_key: req.api_key.expose(),
        ledger_base_url: ledger_base,
    };
    let request = http.request(Method::POST, url.clone())?.header(ACCEPT, "application/json").json(&body);
    let response = http.send(request).await?;
    let status = response.status();
    tracing::info!(tenant_id = %req.tenant_id, url = %url, status = status.as_u16(), "pair call answered");
    if status.is_redirection() {
        let (location, suggested_base) = suggested_base(&url, &header_text(&response, LOCATION));
        return Err(PairError::Redirect { location, suggested_base });
    }
    let code = status.as_u16();
    let body = match http.read_capped(response).await {
        Ok(body) => body,
        Err(HttpError::TooLarge { .. }) => return Err(PairError::NotMagento { status: code }),
        Err(e) => return Err(e.into()),
    };
    if status.is_success() {
        let blank = body.iter().all(u8::is_ascii_whitespace);
        if blank || serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
            return Ok(());
        }
        return Err(PairError::NotMagento { status: code });
    }
    let message = magento_message(&body);
    Err(match (code, message) {
        (401, Some(message)) => PairError::CodeRejected { message },
        (400, Some(message)) => PairError::BadRequest { message },
        (404, Some(message)) => PairError::ModuleMissing { message },
        (400 | 401 | 404, None) => PairError::NotMagento { status: code },
        (status, message) => PairError::StoreError { status, message },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_codes_are_normalised() {
        assert_eq!(normalise_pairing_code("  0A1B 2c3D\t4e5f\n"), "0a1b2c3d4e5f");
        assert_eq!(normalise_pairing_code("abc"), "abc");
    }

    #[test]
    fn redirect_suggestions() {
        let req = Url::parse("https://shop.example/rest/V1/byte8/setup/pair").unwrap();
        let s = |loc: &str| suggested_base(&req, loc);
        assert_eq!(
            s("https://www.shop.example/rest/V1/byte8/setup/pair"),
            ("https://www.shop.example/rest/V1/byte8/setup/pair".to_owned(), "https://www.shop.example".to_owned())
        );
        assert_eq!(s("https://shop.example/en/rest/V1/byte8/setup/pair?x=1").1, "https://shop.example/en");
        assert_eq!(s("/store/rest/V1/byte8/setup/pair").1, "https://shop.example/store");
        assert_eq!(s("https://shop.example/customer/account/login").1, "https://shop.example");
        assert_eq!(s("http://shop.example:8080/").1, "http://shop.example:8080");
    }

    #[test]
    fn codes_are_stable_and_messages_short() {
        let e = PairError::CodeRejected { message: "Invalid or expired pairing code.".into() };
        assert_eq!(e.code(), "pairing_code_rejected");
        assert!(e.to_string().contains("Invalid or expired pairing code."));
        let e = PairError::StoreError { status: 500, message: None };
        assert_eq!(e.to_string(), "The store answered HTTP 500. Try again later.");
        let req = PairRequest {
            pairing_code: "c".into(),
            tenant_id: "t".into(),
            api_key: ApiKey::generate(),
            ledger_base_url: Url::parse("https://ledger.example/").unwrap(),
        };
        assert!(!format!("{req:?}").contains("byte8_lk_"));
    }
}

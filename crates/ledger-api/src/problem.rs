//! API errors as RFC 9457 problem+json, built in this one place: a stable `type`, a short human
//! `detail` (and a `code` for errors that carry their own). The Magento module shows 4xx bodies to
//! merchants verbatim, so they stay short. Internal errors are logged with the request id and answered
//! opaquely.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_store::StoreError;
use serde::Serialize;

use crate::keys::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the service is busy or its database is unavailable; try again shortly")]
    Unavailable,
    /// The process is shutting down and takes no new webhooks (the module retries 5xx later).
    #[error("this server is restarting; try again shortly")]
    ShuttingDown,
    /// Load shed on purpose (answered like `Unavailable`, not logged per request: floods cause it).
    #[error("the service is busy or its database is unavailable; try again shortly")]
    Shed,
    /// An error with its own status and stable code (pairing failures), sent as `code` beside `type`.
    #[error("{detail}")]
    Coded { status: StatusCode, code: &'static str, detail: String },
    /// Logged in full, answered as an opaque 500.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable | Self::Shed | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Coded { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::BadRequest(_) => "bad-request",
            Self::NotFound(_) => "not-found",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::Unavailable | Self::Shed => "unavailable",
            Self::ShuttingDown => "shutting-down",
            Self::Coded { code, .. } => code,
            Self::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() { Self::Unavailable } else { Self::internal(e) }
    }
}

/// An error answer (RFC 9457 `application/problem+json`). `type` is `/problems/{code}`; the stable codes,
/// their statuses and meanings are listed in the OpenAPI document (`crate::openapi::PROBLEM_TYPES`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct Problem {
    /// `/problems/{code}`, a stable code (see the list in this schema's description).
    #[serde(rename = "type")]
    #[schema(example = "/problems/not-found")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: &'static str,
    pub status: u16,
    /// A short human sentence; the Magento module shows 4xx details to merchants verbatim.
    pub detail: String,
    /// The stable code again, for errors that carry their own (pairing, Sage connect, operations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal(e) = &self {
            tracing::error!(error = %e, "internal error");
        } else if status.is_server_error() && !matches!(self, Self::Shed | Self::ShuttingDown) {
            tracing::warn!(error = %self, status = status.as_u16(), "answered a server error");
        }
        let body = Problem {
            kind: format!("/problems/{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.to_string(),
            code: if let Self::Coded { code, .. } = &self { Some(*code) } else { None },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(e) => e.into(),
            KeyError::Busy => Self::Shed,
        }
    }
}

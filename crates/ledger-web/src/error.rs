//! Page errors: each answers an HTML page with the right status (404 for anything not the visitor's,
//! 403 for a bad CSRF token or a missing role, 429 for throttled sign-ins, 503 when the database is
//! away); internal errors are logged and answered opaquely.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger_store::StoreError;
use ledger_sync::operations::OpsError;

use crate::layout;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Unknown, or not the visitor's: the same answer either way.
    #[error("There is nothing here, or it is not yours to see.")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("Too many failed sign-ins. Wait a few minutes, then try again.")]
    Throttled,
    #[error("The service is busy or its database is unavailable. Try again shortly.")]
    Unavailable,
    #[error("Something went wrong on our side.")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The CSRF refusal.
    pub fn csrf() -> Self {
        Self::Forbidden("This form has expired or did not come from this site. Go back, reload the page and try again.")
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() { Self::Unavailable } else { Self::Internal(e.to_string()) }
    }
}

impl From<OpsError> for WebError {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Store(s) => s.into(),
            OpsError::UnknownTenant | OpsError::NotFound => Self::NotFound,
            other => Self::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "dashboard request failed");
        }
        let status = self.status();
        let title = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::SERVICE_UNAVAILABLE => "Try again shortly",
            StatusCode::BAD_REQUEST => "That did not work",
            _ => "Error",
        };
        (status, layout::html(layout::message_page(title, &self.to_string()))).into_response()
    }
}

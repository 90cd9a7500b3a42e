//! Sage's error bodies: the API's `[{"$severity","$dataCode","$message","$source"}]` array and OAuth's `{"error"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One API error answer (status plus the first error item; Sage sends an array of them).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code} {source_field}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub source_field: String,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>, source: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), source_field: source.into(), retry_after: None }
    }

    /// 422 `RecordInvalid` on a field.
    pub fn invalid(source: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "RecordInvalid", message, source)
    }

    /// 422 "This field is required."
    pub fn required(source: impl Into<String>) -> Self {
        Self::invalid(source, "This field is required.")
    }

    /// 422 "is too long (maximum is N characters)".
    pub fn too_long(source: impl Into<String>, max: usize) -> Self {
        Self::invalid(source, format!("is too long (maximum is {max} characters)"))
    }

    /// `RecordNotFound` for a referenced id, with the configured status.
    pub fn bad_reference(status: u16, source: impl Into<String>) -> Self {
        Self::new(status_or(status, StatusCode::NOT_FOUND), "RecordNotFound", "Couldn't find record.", source)
    }

    /// 404 for the record addressed by the path.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "RecordNotFound", "Couldn't find record.", "")
    }

    /// 401 for a missing, expired or revoked token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "AuthorizationFailure",
            "You are not authorised to access this resource. Please check your access token.",
            "",
        )
    }

    /// 403 for a user lacking the role for this area or method.
    pub fn access_denied_role() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "MultiUserAccessDenied",
            "The current user is not allowed to access that resource with that method.",
            "",
        )
    }

    /// 500 `UnexpectedError`.
    pub fn unexpected() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "UnexpectedError", "An unexpected error occurred.", "")
    }

    /// 429 with an optional `Retry-After`.
    pub fn too_many(retry_after: Option<u64>) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests. Please wait and repeat the request.",
            "",
        );
        e.retry_after = retry_after;
        e
    }

    /// 503 "try again later".
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "A backend service is unavailable. Please retry later.",
            "",
        )
    }

    /// A feature the business's subscription tier lacks.
    pub fn tier(status: u16, message: impl Into<String>) -> Self {
        Self::new(status_or(status, StatusCode::FORBIDDEN), "SubscriptionFeatureUnavailable", message, "base")
    }
}

/// A configured status code, or a fallback when it is not a valid code.
pub fn status_or(code: u16, fallback: StatusCode) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(fallback)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!([{
            "$severity": "error",
            "$dataCode": self.code,
            "$message": self.message,
            "$source": self.source_field,
        }]);
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// An OAuth token/revoke endpoint error: 400 (or 401 for a bad client) with `{"error","error_description"}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error, description: description.into() }
    }
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"error": self.error, "error_description": self.description}))).into_response()
    }
}

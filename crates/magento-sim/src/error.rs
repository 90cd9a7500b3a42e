//! Errors answered on the wire: Magento's `{"message", "parameters"}` shape and the control API's.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error in Magento's standard REST error shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct MagentoError {
    pub status: StatusCode,
    pub message: String,
    pub parameters: Option<Value>,
}

impl MagentoError {
    /// An error with a plain message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), parameters: None }
    }

    /// Magento's 401 for a request its ACL refuses (what a bad JWT produces).
    pub fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: "The consumer isn't authorized to access %resources.".into(),
            parameters: Some(json!({ "resources": "Byte8_Client::byte8_webapi" })),
        }
    }

    /// Magento's generic 400 for an absent required field.
    pub fn required(field: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: "\"%fieldName\" is required. Enter and try again.".into(),
            parameters: Some(json!({ "fieldName": field })),
        }
    }

    /// 404 for an id that does not exist.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The entity that was requested doesn't exist. Verify the entity and try again.",
        )
    }
}

impl IntoResponse for MagentoError {
    fn into_response(self) -> Response {
        let mut body = json!({ "message": self.message });
        if let (Some(p), Some(obj)) = (self.parameters, body.as_object_mut()) {
            obj.insert("parameters".into(), p);
        }
        (self.status, Json(body)).into_response()
    }
}

/// An error of the simulator's own `/_sim/` API: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ControlError {
    pub status: StatusCode,
    pub message: String,
}

impl ControlError {
    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, message: message.into() }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

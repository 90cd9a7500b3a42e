//! What a sync reports back to Magento: the sync-state status, the Sage ids, and the module's error codes.
use serde::{Deserialize, Serialize};

use crate::ErrorClass;

/// The `sync_status` of a sync-state callback (spec §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Synced,
    Skipped,
    Failed,
}

impl SyncStatus {
    pub const ALL: [SyncStatus; 3] = [Self::Synced, Self::Skipped, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// What Magento's sync-state callback carries besides the status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub provider_entity_id: Option<String>,
    pub provider_reference: Option<String>,
    pub skip_reason: Option<String>,
}

/// The module's error codes for a failed sync (spec §5.3), one per class of our outbound errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackErrorCode {
    Provider,
    RateLimited,
    Auth,
    Validation,
    NotFound,
    Internal,
}

impl CallbackErrorCode {
    pub const ALL: [CallbackErrorCode; 6] =
        [Self::Provider, Self::RateLimited, Self::Auth, Self::Validation, Self::NotFound, Self::Internal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::RateLimited => "rate_limited",
            Self::Auth => "auth",
            Self::Validation => "validation",
            Self::NotFound => "not_found",
            Self::Internal => "internal",
        }
    }
}

impl From<ErrorClass> for CallbackErrorCode {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::Transient => Self::Provider,
            ErrorClass::RateLimited => Self::RateLimited,
            ErrorClass::Auth | ErrorClass::Permission | ErrorClass::Subscription => Self::Auth,
            ErrorClass::Validation => Self::Validation,
            ErrorClass::NotFound => Self::NotFound,
            ErrorClass::Internal => Self::Internal,
        }
    }
}

crate::text_enum::text_enum!(SyncStatus, "sync status");
crate::text_enum::text_enum!(CallbackErrorCode, "callback error code");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_class_has_a_module_code() {
        assert_eq!(CallbackErrorCode::from(ErrorClass::Transient), CallbackErrorCode::Provider);
        assert_eq!(CallbackErrorCode::from(ErrorClass::Permission), CallbackErrorCode::Auth);
        for code in CallbackErrorCode::ALL {
            assert_eq!(code.as_str().parse::<CallbackErrorCode>().unwrap(), code);
        }
        for status in SyncStatus::ALL {
            assert_eq!(status.as_str().parse::<SyncStatus>().unwrap(), status);
        }
    }
}

//! The body of the sync-state callback (`POST /V1/byte8/sync-state`, spec §5.3) and Magento's limits on it.
use serde::{Deserialize, Serialize};

use crate::MagentoEntityId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncEntityType {
    Invoice,
    Creditmemo,
    Customer,
    Product,
}

/// Terminal outcomes only: `pending` is Magento-side and would be refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Synced,
    Skipped,
    Failed,
}

/// Body of `POST /V1/byte8/sync-state` (spec §5.3). Absent optionals are omitted; `last_sync_at` is never
/// sent (its accepted format is unverified, spec open question 4), so Magento stamps its own now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub entity_type: SyncEntityType,
    pub magento_entity_id: MagentoEntityId,
    /// The module's provider key, e.g. `sage_accounting`.
    pub provider: String,
    pub sync_status: SyncStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// A sync-state body Magento would refuse with 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncStateError {
    #[error("provider must be 1 to 32 characters")]
    Provider,
    #[error("{0} is longer than 64 characters")]
    TooLong(&'static str),
}

impl SyncState {
    /// Checks Magento's limits before sending, so a bad body fails here rather than as a 400 (the entity id
    /// is positive by its type).
    pub fn validate(&self) -> Result<(), SyncStateError> {
        if self.provider.is_empty() || self.provider.chars().count() > 32 {
            return Err(SyncStateError::Provider);
        }
        for (name, value) in [
            ("provider_entity_id", &self.provider_entity_id),
            ("provider_reference", &self.provider_reference),
            ("skip_reason", &self.skip_reason),
            ("error_code", &self.error_code),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > 64) {
                return Err(SyncStateError::TooLong(name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state() -> SyncState {
        SyncState {
            entity_type: SyncEntityType::Invoice,
            magento_entity_id: MagentoEntityId::new(42).unwrap(),
            provider: "sage_accounting".into(),
            sync_status: SyncStatus::Synced,
            provider_entity_id: Some("abc".into()),
            provider_reference: None,
            skip_reason: None,
            error_code: None,
        }
    }

    #[test]
    fn sync_state_omits_absent_fields_and_last_sync_at() {
        let body = serde_json::to_value(state()).unwrap();
        assert_eq!(
            body,
            json!({"entity_type": "invoice", "magento_entity_id": 42, "provider": "sage_accounting",
                   "sync_status": "synced", "provider_entity_id": "abc"})
        );
        let skipped = SyncState {
            entity_type: SyncEntityType::Creditmemo,
            sync_status: SyncStatus::Skipped,
            provider_entity_id: None,
            skip_reason: Some("zero_value_invoice".into()),
            ..state()
        };
        let body = serde_json::to_value(skipped).unwrap();
        assert_eq!(body["entity_type"], "creditmemo");
        assert_eq!(body["sync_status"], "skipped");
        assert_eq!(body.as_object().unwrap().len(), 5);
    }

    #[test]
    fn sync_state_limits() {
        assert_eq!(state().validate(), Ok(()));
        assert_eq!(SyncState { provider: String::new(), ..state() }.validate(), Err(SyncStateError::Provider));
        assert_eq!(SyncState { provider: "p".repeat(33), ..state() }.validate(), Err(SyncStateError::Provider));
        let long = SyncState { error_code: Some("e".repeat(65)), ..state() };
        assert_eq!(long.validate(), Err(SyncStateError::TooLong("error_code")));
        assert!(SyncState { error_code: Some("e".repeat(64)), ..state() }.validate().is_ok());
    }

    #[test]
    fn sync_state_reads_back_and_refuses_entity_id_zero() {
        let body = serde_json::to_value(state()).unwrap();
        assert_eq!(serde_json::from_value::<SyncState>(body.clone()).unwrap(), state());
        let mut zero = body;
        zero["magento_entity_id"] = json!(0);
        assert!(serde_json::from_value::<SyncState>(zero).is_err(), "Magento refuses a non-positive id");
    }
}

//! Bodies whose wire shape is unsettled (ping, payment methods) and the sync-state callback body.
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `/ping`. The shape may be an object or a positional list (spec open question 1), so it is read
/// leniently and never fails; a 200 is what proves the token works.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ping {
    pub ok: Option<bool>,
    pub tenant_id: Option<String>,
    pub server_time: Option<String>,
    pub raw: Value,
}

impl Ping {
    pub fn from_value(raw: Value) -> Self {
        let (ok, tenant, time) = match &raw {
            Value::Object(m) => (m.get("ok"), m.get("tenant_id"), m.get("server_time")),
            Value::Array(items) => (items.first(), items.get(1), items.get(2)),
            _ => (None, None, None),
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        Self { ok: ok.and_then(Value::as_bool), tenant_id: text(tenant), server_time: text(time), raw }
    }
}

/// One installed payment method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentMethod {
    pub code: String,
    pub label: Option<String>,
    pub is_active: Option<bool>,
}

/// `/payment-methods`, read from a list of objects, a list of `[code, label, is_active]` lists, or an object
/// keyed by code. Entries without a code are dropped; `raw` keeps the body as received.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaymentMethods {
    pub methods: Vec<PaymentMethod>,
    pub raw: Value,
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn method_from(code_hint: Option<&str>, v: &Value) -> Option<PaymentMethod> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let (code, label, active) = match v {
        Value::Object(m) => (text(m.get("code")), text(m.get("label")), m.get("is_active").and_then(as_bool)),
        Value::Array(items) => (text(items.first()), text(items.get(1)), items.get(2).and_then(as_bool)),
        Value::String(label) => (None, Some(label.clone()), None),
        _ => (None, None, None),
    };
    let code = code.or_else(|| code_hint.map(str::to_owned)).filter(|c| !c.is_empty())?;
    Some(PaymentMethod { code, label, is_active: active })
}

impl PaymentMethods {
    pub fn from_value(raw: Value) -> Self {
        let methods = match &raw {
            Value::Array(items) => items.iter().filter_map(|v| method_from(None, v)).collect(),
            Value::Object(m) => m.iter().filter_map(|(k, v)| method_from(Some(k), v)).collect(),
            _ => Vec::new(),
        };
        Self { methods, raw }
    }
}

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
    pub magento_entity_id: u64,
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
    #[error("magento_entity_id must be positive")]
    EntityId,
    #[error("provider must be 1 to 32 characters")]
    Provider,
    #[error("{0} is longer than 64 characters")]
    TooLong(&'static str),
}

impl SyncState {
    /// Checks Magento's limits before sending, so a bad body fails here rather than as a 400.
    pub fn validate(&self) -> Result<(), SyncStateError> {
        if self.magento_entity_id == 0 {
            return Err(SyncStateError::EntityId);
        }
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

    #[test]
    fn ping_reads_object_list_and_anything_else() {
        let p = Ping::from_value(json!({"ok": true, "tenant_id": "t1", "server_time": "2026-01-01T00:00:00+00:00"}));
        assert_eq!((p.ok, p.tenant_id.as_deref()), (Some(true), Some("t1")));
        let p = Ping::from_value(json!([true, "t1", "2026-01-01T00:00:00+00:00"]));
        assert_eq!((p.ok, p.tenant_id.as_deref()), (Some(true), Some("t1")));
        assert_eq!(p.server_time.as_deref(), Some("2026-01-01T00:00:00+00:00"));
        let p = Ping::from_value(json!([]));
        assert_eq!((p.ok, p.tenant_id), (None, None));
        assert_eq!(Ping::from_value(json!(true)).ok, None);
    }

    #[test]
    fn payment_methods_in_three_shapes() {
        let want = vec![
            PaymentMethod { code: "checkmo".into(), label: Some("Check / Money order".into()), is_active: Some(true) },
            PaymentMethod { code: "free".into(), label: None, is_active: Some(false) },
        ];
        let objects = json!([
            {"code": "checkmo", "label": "Check / Money order", "is_active": true},
            {"code": "free", "is_active": false},
            {"label": "no code, dropped"}
        ]);
        assert_eq!(PaymentMethods::from_value(objects).methods, want);
        let lists = json!([["checkmo", "Check / Money order", true], ["free", null, "0"]]);
        assert_eq!(PaymentMethods::from_value(lists).methods, want);
        let keyed = json!({"checkmo": {"label": "Check / Money order", "is_active": 1}, "free": {"is_active": 0}});
        assert_eq!(PaymentMethods::from_value(keyed).methods, want);
        assert!(PaymentMethods::from_value(json!(null)).methods.is_empty());
    }

    fn state() -> SyncState {
        SyncState {
            entity_type: SyncEntityType::Invoice,
            magento_entity_id: 42,
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
        assert_eq!(SyncState { magento_entity_id: 0, ..state() }.validate(), Err(SyncStateError::EntityId));
        assert_eq!(SyncState { provider: String::new(), ..state() }.validate(), Err(SyncStateError::Provider));
        assert_eq!(SyncState { provider: "p".repeat(33), ..state() }.validate(), Err(SyncStateError::Provider));
        let long = SyncState { error_code: Some("e".repeat(65)), ..state() };
        assert_eq!(long.validate(), Err(SyncStateError::TooLong("error_code")));
        assert!(SyncState { error_code: Some("e".repeat(64)), ..state() }.validate().is_ok());
    }
}

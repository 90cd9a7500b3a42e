//! Bodies whose wire shape is unsettled (ping, payment methods, spec open question 1), read leniently.
use serde::Serialize;
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
}

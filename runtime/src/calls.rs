//! What each typed call sends and how its answer reads: the bodies of add, update, get and
//! delete, their options, and the checks of their results. The client and the batch build
//! their requests here and through the entity's [`Route`](crate::api::Route), so a command
//! means the same in both.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;

/// Per-call options of [`Client::call_with`](crate::Client::call_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Whether repeating the call is harmless. `None` decides by the method name: `*.get`,
    /// `*.list`, `*.fields` and other `get*`/`list*` methods are reads, everything else a
    /// write, never retried after a failure whose outcome is unknown.
    pub idempotent: Option<bool>,
}

/// Parameters of [`Client::add_with`](crate::Client::add_with) and [`Batch::add_with`](crate::Batch::add_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddParams {
    /// `REGISTER_SONET_EVENT`: announce the new record in the activity stream (the portal's
    /// default is yes). `None` sends nothing.
    pub register_sonet_event: Option<bool>,
    /// The caller guarantees that creating the record twice is harmless (for example the
    /// portal deduplicates by a unique field), so an add whose outcome is unknown may be
    /// retried. Off by default: such an add fails with
    /// [`Error::OutcomeUnknown`].
    pub idempotent: bool,
}

/// Parameters of [`Client::update_with`](crate::Client::update_with) and
/// [`Batch::update_with`](crate::Batch::update_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateParams {
    /// `REGISTER_SONET_EVENT`: announce the change in the activity stream. `None` sends
    /// nothing.
    pub register_sonet_event: Option<bool>,
    /// `REGISTER_HISTORY_EVENT`: record the change in the record's history. `None` sends
    /// nothing.
    pub register_history_event: Option<bool>,
    /// The caller guarantees that applying the update twice is harmless (the same values, no
    /// automation that reacts to each change), so an update whose outcome is unknown may be
    /// retried. Off by default.
    pub idempotent: bool,
}

fn yes_no(v: bool) -> Value {
    Value::String(if v { "Y" } else { "N" }.to_owned())
}

impl AddParams {
    pub(crate) fn to_params(self) -> Option<Map<String, Value>> {
        let mut m = Map::new();
        if let Some(v) = self.register_sonet_event {
            m.insert("REGISTER_SONET_EVENT".into(), yes_no(v));
        }
        (!m.is_empty()).then_some(m)
    }
}

impl UpdateParams {
    pub(crate) fn to_params(self) -> Option<Map<String, Value>> {
        let mut m = Map::new();
        if let Some(v) = self.register_sonet_event {
            m.insert("REGISTER_SONET_EVENT".into(), yes_no(v));
        }
        if let Some(v) = self.register_history_event {
            m.insert("REGISTER_HISTORY_EVENT".into(), yes_no(v));
        }
        (!m.is_empty()).then_some(m)
    }
}

/// Whether a method only reads (decides [`CallOptions::idempotent`] when it is `None`).
pub(crate) fn is_read_method(method: &str) -> bool {
    let m = method.trim().to_ascii_lowercase();
    let m = m.strip_suffix(".json").unwrap_or(&m);
    let last = m.rsplit('.').next().unwrap_or("");
    matches!(last, "fields" | "current")
        || last.starts_with("get")
        || last.starts_with("list")
        || matches!(
            m,
            "profile" | "methods" | "scope" | "server.time" | "app.info"
        )
}

/// Serializes user parameters into a JSON object.
pub(crate) fn to_params(method: &str, params: impl Serialize) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(params) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!(
                "parameters must be a JSON object such as {{\"id\": 5}}, not {}",
                kind(&other)
            ),
            source: None,
        }),
        Err(e) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!("the parameters do not serialize to JSON: {e}"),
            source: Some(Arc::new(e)),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A payload serialized into the JSON object of its fields.
pub(crate) fn payload_object(
    method: &str,
    payload: &impl Serialize,
) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(payload) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!(
                "the payload must serialize to a JSON object of fields, not {}; this is a bug in the generated type",
                kind(&other)
            ),
            source: None,
        }),
        Err(e) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!("the payload does not serialize: {e}"),
            source: Some(Arc::new(e)),
        }),
    }
}

/// Update and delete answer `true`.
pub(crate) fn expect_true(method: &str, v: &Value) -> Result<(), Error> {
    match v {
        Value::Bool(true) => Ok(()),
        Value::String(s) if s == "1" || s.eq_ignore_ascii_case("true") => Ok(()),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(()),
        other => Err(Error::Decode {
            method: method.to_owned(),
            message: format!(
                "expected `true`, got {other}; the portal did not confirm the change, so read the record to see whether it changed"
            ),
            source: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_methods_are_recognized() {
        for m in [
            "crm.deal.get",
            "crm.deal.list",
            "crm.deal.fields",
            "CRM.DEAL.LIST.json",
            "crm.status.list",
            "user.current",
            "crm.item.getList",
            "profile",
        ] {
            assert!(is_read_method(m), "{m}");
        }
        for m in [
            "crm.deal.add",
            "crm.deal.update",
            "crm.deal.delete",
            "crm.deal.userfield.add",
        ] {
            assert!(!is_read_method(m), "{m}");
        }
    }

    #[test]
    fn params_encode_yes_no() {
        let p = UpdateParams {
            register_sonet_event: Some(false),
            register_history_event: Some(true),
            idempotent: false,
        };
        assert_eq!(
            Value::Object(p.to_params().unwrap()),
            serde_json::json!({"REGISTER_SONET_EVENT": "N", "REGISTER_HISTORY_EVENT": "Y"})
        );
        assert!(AddParams::default().to_params().is_none());
    }

    #[test]
    fn results_are_checked() {
        assert!(expect_true("m", &Value::Bool(true)).is_ok());
        let e = expect_true("m", &Value::Bool(false))
            .unwrap_err()
            .to_string();
        assert!(e.contains("read the record"), "{e}");
        assert!(
            !e.contains("snapshot"),
            "only decode failures of entities suggest one: {e}"
        );
        assert!(to_params("m", serde_json::json!([1])).is_err());
        assert!(to_params("m", Value::Null).unwrap().is_empty());
    }
}

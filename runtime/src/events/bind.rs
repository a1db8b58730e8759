//! Binding handlers: [`Client::events`], [`Events`], [`EventBinding`], [`BoundHandler`].

use serde_json::{Map, Value, json};

use super::kind::EventName;
use crate::calls::CallOptions;
use crate::client::Client;
use crate::error::{ApiErrorCode, Error};
use crate::transport::u64_of;

impl Client {
    /// The `event.*` methods: bind and unbind handlers, list them, drain offline events.
    ///
    /// They need application (OAuth) authorization: a portal refuses them for an inbound
    /// webhook (`WRONG_AUTH_TYPE`), which these calls report as [`Error::InvalidRequest`]
    /// saying so.
    pub fn events(&self) -> Events {
        Events {
            client: self.clone(),
        }
    }
}

/// The `event.*` methods of one client; see [`Client::events`].
#[derive(Debug, Clone)]
pub struct Events {
    pub(crate) client: Client,
}

/// A handler to bind or unbind: an online handler (a URL the portal POSTs each event to) or
/// an offline one (events wait in a queue for [`event.offline.get`](super::OfflineDrain)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBinding {
    event: EventName,
    handler: Option<String>,
    offline: bool,
    auth_type: Option<u64>,
    auth_connector: Option<String>,
}

impl EventBinding {
    /// An online handler: the portal POSTs `event` to `handler_url` as it happens (once: no
    /// retry if the handler does not answer).
    pub fn online(event: impl Into<EventName>, handler_url: impl Into<String>) -> EventBinding {
        EventBinding {
            event: event.into(),
            handler: Some(handler_url.into()),
            offline: false,
            auth_type: None,
            auth_connector: None,
        }
    }

    /// An offline handler: `event` goes to the application's queue, read with
    /// [`Events::offline`].
    pub fn offline(event: impl Into<EventName>) -> EventBinding {
        EventBinding {
            event: event.into(),
            handler: None,
            offline: true,
            auth_type: None,
            auth_connector: None,
        }
    }

    /// `auth_type`: the id of the user whose rights the handler's `auth` carries (0: the
    /// user who caused the event).
    pub fn auth_type(mut self, user_id: u64) -> EventBinding {
        self.auth_type = Some(user_id);
        self
    }

    /// `auth_connector` of an offline binding: its events go to the queue of this key, and
    /// a write that carries the same key ([`ClientBuilder::auth_connector`](crate::ClientBuilder::auth_connector))
    /// is not recorded there, so the application's own changes do not come back.
    pub fn auth_connector(mut self, key: impl Into<String>) -> EventBinding {
        self.auth_connector = Some(key.into());
        self
    }

    /// The event.
    pub fn event(&self) -> &EventName {
        &self.event
    }

    /// The handler URL (`None` for offline bindings).
    pub fn handler(&self) -> Option<&str> {
        self.handler.as_deref()
    }

    /// Whether it is an offline binding.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    fn params(&self, with_connector: bool) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("event".into(), json!(self.event.as_str()));
        if let Some(h) = &self.handler {
            p.insert("handler".into(), json!(h));
        }
        p.insert(
            "event_type".into(),
            json!(if self.offline { "offline" } else { "online" }),
        );
        if let Some(t) = self.auth_type {
            p.insert("auth_type".into(), json!(t));
        }
        if with_connector {
            if let Some(k) = &self.auth_connector {
                p.insert("auth_connector".into(), json!(k));
            }
        }
        p
    }
}

/// One binding as `event.get` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundHandler {
    /// The event (upper case).
    pub event: EventName,
    /// The handler URL (empty for offline bindings on some portals; `None` when absent).
    pub handler: Option<String>,
    /// `auth_type`: the user whose rights the handler's `auth` carries (0: the acting user).
    pub auth_type: Option<u64>,
    /// Whether it is an offline binding.
    pub offline: bool,
}

impl BoundHandler {
    fn from_value(v: &Value) -> Option<BoundHandler> {
        let event = v.get("event")?.as_str()?;
        let flag = |v: Option<&Value>| match v {
            Some(Value::Bool(b)) => *b,
            Some(other) => u64_of(other).is_some_and(|n| n != 0),
            None => false,
        };
        Some(BoundHandler {
            event: EventName::from(event),
            handler: v
                .get("handler")
                .and_then(Value::as_str)
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
            auth_type: v.get("auth_type").and_then(u64_of),
            offline: flag(v.get("offline")),
        })
    }
}

impl Events {
    /// `event.bind`: binds a handler; `true` when the portal accepted it. Binding the same
    /// handler twice keeps one binding.
    pub async fn bind(&self, binding: &EventBinding) -> Result<bool, Error> {
        let result = self.call("event.bind", binding.params(true), false).await?;
        Ok(truthy(&result))
    }

    /// `event.unbind`: removes the matching bindings; returns how many.
    pub async fn unbind(&self, binding: &EventBinding) -> Result<u64, Error> {
        let result = self
            .call("event.unbind", binding.params(false), false)
            .await?;
        result
            .get("count")
            .and_then(u64_of)
            .or_else(|| u64_of(&result))
            .ok_or_else(|| Error::Decode {
                method: "event.unbind".into(),
                message: format!(
                    "expected {{\"count\": N}}, got {}",
                    crate::error::snippet(result.to_string().as_bytes(), &|t| self.redact(t))
                ),
                source: None,
            })
    }

    /// `event.get`: the application's bindings.
    pub async fn get(&self) -> Result<Vec<BoundHandler>, Error> {
        let result = self.call("event.get", Map::new(), true).await?;
        let Value::Array(rows) = &result else {
            return Err(Error::Decode {
                method: "event.get".into(),
                message: "expected an array of bindings".into(),
                source: None,
            });
        };
        rows.iter()
            .map(|row| {
                BoundHandler::from_value(row).ok_or_else(|| Error::Decode {
                    method: "event.get".into(),
                    message: format!(
                        "a binding without an `event` name: {}",
                        crate::error::snippet(row.to_string().as_bytes(), &|t| self.redact(t))
                    ),
                    source: None,
                })
            })
            .collect()
    }

    fn redact(&self, text: &str) -> String {
        self.client.engine.redact(text)
    }

    /// Calls an `event.*` method, explaining `WRONG_AUTH_TYPE`.
    pub(crate) async fn call(
        &self,
        method: &str,
        params: Map<String, Value>,
        idempotent: bool,
    ) -> Result<Value, Error> {
        let options = CallOptions {
            idempotent: Some(idempotent),
        };
        match self.client.call_with(method, params, options).await {
            Ok(r) => Ok(r.result),
            Err(Error::Api(e)) if e.code == ApiErrorCode::Other("WRONG_AUTH_TYPE".into()) => {
                Err(Error::InvalidRequest {
                    method: method.to_owned(),
                    message: format!(
                        "the portal refused it for this authorization (WRONG_AUTH_TYPE \"{}\"): event.* methods need an OAuth application; an inbound webhook cannot bind handlers or read offline events. Build the client with Client::builder().oauth(tokens) from the application's install",
                        e.description
                    ),
                    source: None,
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// `true`, `1`, `"1"`, `"Y"`: the portal's ways of saying yes.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.trim(), "1" | "Y" | "y" | "true"),
        other => u64_of(other).is_some_and(|n| n != 0),
    }
}

//! One delivered event ([`Event`], [`EventAuth`]), why a body is refused ([`Rejection`]), and
//! [`parse`], which decodes a body without checking it.

use std::fmt;

use serde_json::{Map, Value};

use super::form;
use super::kind::EventKind;
use crate::transport::u64_of;

/// An event as a handler received it (`event`, `event_handler_id`, `data`, `ts`, `auth`).
/// Its `Debug` shows no token ([`EventAuth`] redacts them).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    name: String,
    kind: EventKind,
    handler_id: Option<u64>,
    timestamp: Option<i64>,
    auth: EventAuth,
    data: Value,
}

impl Event {
    /// The event's name as sent (`ONCRMDEALADD`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the event is about.
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// `event_handler_id`: the binding that delivered it.
    pub fn handler_id(&self) -> Option<u64> {
        self.handler_id
    }

    /// `ts`: when the portal sent it (Unix seconds).
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// `auth`: the portal and the application's token (and, for OAuth applications, tokens
    /// to call back with).
    pub fn auth(&self) -> &EventAuth {
        &self.auth
    }

    /// `data` (`{"FIELDS": {"ID": "6641"}}` for record events).
    pub fn data(&self) -> &Value {
        &self.data
    }
}

/// A secret string: its `Debug` is `***`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// The `auth` part of an event. Its `Debug` shows the portal but never a token.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventAuth {
    domain: Option<String>,
    client_endpoint: Option<String>,
    server_endpoint: Option<String>,
    member_id: Option<String>,
    application_token: Option<Secret>,
    access_token: Option<Secret>,
    refresh_token: Option<Secret>,
    expires_in: Option<u64>,
    scope: Option<String>,
    status: Option<String>,
}

impl EventAuth {
    fn from_value(auth: Option<&Value>) -> EventAuth {
        let text = |key: &str| {
            auth.and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let secret = |key: &str| text(key).filter(|s| !s.is_empty()).map(Secret);
        EventAuth {
            domain: text("domain"),
            client_endpoint: text("client_endpoint"),
            server_endpoint: text("server_endpoint"),
            member_id: text("member_id"),
            application_token: secret("application_token"),
            access_token: secret("access_token"),
            refresh_token: secret("refresh_token"),
            expires_in: auth.and_then(|a| a.get("expires_in")).and_then(u64_of),
            scope: text("scope"),
            status: text("status"),
        }
    }

    /// `auth[domain]`: the portal's host (`some-domain.bitrix24.com`).
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// `auth[client_endpoint]`: the portal's REST address (`https://.../rest/`).
    pub fn client_endpoint(&self) -> Option<&str> {
        self.client_endpoint.as_deref()
    }

    /// `auth[server_endpoint]`: the OAuth server's REST address.
    pub fn server_endpoint(&self) -> Option<&str> {
        self.server_endpoint.as_deref()
    }

    /// `auth[member_id]`: the portal's unique id.
    pub fn member_id(&self) -> Option<&str> {
        self.member_id.as_deref()
    }

    /// `auth[application_token]`: the application's token, to compare with the one stored
    /// at install (the [`Verifier`](super::Verifier) does). Secret: never log it.
    pub fn application_token(&self) -> Option<&str> {
        self.application_token.as_ref().map(|s| s.0.as_str())
    }

    /// `auth[access_token]` of an OAuth application's handler. Secret: never log it.
    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_ref().map(|s| s.0.as_str())
    }

    /// `auth[refresh_token]` of an OAuth application's handler. Secret: never log it.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_ref().map(|s| s.0.as_str())
    }

    /// `auth[expires_in]`: seconds the access token is valid.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }

    /// `auth[scope]` (`crm`).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// `auth[status]`: the application's status (`L` local, `F` free, ...).
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
}

/// Why an event body was refused. Its `Display` says what is wrong and never shows a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is not an event (not a form or JSON object, no `event`, ...).
    Malformed(String),
    /// The body has no `auth[application_token]`.
    MissingToken,
    /// `auth[application_token]` is not the application's token.
    WrongToken,
    /// The event comes from another portal than the one the verifier expects.
    ForeignPortal {
        /// The checked field: `member_id` or `domain`.
        field: &'static str,
        /// The expected value.
        expected: String,
        /// The value the body carried (empty when absent).
        found: String,
    },
    /// The body was already accepted, or its `ts` is older than the verifier's `max_age`.
    Replayed,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Malformed(why) => write!(f, "not a Bitrix24 event: {why}"),
            Rejection::MissingToken => f.write_str(
                "the event has no auth[application_token]; Bitrix24 sends it with every event, so the sender is not the portal",
            ),
            Rejection::WrongToken => f.write_str(
                "auth[application_token] does not match the application's token (stored at install from ONAPPINSTALL, or shown for an outgoing webhook); the sender is not your application's portal, or the Verifier has an old token",
            ),
            Rejection::ForeignPortal {
                field,
                expected,
                found,
            } => write!(
                f,
                "the event comes from another portal: auth[{field}] is `{found}`, expected `{expected}`"
            ),
            Rejection::Replayed => f.write_str(
                "the event was already accepted, or its ts is older than the verifier's max_age (a replay, or a clock far off)",
            ),
        }
    }
}

impl std::error::Error for Rejection {}

/// Decodes an event body (a PHP form, or a JSON object) without checking the token, the
/// portal or replays; use [`Verifier::verify`](super::Verifier::verify) for bodies from the
/// network. Never panics.
///
/// ```
/// use bitrix_runtime::events::{self, EventEntity, EventKind, RecordAction};
/// let body = b"event=ONCRMDEALADD&event_handler_id=185&data%5BFIELDS%5D%5BID%5D=6641&ts=1735374081";
/// let event = events::parse(body).unwrap();
/// assert_eq!(
///     event.kind(),
///     &EventKind::Record { entity: EventEntity::Deal, action: RecordAction::Add, id: 6641 }
/// );
/// ```
pub fn parse(body: &[u8]) -> Result<Event, Rejection> {
    let tree = form::decode(body).map_err(Rejection::Malformed)?;
    from_tree(tree)
}

fn from_tree(mut tree: Map<String, Value>) -> Result<Event, Rejection> {
    let name = match tree.get("event") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(_) => {
            return Err(Rejection::Malformed(
                "`event` is empty or not a string".into(),
            ));
        }
        None => {
            return Err(Rejection::Malformed(
                "no `event` parameter (the event's name)".into(),
            ));
        }
    };
    let data = tree.remove("data").unwrap_or(Value::Null);
    let timestamp = match tree.get("ts") {
        None => None,
        Some(v) => Some(
            u64_of(v)
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| Rejection::Malformed("`ts` is not a Unix time".into()))?,
        ),
    };
    Ok(Event {
        kind: EventKind::classify(&name, &data),
        handler_id: tree.get("event_handler_id").and_then(u64_of),
        timestamp,
        auth: EventAuth::from_value(tree.get("auth")),
        name,
        data,
    })
}

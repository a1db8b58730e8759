//! The application's event handlers and queues: `event.bind/unbind/get`, the
//! `event.offline.*` methods, and sending what a write fired (online to every bound handler,
//! offline into the queues).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::events::delivery::{Job, Tracker, Worker, form_encode};
use crate::events::names::{self, Fired};
use crate::events::offline::{GetRequest, Queues, Render};
use crate::rest::{Body, Output, array_param, param};
use crate::values::{as_list, php_intval, php_string};

/// How long one online delivery may take before it is given up.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows per page of `event.offline.list`.
const LIST_PAGE: usize = 50;

/// One bound handler.
#[derive(Clone, Debug, PartialEq)]
struct Binding {
    /// `event_handler_id`.
    id: u64,
    /// The canonical (upper case) name.
    event: String,
    /// The handler URL (`""` for offline bindings).
    handler: String,
    auth_type: u64,
    offline: bool,
    /// The offline queue it feeds (`auth_connector`).
    connector: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    bindings: Vec<Binding>,
    next_id: u64,
    /// One worker per handler URL, so one handler gets its events in order.
    workers: HashMap<String, Worker>,
    queues: Queues,
}

/// The OAuth application's side of a delivery's `auth` block, read when the event fires.
pub(crate) struct AppAuth {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub scope: String,
    pub domain: String,
    pub client_endpoint: String,
    pub server_endpoint: String,
    pub member_id: String,
}

impl fmt::Debug for AppAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppAuth")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("domain", &self.domain)
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

/// Who calls an `event.*` method, and how the portal shows times.
pub(crate) struct Context<'a> {
    /// An OAuth application (the methods refuse the incoming webhook).
    pub app: bool,
    /// The request's `auth_connector`.
    pub connector: Option<&'a str>,
    /// Renders unix seconds as the portal does.
    pub time: &'a dyn Fn(i64) -> String,
}

/// Every handler and queue of the portal's one OAuth application.
pub(crate) struct Hub {
    state: Mutex<State>,
    tracker: Arc<Tracker>,
    application_token: String,
    rng: Mutex<SmallRng>,
    /// Set at the first binding: until then writes skip the event hooks.
    any_binding: AtomicBool,
    timeout: Duration,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("application_token", &"<redacted>")
            .field("delivered", &self.tracker.attempted())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// The hub of a portal made from `seed` (the application token derives from it).
    pub(crate) fn new(seed: u64, timeout: Duration) -> Hub {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x0e7e_47a0_70ce_0001);
        let application_token = format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>());
        Hub {
            state: Mutex::new(State::default()),
            tracker: Arc::new(Tracker::default()),
            application_token,
            rng: Mutex::new(rng),
            any_binding: AtomicBool::new(false),
            timeout,
        }
    }

    /// The application token sent in `auth[application_token]`.
    pub(crate) fn application_token(&self) -> &str {
        &self.application_token
    }

    /// The delivery counters.
    pub(crate) fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Whether any handler was ever bound (writes fire nothing before).
    pub(crate) fn watching(&self) -> bool {
        self.any_binding.load(Ordering::SeqCst)
    }

    /// Whether this portal serves `method` here (`event.*`, `events`).
    pub(crate) fn serves(method: &str) -> bool {
        matches!(
            method,
            "event.bind"
                | "event.unbind"
                | "event.get"
                | "event.offline.get"
                | "event.offline.clear"
                | "event.offline.error"
                | "event.offline.list"
                | "events"
        )
    }

    /// Runs an `event.*` method (or `events`).
    pub(crate) fn call(
        &self,
        method: &str,
        params: &Map<String, Value>,
        ctx: &Context<'_>,
    ) -> Result<Output, ApiError> {
        if !ctx.app {
            return Err(ApiError::new(
                403,
                "WRONG_AUTH_TYPE",
                "Current authorization type is denied for this method",
            ));
        }
        let render = Render { time: ctx.time };
        match method {
            "events" => Ok(Output::plain(json!(names::all()))),
            "event.bind" => self.bind(params, ctx).map(|()| Output::write(json!(true))),
            "event.unbind" => {
                let n = self.unbind(params, ctx);
                Ok(Output::write(json!({ "count": n })))
            }
            "event.get" => {
                let st = self.state.lock().expect("events lock");
                let rows: Vec<Value> = st
                    .bindings
                    .iter()
                    .map(|b| {
                        json!({
                            "event": b.event,
                            "handler": b.handler,
                            "auth_type": b.auth_type.to_string(),
                            "offline": i32::from(b.offline),
                        })
                    })
                    .collect();
                let n = rows.len();
                Ok(Output::listed(Value::Array(rows), n))
            }
            "event.offline.get" => {
                let filter = array_param(params, "filter")?.unwrap_or_default();
                let order = array_param(params, "order")?.unwrap_or_default();
                let limit = param(params, "limit").map(php_intval).unwrap_or(50);
                let limit = if limit <= 0 { 50 } else { limit as usize };
                let clear = param(params, "clear").is_none_or(|v| php_intval(v) != 0);
                let error = param(params, "error").is_some_and(|v| php_intval(v) != 0);
                let process_id = param(params, "process_id")
                    .and_then(php_string)
                    .filter(|p| !p.is_empty());
                let req = GetRequest {
                    queue: ctx.connector,
                    filter: &filter,
                    order: &order,
                    limit,
                    clear,
                    process_id: process_id.as_deref(),
                    error,
                };
                let new_pid = || self.process_id();
                let got = self
                    .state
                    .lock()
                    .expect("events lock")
                    .queues
                    .get(&req, new_pid, render);
                Ok(Output::write(got))
            }
            "event.offline.clear" => {
                let pid = required_process_id(params)?;
                let ids: Vec<u64> = list_param(params, "id")
                    .iter()
                    .map(|v| php_intval(v).max(0) as u64)
                    .collect();
                let message_ids: Vec<String> = list_param(params, "message_id")
                    .iter()
                    .filter_map(|v| php_string(v))
                    .collect();
                let mut st = self.state.lock().expect("events lock");
                st.queues.clear(&pid, &ids, &message_ids);
                Ok(Output::write(json!(true)))
            }
            "event.offline.error" => {
                let pid = required_process_id(params)?;
                let message_ids: Vec<String> = list_param(params, "message_id")
                    .iter()
                    .filter_map(|v| php_string(v))
                    .collect();
                let mut st = self.state.lock().expect("events lock");
                st.queues.error(&pid, &message_ids);
                Ok(Output::write(json!(true)))
            }
            "event.offline.list" => {
                let filter = array_param(params, "filter")?.unwrap_or_default();
                let order = array_param(params, "order")?.unwrap_or_default();
                let start = param(params, "start").map(php_intval).unwrap_or(0).max(0) as usize;
                let start = (start / LIST_PAGE) * LIST_PAGE;
                let st = self.state.lock().expect("events lock");
                let (rows, total) =
                    st.queues
                        .list(ctx.connector, &filter, &order, start, LIST_PAGE, render);
                Ok(Output {
                    work: crate::config::Work {
                        returned: rows.len() as u64,
                        counted: total as u64,
                        ..Default::default()
                    },
                    result: Body::Json(Value::Array(rows)),
                    total: Some(total),
                    next: (start + LIST_PAGE < total).then_some(start + LIST_PAGE),
                    scanned: 0,
                })
            }
            _ => Err(ApiError::method_not_found()),
        }
    }

    /// A new 32-character process id.
    fn process_id(&self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = self.rng.lock().expect("events rng lock");
        (0..32)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    fn bind(&self, params: &Map<String, Value>, ctx: &Context<'_>) -> Result<(), ApiError> {
        let event = param(params, "event")
            .and_then(php_string)
            .map(|e| names::canonical(&e))
            .filter(|e| names::is_known(e))
            .ok_or_else(|| ApiError::new(400, "ERROR_EVENT_NOT_FOUND", "Event not found"))?;
        let offline = event_type_offline(params)?;
        let handler = if offline {
            String::new()
        } else {
            let handler = param(params, "handler")
                .and_then(php_string)
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "ERROR_ARGUMENT",
                        "Parameter 'handler' is required for an online event: pass the URL the portal should POST the event to (or event_type=offline)",
                    )
                })?;
            match url::Url::parse(&handler) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => {
                    return Err(ApiError::new(
                        400,
                        "WRONG_HANDLER_URL",
                        format!(
                            "Wrong handler URL '{handler}': pass an absolute http:// or https:// URL"
                        ),
                    ));
                }
            }
            handler
        };
        let auth_type = param(params, "auth_type")
            .map(php_intval)
            .unwrap_or(0)
            .max(0) as u64;
        let connector = offline
            .then(|| ctx.connector.filter(|c| !c.is_empty()).map(str::to_owned))
            .flatten();
        let mut st = self.state.lock().expect("events lock");
        let exists = st.bindings.iter().any(|b| {
            b.event == event
                && b.handler == handler
                && b.auth_type == auth_type
                && b.offline == offline
                && b.connector == connector
        });
        if !exists {
            st.next_id += 1;
            let id = st.next_id;
            if !offline && !st.workers.contains_key(&handler) {
                let worker = Worker::start(handler.clone(), self.tracker.clone(), self.timeout);
                st.workers.insert(handler.clone(), worker);
            }
            st.bindings.push(Binding {
                id,
                event,
                handler,
                auth_type,
                offline,
                connector,
            });
        }
        self.any_binding.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// `event.unbind`: every given parameter narrows what goes (`event_type` defaults to
    /// online); how many went.
    fn unbind(&self, params: &Map<String, Value>, ctx: &Context<'_>) -> usize {
        let event = param(params, "event")
            .and_then(php_string)
            .map(|e| names::canonical(&e))
            .filter(|e| !e.is_empty());
        let offline = event_type_offline(params).unwrap_or(false);
        let handler = param(params, "handler")
            .and_then(php_string)
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty());
        // An empty auth_type means 0 (handlers bound without one).
        let auth_type = param(params, "auth_type").map(|v| php_intval(v).max(0) as u64);
        let connector = ctx.connector.filter(|c| !c.is_empty());
        let mut st = self.state.lock().expect("events lock");
        let before = st.bindings.len();
        st.bindings.retain(|b| {
            let hit = b.offline == offline
                && event.as_ref().is_none_or(|e| *e == b.event)
                && (offline || handler.as_ref().is_none_or(|h| *h == b.handler))
                && auth_type.is_none_or(|a| a == b.auth_type)
                && (!offline || connector.is_none() || connector == b.connector.as_deref());
            !hit
        });
        before - st.bindings.len()
    }

    /// Sends what a write fired: an online delivery to each handler bound to the event, and a
    /// record in each offline queue bound to it, except the queue of the request's own
    /// `auth_connector`.
    pub(crate) fn fire(
        &self,
        fired: &[Fired],
        connector: Option<&str>,
        auth: impl FnOnce() -> AppAuth,
    ) {
        if fired.is_empty() {
            return;
        }
        let ts = chrono::Utc::now().timestamp();
        let mut auth = Some(auth);
        let mut app: Option<AppAuth> = None;
        let mut st = self.state.lock().expect("events lock");
        let State {
            bindings,
            workers,
            queues,
            ..
        } = &mut *st;
        for f in fired {
            let mut fed: Vec<Option<&str>> = Vec::new();
            for b in bindings.iter().filter(|b| b.event == f.name) {
                if b.offline {
                    let queue = b.connector.as_deref();
                    if (queue.is_some() && queue == connector) || fed.contains(&queue) {
                        continue;
                    }
                    fed.push(queue);
                    queues.push(queue, &f.name, &f.data, &f.object, ts);
                    continue;
                }
                let Some(worker) = workers.get(&b.handler) else {
                    continue;
                };
                if app.is_none() {
                    app = auth.take().map(|a| a());
                }
                let Some(a) = &app else { continue };
                let body = form_encode(&json!({
                    "event": f.name,
                    "event_handler_id": b.id,
                    "data": f.data,
                    "ts": ts,
                    "auth": {
                        "access_token": a.access_token,
                        "expires_in": a.expires_in,
                        "scope": a.scope,
                        "domain": a.domain,
                        "server_endpoint": a.server_endpoint,
                        "status": "L",
                        "client_endpoint": a.client_endpoint,
                        "member_id": a.member_id,
                        "refresh_token": a.refresh_token,
                        "application_token": self.application_token,
                    },
                }));
                worker.send(Job { body });
            }
        }
    }
}

/// `event_type`: `online` (the default) or `offline`, in any case.
fn event_type_offline(params: &Map<String, Value>) -> Result<bool, ApiError> {
    match param(params, "event_type")
        .and_then(php_string)
        .map(|t| t.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("online") => Ok(false),
        Some("offline") => Ok(true),
        Some(other) => Err(ApiError::new(
            400,
            "ERROR_ARGUMENT",
            format!("Unknown event_type '{other}': use online or offline"),
        )),
    }
}

fn required_process_id(params: &Map<String, Value>) -> Result<String, ApiError> {
    param(params, "process_id")
        .and_then(php_string)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            ApiError::new(
                400,
                "ERROR_ARGUMENT",
                "Parameter 'process_id' is required: pass the process_id event.offline.get returned with clear=0",
            )
        })
}

/// A list parameter given as a list, a PHP array or one value.
fn list_param<'a>(params: &'a Map<String, Value>, name: &str) -> Vec<&'a Value> {
    match param(params, name) {
        None => Vec::new(),
        Some(v @ (Value::Array(_) | Value::Object(_))) => as_list(v),
        Some(v) => vec![v],
    }
}

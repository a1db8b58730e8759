//! Draining offline events: [`OfflineDrain`] reserves records with `event.offline.get
//! clear=0`, hands each to an async handler, and clears it only after the handler succeeded.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::bind::Events;
use super::kind::EventKind;
use crate::error::Error;
use crate::transport::u64_of;

/// One record of the offline queue (`event.offline.get`'s `events`).
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineEvent {
    id: u64,
    message_id: String,
    name: String,
    kind: EventKind,
    timestamp: Option<String>,
    data: Value,
    additional: Value,
}

impl OfflineEvent {
    fn from_value(v: &Value) -> Result<OfflineEvent, String> {
        let id = v
            .get("ID")
            .and_then(u64_of)
            .ok_or("a record without a numeric ID")?;
        let name = v
            .get("EVENT_NAME")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("record {id} has no EVENT_NAME"))?
            .to_owned();
        let message_id = match v.get("MESSAGE_ID") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(format!("record {id} has no MESSAGE_ID")),
        };
        let data = v.get("EVENT_DATA").cloned().unwrap_or(Value::Null);
        Ok(OfflineEvent {
            id,
            kind: EventKind::classify(&name, &data),
            name,
            message_id,
            timestamp: v
                .get("TIMESTAMP_X")
                .and_then(Value::as_str)
                .map(str::to_owned),
            data,
            additional: v.get("EVENT_ADDITIONAL").cloned().unwrap_or(Value::Null),
        })
    }

    /// `ID`: the queue record.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `MESSAGE_ID`: the object's message (one per changed object while it waits).
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// `EVENT_NAME` as sent (`ONCRMDEALUPDATE`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the event is about.
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// `TIMESTAMP_X`: when the object last changed, as the portal writes it.
    pub fn timestamp(&self) -> Option<&str> {
        self.timestamp.as_deref()
    }

    /// `EVENT_DATA`: what an online handler gets as `data` (`{"FIELDS": {"ID": ..}}`).
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// `EVENT_ADDITIONAL` (the user who made the change, ...).
    pub fn additional(&self) -> &Value {
        &self.additional
    }
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Events handled: their handler returned `Ok` (a failed one counts in `failed`).
    pub delivered: u64,
    /// Events cleared from the queue after their handler succeeded.
    pub cleared: u64,
    /// Events whose handler failed (marked with `event.offline.error`).
    pub failed: u64,
}

impl DrainReport {
    fn add(&mut self, other: DrainReport) {
        self.delivered += other.delivered;
        self.cleared += other.cleared;
        self.failed += other.failed;
    }
}

/// Why a drain stopped.
#[derive(Debug)]
pub enum DrainError<E> {
    /// The handler failed on `event`. The event was marked with `event.offline.error` (a
    /// drain with [`OfflineDrain::errors`] reads such events again); the events after it stay
    /// reserved by the drain's process and come first when it runs again (or after a restart
    /// with [`OfflineDrain::resume`]).
    Handler {
        /// The event the handler failed on.
        event: Box<OfflineEvent>,
        /// The handler's error.
        error: E,
        /// What this run did before it stopped.
        report: DrainReport,
    },
    /// A call to the portal failed (reading, clearing or marking). Events handled but not
    /// yet cleared are delivered again by the next run.
    Portal {
        /// The error.
        error: Error,
        /// What this run did before it stopped.
        report: DrainReport,
    },
}

impl<E> DrainError<E> {
    /// What the run did before it stopped.
    pub fn report(&self) -> DrainReport {
        match self {
            DrainError::Handler { report, .. } | DrainError::Portal { report, .. } => *report,
        }
    }
}

impl<E: fmt::Display> fmt::Display for DrainError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrainError::Handler { event, error, .. } => write!(
                f,
                "the offline-event handler failed on {} (queue record {}, message {}): {error}; the event was marked with event.offline.error and the drain stopped (run it again to go on)",
                event.name, event.id, event.message_id
            ),
            DrainError::Portal { error, .. } => write!(f, "draining offline events: {error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for DrainError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DrainError::Handler { error, .. } => Some(error),
            DrainError::Portal { error, .. } => Some(error),
        }
    }
}

/// Drains the offline queue, losing nothing: see [`Events::offline`].
///
/// Each [`run_once`](OfflineDrain::run_once) reserves up to [`limit`](OfflineDrain::limit)
/// records (`event.offline.get clear=0`: hidden from other readers under a `process_id`),
/// hands them to the handler one by one, in order, and clears each (`event.offline.clear`
/// with its `ID`) only after its handler returned `Ok`.
///
/// **How often clears are sent**: by default after every successful event (one small
/// request each), so a crash re-delivers only the event whose handler was running. With
/// [`clear_every(n)`](OfflineDrain::clear_every) up to `n` successes are cleared in one
/// request (and before any stop): fewer requests, but a crash re-delivers up to `n` events
/// that had already succeeded. Handlers should be idempotent either way.
///
/// **Failures**: when the handler returns `Err`, the successes before it are cleared, the
/// event is marked with `event.offline.error` (and not handed out again unless a drain asks
/// for [`errors`](OfflineDrain::errors)), and the run stops with [`DrainError::Handler`].
///
/// **Restart**: records reserved and not cleared stay reserved by the process. Store
/// [`process_id`](OfflineDrain::process_id) after a run (it is set as soon as records are
/// reserved) and start the next drain with [`resume`](OfflineDrain::resume): its first read
/// returns the records still reserved, then new ones.
#[derive(Debug, Clone)]
pub struct OfflineDrain {
    events: Events,
    limit: u32,
    auth_connector: Option<String>,
    process_id: Option<String>,
    clear_every: usize,
    errors: bool,
    total: DrainReport,
}

impl Events {
    /// A drain of the offline queue (events of offline bindings); see [`OfflineDrain`].
    pub fn offline(&self) -> OfflineDrain {
        OfflineDrain {
            events: self.clone(),
            limit: 50,
            auth_connector: None,
            process_id: None,
            clear_every: 1,
            errors: false,
            total: DrainReport::default(),
        }
    }
}

impl OfflineDrain {
    /// Records reserved per read (50 by default, as the portal's own default).
    pub fn limit(mut self, limit: u32) -> OfflineDrain {
        self.limit = limit.max(1);
        self
    }

    /// Read the queue of this `auth_connector` key (the one the offline binding was made
    /// with). Without it the client's own key ([`ClientBuilder::auth_connector`](crate::ClientBuilder::auth_connector)),
    /// if any, is sent; with neither, the queue without a key is read.
    pub fn auth_connector(mut self, key: impl Into<String>) -> OfflineDrain {
        self.auth_connector = Some(key.into());
        self
    }

    /// Continue the process of an earlier drain (after a crash or restart): its records that
    /// are still reserved come first.
    pub fn resume(mut self, process_id: impl Into<String>) -> OfflineDrain {
        self.process_id = Some(process_id.into());
        self
    }

    /// Clear successes in groups of `n` (1 by default); see the [type documentation](OfflineDrain).
    pub fn clear_every(mut self, n: usize) -> OfflineDrain {
        self.clear_every = n.max(1);
        self
    }

    /// Read only the events marked with `event.offline.error` (`error=1`): to retry them
    /// once the handler is fixed.
    pub fn errors(mut self, errors: bool) -> OfflineDrain {
        self.errors = errors;
        self
    }

    /// The portal's `process_id` of this drain's reservations, once it has one: store it to
    /// [`resume`](OfflineDrain::resume) after a restart.
    pub fn process_id(&self) -> Option<&str> {
        self.process_id.as_deref()
    }

    /// What every run of this drain did so far.
    pub fn total(&self) -> DrainReport {
        self.total
    }

    /// Reserves one page of records and hands each to `handler`, in order; see the
    /// [type documentation](OfflineDrain). An empty queue gives an empty report.
    pub async fn run_once<F, Fut, E>(&mut self, handler: F) -> Result<DrainReport, DrainError<E>>
    where
        F: FnMut(OfflineEvent) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let mut report = DrainReport::default();
        let result = self.page(handler, &mut report).await;
        self.total.add(report);
        result.map(|()| report)
    }

    /// Runs [`run_once`](OfflineDrain::run_once) until it fails; after a page that was not
    /// full (the queue is drained) it waits `idle_wait` before reading again. Stop it by
    /// dropping the future (records in flight stay reserved: [`resume`](OfflineDrain::resume)).
    pub async fn run<F, Fut, E>(
        &mut self,
        mut handler: F,
        idle_wait: Duration,
    ) -> Result<Infallible, DrainError<E>>
    where
        F: FnMut(OfflineEvent) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        loop {
            let report = self.run_once(&mut handler).await?;
            if report.delivered + report.failed < u64::from(self.limit) {
                tokio::time::sleep(idle_wait).await;
            }
        }
    }

    async fn page<F, Fut, E>(
        &mut self,
        mut handler: F,
        report: &mut DrainReport,
    ) -> Result<(), DrainError<E>>
    where
        F: FnMut(OfflineEvent) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let portal = |error: Error, report: &DrainReport| DrainError::Portal {
            error,
            report: *report,
        };
        let records = self.reserve().await.map_err(|e| portal(e, report))?;
        let mut pending: Vec<u64> = Vec::new();
        for event in records {
            report.delivered += 1;
            match handler(event.clone()).await {
                Ok(()) => {
                    pending.push(event.id);
                    if pending.len() >= self.clear_every {
                        self.clear(&mut pending, report)
                            .await
                            .map_err(|e| portal(e, report))?;
                    }
                }
                Err(error) => {
                    report.delivered -= 1;
                    report.failed += 1;
                    self.clear(&mut pending, report)
                        .await
                        .map_err(|e| portal(e, report))?;
                    self.mark_error(&event)
                        .await
                        .map_err(|e| portal(e, report))?;
                    return Err(DrainError::Handler {
                        event: Box::new(event),
                        error,
                        report: *report,
                    });
                }
            }
        }
        self.clear(&mut pending, report)
            .await
            .map_err(|e| portal(e, report))
    }

    /// `event.offline.get clear=0`: reserves a page under the drain's process.
    async fn reserve(&mut self) -> Result<Vec<OfflineEvent>, Error> {
        let mut params = Map::new();
        params.insert("clear".into(), json!(0));
        params.insert("limit".into(), json!(self.limit));
        if self.errors {
            params.insert("error".into(), json!(1));
        }
        if let Some(p) = &self.process_id {
            params.insert("process_id".into(), json!(p));
        }
        if let Some(k) = &self.auth_connector {
            params.insert("auth_connector".into(), json!(k));
        }
        // Without a process id a repeated read would reserve records under a process id
        // that is lost with the answer: not retried after an unknown outcome.
        let idempotent = self.process_id.is_some();
        let result = self
            .events
            .call("event.offline.get", params, idempotent)
            .await?;
        let decode = |message: String| Error::Decode {
            method: "event.offline.get".into(),
            message,
            source: None,
        };
        match result.get("process_id") {
            Some(Value::String(p)) if !p.is_empty() => self.process_id = Some(p.clone()),
            Some(Value::Number(n)) => self.process_id = Some(n.to_string()),
            _ => {}
        }
        let rows = match result.get("events") {
            Some(Value::Array(rows)) => rows.as_slice(),
            None | Some(Value::Null) => &[],
            Some(_) => return Err(decode("`events` is not an array".into())),
        };
        if !rows.is_empty() && self.process_id.is_none() {
            return Err(decode(
                "records were reserved without a process_id, so they cannot be cleared".into(),
            ));
        }
        rows.iter()
            .map(|row| OfflineEvent::from_value(row).map_err(decode))
            .collect()
    }

    /// `event.offline.clear` of the records in `pending` (nothing when it is empty).
    async fn clear(&self, pending: &mut Vec<u64>, report: &mut DrainReport) -> Result<(), Error> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut params = self.process_params();
        params.insert("id".into(), json!(pending));
        // Clearing the same records twice is harmless: retried like a read.
        self.events
            .call("event.offline.clear", params, true)
            .await?;
        report.cleared += pending.len() as u64;
        pending.clear();
        Ok(())
    }

    /// `event.offline.error` of one event.
    async fn mark_error(&self, event: &OfflineEvent) -> Result<(), Error> {
        let mut params = self.process_params();
        params.insert("message_id".into(), json!([event.message_id]));
        self.events
            .call("event.offline.error", params, true)
            .await
            .map(drop)
    }

    fn process_params(&self) -> Map<String, Value> {
        let mut params = Map::new();
        params.insert(
            "process_id".into(),
            json!(self.process_id.as_deref().unwrap_or_default()),
        );
        if let Some(k) = &self.auth_connector {
            params.insert("auth_connector".into(), json!(k));
        }
        params
    }
}

//! Verified online events in a bounded queue ([`EventReceiver`], filled by the
//! [`axum` endpoint](super) or by your own server through [`channel`]), and the records they
//! name, re-read in batches ([`Records`], [`Change`]).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc;

use super::event::Event;
use super::kind::{EventEntity, EventKind, RecordAction};
use crate::client::Client;
use crate::entity::Entity;
use crate::error::Error;
use crate::projection::Projection;
use crate::transport::BATCH_SIZE;

/// The default capacity of the queue between an endpoint and its [`EventReceiver`].
pub const DEFAULT_CAPACITY: usize = 1024;

/// The default [`Records::linger`]: 50 ms.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(50);

/// The most events one window of [`Records::next`] collects (other events included).
const MAX_WINDOW: usize = 500;

/// A bounded queue of verified events: the sender for your HTTP server, the receiver for the
/// code that acts on them. A server should answer 503 when [`mpsc::Sender::try_send`] finds
/// the queue full (the portal does not retry, but it shows the failure in its log, and
/// nothing is dropped silently), as the `axum` endpoint does.
pub fn channel(capacity: usize) -> (mpsc::Sender<Event>, EventReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (tx, EventReceiver { rx })
}

/// The receiving end of verified events; see [`channel`].
pub struct EventReceiver {
    rx: mpsc::Receiver<Event>,
}

impl fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReceiver")
            .field("queued", &self.rx.len())
            .finish()
    }
}

impl EventReceiver {
    /// The next event; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is queued now.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// The changed records of `P`'s entity, re-read through `client` in batches (events carry
    /// only ids); see [`Records`].
    pub fn records<P: Projection>(self, client: &Client) -> Records<P> {
        Records {
            rx: self,
            client: client.clone(),
            entity: EventEntity::of::<P::Entity>(),
            linger: DEFAULT_LINGER,
            ready: VecDeque::new(),
            retry: Vec::new(),
        }
    }
}

/// What happened to one record, as [`Records`] yields it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<P: Projection> {
    /// The record was created or changed: its state when it was re-read.
    Upserted(P),
    /// The record was deleted (by a delete event, or it was gone when re-read).
    Deleted(<P::Entity as Entity>::Id),
    /// An event about something else (another entity, a user field, ...).
    Other(Box<Event>),
}

/// Changed records of one entity, from an [`EventReceiver`].
///
/// [`next`](Records::next) waits for an event, then collects more for
/// [`linger`](Records::linger) (or until 50 record ids, or 500 events): the ids of the entity's record and
/// move events are de-duplicated (several changes of a record in one window are one
/// re-read), read with one `batch` of gets ([`Projection`]: only its fields), and yielded as
/// [`Change::Upserted`], in the order the records first appeared; a delete event, or a
/// record gone when re-read, is [`Change::Deleted`]; every other event is [`Change::Other`].
pub struct Records<P: Projection> {
    rx: EventReceiver,
    client: Client,
    entity: EventEntity,
    linger: Duration,
    ready: VecDeque<Change<P>>,
    /// The events of a window whose re-read failed: the next call reads them again.
    retry: Vec<Event>,
}

impl<P: Projection> fmt::Debug for Records<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("entity", &self.entity)
            .field("linger", &self.linger)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl<P: Projection> Records<P> {
    /// How long to collect events after the first before re-reading ([`DEFAULT_LINGER`]).
    pub fn linger(mut self, linger: Duration) -> Records<P> {
        self.linger = linger;
        self
    }

    /// The next change; `None` when the receiver is closed and everything was yielded. A
    /// failed re-read (after the client's own retries) is an `Err`, and loses nothing: the
    /// next call reads that window's records again, with any events that arrived since.
    pub async fn next(&mut self) -> Option<Result<Change<P>, Error>> {
        if let Some(change) = self.ready.pop_front() {
            return Some(Ok(change));
        }
        let mut window = std::mem::take(&mut self.retry);
        if window.is_empty() {
            window.push(self.rx.recv().await?);
        }
        let deadline = tokio::time::Instant::now() + self.linger;
        while window.len() < MAX_WINDOW && self.record_ids(&window) < BATCH_SIZE {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(event)) => window.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        if let Err(e) = self.resolve(window.clone()).await {
            self.retry = window;
            return Some(Err(e));
        }
        self.ready.pop_front().map(Ok)
    }

    /// How many distinct records of the entity the window names.
    fn record_ids(&self, window: &[Event]) -> usize {
        let mut ids: Vec<u64> = window
            .iter()
            .filter_map(|e| self.own_record(e).map(|(id, _)| id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The id of a record event of this entity, and whether it says the record is gone.
    fn own_record(&self, event: &Event) -> Option<(u64, bool)> {
        match *event.kind() {
            EventKind::Record { entity, action, id } if entity == self.entity => {
                Some((id, action == RecordAction::Delete))
            }
            EventKind::MovedToCategory { entity, id, .. } if entity == self.entity => {
                Some((id, false))
            }
            _ => None,
        }
    }

    /// Turns a window of events into changes in `ready`.
    async fn resolve(&mut self, window: Vec<Event>) -> Result<(), Error> {
        // Per record, in the order of first appearance: whether the last event deleted it.
        let mut order: Vec<u64> = Vec::new();
        let mut deleted: HashMap<u64, bool> = HashMap::new();
        let mut slots: Vec<Slot> = Vec::new();
        for event in window {
            match self.own_record(&event) {
                Some((id, gone)) => {
                    if deleted.insert(id, gone).is_none() {
                        order.push(id);
                        slots.push(Slot::Record(id));
                    }
                }
                None => slots.push(Slot::Other(Box::new(event))),
            }
        }
        let to_read: Vec<u64> = order.iter().copied().filter(|id| !deleted[id]).collect();
        let mut read: HashMap<u64, Change<P>> = HashMap::new();
        if !to_read.is_empty() {
            let mut batch = self.client.batch();
            let handles: Vec<_> = to_read
                .iter()
                .map(|&id| (id, batch.get::<P>(id.into())))
                .collect();
            let results = batch.send().await?;
            for (id, handle) in handles {
                let change = match results.get(handle) {
                    Ok(row) => Change::Upserted(row),
                    Err(e) if e.is_not_found() => Change::Deleted(id.into()),
                    Err(e) => return Err(e),
                };
                read.insert(id, change);
            }
        }
        for slot in slots {
            self.ready.push_back(match slot {
                Slot::Other(event) => Change::Other(event),
                Slot::Record(id) => read
                    .remove(&id)
                    .unwrap_or_else(|| Change::Deleted(id.into())),
            });
        }
        Ok(())
    }
}

/// One place in a window's output.
enum Slot {
    Record(u64),
    Other(Box<Event>),
}

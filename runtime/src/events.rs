//! Bitrix24 events: decode and verify what the portal POSTs to a handler, bind handlers, and
//! drain the offline queue without losing or repeating events. No web framework is needed;
//! the `axum` feature adds a ready endpoint ([`axum::endpoint`]).
//!
//! - **Receiving** (online handlers): the portal POSTs a PHP form
//!   (`event=ONCRMDEALADD&data[FIELDS][ID]=6641&ts=..&auth[application_token]=..`).
//!   [`Verifier::verify`] decodes it into an [`Event`] with a typed [`EventKind`] and refuses
//!   forged, foreign and replayed bodies ([`Rejection`]); [`parse`] decodes without checks.
//!   Events carry only ids: [`EventReceiver::records`] re-reads the changed records in
//!   batches as typed [`Change`]s.
//! - **Binding**: [`Client::events`](crate::Client::events) gives [`Events`]:
//!   [`bind`](Events::bind), [`unbind`](Events::unbind), [`get`](Events::get) with
//!   [`EventBinding`] and typed [`EventName`]s. `event.*` methods need an OAuth application
//!   (a webhook client is refused with `WRONG_AUTH_TYPE`).
//! - **Offline events**: [`Events::offline`] gives an [`OfflineDrain`], which clears an
//!   event only after its handler succeeded and resumes a crashed drain's reservations.
//!   [`ClientBuilder::auth_connector`](crate::ClientBuilder::auth_connector) keeps the
//!   application's own writes out of its queue.
//!
//! ```
//! use bitrix_runtime::events::{EventEntity, EventKind, RecordAction, Verifier};
//!
//! let verifier = Verifier::new("51856fefc120afa4b628cc82d3935cce");
//! let ts = std::time::SystemTime::now()
//!     .duration_since(std::time::UNIX_EPOCH)
//!     .unwrap()
//!     .as_secs();
//! let body = format!(
//!     "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=6641&ts={ts}\
//!      &auth%5Bapplication_token%5D=51856fefc120afa4b628cc82d3935cce"
//! );
//! let event = verifier.verify(body.as_bytes()).unwrap();
//! assert_eq!(
//!     event.kind(),
//!     &EventKind::Record { entity: EventEntity::Deal, action: RecordAction::Update, id: 6641 }
//! );
//! // The same body again is a replay.
//! assert!(verifier.verify(body.as_bytes()).is_err());
//! ```

// Imports point one way: form <- event (decoding) <- verify; kind <- event; bind (the client
// side) <- offline; event, kind <- receiver <- axum.
mod bind;
mod event;
mod form;
mod kind;
mod offline;
mod receiver;
mod verify;

/// The axum endpoint (feature `axum`).
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

pub use bind::{BoundHandler, EventBinding, Events};
pub use event::{Event, EventAuth, Rejection, parse};
pub use kind::{EventEntity, EventKind, EventName, RecordAction, UserFieldAction, UserFieldOwner};
pub use offline::{DrainError, DrainReport, OfflineDrain, OfflineEvent};
pub use receiver::{Change, DEFAULT_CAPACITY, DEFAULT_LINGER, EventReceiver, Records, channel};
pub use verify::{DEFAULT_MAX_AGE, DEFAULT_MAX_REMEMBERED, Verifier};

#[cfg(test)]
mod tests;

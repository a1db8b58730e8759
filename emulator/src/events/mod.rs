//! Events (`event.bind`, `event.unbind`, `event.get`, `event.offline.*`): handlers of the
//! portal's OAuth application, online delivery to them after every CRM write, and the
//! offline queues. Written from `api-reference/events/` and the CRM event pages.
//!
//! - `names`: the known events and the names and data each change is sent with;
//! - `triggers`: which events a successful write fires;
//! - `offline`: the queues with their latest-state-per-object semantics;
//! - `delivery`: the form-encoded body and the per-handler worker that POSTs it;
//! - `hub`: the bindings, the `event.*` methods, and sending what fired.

pub(crate) mod delivery;
pub(crate) mod hub;
pub(crate) mod names;
pub(crate) mod offline;
pub(crate) mod triggers;

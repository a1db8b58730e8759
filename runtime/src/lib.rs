//! Runtime for per-portal typed Bitrix24 CRM clients: the traits generated code implements,
//! wire codecs for every field type, typed queries, and the HTTP [`Client`] (typed CRUD, list
//! queries and fast exports, batch, rate and operating-time limits, retries, webhook and OAuth
//! authentication).
//!
//! Types come from your portal's snapshot through [`bitrix_entity`]:
//!
//! ```
//! // The path is relative to the crate's Cargo.toml: here, this repository's demo portal.
//! #[bitrix_runtime::bitrix_entity(schema = "../schemas/demo/deal.json")]
//! pub struct Deal;
//!
//! let patch = DealPatch::new().title("Renamed").clear_comments();
//! assert_eq!(
//!     serde_json::to_value(&patch).unwrap(),
//!     serde_json::json!({"TITLE": "Renamed", "COMMENTS": ""})
//! );
//! ```
//!
//! See the repository README for the three ways to generate them (macro, `build.rs`, CLI).
//!
//! [`events`] decodes and verifies what the portal POSTs to event handlers, binds handlers
//! and drains the offline queue.
#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`): badges naming the feature each item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codec;
pub mod entity;
pub mod events;
pub mod patch;
pub mod pipeline;
pub mod projection;
pub mod query;
pub mod types;

// The HTTP client: private modules, every user-facing type re-exported below (one path each).
// Imports point one way: error, limits, php <- transport (the wire) <- retry (the policy) <-
// auth <- engine (the one request loop) <- list <- batch <- client (the facade); calls (the
// bodies of typed calls) needs only error, and api (the route of typed calls: crm.<entity>.*
// or crm.item.*, and every translation between them) needs calls, engine and transport; both
// serve list, batch and client.
mod api;
mod auth;
mod batch;
mod calls;
mod client;
mod engine;
mod error;
mod guard;
mod limits;
mod list;
mod php;
#[cfg(feature = "indicatif")]
mod progress_bar;
mod relations;
mod retry;
mod text;
mod transport;

pub use entity::{Api, CreatePayload, Entity, EntityField, FieldMeta, UpdatePayload};
pub use patch::Patch;
pub use projection::Projection;
pub use query::{Field, Filter, StandardCompany, StandardContact, StandardDeal, StandardLead};

// The HTTP client.
pub use auth::{InMemoryTokenStore, OAuthTokens, TokenStore};
pub use batch::{Batch, BatchResults, CommandResult, Handle};
pub use calls::{AddParams, CallOptions, UpdateParams};
pub use client::{Client, ClientBuilder, DEFAULT_READ_DEADLINE};
pub use error::{ApiError, ApiErrorCode, Cause, Error};
pub use limits::Plan;
pub use list::{
    ListQuery, ListStream, Order, Page, ParallelResumePoint, ParallelStream, Progress, ResumePoint,
};
#[cfg(feature = "indicatif")]
#[cfg_attr(docsrs, doc(cfg(feature = "indicatif")))]
pub use progress_bar::progress_bar;
pub use relations::{
    ContactBinding, Contacts, Discount, DiscountType, ProductRow, ProductRowFields, ProductRows,
};
pub use retry::RetryPolicy;
pub use transport::{DEFAULT_MAX_RESPONSE_SIZE, Response, TimeBlock};

/// Hooks for this crate's own benchmarks. Not a public API: it changes without notice.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench {
    pub use crate::transport::decode_ok_answer;
}

#[cfg(feature = "macros")]
pub use bitrix_macros::bitrix_entity;

/// Derives [`Projection`](trait@Projection) for a struct of selected fields; see the
/// [`projection`] module.
#[cfg(feature = "macros")]
pub use bitrix_macros::Projection;

/// The `reqwest` this crate uses, for [`ClientBuilder::http`].
pub use reqwest;

/// Items the generated code names. Not a public API: it changes without notice.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

// The compile-time guards of generated payloads, also named at the root (hidden) so that
// compile errors print `ReadOnly<DATE_CREATE>`, not `bitrix_runtime::__private::ReadOnly<..>`.
#[doc(hidden)]
pub use __private::{Immutable, Provided, ReadOnly, Set};

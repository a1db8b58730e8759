//! Runtime for per-portal typed Bitrix24 CRM clients: the traits generated code implements,
//! wire codecs for every field type, typed queries, and (later) the HTTP client.
#![deny(missing_docs)]

pub mod codec;
pub mod entity;
pub mod patch;
pub mod query;
pub mod types;

pub use entity::{CreatePayload, Entity, EntityField, FieldMeta, StandardDeal, UpdatePayload};
pub use patch::Patch;
pub use query::{Field, Filter};

#[cfg(feature = "macros")]
pub use bitrix_macros::bitrix_entity;

/// Items the generated code names. Not a public API: it changes without notice.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

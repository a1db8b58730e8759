//! Helpers for generated code. Not a public API: it changes without notice.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

pub use crate::codec::{Codec, DecodeSeed, Encode, EncodePatch};
pub use crate::entity::{Immutable, Provided, ReadOnly, Set};
pub use serde;
pub use serde_json;

/// A map key that borrows from the input when it can (no allocation per key).
#[derive(Debug)]
pub struct Key<'de>(pub Cow<'de, str>);

impl Key<'_> {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field code")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Looks up `code` in a table sorted by code (generated code keeps one per entity).
pub fn find_code<T: Copy>(sorted: &[(&str, T)], code: &str) -> Option<T> {
    sorted
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| sorted[i].1)
}

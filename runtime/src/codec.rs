//! Wire codecs: how each Bitrix field type is read from and written to JSON.
//!
//! Real portals are inconsistent (numbers as strings, booleans as `"1"`, `"Y"` or `true`,
//! empties as `""`, `null`, `false`, `[]` or `{}`), so every codec reads all the forms listed in
//! the project's `bitrix-facts.md` and writes the one form the server accepts. A codec is a
//! zero-sized type chosen by the generator per field; the Rust type it produces is
//! [`Codec::Value`].

use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::patch::Patch;

/// Reads and writes the values of one Bitrix field type.
pub trait Codec: 'static {
    /// The Rust type of one value.
    type Value: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static;

    /// Reads a value; every empty form yields `Ok(None)`.
    ///
    /// `field` is the Bitrix code, used in error messages
    /// (`invalid value: string "abc", expected an integer in field UF_CRM_5`).
    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<Self::Value>, D::Error>;

    /// Writes a value in the form `crm.*.add` / `crm.*.update` accept.
    fn encode<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error>;

    /// Writes the value that clears the field (`""`; `[]` for multiple fields).
    fn encode_empty<S: Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("")
    }
}

/// Decodes one field value with codec `C`, naming the field code in errors.
pub struct DecodeSeed<C> {
    field: &'static str,
    _codec: PhantomData<fn() -> C>,
}

impl<C> DecodeSeed<C> {
    /// A seed for the field with this Bitrix code.
    pub const fn new(field: &'static str) -> Self {
        DecodeSeed {
            field,
            _codec: PhantomData,
        }
    }
}

impl<'de, C: Codec> DeserializeSeed<'de> for DecodeSeed<C> {
    type Value = Option<C::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        C::decode(deserializer, self.field)
    }
}

/// Serializes a value with codec `C`.
pub struct Encode<'a, C: Codec> {
    value: &'a C::Value,
}

impl<'a, C: Codec> Encode<'a, C> {
    /// Wraps a value for serialization.
    pub fn new(value: &'a C::Value) -> Self {
        Encode { value }
    }
}

impl<C: Codec> Serialize for Encode<'_, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        C::encode(self.value, serializer)
    }
}

/// Serializes a touched [`Patch`] with codec `C` (an untouched one is never serialized).
pub struct EncodePatch<'a, C: Codec> {
    patch: &'a Patch<C::Value>,
}

impl<'a, C: Codec> EncodePatch<'a, C> {
    /// Wraps a patch entry for serialization.
    pub fn new(patch: &'a Patch<C::Value>) -> Self {
        EncodePatch { patch }
    }
}

impl<C: Codec> Serialize for EncodePatch<'_, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.patch {
            Patch::Set(v) => C::encode(v, serializer),
            Patch::Clear | Patch::Unset => C::encode_empty(serializer),
        }
    }
}

mod compound;
mod file;
mod form;
mod multi;
mod scalar;
mod time;

pub use compound::{Address, CrmLink, Money};
pub use file::{File, FileUpload};
pub use multi::{Json, Multi, NoFilter};
pub use scalar::{Boolean, Currency, Decimal, Enum, Id, Integer, Location, Status, Text, YesNo};
pub use time::{Date, DateTime};

//! Wire codecs: how each Bitrix field type is read from and written to JSON.
//!
//! Real portals are inconsistent (numbers as strings, booleans as `"1"`, `"Y"` or `true`,
//! empties as `""`, `null`, `false`, `[]` or `{}`), so every codec reads all the forms listed in
//! the project's `bitrix-facts.md` and writes the one form the server accepts. A codec is a
//! zero-sized type chosen by the generator per field; the Rust type it produces is
//! [`Codec::Value`].
//!
//! | codec | value | reads | writes | filters |
//! |---|---|---|---|---|
//! | [`Integer`] | `i64` | `"99"`, `99`, `" 99 "`, `99.0` | `99` | `=`, range |
//! | [`Id<T>`](Id) | [`DealId`](crate::types::DealId), [`UserId`](crate::types::UserId), ... | `"410"`, `410`; `0` is no link (except [`CategoryId`](crate::types::CategoryId)) | `410` | `=`, range |
//! | [`Text`] | `String` | any string, verbatim; numbers as text | string | `=`, range, LIKE |
//! | [`Decimal`] | [`rust_decimal::Decimal`] | `"1000000.00"` (exact), `1000000`, `0.1` (through `f64`) | `"1000000.00"` | `=`, range |
//! | [`YesNo`] | `bool` | `"Y"`/`"N"`, `"1"`/`"0"`, `true`/`false`, `1`/`0` | `"Y"`/`"N"` | `=` |
//! | [`Boolean`] | `bool` | as [`YesNo`] | `1`/`0` | `=` |
//! | [`Date`] | [`chrono::NaiveDate`] | `"2024-08-30"`, `"2024-08-30T02:00:00+02:00"` (UTC date), `"30.08.2024"` | `"2024-08-30"` | `=`, range |
//! | [`DateTime`] | `chrono::DateTime<FixedOffset>` | ISO 8601 (offset kept; none means UTC), `"30.08.2024 14:29:00"` | RFC 3339 | `=`, range |
//! | [`Status`], [`Currency`], [`Location`] | [`StatusId`](crate::types::StatusId), [`CurrencyId`](crate::types::CurrencyId), [`LocationId`](crate::types::LocationId) | string (status, location: or number) | string | `=` |
//! | [`Money`] | [`types::Money`](crate::types::Money) | `"300.50|USD"`, `"300"` (no currency) | `"300.50|USD"` | `=` |
//! | [`Address`] | [`types::Address`](crate::types::Address) | `"text|lat;lng|locationId"` | same | none |
//! | [`File`] | [`types::File`](crate::types::File) | `{"id": N, "showUrl": ..., "downloadUrl": ...}` | `{"id": N}` | none |
//! | [`FileUpload`] | [`types::FileUpload`](crate::types::FileUpload) | the write forms | `{"fileData": [name, base64]}`, `{"id": N}`, `{"id": N, "del": "Y"}` | none |
//! | [`CrmLink`] | [`types::CrmLink`](crate::types::CrmLink) | `"D_1"`, `"CO_3"`, `"T80_6"`, `"12"`, `12` | `"D_1"`, `12` | `=` |
//! | [`Enum<E>`](Enum) | a generated [`EnumValue`](crate::types::EnumValue) (enumeration items, stages, dictionaries, currencies) | `"81"`, `81` | `"81"` | `=` |
//! | [`Pipeline<C>`](Pipeline) | a generated [`Category`](crate::pipeline::Category) | as [`Id<CategoryId>`](Id) | `5` | `=` |
//! | [`Multifields<K>`](Multifields) | `Vec<`[`Multifield<K>`](crate::types::Multifield)`>` | `[{"ID": "12", "VALUE_TYPE": "WORK", "VALUE": "+7..."}]`, `[{"id": 12, "valueType": ..}]` | the same list | none |
//! | [`MultifieldWrites<K>`](MultifieldWrites) | [`MultifieldOps<K>`](crate::types::MultifieldOps) | the write forms | `[{"VALUE": .., "VALUE_TYPE": ..}, {"ID": 15, "VALUE": .., ..}, {"ID": 16, "VALUE": ""}]` | none |
//! | [`Json`] | [`serde_json::Value`] | anything | as is | none |
//! | [`Multi<C>`](Multi) | `Vec<C::Value>` | array, single value, `{"0": x}` | array | by element |
//! | [`NoFilter<C>`](NoFilter) | `C::Value` | as `C` | as `C` | none |
//!
//! Every empty form (`""`, `null`, `false`, `[]`, `{}`) reads as `None` (for [`YesNo`] and
//! [`Boolean`], `false` is a value; for [`Multi`] they are the empty list and only `null` is
//! `None`). Errors name the field and show the raw value:
//!
//! ```
//! use bitrix_runtime::codec::{DecodeSeed, Integer, Money};
//! use serde::de::DeserializeSeed;
//!
//! let money = DecodeSeed::<Money>::new("UF_CRM_5")
//!     .deserialize(&mut serde_json::Deserializer::from_str(r#""300.50|USD""#))?;
//! assert_eq!(money.unwrap().to_string(), "300.50|USD");
//!
//! let error = DecodeSeed::<Integer>::new("UF_CRM_7")
//!     .deserialize(&mut serde_json::Deserializer::from_str(r#""abc""#))
//!     .unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     r#"invalid value: string "abc", expected an integer (field UF_CRM_7) at line 1 column 5"#
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Filter capabilities are checked at compile time. Text takes LIKE filters:
//!
//! ```
//! fn likeable<C: bitrix_runtime::query::Likeable>() {}
//! likeable::<bitrix_runtime::codec::Text>();
//! ```
//!
//! A status field does not (the server silently turns LIKE into `=` there):
//!
//! ```compile_fail
//! fn likeable<C: bitrix_runtime::query::Likeable>() {}
//! likeable::<bitrix_runtime::codec::Status>();
//! ```
//!
//! `CONTACT_IDS` (`NoFilter<Multi<Id<ContactId>>>`) takes no filter at all, while its element
//! codec does:
//!
//! ```
//! use bitrix_runtime::codec::Id;
//! use bitrix_runtime::types::ContactId;
//! fn filterable<C: bitrix_runtime::query::Filterable>() {}
//! filterable::<Id<ContactId>>();
//! ```
//!
//! ```compile_fail
//! use bitrix_runtime::codec::{Id, Multi, NoFilter};
//! use bitrix_runtime::types::ContactId;
//! fn filterable<C: bitrix_runtime::query::Filterable>() {}
//! filterable::<NoFilter<Multi<Id<ContactId>>>>();
//! ```
//!
//! ```compile_fail
//! use bitrix_runtime::codec::{Id, NoFilter};
//! use bitrix_runtime::types::ContactId;
//! fn filterable<C: bitrix_runtime::query::Filterable>() {}
//! filterable::<NoFilter<Id<ContactId>>>();
//! ```
//!
//! Files, addresses and raw JSON take no filter either:
//!
//! ```compile_fail
//! fn filterable<C: bitrix_runtime::query::Filterable>() {}
//! filterable::<bitrix_runtime::codec::File>();
//! ```
//!
//! ```compile_fail
//! fn filterable<C: bitrix_runtime::query::Filterable>() {}
//! filterable::<bitrix_runtime::codec::Address>();
//! ```
//!
//! ```compile_fail
//! fn filterable<C: bitrix_runtime::query::Filterable>() {}
//! filterable::<bitrix_runtime::codec::Json>();
//! ```
//!
//! And a boolean has no order:
//!
//! ```compile_fail
//! fn ordered<C: bitrix_runtime::query::Ordered>() {}
//! ordered::<bitrix_runtime::codec::YesNo>();
//! ```

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

pub(crate) use crate::text::trim;

/// Filters with `=`, `!=`, `@` (in) and `!@` (not in) are meaningful for this codec's values.
#[diagnostic::on_unimplemented(
    message = "fields read with `{Self}` cannot be filtered",
    label = "the portal ignores a filter on this field",
    note = "CONTACT_IDS, files, addresses and fields of unknown types cannot be filtered; filter on another field"
)]
pub trait Filterable: Codec {}

/// Range filters (`>`, `>=`, `<`, `<=`) are meaningful for this codec's values.
#[diagnostic::on_unimplemented(
    message = "fields read with `{Self}` have no order: range filters (`>`, `>=`, `<`, `<=`) do not apply",
    label = "no range filter on this field",
    note = "range filters apply to numbers, ids, dates, datetimes and text; use `eq`/`ne`/`one_of` here"
)]
pub trait Ordered: Filterable {}

/// LIKE filters (`%`, `=%`) work on this codec's values.
#[diagnostic::on_unimplemented(
    message = "LIKE filters (`contains`, `like`) do not work on fields read with `{Self}`",
    label = "the portal would silently turn this LIKE into `=`",
    note = "the portal supports LIKE only on text fields; on crm_status, crm_contact and crm_company fields it compares for equality instead; use `eq` or `one_of`"
)]
pub trait Likeable: Filterable {}

mod compound;
mod file;
mod form;
mod multi;
mod multifield;
mod pipeline;
mod scalar;
mod time;

pub use compound::{Address, CrmLink, Money};
pub use file::{File, FileUpload};
pub use multi::{Json, Multi, NoFilter};
pub use multifield::{MultifieldWrites, Multifields};
pub use pipeline::Pipeline;
pub use scalar::{Boolean, Currency, Decimal, Enum, Id, Integer, Location, Status, Text, YesNo};
pub use time::{Date, DateTime};

#[cfg(test)]
mod tests {
    #[test]
    fn fast_trim_equals_str_trim() {
        let texts = [
            "",
            " ",
            "99",
            " 99 ",
            "\u{b}99\u{b}",
            "\u{c}99",
            "99\r\n",
            "\u{a0}99",
            "99\u{85}",
            "\u{3000}Поле\u{2003}",
            "Поле",
            "a",
            "\t",
            "x\u{b}",
            "\u{b}",
        ];
        for t in texts {
            assert_eq!(super::trim(t), t.trim(), "{t:?}");
        }
    }
}

//! Numbers, ids, text, flags and reference ids.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Expected, Unexpected};
use serde::ser::Serializer;

use super::Codec;
use super::form::{Form, article, decode_form, stack_text};
use super::{Filterable, Likeable, Ordered};
use crate::types::{CurrencyId, EnumValue, IdType, LocationId, StatusId};

/// `2^63` as `f64`: integral floats in `[-2^63, 2^63)` fit in `i64`.
const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;
/// `2^64` as `f64`: integral floats in `[0, 2^64)` fit in `u64`.
const U64_BOUND: f64 = 18_446_744_073_709_551_616.0;

/// An integral text with a zero fraction (`"99.0"`, `"-5.00"`), as `i64`.
fn integral_decimal_text(t: &str) -> Option<i64> {
    let (int, frac) = t.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    let digits = int.strip_prefix(['-', '+']).unwrap_or(int);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    int.parse().ok()
}

/// Only ASCII digits (no sign, no blanks): `u64::from_str` would also accept `"+5"`.
/// One pass over the digits; `None` on overflow, as `u64::from_str`.
fn plain_u64(t: &str) -> Option<u64> {
    if t.is_empty() {
        return None;
    }
    t.bytes().try_fold(0u64, |n, b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

// ---------------------------------------------------------------------------------------------

/// `integer` fields and user fields: `i64`.
///
/// Reads `"99"`, `99`, `" 99 "` (trimmed), and integral floats or texts (`99.0`, `"99.00"`);
/// a fraction (`99.5`) is an error, never truncated. Writes a JSON number.
#[derive(Debug, Clone, Copy, Default)]
pub struct Integer;

impl Form for Integer {
    type Out = i64;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<i64>, E> {
        let t = crate::codec::trim(v);
        if t.is_empty() {
            return Ok(None);
        }
        match t.parse::<i64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => match integral_decimal_text(t) {
                Some(n) => Ok(Some(n)),
                None => Err(E::invalid_value(Unexpected::Str(v), exp)),
            },
        }
    }

    fn from_u64<E: de::Error>(v: u64, exp: &dyn Expected) -> Result<Option<i64>, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), exp))
    }

    fn from_i64<E: de::Error>(v: i64, _exp: &dyn Expected) -> Result<Option<i64>, E> {
        Ok(Some(v))
    }

    fn from_f64<E: de::Error>(v: f64, exp: &dyn Expected) -> Result<Option<i64>, E> {
        if v.is_finite() && v.fract() == 0.0 && (-I64_BOUND..I64_BOUND).contains(&v) {
            Ok(Some(v as i64))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), exp))
        }
    }
}

impl Codec for Integer {
    type Value = i64;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<i64>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(*value)
    }
}

impl Filterable for Integer {}
impl Ordered for Integer {}

// ---------------------------------------------------------------------------------------------

/// Links to records (`user`, `crm_company`, `crm_contact`, `crm_lead`, `crm_quote`,
/// `crm_category`, `crm_entity`, `employee`, `iblock_*` and the `ID` field): the typed id `T`.
///
/// Reads `"410"`, `410` (and integral floats); `"0"` / `0` means "no link" and decodes to
/// `None`, except for [`CategoryId`](crate::types::CategoryId) where 0 is the default pipeline
/// (see [`IdType::ZERO_MEANS_NONE`]). Writes a JSON number.
pub struct Id<T>(PhantomData<fn() -> T>);

impl<T: IdType> Id<T> {
    fn from_id<E: de::Error>(v: u64) -> Result<Option<T>, E> {
        if v == 0 && T::ZERO_MEANS_NONE {
            Ok(None)
        } else {
            Ok(Some(T::from(v)))
        }
    }
}

impl<T: IdType> Form for Id<T> {
    type Out = T;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} id (a non-negative integer)",
            article(T::KIND),
            T::KIND
        )
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<T>, E> {
        let t = crate::codec::trim(v);
        if t.is_empty() {
            return Ok(None);
        }
        match plain_u64(t) {
            Some(n) => Self::from_id(n),
            None => Err(E::invalid_value(Unexpected::Str(v), exp)),
        }
    }

    fn from_u64<E: de::Error>(v: u64, _exp: &dyn Expected) -> Result<Option<T>, E> {
        Self::from_id(v)
    }

    fn from_i64<E: de::Error>(v: i64, exp: &dyn Expected) -> Result<Option<T>, E> {
        match u64::try_from(v) {
            Ok(n) => Self::from_id(n),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), exp)),
        }
    }

    fn from_f64<E: de::Error>(v: f64, exp: &dyn Expected) -> Result<Option<T>, E> {
        if v.is_finite() && v.fract() == 0.0 && (0.0..U64_BOUND).contains(&v) {
            Self::from_id(v as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), exp))
        }
    }
}

impl<T: IdType> Codec for Id<T> {
    type Value = T;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<T>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64((*value).into())
    }
}

impl<T: IdType> Filterable for Id<T> {}
impl<T: IdType> Ordered for Id<T> {}

// ---------------------------------------------------------------------------------------------

/// `string` and `url` fields: `String`, kept verbatim.
///
/// Trailing newlines, blanks, BB-code and HTML stay as stored (JSON escapes such as `\/` are
/// already undone by the JSON parser). A number is read as its text (`99` -> `"99"`). Only the
/// empty forms decode to `None`; `" "` is a value. Writes a JSON string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Form for Text {
    type Out = String;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn from_str<E: de::Error>(v: &str, _exp: &dyn Expected) -> Result<Option<String>, E> {
        Ok(Some(v.to_owned()))
    }

    fn from_string<E: de::Error>(v: String, _exp: &dyn Expected) -> Result<Option<String>, E> {
        Ok(Some(v))
    }

    fn from_u64<E: de::Error>(v: u64, _exp: &dyn Expected) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn from_i64<E: de::Error>(v: i64, _exp: &dyn Expected) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn from_f64<E: de::Error>(v: f64, _exp: &dyn Expected) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
}

impl Codec for Text {
    type Value = String;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<String>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &String, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }
}

impl Filterable for Text {}
impl Ordered for Text {}
impl Likeable for Text {}

// ---------------------------------------------------------------------------------------------

/// `double` fields and user fields: [`rust_decimal::Decimal`].
///
/// Strings (`"1000000.00"`, the form `get`/`list` use) are parsed exactly and keep their scale;
/// scientific texts (`"1e3"`) are accepted. JSON numbers arrive from the JSON parser as `i64`,
/// `u64` or `f64`: integers are exact, and a float (`0.1`) is converted through its shortest
/// round-trip text, so `0.1` reads as exactly `0.1`, but its scale is not kept (`1.50` reads as
/// `1.5`) and digits beyond `f64` precision are lost. Values beyond 28 significant digits are
/// rounded. Writes a JSON string with the decimal's text (`"1000000.00"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Decimal;

impl Form for Decimal {
    type Out = rust_decimal::Decimal;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number")
    }

    fn from_str<E: de::Error>(
        v: &str,
        exp: &dyn Expected,
    ) -> Result<Option<rust_decimal::Decimal>, E> {
        let t = crate::codec::trim(v);
        if t.is_empty() {
            return Ok(None);
        }
        // `Decimal::from_str` also accepts `_` separators; the portal never writes them.
        let plain = t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
        let parsed = if plain {
            rust_decimal::Decimal::from_str(t).ok()
        } else if t.bytes().any(|b| b == b'e' || b == b'E')
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        {
            rust_decimal::Decimal::from_scientific(t).ok()
        } else {
            None
        };
        parsed
            .map(Some)
            .ok_or_else(|| E::invalid_value(Unexpected::Str(v), exp))
    }

    fn from_u64<E: de::Error>(
        v: u64,
        _exp: &dyn Expected,
    ) -> Result<Option<rust_decimal::Decimal>, E> {
        Ok(Some(rust_decimal::Decimal::from(v)))
    }

    fn from_i64<E: de::Error>(
        v: i64,
        _exp: &dyn Expected,
    ) -> Result<Option<rust_decimal::Decimal>, E> {
        Ok(Some(rust_decimal::Decimal::from(v)))
    }

    fn from_f64<E: de::Error>(
        v: f64,
        exp: &dyn Expected,
    ) -> Result<Option<rust_decimal::Decimal>, E> {
        // `f64`'s `Display` is the shortest text that reads back as the same float, which is
        // the JSON text for every number a portal writes. Longer texts (tiny magnitudes such
        // as 1e-40) fall back to rust_decimal's rounding conversion.
        stack_text::<64>(v)
            .and_then(|text| rust_decimal::Decimal::from_str(text.as_str()).ok())
            .or_else(|| rust_decimal::prelude::FromPrimitive::from_f64(v))
            .map(Some)
            .ok_or_else(|| E::invalid_value(Unexpected::Float(v), exp))
    }
}

impl Codec for Decimal {
    type Value = rust_decimal::Decimal;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<rust_decimal::Decimal>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(
        value: &rust_decimal::Decimal,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }
}

impl Filterable for Decimal {}
impl Ordered for Decimal {}

// ---------------------------------------------------------------------------------------------

/// The boolean forms portals send: `"Y"`/`"N"`, `"1"`/`"0"`, `true`/`false`, `1`/`0`,
/// `"true"`/`"false"`, `"yes"`/`"no"` (case-insensitive, blanks trimmed).
struct Flag;

impl Form for Flag {
    type Out = bool;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a yes/no flag (\"Y\"/\"N\", \"1\"/\"0\", true/false)")
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<bool>, E> {
        let t = crate::codec::trim(v);
        if t.is_empty() {
            return Ok(None);
        }
        // The forms portals send nearly always, without the case-insensitive comparisons.
        match t.as_bytes() {
            [b'Y' | b'y' | b'1'] => return Ok(Some(true)),
            [b'N' | b'n' | b'0'] => return Ok(Some(false)),
            _ => {}
        }
        const YES: [&str; 4] = ["Y", "1", "TRUE", "YES"];
        const NO: [&str; 4] = ["N", "0", "FALSE", "NO"];
        if YES.iter().any(|y| t.eq_ignore_ascii_case(y)) {
            Ok(Some(true))
        } else if NO.iter().any(|n| t.eq_ignore_ascii_case(n)) {
            Ok(Some(false))
        } else {
            Err(E::invalid_value(Unexpected::Str(v), exp))
        }
    }

    fn from_u64<E: de::Error>(v: u64, exp: &dyn Expected) -> Result<Option<bool>, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(Unexpected::Unsigned(v), exp)),
        }
    }

    fn from_i64<E: de::Error>(v: i64, exp: &dyn Expected) -> Result<Option<bool>, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(Unexpected::Signed(v), exp)),
        }
    }

    fn from_f64<E: de::Error>(v: f64, exp: &dyn Expected) -> Result<Option<bool>, E> {
        if v == 0.0 {
            Ok(Some(false))
        } else if v == 1.0 {
            Ok(Some(true))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), exp))
        }
    }

    fn from_bool<E: de::Error>(v: bool, _exp: &dyn Expected) -> Result<Option<bool>, E> {
        Ok(Some(v))
    }
}

/// `char` fields of the standard set (`OPENED`, `CLOSED`, `IS_NEW`, ...): `bool`.
///
/// Reads `"Y"`/`"N"`, `"1"`/`"0"`, `true`/`false`, `1`/`0` (case-insensitive); `false` is
/// `Some(false)` here, not an empty marker. Writes `"Y"` / `"N"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct YesNo;

impl Codec for YesNo {
    type Value = bool;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<bool>, D::Error> {
        decode_form::<Flag, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if *value { "Y" } else { "N" })
    }
}

impl Filterable for YesNo {}

/// `boolean` user fields: `bool`.
///
/// Reads the same forms as [`YesNo`]. Writes JSON `1` / `0`: the server casts the value with
/// PHP rules, where the string `"N"` is truthy, and boolean filters need `1` / `0`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Boolean;

impl Codec for Boolean {
    type Value = bool;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<bool>, D::Error> {
        decode_form::<Flag, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(u8::from(*value))
    }
}

impl Filterable for Boolean {}

// ---------------------------------------------------------------------------------------------

/// Reference ids that are text on the wire (status, currency and location codes).
macro_rules! reference_codec {
    (
        $(#[$doc:meta])*
        $name:ident => $ty:ident, $expecting:literal, numbers: $numbers:literal
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Form for $name {
            type Out = $ty;

            fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($expecting)
            }

            fn from_str<E: de::Error>(v: &str, _exp: &dyn Expected) -> Result<Option<$ty>, E> {
                let t = crate::codec::trim(v);
                Ok((!t.is_empty()).then(|| $ty(t.to_owned())))
            }

            fn from_string<E: de::Error>(v: String, _exp: &dyn Expected) -> Result<Option<$ty>, E> {
                let t = crate::codec::trim(&v);
                if t.len() == v.len() {
                    Ok(Some($ty(v)))
                } else {
                    Ok((!t.is_empty()).then(|| $ty(t.to_owned())))
                }
            }

            fn from_u64<E: de::Error>(v: u64, exp: &dyn Expected) -> Result<Option<$ty>, E> {
                if $numbers {
                    Ok(Some($ty(v.to_string())))
                } else {
                    Err(E::invalid_type(Unexpected::Unsigned(v), exp))
                }
            }
        }

        impl Codec for $name {
            type Value = $ty;

            fn decode<'de, D: Deserializer<'de>>(
                deserializer: D,
                field: &'static str,
            ) -> Result<Option<$ty>, D::Error> {
                decode_form::<Self, D>(deserializer, field)
            }

            fn encode<S: Serializer>(value: &$ty, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(value.as_str())
            }
        }

        impl Filterable for $name {}
    };
}

reference_codec! {
    /// `crm_status` fields (`STAGE_ID`, `TYPE_ID`, `SOURCE_ID`, ...): [`StatusId`].
    ///
    /// Reads a string (trimmed) or a number (as its text). Writes a string. LIKE filters are
    /// not offered: the server silently turns them into `=` on these fields.
    Status => StatusId, "a status id (string)", numbers: true
}

reference_codec! {
    /// `crm_currency` fields (`CURRENCY_ID`): [`CurrencyId`]. Reads and writes a string.
    Currency => CurrencyId, "a currency code such as \"EUR\"", numbers: false
}

reference_codec! {
    /// `location` fields (`LOCATION_ID`): [`LocationId`]. Reads a string or a number; writes a
    /// string.
    Location => LocationId, "a location id (string or number)", numbers: true
}

// ---------------------------------------------------------------------------------------------

/// `enumeration` user fields: the generated enum `E`.
///
/// Reads the item id as a string (`"81"`) or a number (`81`); an id unknown to the snapshot
/// becomes `E`'s fallback variant. Writes the id as a string.
pub struct Enum<E>(PhantomData<fn() -> E>);

impl<T: EnumValue> Form for Enum<T> {
    type Out = T;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enumeration item id (such as \"81\")")
    }

    fn from_str<E: de::Error>(v: &str, _exp: &dyn Expected) -> Result<Option<T>, E> {
        let t = crate::codec::trim(v);
        Ok((!t.is_empty()).then(|| T::from_id(t)))
    }

    fn from_u64<E: de::Error>(v: u64, exp: &dyn Expected) -> Result<Option<T>, E> {
        match stack_text::<24>(v) {
            Some(text) => Ok(Some(T::from_id(text.as_str()))),
            None => Err(E::invalid_value(Unexpected::Unsigned(v), exp)),
        }
    }
}

impl<T: EnumValue> Codec for Enum<T> {
    type Value = T;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<T>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.id())
    }
}

impl<T: EnumValue> Filterable for Enum<T> {}

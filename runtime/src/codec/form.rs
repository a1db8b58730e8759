//! The visitor every scalar codec shares: empty forms, error messages, raw values.
//!
//! A codec describes how it reads each JSON shape by implementing [`Form`]; [`FormVisitor`]
//! turns `deserialize_any` callbacks into those calls, handles the empty forms (`null`, `""`,
//! `false`, `[]`, `{}`) in one place and writes the codec's expectation plus the field code into
//! serde's errors (`invalid value: string "abc", expected an integer (field UF_CRM_5)`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, Deserializer, Expected, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};

/// How one codec reads each JSON shape. Defaults reject the shape with an `invalid type` error.
pub(crate) trait Form {
    /// The decoded value.
    type Out;

    /// What the codec expects, such as `an integer`.
    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// A non-empty string (`""` never reaches this).
    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<Self::Out>, E>;

    /// A non-empty owned string; override to keep the allocation.
    fn from_string<E: de::Error>(v: String, exp: &dyn Expected) -> Result<Option<Self::Out>, E> {
        Self::from_str(&v, exp)
    }

    /// A non-negative JSON integer.
    fn from_u64<E: de::Error>(v: u64, exp: &dyn Expected) -> Result<Option<Self::Out>, E> {
        Err(E::invalid_type(Unexpected::Unsigned(v), exp))
    }

    /// A JSON integer; non-negative ones go to [`Form::from_u64`].
    fn from_i64<E: de::Error>(v: i64, exp: &dyn Expected) -> Result<Option<Self::Out>, E> {
        match u64::try_from(v) {
            Ok(u) => Self::from_u64(u, exp),
            Err(_) => Err(E::invalid_type(Unexpected::Signed(v), exp)),
        }
    }

    /// A JSON number with a fraction or exponent.
    fn from_f64<E: de::Error>(v: f64, exp: &dyn Expected) -> Result<Option<Self::Out>, E> {
        Err(E::invalid_type(Unexpected::Float(v), exp))
    }

    /// `true` / `false`; `false` is an empty marker for every codec but the boolean ones.
    fn from_bool<E: de::Error>(v: bool, exp: &dyn Expected) -> Result<Option<Self::Out>, E> {
        if v {
            Err(E::invalid_type(Unexpected::Bool(v), exp))
        } else {
            Ok(None)
        }
    }

    /// A JSON object; `{}` is empty, anything else is rejected unless overridden. `field` is
    /// the Bitrix code, for errors about the object's parts.
    fn from_map<'de, A: MapAccess<'de>>(
        map: A,
        field: &'static str,
        exp: &dyn Expected,
    ) -> Result<Option<Self::Out>, A::Error> {
        let _ = field;
        empty_map_or_error(map, exp)
    }
}

/// Decodes one value with form `F`.
pub(crate) fn decode_form<'de, F: Form, D: Deserializer<'de>>(
    deserializer: D,
    field: &'static str,
) -> Result<Option<F::Out>, D::Error> {
    deserializer.deserialize_any(FormVisitor::<F> {
        field,
        _form: PhantomData,
    })
}

/// The `deserialize_any` visitor of form `F` for one field.
pub(crate) struct FormVisitor<F> {
    field: &'static str,
    _form: PhantomData<fn() -> F>,
}

impl<'de, F: Form> Visitor<'de> for FormVisitor<F> {
    type Value = Option<F::Out>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        F::expecting(f)?;
        write!(f, " (field {})", self.field)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        F::from_bool(v, &self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        F::from_i64(v, &self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        F::from_u64(v, &self)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(v), _) => F::from_i64(v, &self),
            (_, Ok(v)) => F::from_u64(v, &self),
            _ => Err(E::invalid_value(
                Unexpected::Other("a 128-bit integer"),
                &self,
            )),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => F::from_u64(v, &self),
            Err(_) => Err(E::invalid_value(
                Unexpected::Other("a 128-bit integer"),
                &self,
            )),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        F::from_f64(v, &self)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            Ok(None)
        } else {
            F::from_str(v, &self)
        }
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        if v.is_empty() {
            Ok(None)
        } else {
            F::from_string(v, &self)
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        empty_seq_or_error(seq, &self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        F::from_map(map, self.field, &self)
    }
}

/// At most this many characters of an array or object are quoted in an error.
const RAW_LIMIT: usize = 200;
/// At most this many elements or entries of an array or object are kept for an error.
const RAW_ITEMS: usize = 16;

/// Shows a JSON value in an error message, shortened.
fn raw(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(RAW_LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// `[]` is empty (`Ok(None)`); a non-empty array is an error that shows the array.
///
/// The elements are read into `serde_json::Value` only on this error path.
pub(crate) fn empty_seq_or_error<'de, A: SeqAccess<'de>, T>(
    mut seq: A,
    exp: &dyn Expected,
) -> Result<Option<T>, A::Error> {
    let Some(first) = seq.next_element::<serde_json::Value>()? else {
        return Ok(None);
    };
    let mut items = vec![first];
    let mut more = false;
    while items.len() < RAW_ITEMS {
        match seq.next_element::<serde_json::Value>()? {
            Some(v) => items.push(v),
            None => break,
        }
    }
    while seq.next_element::<IgnoredAny>()?.is_some() {
        more = true;
    }
    let shown = raw(&serde_json::Value::Array(items));
    let ellipsis = if more { " (shortened)" } else { "" };
    Err(de::Error::custom(format_args!(
        "invalid type: array {shown}{ellipsis}, expected {exp}; if the field was made multiple \
         on the portal, refresh the snapshot (`bitrix-codegen snapshot`) and regenerate"
    )))
}

/// `{}` is empty (`Ok(None)`); a non-empty object is an error that shows the object.
pub(crate) fn empty_map_or_error<'de, A: MapAccess<'de>, T>(
    mut map: A,
    exp: &dyn Expected,
) -> Result<Option<T>, A::Error> {
    let Some(key) = map.next_key::<String>()? else {
        return Ok(None);
    };
    let mut object = serde_json::Map::new();
    object.insert(key, map.next_value::<serde_json::Value>()?);
    let mut more = false;
    while let Some(key) = map.next_key::<String>()? {
        if object.len() < RAW_ITEMS {
            object.insert(key, map.next_value::<serde_json::Value>()?);
        } else {
            map.next_value::<IgnoredAny>()?;
            more = true;
        }
    }
    let shown = raw(&serde_json::Value::Object(object));
    let ellipsis = if more { " (shortened)" } else { "" };
    Err(de::Error::custom(format_args!(
        "invalid type: object {shown}{ellipsis}, expected {exp}"
    )))
}

/// A small stack buffer for formatting numbers without allocating.
pub(crate) struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    pub(crate) fn new() -> Self {
        StackText {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so the buffer is valid UTF-8; the fallback is
        // unreachable but keeps this free of panics and `unsafe`.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dest = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Formats a value's `Display` on the stack; `None` when it does not fit in `N` bytes.
pub(crate) fn stack_text<const N: usize>(value: impl fmt::Display) -> Option<StackText<N>> {
    use fmt::Write as _;
    let mut text = StackText::<N>::new();
    write!(text, "{value}").ok()?;
    Some(text)
}

/// `"a"` or `"an"` before a word, for messages built from kinds ("an iblock element id").
pub(crate) fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'A' | b'E' | b'I' | b'O') => "an",
        _ => "a",
    }
}

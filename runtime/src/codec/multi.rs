//! Multiple fields, filter-less wrappers and raw JSON.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{
    BoolDeserializer, BorrowedStrDeserializer, F64Deserializer, I64Deserializer,
    MapAccessDeserializer, StrDeserializer, StringDeserializer, U64Deserializer,
};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::{Codec, DecodeSeed, Encode};

/// Multiple fields (`isMultiple`): a `Vec` of element codec `C`'s values.
///
/// Reads a JSON array of `C`'s forms, skipping elements that decode to `None`. Tolerates a
/// single value (one-element vec) and PHP's list-as-object form `{"0": x, "1": y}` (values in
/// numeric key order). `""`, `false`, `[]` and `{}` are the empty list `Some(vec![])`; `null`
/// is `None`. Writes a JSON array; clearing writes `[]`.
///
/// Filters on a multiple field use the element codec, so `Multi` itself has no filter
/// capability.
pub struct Multi<C>(PhantomData<fn() -> C>);

impl<C: Codec> Codec for Multi<C> {
    type Value = Vec<C::Value>;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<Vec<C::Value>>, D::Error> {
        deserializer.deserialize_any(MultiVisitor::<C> {
            field,
            _codec: PhantomData,
        })
    }

    fn encode<S: Serializer>(value: &Vec<C::Value>, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(value.len()))?;
        for element in value {
            seq.serialize_element(&Encode::<C>::new(element))?;
        }
        seq.end()
    }

    fn encode_empty<S: Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_seq(Some(0))?.end()
    }
}

struct MultiVisitor<C> {
    field: &'static str,
    _codec: PhantomData<fn() -> C>,
}

impl<C: Codec> MultiVisitor<C> {
    /// A single value where a list was expected: decode it with `C` as a one-element list.
    fn single<'de, D: Deserializer<'de>>(
        &self,
        deserializer: D,
    ) -> Result<Option<Vec<C::Value>>, D::Error> {
        Ok(Some(
            C::decode(deserializer, self.field)?.into_iter().collect(),
        ))
    }
}

impl<'de, C: Codec> Visitor<'de> for MultiVisitor<C> {
    type Value = Option<Vec<C::Value>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of values (field {})", self.field)
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

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        if v {
            self.single(BoolDeserializer::<E>::new(v))
        } else {
            Ok(Some(Vec::new()))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.single(I64Deserializer::<E>::new(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.single(U64Deserializer::<E>::new(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.single(F64Deserializer::<E>::new(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            Ok(Some(Vec::new()))
        } else {
            self.single(StrDeserializer::<E>::new(v))
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        if v.is_empty() {
            Ok(Some(Vec::new()))
        } else {
            self.single(BorrowedStrDeserializer::<E>::new(v))
        }
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        if v.is_empty() {
            Ok(Some(Vec::new()))
        } else {
            self.single(StringDeserializer::<E>::new(v))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(element) = seq.next_element_seed(DecodeSeed::<C>::new(self.field))? {
            values.extend(element);
        }
        Ok(Some(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(first) = map.next_key_seed(KeyText)? else {
            return Ok(Some(Vec::new()));
        };
        let Some(first_index) = index(&first) else {
            // An object that is one value (a file), not PHP's list-as-object.
            let replay = Replay {
                first: Some(first),
                inner: map,
            };
            return self.single(MapAccessDeserializer::new(replay));
        };
        let mut entries = Vec::new();
        if let Some(v) = map.next_value_seed(DecodeSeed::<C>::new(self.field))? {
            entries.push((first_index, v));
        }
        while let Some(key) = map.next_key_seed(KeyText)? {
            let Some(i) = index(&key) else {
                return Err(de::Error::custom(format_args!(
                    "invalid value: object with numeric keys and the key {key:?}, expected a list \
                     as an array or as an object with keys \"0\", \"1\", ... (field {})",
                    self.field
                )));
            };
            if let Some(v) = map.next_value_seed(DecodeSeed::<C>::new(self.field))? {
                entries.push((i, v));
            }
        }
        entries.sort_by_key(|(i, _)| *i);
        Ok(Some(entries.into_iter().map(|(_, v)| v).collect()))
    }
}

/// The position a PHP list-as-object key stands for (`"0"`, `"1"`, ...).
fn index(key: &str) -> Option<u64> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

/// An object key, borrowed from the input when possible.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// A map whose first key was already read: hands that key out again, then the rest.
struct Replay<'de, A> {
    first: Option<Cow<'de, str>>,
    inner: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(Cow::Borrowed(key)) => seed
                .deserialize(BorrowedStrDeserializer::<A::Error>::new(key))
                .map(Some),
            Some(Cow::Owned(key)) => seed
                .deserialize(StringDeserializer::<A::Error>::new(key))
                .map(Some),
            None => self.inner.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner
            .size_hint()
            .map(|n| n + usize::from(self.first.is_some()))
    }
}

// ---------------------------------------------------------------------------------------------

/// Codec `C` without filter capabilities: for fields the portal cannot filter (`CONTACT_IDS`).
///
/// Reads and writes exactly like `C`.
pub struct NoFilter<C>(PhantomData<fn() -> C>);

impl<C: Codec> Codec for NoFilter<C> {
    type Value = C::Value;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<C::Value>, D::Error> {
        C::decode(deserializer, field)
    }

    fn encode<S: Serializer>(value: &C::Value, serializer: S) -> Result<S::Ok, S::Error> {
        C::encode(value, serializer)
    }

    fn encode_empty<S: Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
        C::encode_empty(serializer)
    }
}

/// Field types the generator does not know (app-defined `rest_*`, `resourcebooking`, ...):
/// the raw [`serde_json::Value`].
///
/// Reads anything and never fails on JSON input; only `null` is empty, since the emptiness of
/// an unknown type is unknown (`""` reads as `Some(Value::String(""))`). Writes the value as
/// is; clearing writes `""`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Codec for Json {
    type Value = serde_json::Value;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        _field: &'static str,
    ) -> Result<Option<serde_json::Value>, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok((!value.is_null()).then_some(value))
    }

    fn encode<S: Serializer>(value: &serde_json::Value, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
}

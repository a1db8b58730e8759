//! Multifields (`crm_multifield`): [`Multifields`] reads the stored values,
//! [`MultifieldWrites`] writes typed operations.

use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Unexpected};
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use super::Codec;
use crate::types::{Multifield, MultifieldKind, MultifieldOp, MultifieldOps};

/// A multifield as `get`/`list` return it (`PHONE`, `EMAIL`, `WEB`, `IM`, `LINK`, `fm`):
/// `Vec<`[`types::Multifield<K>`](crate::types::Multifield)`>`, already a list (never wrapped
/// in [`Multi`](super::Multi)).
///
/// Reads the legacy entries `{"ID": "12", "VALUE_TYPE": "WORK", "VALUE": "+7...", "TYPE_ID":
/// "PHONE"}` and the `crm.item.*` ones `{"id": 12, "valueType": "WORK", "value": "+7...",
/// "typeId": "PHONE"}` (ids as numbers or strings), in a list or a PHP list-as-object
/// (`{"0": {..}}`, `{"15": {..}}`). Value types the runtime does not know are kept
/// ([`PhoneType::Custom`](crate::types::PhoneType::Custom), ...). `""`, `false`, `[]` and `{}`
/// are the empty list; `null` is `None`. Writes the legacy list (`ID`, `VALUE_TYPE`, `VALUE`,
/// and `TYPE_ID` when known). Written on add/update with [`MultifieldWrites`].
pub struct Multifields<K>(PhantomData<fn() -> K>);

/// Typed writes of a multifield on add/update: [`types::MultifieldOps<K>`](crate::types::MultifieldOps)
/// (see there for the wire forms and what is refused). Clearing a multifield is refused: it
/// needs the ids of the stored values (use [`MultifieldOps::delete`]).
pub struct MultifieldWrites<K>(PhantomData<fn() -> K>);

/// The entries of a multifield value, or `None` for `null`.
fn entries(value: Value) -> Result<Option<Vec<Value>>, Unexpected<'static>> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(false) => Vec::new(),
        Value::String(s) if crate::codec::trim(&s).is_empty() => Vec::new(),
        Value::Array(list) => list,
        Value::Object(map) if is_entry(&map) => vec![Value::Object(map)],
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        Value::Bool(true) => return Err(Unexpected::Bool(true)),
        Value::Number(_) => return Err(Unexpected::Other("a number")),
        Value::String(_) => return Err(Unexpected::Other("a string")),
    }))
}

fn is_entry(map: &serde_json::Map<String, Value>) -> bool {
    ["VALUE", "value", "VALUE_TYPE", "valueType", "ID", "id"]
        .iter()
        .any(|k| map.contains_key(*k))
}

/// The text of an entry's key in either spelling; numbers as their text.
fn text(map: &serde_json::Map<String, Value>, legacy: &str, item: &str) -> Option<String> {
    match map.get(legacy).or_else(|| map.get(item))? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "Y" } else { "N" }.to_owned()),
        _ => None,
    }
}

/// One entry's parts: id (`None`: absent or empty), type id, value type, value (`None`:
/// absent).
type Parts = (Option<u64>, Option<String>, String, Option<String>);

fn parts<E: de::Error>(entry: Value, field: &'static str) -> Result<Parts, E> {
    let Value::Object(map) = entry else {
        return Err(E::invalid_type(
            Unexpected::Other("a non-object entry"),
            &format!("multifield entries {{\"ID\", \"VALUE_TYPE\", \"VALUE\"}} (field {field})")
                .as_str(),
        ));
    };
    let id = match text(&map, "ID", "id") {
        None => None,
        Some(t) if crate::codec::trim(&t).is_empty() => None,
        Some(t) => Some(crate::codec::trim(&t).parse::<u64>().map_err(|_| {
            E::invalid_value(
                Unexpected::Str(&t),
                &format!("a multifield value id (field {field})").as_str(),
            )
        })?),
    };
    let type_id = text(&map, "TYPE_ID", "typeId").filter(|t| !t.is_empty());
    let value_type = text(&map, "VALUE_TYPE", "valueType").unwrap_or_default();
    let value = text(&map, "VALUE", "value");
    Ok((id, type_id, value_type, value))
}

/// The parts of every entry of a multifield value, or `None` for `null`.
fn read<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &'static str,
) -> Result<Option<Vec<Parts>>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let list = entries(value).map_err(|unexpected| {
        de::Error::invalid_type(
            unexpected,
            &format!("a list of multifield entries (field {field})").as_str(),
        )
    })?;
    list.map(|list| {
        list.into_iter()
            .map(|entry| parts::<D::Error>(entry, field))
            .collect()
    })
    .transpose()
}

impl<K: MultifieldKind> Codec for Multifields<K> {
    type Value = Vec<Multifield<K>>;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<Self::Value>, D::Error> {
        Ok(read(deserializer, field)?.map(|list| {
            list.into_iter()
                .map(|(id, type_id, value_type, value)| Multifield {
                    id,
                    value_type: K::from_wire(type_id.as_deref(), &value_type),
                    value: value.unwrap_or_default(),
                })
                .collect()
        }))
    }

    fn encode<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(value.len()))?;
        for m in value {
            seq.serialize_element(&LegacyEntry {
                id: m.id,
                kind: Some(&m.value_type),
                value: &m.value,
            })?;
        }
        seq.end()
    }

    fn encode_empty<S: Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_seq(Some(0))?.end()
    }
}

/// `{"ID": .., "VALUE_TYPE": .., "VALUE": .., "TYPE_ID": ..}`, leaving out what is absent.
struct LegacyEntry<'a, K> {
    id: Option<u64>,
    kind: Option<&'a K>,
    value: &'a str,
}

impl<K: MultifieldKind> serde::Serialize for LegacyEntry<'_, K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(id) = self.id {
            map.serialize_entry("ID", &id)?;
        }
        if let Some(kind) = self.kind {
            map.serialize_entry("VALUE_TYPE", kind.value_type())?;
        }
        map.serialize_entry("VALUE", self.value)?;
        if let (Some(kind), None) = (self.kind, K::TYPE_ID) {
            if let Some(type_id) = kind.type_id() {
                map.serialize_entry("TYPE_ID", type_id)?;
            }
        }
        map.end()
    }
}

impl<K: MultifieldKind> Codec for MultifieldWrites<K> {
    type Value = MultifieldOps<K>;

    /// Reads the write forms back: an entry with an id and an empty value is a delete, one
    /// with an id a change, one without an add.
    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<Self::Value>, D::Error> {
        let Some(list) = read(deserializer, field)? else {
            return Ok(None);
        };
        let mut ops = MultifieldOps::new();
        for (id, type_id, value_type, value) in list {
            let kind = K::from_wire(type_id.as_deref(), &value_type);
            let value = value.unwrap_or_default();
            ops = match id {
                Some(id) if crate::codec::trim(&value).is_empty() => ops.delete(id),
                Some(id) => ops.change(id, kind, value),
                None => ops.add(kind, value),
            };
        }
        // What cannot be written back is not a write (the same rules as `encode`).
        ops.check().map_err(|why| {
            de::Error::invalid_value(
                Unexpected::Other("multifield writes"),
                &format!("writes the portal accepts (field {field}): {why}").as_str(),
            )
        })?;
        Ok(Some(ops))
    }

    fn encode<S: Serializer>(ops: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        ops.check().map_err(S::Error::custom)?;
        let mut seq = serializer.serialize_seq(Some(ops.ops().len()))?;
        for op in ops.ops() {
            let entry = match op {
                MultifieldOp::Add { value_type, value } => LegacyEntry {
                    id: None,
                    kind: Some(value_type),
                    value,
                },
                MultifieldOp::Change {
                    id,
                    value_type,
                    value,
                } => LegacyEntry {
                    id: Some(*id),
                    kind: Some(value_type),
                    value,
                },
                MultifieldOp::Delete { id } => LegacyEntry {
                    id: Some(*id),
                    kind: None,
                    value: "",
                },
            };
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }

    fn encode_empty<S: Serializer>(_serializer: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(
            "a multifield cannot be cleared without the ids of its stored values: delete each with MultifieldOps::delete(id)",
        ))
    }
}

impl<K: MultifieldKind> crate::__private::Uploads for Multifields<K> {
    type Upload = MultifieldWrites<K>;
}

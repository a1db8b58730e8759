//! `file` user fields: reading stored files and writing uploads.

use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::de::{
    self, DeserializeSeed, Deserializer, Expected, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::ser::{Serialize, SerializeMap, SerializeTuple, Serializer};

use super::form::{Form, decode_form};
use super::{Codec, DecodeSeed, Id, Text, YesNo};
use crate::types::{self, FileId};

/// Standard base64, with or without padding.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The keys a file object may have.
enum Key {
    Id,
    ShowUrl,
    DownloadUrl,
    FileData,
    Del,
    Other,
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a file object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(if v.eq_ignore_ascii_case("id") {
            Key::Id
        } else if v.eq_ignore_ascii_case("showUrl") || v == "url" {
            // `url` is crm.item.*'s link on the portal.
            Key::ShowUrl
        } else if v.eq_ignore_ascii_case("downloadUrl") || v == "urlMachine" {
            // `urlMachine` is crm.item.*'s direct link for applications.
            Key::DownloadUrl
        } else if v.eq_ignore_ascii_case("fileData") {
            Key::FileData
        } else if v.eq_ignore_ascii_case("del") {
            Key::Del
        } else {
            Key::Other
        })
    }

    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Key, E> {
        Ok(Key::Other)
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Key, E> {
        Ok(Key::Other)
    }
}

/// `fileData: [name, base64 content]`.
struct FileDataSeed {
    field: &'static str,
}

impl<'de> DeserializeSeed<'de> for FileDataSeed {
    type Value = (String, Vec<u8>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FileDataSeed {
    type Value = (String, Vec<u8>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"fileData\" as [file name, base64 content] (field {})",
            self.field
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let field = self.field;
        let name = seq
            .next_element_seed(DecodeSeed::<Text>::new(field))?
            .flatten()
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let content = seq
            .next_element_seed(Base64Seed { field })?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((name, content))
    }
}

/// Base64 text decoded to bytes.
struct Base64Seed {
    field: &'static str,
}

impl<'de> DeserializeSeed<'de> for Base64Seed {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Base64Seed {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "base64 file content (field {})", self.field)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        BASE64_LENIENT.decode(v.trim()).map_err(|e| {
            E::custom(format_args!(
                "invalid base64 file content ({e}), expected {}",
                &self as &dyn Expected
            ))
        })
    }
}

/// What a file object said.
#[derive(Default)]
struct Parts {
    keys: usize,
    /// `None`: no `id` key; `Some(None)`: an empty or zero id.
    id: Option<Option<FileId>>,
    show_url: Option<String>,
    download_url: Option<String>,
    del: bool,
    data: Option<(String, Vec<u8>)>,
}

fn read_parts<'de, A: MapAccess<'de>>(mut map: A, field: &'static str) -> Result<Parts, A::Error> {
    let mut parts = Parts::default();
    while let Some(key) = map.next_key_seed(KeySeed)? {
        parts.keys += 1;
        match key {
            Key::Id => parts.id = Some(map.next_value_seed(DecodeSeed::<Id<FileId>>::new(field))?),
            Key::ShowUrl => parts.show_url = map.next_value_seed(DecodeSeed::<Text>::new(field))?,
            Key::DownloadUrl => {
                parts.download_url = map.next_value_seed(DecodeSeed::<Text>::new(field))?;
            }
            Key::Del => {
                parts.del = map
                    .next_value_seed(DecodeSeed::<YesNo>::new(field))?
                    .unwrap_or(false);
            }
            Key::FileData => parts.data = Some(map.next_value_seed(FileDataSeed { field })?),
            Key::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(parts)
}

fn missing_id<E: de::Error>(exp: &dyn Expected) -> E {
    E::custom(format_args!(
        "invalid value: a file object without \"id\", expected {exp}"
    ))
}

// ---------------------------------------------------------------------------------------------

/// `file` user fields as `get`/`list` return them: [`types::File`].
///
/// Reads `{"id": 37375, "showUrl": "...", "downloadUrl": "..."}` (id a number or a string;
/// `crm.item.*`'s `{"id": 37375, "url": "...", "urlMachine": "..."}` gives `url` as the show URL
/// and `urlMachine` as the download URL),
/// and tolerates a bare id and the write forms (`{"id": N}`; `{"id": N, "del": "Y"}` reads as
/// no file). An absent key, `""`, `false`, `{}` and an id of 0 are empty. Writes `{"id": N}`,
/// which keeps the stored file on update.
#[derive(Debug, Clone, Copy, Default)]
pub struct File;

impl Form for File {
    type Out = types::File;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a file object ({\"id\": N, \"showUrl\": ..., \"downloadUrl\": ...})")
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<types::File>, E> {
        Ok(<Id<FileId> as Form>::from_str::<E>(v, exp)?.map(types::File::new))
    }

    fn from_u64<E: de::Error>(v: u64, exp: &dyn Expected) -> Result<Option<types::File>, E> {
        Ok(<Id<FileId> as Form>::from_u64::<E>(v, exp)?.map(types::File::new))
    }

    fn from_map<'de, A: MapAccess<'de>>(
        map: A,
        field: &'static str,
        exp: &dyn Expected,
    ) -> Result<Option<types::File>, A::Error> {
        let parts = read_parts(map, field)?;
        if parts.keys == 0 || parts.del {
            return Ok(None);
        }
        match parts.id {
            Some(id) => Ok(id.map(|id| types::File {
                id,
                show_url: parts.show_url,
                download_url: parts.download_url,
            })),
            None => Err(missing_id(exp)),
        }
    }
}

impl Codec for File {
    type Value = types::File;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<types::File>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &types::File, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("id", &value.id.0)?;
        map.end()
    }
}

/// `file` user fields on `add` / `update`: [`types::FileUpload`].
///
/// Writes `{"fileData": [name, base64]}` for a new file, `{"id": N}` to keep a stored file and
/// `{"id": N, "del": "Y"}` to delete one. Reads those forms back, and tolerates the read form
/// (`{"id": N, "showUrl": ...}`) and a bare id, both as [`Keep`](types::FileUpload::Keep).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileUpload;

impl Form for FileUpload {
    type Out = types::FileUpload;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a file ({\"fileData\": [name, base64]}, {\"id\": N} or {\"id\": N, \"del\": \"Y\"})",
        )
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<types::FileUpload>, E> {
        Ok(<Id<FileId> as Form>::from_str::<E>(v, exp)?.map(types::FileUpload::Keep))
    }

    fn from_u64<E: de::Error>(v: u64, exp: &dyn Expected) -> Result<Option<types::FileUpload>, E> {
        Ok(<Id<FileId> as Form>::from_u64::<E>(v, exp)?.map(types::FileUpload::Keep))
    }

    fn from_map<'de, A: MapAccess<'de>>(
        map: A,
        field: &'static str,
        exp: &dyn Expected,
    ) -> Result<Option<types::FileUpload>, A::Error> {
        let parts = read_parts(map, field)?;
        if parts.keys == 0 {
            return Ok(None);
        }
        if let Some((name, content)) = parts.data {
            return Ok(Some(types::FileUpload::New { name, content }));
        }
        match parts.id {
            Some(id) => Ok(id.map(|id| {
                if parts.del {
                    types::FileUpload::Delete(id)
                } else {
                    types::FileUpload::Keep(id)
                }
            })),
            None => Err(missing_id(exp)),
        }
    }
}

/// `[name, base64 content]` without building the base64 text in memory first.
struct FileData<'a> {
    name: &'a str,
    content: &'a [u8],
}

impl Serialize for FileData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Content<'a>(&'a [u8]);
        impl Serialize for Content<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&base64::display::Base64Display::new(self.0, &STANDARD))
            }
        }
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(self.name)?;
        tuple.serialize_element(&Content(self.content))?;
        tuple.end()
    }
}

impl Codec for FileUpload {
    type Value = types::FileUpload;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<types::FileUpload>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &types::FileUpload, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            types::FileUpload::New { name, content } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("fileData", &FileData { name, content })?;
                map.end()
            }
            types::FileUpload::Keep(id) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("id", &id.0)?;
                map.end()
            }
            types::FileUpload::Delete(id) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("id", &id.0)?;
                map.serialize_entry("del", "Y")?;
                map.end()
            }
        }
    }
}

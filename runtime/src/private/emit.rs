//! Small generic helpers that keep the generated code short.
//!
//! A 2,000-field portal expands to one match arm, three serializer entries and one metadata
//! record per field. Spelled out in full paths, each costs dozens of tokens that the compiler
//! must create, parse and type-check; a call to one of these helpers costs a handful. They are
//! `#[inline]`, so the compiled result is the same.

use serde::de::MapAccess;
use serde::ser::SerializeMap;

use crate::codec::{Codec, DecodeSeed, Encode, EncodePatch};
use crate::entity::FieldMeta;
use crate::patch::Patch;

/// `FieldMeta::required`.
pub const REQUIRED: u8 = 1;
/// `FieldMeta::read_only`.
pub const READ_ONLY: u8 = 1 << 1;
/// `FieldMeta::immutable`.
pub const IMMUTABLE: u8 = 1 << 2;
/// `FieldMeta::multiple`.
pub const MULTIPLE: u8 = 1 << 3;
/// `FieldMeta::dynamic`.
pub const DYNAMIC: u8 = 1 << 4;
/// `FieldMeta::deprecated`.
pub const DEPRECATED: u8 = 1 << 5;
/// `FieldMeta::label` is present (else the `label` argument is ignored).
pub const HAS_LABEL: u8 = 1 << 6;
/// `FieldMeta::status_type` is present (else the `status_type` argument is ignored).
pub const HAS_STATUS_TYPE: u8 = 1 << 7;

/// A field's metadata from its strings and a set of the flag bits above.
pub const fn meta(
    code: &'static str,
    rust_name: &'static str,
    title: &'static str,
    label: &'static str,
    bitrix_type: &'static str,
    status_type: &'static str,
    flags: u8,
) -> FieldMeta {
    FieldMeta {
        code,
        rust_name,
        title,
        label: if flags & HAS_LABEL != 0 {
            Some(label)
        } else {
            None
        },
        bitrix_type,
        status_type: if flags & HAS_STATUS_TYPE != 0 {
            Some(status_type)
        } else {
            None
        },
        required: flags & REQUIRED != 0,
        read_only: flags & READ_ONLY != 0,
        immutable: flags & IMMUTABLE != 0,
        multiple: flags & MULTIPLE != 0,
        dynamic: flags & DYNAMIC != 0,
        deprecated: flags & DEPRECATED != 0,
    }
}

/// Reads the value of the current map entry with codec `C`.
#[inline]
pub fn take<'de, C: Codec, A: MapAccess<'de>>(
    map: &mut A,
    code: &'static str,
) -> Result<Option<C::Value>, A::Error> {
    map.next_value_seed(DecodeSeed::<C>::new(code))
}

/// Writes `code: value` with codec `C` when the value is present.
#[inline]
pub fn put<C: Codec, M: SerializeMap>(
    map: &mut M,
    code: &'static str,
    value: &Option<C::Value>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(code, &Encode::<C>::new(v)),
        None => Ok(()),
    }
}

/// Writes `code: value` with codec `C`.
#[inline]
pub fn put_value<C: Codec, M: SerializeMap>(
    map: &mut M,
    code: &'static str,
    value: &C::Value,
) -> Result<(), M::Error> {
    map.serialize_entry(code, &Encode::<C>::new(value))
}

/// Writes a touched update entry with codec `C` (the value, or the empty value that clears).
#[inline]
pub fn put_patch<C: Codec, M: SerializeMap>(
    map: &mut M,
    code: &'static str,
    patch: &Patch<C::Value>,
) -> Result<(), M::Error> {
    if patch.is_touched() {
        map.serialize_entry(code, &EncodePatch::<C>::new(patch))
    } else {
        Ok(())
    }
}

/// Adds `code` to `out` when the update clears the field.
#[inline]
pub fn cleared<T>(out: &mut Vec<&'static str>, code: &'static str, patch: &Patch<T>) {
    if matches!(patch, Patch::Clear) {
        out.push(code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_flags_map_to_their_fields() {
        let m = meta(
            "UF_CRM_1",
            "uf_crm_1",
            "UF_CRM_1",
            "Метка",
            "enumeration",
            "",
            REQUIRED | MULTIPLE | DYNAMIC | HAS_LABEL,
        );
        assert_eq!(m.label, Some("Метка"));
        assert_eq!(m.status_type, None);
        assert!(m.required && m.multiple && m.dynamic);
        assert!(!m.read_only && !m.immutable && !m.deprecated);
        let m = meta(
            "STAGE_ID",
            "stage_id",
            "Стадия сделки",
            "",
            "crm_status",
            "DEAL_STAGE",
            READ_ONLY | IMMUTABLE | DEPRECATED | HAS_STATUS_TYPE,
        );
        assert_eq!(m.label, None);
        assert_eq!(m.status_type, Some("DEAL_STAGE"));
        assert!(m.read_only && m.immutable && m.deprecated);
        assert!(!m.required && !m.multiple && !m.dynamic);
    }
}

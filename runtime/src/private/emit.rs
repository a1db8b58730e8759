//! Small generic helpers that keep the generated code short.
//!
//! A 2,000-field portal expands to one match arm, a few serializer entries and one metadata
//! record per field. Each entry is one call of a generic helper here with the field's typed
//! code ([`Code`]); the visitor, the map plumbing and the patch walks are written once, here,
//! instead of once per entity. They are generic over the codec, never over the field, so
//! they are instantiated once per codec, and `#[inline]`, so the compiled result is the same.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;
use std::sync::atomic::AtomicU32;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};

use super::{Key, RowCursor, find_code_in_slots};
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

/// A field's metadata from its code, Rust name, Bitrix type and a set of the flag bits above;
/// the title is the code until [`FieldMeta::with_title`] says otherwise, and there is no label
/// or status type until [`FieldMeta::with_label`] / [`FieldMeta::with_status`] give one.
pub const fn meta(
    code: &'static str,
    rust_name: &'static str,
    bitrix_type: &'static str,
    flags: u8,
) -> FieldMeta {
    FieldMeta {
        code,
        item_name: code,
        rust_name,
        title: code,
        label: None,
        bitrix_type,
        status_type: None,
        required: flags & REQUIRED != 0,
        read_only: flags & READ_ONLY != 0,
        immutable: flags & IMMUTABLE != 0,
        multiple: flags & MULTIPLE != 0,
        dynamic: flags & DYNAMIC != 0,
        deprecated: flags & DEPRECATED != 0,
    }
}

impl FieldMeta {
    /// The metadata with this `title`.
    pub const fn with_title(mut self, title: &'static str) -> Self {
        self.title = title;
        self
    }
    /// The metadata with this label.
    pub const fn with_label(mut self, label: &'static str) -> Self {
        self.label = Some(label);
        self
    }
    /// The metadata with this `crm.item.*` name (`stageId` for `STAGE_ID`).
    pub const fn with_item_name(mut self, name: &'static str) -> Self {
        self.item_name = name;
        self
    }
    /// The metadata with this status type.
    pub const fn with_status(mut self, status_type: &'static str) -> Self {
        self.status_type = Some(status_type);
        self
    }
}

/// A field's Bitrix code, typed with the codec of its values. The generator emits one constant
/// per field (`f::TITLE: Code<codec::Text>`), so the codec is named once and every decoder and
/// serializer entry is one generic call (`map.take(f::TITLE)`). The helpers are generic over
/// the codec, not the field, so a portal with 2,000 fields instantiates them once per codec
/// (about 20), not once per field.
pub struct Code<C>(&'static str, PhantomData<fn() -> C>);

impl<C> Code<C> {
    /// The field with this code.
    pub const fn new(code: &'static str) -> Self {
        Code(code, PhantomData)
    }

    /// The code.
    pub const fn code(self) -> &'static str {
        self.0
    }
}

impl<C: Uploads> Code<C> {
    /// The same field as it is written: a file field is read as
    /// [`File`](crate::codec::File) and written as [`FileUpload`](crate::codec::FileUpload).
    pub const fn upload(self) -> Code<C::Upload> {
        Code(self.0, PhantomData)
    }
}

impl<C> Clone for Code<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Code<C> {}

/// The value type of codec `C`.
pub type ValueOf<C> = <C as Codec>::Value;

/// A codec whose values are written with another codec (files: read
/// [`File`](crate::codec::File), write [`FileUpload`](crate::codec::FileUpload)).
pub trait Uploads {
    /// The codec that writes.
    type Upload: Codec;
}
impl Uploads for crate::codec::File {
    type Upload = crate::codec::FileUpload;
}
impl<C: Uploads> Uploads for crate::codec::Multi<C> {
    type Upload = crate::codec::Multi<C::Upload>;
}

/// `EntityField::ALL` by name, sorted, built once (for the binary search of
/// [`find_code`](super::find_code)): one entry per code and, when it differs, one per
/// `crm.item.*` name ([`FieldMeta::item_name`]), both for the same field, so records decode
/// from either API's answers. No name appears twice: a code wins over an item name that
/// equals it, and the first field wins among equal item names.
///
/// The table can hold up to twice as many entries as there are fields: a [`RowOrder`](super::RowOrder)
/// used with it needs [`order_slots`] slots for its learned order to apply.
pub fn sorted_fields<F: crate::EntityField>(
    cell: &'static OnceLock<Vec<(&'static str, F)>>,
) -> &'static [(&'static str, F)] {
    cell.get_or_init(|| {
        let all = F::ALL;
        let mut pairs: Vec<(&'static str, usize)> =
            all.iter().enumerate().map(|(i, f)| (f.code(), i)).collect();
        let mut seen: std::collections::HashSet<&'static str> =
            pairs.iter().map(|(code, _)| *code).collect();
        for (i, f) in all.iter().enumerate() {
            let name = f.meta().item_name;
            if seen.insert(name) {
                pairs.push((name, i));
            }
        }
        sort_by_code(pairs)
            .into_iter()
            .map(|(code, i)| (code, all[i]))
            .collect()
    })
}

/// Slots a [`RowOrder`](super::RowOrder) needs for a field table of an entity with `fields`
/// fields built by [`sorted_fields`] (every field with a distinct item name: twice the fields,
/// plus one). A smaller order still decodes correctly, through the per-thread hints of
/// [`find_code`](super::find_code) instead of its own.
pub const fn order_slots(fields: usize) -> usize {
    fields * 2 + 1
}

/// The positions in `all` of a generated enumeration's items, sorted by item id, built once.
#[inline]
pub fn sorted_items<E: crate::types::EnumValue>(
    cell: &'static OnceLock<Vec<(&'static str, usize)>>,
    all: &'static [E],
) -> &'static [(&'static str, usize)] {
    sorted_once(cell, all.len(), &|i| all[i].id())
}

/// Not generic, so that a portal with a hundred enumerations compiles the sort once, not once
/// per enumeration.
fn sorted_once(
    cell: &'static OnceLock<Vec<(&'static str, usize)>>,
    len: usize,
    code: &dyn Fn(usize) -> &'static str,
) -> &'static [(&'static str, usize)] {
    cell.get_or_init(|| sort_by_code((0..len).map(|i| (code(i), i)).collect()))
}

/// Sorts `(code, index)` pairs by code (stable: equal codes keep their order).
fn sort_by_code(mut pairs: Vec<(&'static str, usize)>) -> Vec<(&'static str, usize)> {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
}

/// Reads the value of the current map entry as `field`.
#[inline]
pub fn take<'de, C: Codec, A: MapAccess<'de>>(
    map: &mut A,
    field: Code<C>,
) -> Result<Option<C::Value>, A::Error> {
    map.next_value_seed(DecodeSeed::<C>::new(field.0))
}

/// `map.take(f::TITLE)`: [`take`] as a method, so a decoder entry reads
/// `Field::Title => self.title = map.take(f::TITLE)?`.
pub trait TakeExt<'de>: MapAccess<'de> + Sized {
    /// Reads the value of the current entry as `field`.
    #[inline]
    fn take<C: Codec>(&mut self, field: Code<C>) -> Result<Option<C::Value>, Self::Error> {
        take(self, field)
    }
}
impl<'de, A: MapAccess<'de>> TakeExt<'de> for A {}

/// `map.put(f::TITLE, &value)`: [`put`] and [`put_value`] as methods.
pub trait PutExt: SerializeMap + Sized {
    /// Writes `field` when the value is present.
    #[inline]
    fn put<C: Codec>(
        &mut self,
        field: Code<C>,
        value: &Option<C::Value>,
    ) -> Result<(), Self::Error> {
        put(self, field, value)
    }
    /// Writes `field`.
    #[inline]
    fn put_value<C: Codec>(&mut self, field: Code<C>, value: &C::Value) -> Result<(), Self::Error> {
        put_value(self, field, value)
    }
}
impl<M: SerializeMap> PutExt for M {}

/// Starts serializing a record as a JSON object.
#[inline]
pub fn open<S: Serializer>(serializer: S) -> Result<S::SerializeMap, S::Error> {
    serializer.serialize_map(None)
}

/// Ends a record started with [`open`].
#[inline]
pub fn end<M: SerializeMap>(map: M) -> Result<M::Ok, M::Error> {
    map.end()
}

/// Writes `field` when the value is present.
#[inline]
pub fn put<C: Codec, M: SerializeMap>(
    map: &mut M,
    field: Code<C>,
    value: &Option<C::Value>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(field.0, &Encode::<C>::new(v)),
        None => Ok(()),
    }
}

/// Writes `field`.
#[inline]
pub fn put_value<C: Codec, M: SerializeMap>(
    map: &mut M,
    field: Code<C>,
    value: &C::Value,
) -> Result<(), M::Error> {
    map.serialize_entry(field.0, &Encode::<C>::new(value))
}

/// Writes the fields a record does not know (`extra`), as they came.
#[inline]
pub fn put_extra<M: SerializeMap>(
    map: &mut M,
    extra: &BTreeMap<String, serde_json::Value>,
) -> Result<(), M::Error> {
    for (code, value) in extra {
        map.serialize_entry(code, value)?;
    }
    Ok(())
}

/// A generated read model, decoded by [`deserialize_record`].
pub trait Record: Default {
    /// The field enum.
    type Field: Copy + 'static;
    /// What serde's error says was expected.
    const EXPECTING: &'static str;
    /// Every field by its code, sorted by code.
    fn sorted() -> &'static [(&'static str, Self::Field)];
    /// The learned key order (`RowOrder::slots` of a static with one slot per field plus one).
    fn order() -> &'static [AtomicU32];
    /// Where fields the snapshot does not know go.
    fn extra(&mut self) -> &mut BTreeMap<String, serde_json::Value>;
    /// Reads the value of the current entry into `field`.
    fn decode<'de, A: MapAccess<'de>>(
        &mut self,
        field: Self::Field,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// `Deserialize` of a generated read model: a JSON object of field codes or item names;
/// unknown keys are kept in `extra`. `fm` of a `crm.item.*` answer fills the multifields its
/// entries name (`typeId` `PHONE` → the `PHONE` field) when the entity has no `fm` field.
#[inline]
pub fn deserialize_record<'de, R: Record, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<R, D::Error> {
    struct Visit<R>(PhantomData<fn() -> R>);
    impl<'de, R: Record> Visitor<'de> for Visit<R> {
        type Value = R;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(R::EXPECTING)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<R, A::Error> {
            // Rows come with their fields in the same order: learn it once.
            let (sorted, order) = (R::sorted(), R::order());
            let mut cursor = RowCursor::default();
            let mut out = R::default();
            while let Some(key) = map.next_key::<Key<'de>>()? {
                match find_code_in_slots(sorted, order, &mut cursor, key.as_str()) {
                    Some(field) => out.decode(field, &mut map)?,
                    None if key.as_str() == "fm" => {
                        let value: serde_json::Value = map.next_value()?;
                        if let Some(rest) = distribute_fm::<R, A::Error>(&mut out, sorted, value)? {
                            out.extra().insert("fm".into(), rest);
                        }
                    }
                    None => {
                        let value: serde_json::Value = map.next_value()?;
                        out.extra().insert(String::from(key.as_str()), value);
                    }
                }
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Visit::<R>(PhantomData))
}

/// `fm` of a `crm.item.*` answer for an entity without an `fm` field (a snapshot of the legacy
/// API): its entries go to the multifields named by their `typeId` (`PHONE`, `EMAIL`, ...);
/// the entries of types the entity has no field for are returned (they are kept in `extra`).
fn distribute_fm<R: Record, E: serde::de::Error>(
    out: &mut R,
    sorted: &[(&str, R::Field)],
    fm: serde_json::Value,
) -> Result<Option<serde_json::Value>, E> {
    use serde_json::Value;
    let entries = match fm {
        Value::Array(entries) => entries,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        Value::Null => return Ok(None),
        other => return Ok(Some(other)),
    };
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for entry in entries {
        let type_id = entry
            .get("typeId")
            .or_else(|| entry.get("TYPE_ID"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match groups.iter_mut().find(|(t, _)| *t == type_id) {
            Some((_, list)) => list.push(entry),
            None => groups.push((type_id, vec![entry])),
        }
    }
    let mut rest = Vec::new();
    for (type_id, list) in groups {
        match super::find_code(sorted, &type_id) {
            Some(field) if !type_id.is_empty() => {
                out.decode(
                    field,
                    &mut OneValue::<E>(Some(Value::Array(list)), PhantomData),
                )?;
            }
            _ => rest.extend(list),
        }
    }
    Ok((!rest.is_empty()).then_some(Value::Array(rest)))
}

/// A map positioned on one value (for [`Record::decode`] of a value that is not in the
/// input's map itself).
struct OneValue<E>(Option<serde_json::Value>, PhantomData<fn() -> E>);

impl<'de, E: serde::de::Error> MapAccess<'de> for OneValue<E> {
    type Error = E;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        _seed: K,
    ) -> Result<Option<K::Value>, E> {
        Ok(None)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, E> {
        let value = self.0.take().unwrap_or_default();
        seed.deserialize(value).map_err(E::custom)
    }
}

/// Sees every field of an update payload ([`PatchFields::each`]).
pub trait PatchVisitor {
    /// Stops the walk.
    type Error;
    /// Field `F` with its state.
    fn entry<C: Codec>(
        &mut self,
        field: Code<C>,
        patch: &Patch<C::Value>,
    ) -> Result<(), Self::Error>;
}

/// A generated update payload: lists its fields once, for serialization,
/// [`UpdatePayload::is_empty`](crate::UpdatePayload::is_empty) and
/// [`UpdatePayload::cleared_fields`](crate::UpdatePayload::cleared_fields).
pub trait PatchFields {
    /// Calls `visitor.entry` for every field, in portal order.
    fn each<V: PatchVisitor>(&self, visitor: &mut V) -> Result<(), V::Error>;
}

/// `Serialize` of an update payload: only touched fields, a clear as the empty value.
pub fn serialize_patch<P: PatchFields, S: Serializer>(
    patch: &P,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    struct Write<M>(M);
    impl<M: SerializeMap> PatchVisitor for Write<M> {
        type Error = M::Error;
        fn entry<C: Codec>(
            &mut self,
            field: Code<C>,
            patch: &Patch<C::Value>,
        ) -> Result<(), M::Error> {
            if patch.is_touched() {
                self.0
                    .serialize_entry(field.0, &EncodePatch::<C>::new(patch))?;
            }
            Ok(())
        }
    }
    let mut write = Write(serializer.serialize_map(None)?);
    patch.each(&mut write)?;
    write.0.end()
}

/// Whether an update payload touches no field.
pub fn patch_is_empty<P: PatchFields>(patch: &P) -> bool {
    struct Touched;
    impl PatchVisitor for Touched {
        type Error = ();
        fn entry<C: Codec>(&mut self, _: Code<C>, patch: &Patch<C::Value>) -> Result<(), ()> {
            if patch.is_touched() { Err(()) } else { Ok(()) }
        }
    }
    patch.each(&mut Touched).is_ok()
}

/// The codes of the fields an update payload clears.
pub fn patch_cleared<P: PatchFields>(patch: &P) -> Vec<&'static str> {
    struct Cleared(Vec<&'static str>);
    impl PatchVisitor for Cleared {
        type Error = std::convert::Infallible;
        fn entry<C: Codec>(
            &mut self,
            field: Code<C>,
            patch: &Patch<C::Value>,
        ) -> Result<(), Self::Error> {
            if matches!(patch, Patch::Clear) {
                self.0.push(field.0);
            }
            Ok(())
        }
    }
    let mut cleared = Cleared(Vec::new());
    let _ = patch.each(&mut cleared);
    cleared.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_flags_map_to_their_fields() {
        let m = meta(
            "UF_CRM_1",
            "uf_crm_1",
            "enumeration",
            REQUIRED | MULTIPLE | DYNAMIC,
        )
        .with_label("Метка");
        assert_eq!(m.label, Some("Метка"));
        assert_eq!(m.title, "UF_CRM_1");
        assert_eq!(m.status_type, None);
        assert!(m.required && m.multiple && m.dynamic);
        assert!(!m.read_only && !m.immutable && !m.deprecated);
        let m = meta(
            "STAGE_ID",
            "stage_id",
            "crm_status",
            READ_ONLY | IMMUTABLE | DEPRECATED,
        )
        .with_title("Стадия сделки")
        .with_status("DEAL_STAGE");
        assert_eq!(m.label, None);
        assert_eq!(m.title, "Стадия сделки");
        assert_eq!(m.status_type, Some("DEAL_STAGE"));
        assert!(m.read_only && m.immutable && m.deprecated);
        assert!(!m.required && !m.multiple && !m.dynamic);
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum F {
        Id,
        Stage,
        Odd,
        Same,
    }
    static METAS: [FieldMeta; 4] = [
        meta("ID", "id", "integer", 0).with_item_name("id"),
        meta("STAGE_ID", "stage_id", "crm_status", 0).with_item_name("stageId"),
        // An item name equal to another field's code: the code wins.
        meta("ODD", "odd", "string", 0).with_item_name("ID"),
        meta("SAME", "same", "string", 0),
    ];
    impl crate::EntityField for F {
        const ALL: &'static [Self] = &[F::Id, F::Stage, F::Odd, F::Same];
        fn meta(self) -> &'static FieldMeta {
            &METAS[self as usize]
        }
    }

    #[test]
    fn the_field_table_holds_codes_and_item_names_once_each() {
        static CELL: OnceLock<Vec<(&'static str, F)>> = OnceLock::new();
        let table = sorted_fields::<F>(&CELL);
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["ID", "ODD", "SAME", "STAGE_ID", "id", "stageId"]);
        assert_eq!(super::super::find_code(table, "stageId"), Some(F::Stage));
        assert_eq!(super::super::find_code(table, "ID"), Some(F::Id));
        assert_eq!(super::super::find_code(table, "id"), Some(F::Id));
        assert!(table.len() < order_slots(<F as crate::EntityField>::ALL.len()));
        assert_eq!(
            METAS[3].item_name, "SAME",
            "meta() sets the item name to the code"
        );
    }
}

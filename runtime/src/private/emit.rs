//! Small generic helpers that keep the generated code short.
//!
//! A 2,000-field portal expands to one match arm, a few serializer entries and one metadata
//! record per field. Each entry is one call of a generic helper here, named by the field's
//! marker type ([`FieldDef`]); the visitor, the map plumbing and the patch walks are written
//! once, here, instead of once per entity. They are `#[inline]`, so the compiled result is the
//! same.

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
    /// The metadata with this status type.
    pub const fn with_status(mut self, status_type: &'static str) -> Self {
        self.status_type = Some(status_type);
        self
    }
}

/// `value` after `change`: the one-line body of the generated setters
/// (`with(self, |p| p.title = Patch::Set(value.into()))`).
#[inline]
pub fn with<T>(mut value: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut value);
    value
}

/// A field of a generated entity: its Bitrix code and the codec of its values. The generator
/// emits one zero-sized marker type per field (`deal_fields::TITLE`) implementing it, so the
/// codec is named once and every decoder and serializer entry is one generic call.
pub trait FieldDef {
    /// The Bitrix code.
    const CODE: &'static str;
    /// The codec that reads (and, except for files, writes) the value.
    type Codec: Codec;
}

/// The value type of field `F`.
pub type ValueOf<F> = <<F as FieldDef>::Codec as Codec>::Value;

/// Field `F` as it is written: a file field is read as [`File`](crate::codec::File) and
/// written as [`FileUpload`](crate::codec::FileUpload).
pub struct Upload<F>(PhantomData<fn() -> F>);

/// A codec whose values are written with another codec (files: read [`File`](crate::codec::File), write [`FileUpload`](crate::codec::FileUpload)).
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
impl<F: FieldDef> FieldDef for Upload<F>
where
    F::Codec: Uploads,
{
    const CODE: &'static str = F::CODE;
    type Codec = <F::Codec as Uploads>::Upload;
}

/// The metadata table of a generated field enum, indexed by variant (`DealField::Title as
/// usize`), as a constant so that [`Def`] can read a field's code at compile time.
pub trait FieldTable {
    /// One entry per field, in portal order.
    const META: &'static [FieldMeta];
}

/// The marker of field number `I` of the field enum `E`, read with codec `C`: the generator
/// names most fields with an alias of it (`pub type TITLE = Def<DealField, codec::Text, 1>;`);
/// fields that show up in compile errors get a struct of their own.
pub struct Def<E, C, const I: usize>(PhantomData<fn() -> (E, C)>);

impl<E: FieldTable, C: Codec, const I: usize> FieldDef for Def<E, C, I> {
    const CODE: &'static str = E::META[I].code;
    type Codec = C;
}

/// `EntityField::ALL` sorted by code, built once (for the binary search of [`find_code`]).
pub fn sorted_fields<F: crate::EntityField>(
    cell: &'static OnceLock<Vec<(&'static str, F)>>,
) -> &'static [(&'static str, F)] {
    cell.get_or_init(|| {
        let mut sorted: Vec<(&'static str, F)> = F::ALL.iter().map(|f| (f.code(), *f)).collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted
    })
}

/// The positions in `all` of a generated enumeration's items, sorted by item id, built once.
pub fn sorted_items<E: crate::types::EnumValue>(
    cell: &'static OnceLock<Vec<(&'static str, usize)>>,
    all: &'static [E],
) -> &'static [(&'static str, usize)] {
    cell.get_or_init(|| {
        let mut sorted: Vec<(&'static str, usize)> =
            all.iter().enumerate().map(|(i, e)| (e.id(), i)).collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted
    })
}

/// Reads the value of the current map entry as field `F`.
#[inline]
pub fn take<'de, F: FieldDef, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<ValueOf<F>>, A::Error> {
    map.next_value_seed(DecodeSeed::<F::Codec>::new(F::CODE))
}

/// `map.take::<F>()`: [`take`] as a method, so a decoder entry reads
/// `Field::Title => self.title = map.take::<f::TITLE>()?`.
pub trait TakeExt<'de>: MapAccess<'de> + Sized {
    /// Reads the value of the current entry as field `F`.
    #[inline]
    fn take<F: FieldDef>(&mut self) -> Result<Option<ValueOf<F>>, Self::Error> {
        take::<F, Self>(self)
    }
}
impl<'de, A: MapAccess<'de>> TakeExt<'de> for A {}

/// `map.put::<F>(&value)`: [`put`] and [`put_value`] as methods.
pub trait PutExt: SerializeMap + Sized {
    /// Writes field `F` when the value is present.
    #[inline]
    fn put<F: FieldDef>(&mut self, value: &Option<ValueOf<F>>) -> Result<(), Self::Error> {
        put::<F, Self>(self, value)
    }
    /// Writes field `F`.
    #[inline]
    fn put_value<F: FieldDef>(&mut self, value: &ValueOf<F>) -> Result<(), Self::Error> {
        put_value::<F, Self>(self, value)
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

/// Writes field `F` when the value is present.
#[inline]
pub fn put<F: FieldDef, M: SerializeMap>(
    map: &mut M,
    value: &Option<ValueOf<F>>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(F::CODE, &Encode::<F::Codec>::new(v)),
        None => Ok(()),
    }
}

/// Writes field `F`.
#[inline]
pub fn put_value<F: FieldDef, M: SerializeMap>(
    map: &mut M,
    value: &ValueOf<F>,
) -> Result<(), M::Error> {
    map.serialize_entry(F::CODE, &Encode::<F::Codec>::new(value))
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

/// `Deserialize` of a generated read model: a JSON object of field codes; unknown codes are
/// kept in `extra`.
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

/// Sees every field of an update payload ([`PatchFields::each`]).
pub trait PatchVisitor {
    /// Stops the walk.
    type Error;
    /// Field `F` with its state.
    fn entry<F: FieldDef>(&mut self, patch: &Patch<ValueOf<F>>) -> Result<(), Self::Error>;
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
        fn entry<F: FieldDef>(&mut self, patch: &Patch<ValueOf<F>>) -> Result<(), M::Error> {
            if patch.is_touched() {
                self.0
                    .serialize_entry(F::CODE, &EncodePatch::<F::Codec>::new(patch))?;
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
        fn entry<F: FieldDef>(&mut self, patch: &Patch<ValueOf<F>>) -> Result<(), ()> {
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
        fn entry<F: FieldDef>(&mut self, patch: &Patch<ValueOf<F>>) -> Result<(), Self::Error> {
            if matches!(patch, Patch::Clear) {
                self.0.push(F::CODE);
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
}

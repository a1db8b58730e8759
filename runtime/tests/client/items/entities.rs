//! Two hand-written entities in the shape the generator emits for the contract of issue 10
//! (item names through `with_item_name`, `API` / `HAS_LEGACY`): a lead with both APIs and a
//! smart process that exists only on `crm.item.*`.

/// Defines an entity: its read model, field enum and metadata, create and update payloads,
/// from one row per field: `Variant rust_name "CODE" "itemName" "bitrix_type" flags: read
/// codec, write codec`; an optional `{ .. }` after the constants adds items to the update
/// payload's `UpdatePayload` impl (a `stage_guard`).
macro_rules! entity {
    (
        $entity:ident, $new:ident, $patch:ident, $field:ident, $id:ty,
        $name:literal, $prefix:literal, $type_id:literal, [$($consts:tt)*],
        $({$($patch_items:tt)*})?
        $($variant:ident $rust:ident $code:literal $item:literal $btype:literal $flags:expr
            => $read:ty, $write:ty;)*
    ) => {
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $entity {
            $(pub $rust: Option<<$read as __p::Codec>::Value>,)*
            pub extra: BTreeMap<String, serde_json::Value>,
        }

        // Variants spelled like the codes, so one name serves the enum and the constants.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $field {
            $($variant,)*
        }

        impl EntityField for $field {
            const ALL: &'static [Self] = &[$($field::$variant),*];
            fn meta(self) -> &'static FieldMeta {
                const META: &[FieldMeta] = &[
                    $(__p::meta($code, stringify!($rust), $btype, $flags).with_item_name($item),)*
                ];
                &META[self as usize]
            }
            fn from_code(code: &str) -> Option<Self> {
                static SORTED: __p::OnceLock<Vec<(&'static str, $field)>> = __p::OnceLock::new();
                __p::find_code(__p::sorted_fields(&SORTED), code)
            }
        }

        #[allow(dead_code)]
        impl $entity {
            $(pub const $variant: Field<$entity, $read> = Field::new($field::$variant);)*
        }

        impl __p::Record for $entity {
            type Field = $field;
            const EXPECTING: &'static str = "a record";
            fn sorted() -> &'static [(&'static str, $field)] {
                static SORTED: __p::OnceLock<Vec<(&'static str, $field)>> = __p::OnceLock::new();
                __p::sorted_fields(&SORTED)
            }
            fn order() -> &'static [__p::AtomicU32] {
                static ORDER: __p::RowOrder<{ __p::order_slots(<$field as EntityField>::ALL.len()) }> =
                    __p::RowOrder::new();
                ORDER.slots()
            }
            fn extra(&mut self) -> &mut BTreeMap<String, serde_json::Value> {
                &mut self.extra
            }
            fn decode<'de, A: __p::MapAccess<'de>>(
                &mut self,
                field: $field,
                map: &mut A,
            ) -> Result<(), A::Error> {
                match field {
                    $($field::$variant => {
                        self.$rust = map.take(__p::Code::<$read>::new($code))?
                    })*
                }
                Ok(())
            }
        }

        impl<'de> Deserialize<'de> for $entity {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                __p::deserialize_record(d)
            }
        }

        impl Serialize for $entity {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = __p::open(s)?;
                $(map.put(__p::Code::<$read>::new($code), &self.$rust)?;)*
                __p::end(map)
            }
        }

        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $new {
            $(pub $rust: Option<<$write as __p::Codec>::Value>,)*
        }

        impl Serialize for $new {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = __p::open(s)?;
                $(map.put(__p::Code::<$write>::new($code), &self.$rust)?;)*
                __p::end(map)
            }
        }

        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $patch {
            $(pub $rust: Patch<<$write as __p::Codec>::Value>,)*
        }

        impl __p::PatchFields for $patch {
            fn each<V: __p::PatchVisitor>(&self, visitor: &mut V) -> Result<(), V::Error> {
                $(visitor.entry(__p::Code::<$write>::new($code), &self.$rust)?;)*
                Ok(())
            }
        }

        impl Serialize for $patch {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                __p::serialize_patch(self, s)
            }
        }

        impl CreatePayload for $new {
            type Entity = $entity;
        }

        impl UpdatePayload for $patch {
            type Entity = $entity;
            fn is_empty(&self) -> bool {
                __p::patch_is_empty(self)
            }
            fn cleared_fields(&self) -> Vec<&'static str> {
                __p::patch_cleared(self)
            }
            $($($patch_items)*)?
        }

        impl Entity for $entity {
            const NAME: &'static str = $name;
            const METHOD_PREFIX: &'static str = $prefix;
            const ENTITY_TYPE_ID: u32 = $type_id;
            $($consts)*
            type Id = $id;
            type New = $new;
            type Patch = $patch;
            type Field = $field;
            fn id(&self) -> Option<$id> {
                self.id
            }
        }
    };
}

use std::collections::BTreeMap;

use bitrix_runtime::__private::{
    self as __p, Api, PutExt as _, TakeExt as _, codec, serde_json, types,
};
use bitrix_runtime::{CreatePayload, Entity, EntityField, Field, FieldMeta, Patch, UpdatePayload};
use serde::{Deserialize, Serialize};

entity! {
    Lead, NewLead, LeadPatch, LeadField, types::LeadId,
    "lead", "crm.lead", 1, [],
    ID id "ID" "id" "integer" __p::READ_ONLY => codec::Id<types::LeadId>, codec::Id<types::LeadId>;
    TITLE title "TITLE" "title" "string" 0 => codec::Text, codec::Text;
    STATUS_ID status_id "STATUS_ID" "stageId" "crm_status" 0 => codec::Status, codec::Status;
    OPPORTUNITY opportunity "OPPORTUNITY" "opportunity" "double" 0 => codec::Decimal, codec::Decimal;
    OPENED opened "OPENED" "opened" "char" 0 => codec::YesNo, codec::YesNo;
    DATE_CREATE date_create "DATE_CREATE" "createdTime" "datetime" __p::READ_ONLY => codec::DateTime, codec::DateTime;
    UF_CRM_FLAG uf_crm_flag "UF_CRM_FLAG" "ufCrmFlag" "boolean" __p::DYNAMIC => codec::Boolean, codec::Boolean;
    UF_CRM_DOC uf_crm_doc "UF_CRM_DOC" "ufCrmDoc" "file" __p::DYNAMIC => codec::File, codec::FileUpload;
    PHONE phone "PHONE" "PHONE" "crm_multifield" __p::MULTIPLE => codec::Multifields<types::PhoneType>, codec::MultifieldWrites<types::PhoneType>;
    EMAIL email "EMAIL" "EMAIL" "crm_multifield" __p::MULTIPLE => codec::Multifields<types::EmailType>, codec::MultifieldWrites<types::EmailType>;
}

entity! {
    Spa, NewSpa, SpaPatch, SpaField, types::ItemId,
    "spa_1030", "crm.item", 1030, [const API: Api = Api::Item; const HAS_LEGACY: bool = false;],
    ID id "ID" "id" "integer" __p::READ_ONLY => codec::Id<types::ItemId>, codec::Id<types::ItemId>;
    TITLE title "TITLE" "title" "string" 0 => codec::Text, codec::Text;
    UF_CRM_7_AMOUNT uf_crm_7_amount "UF_CRM_7_AMOUNT" "ufCrm7Amount" "double" __p::DYNAMIC => codec::Decimal, codec::Decimal;
}

entity! {
    Bare, NewBare, BarePatch, BareField, types::DealId,
    "deal", "crm.deal", 2, [],
    ID id "ID" "ID" "integer" __p::READ_ONLY => codec::Id<types::DealId>, codec::Id<types::DealId>;
    TITLE title "TITLE" "TITLE" "string" 0 => codec::Text, codec::Text;
}

//! Bitrix field types -> Rust types and wire codecs.
//!
//! The table [`TYPE_TABLE`] is the single source of the mapping: [`map_field`] reads it, and
//! the README's table is generated from it (`bitrix-codegen` test
//! `readme_mapping_table_is_current`). The result is data ([`Mapping`]); the expansion turns it
//! into paths.

use crate::entities;

/// Which codec and Rust type a Bitrix type maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRow {
    /// The Bitrix `type` (`crm_status`, `money`, ...).
    pub bitrix: &'static str,
    /// The codec under `bitrix_runtime::codec`.
    pub codec: Codec,
    /// The Rust value type, as shown to users.
    pub rust: &'static str,
    /// What the wire form is / notes.
    pub note: &'static str,
}

/// A codec of [`TYPE_TABLE`], as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// A codec with one value type (`Text` -> `String`).
    Plain {
        /// Codec name under `bitrix_runtime::codec`.
        codec: &'static str,
        /// Its value type.
        value: Value,
    },
    /// `Id<T>` with `T` under `bitrix_runtime::types`.
    Id(&'static str),
    /// `Enum<E>` with the field's generated enum (raw JSON without items).
    Enum,
    /// `File` when read, `FileUpload` when written.
    File,
    /// `Json`: raw `serde_json::Value`.
    Json,
    /// `Multifields<K>` when read (a `Vec<Multifield<K>>`, never wrapped in `Multi`),
    /// `MultifieldWrites<K>` when written (`MultifieldOps<K>`); `K` from the field's code.
    Multifield,
}

/// A Rust value type named by generated code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A type every module sees (`i64`, `bool`, `String`).
    Prelude(&'static str),
    /// A type under `bitrix_runtime::types`; generic arguments live there too
    /// (`DateTime<FixedOffset>`).
    Types(&'static str),
}

impl Codec {
    /// The codec as the README's table shows it.
    pub fn display(&self) -> String {
        match self {
            Codec::Plain { codec, .. } => (*codec).to_owned(),
            Codec::Id(t) => format!("Id<{t}>"),
            Codec::Enum => "Enum<_>".into(),
            Codec::File => "File / FileUpload".into(),
            Codec::Json => "Json".into(),
            Codec::Multifield => "Multifields<K> / MultifieldWrites<K>".into(),
        }
    }
}

/// Every Bitrix type the generator knows, standard and user-field types alike.
pub const TYPE_TABLE: &[TypeRow] = &[
    TypeRow {
        bitrix: "integer",
        codec: Codec::Plain {
            codec: "Integer",
            value: Value::Prelude("i64"),
        },
        rust: "i64",
        note: "`\"99\"` or `99`; the entity's own `ID` becomes its id type (`DealId`)",
    },
    TypeRow {
        bitrix: "string",
        codec: Codec::Plain {
            codec: "Text",
            value: Value::Prelude("String"),
        },
        rust: "String",
        note: "kept verbatim",
    },
    TypeRow {
        bitrix: "char",
        codec: Codec::Plain {
            codec: "YesNo",
            value: Value::Prelude("bool"),
        },
        rust: "bool",
        note: "`\"Y\"`/`\"N\"`",
    },
    TypeRow {
        bitrix: "double",
        codec: Codec::Plain {
            codec: "Decimal",
            value: Value::Types("Decimal"),
        },
        rust: "rust_decimal::Decimal",
        note: "exact: `\"1000000.00\"` is not rounded through f64",
    },
    TypeRow {
        bitrix: "date",
        codec: Codec::Plain {
            codec: "Date",
            value: Value::Types("NaiveDate"),
        },
        rust: "chrono::NaiveDate",
        note: "read from `2024-08-30T02:00:00+02:00` (UTC midnight in portal time) as 2024-08-30; written `YYYY-MM-DD`",
    },
    TypeRow {
        bitrix: "datetime",
        codec: Codec::Plain {
            codec: "DateTime",
            value: Value::Types("DateTime<FixedOffset>"),
        },
        rust: "chrono::DateTime<FixedOffset>",
        note: "ISO 8601, the portal's offset kept",
    },
    TypeRow {
        bitrix: "user",
        codec: Codec::Id("UserId"),
        rust: "UserId",
        note: "",
    },
    TypeRow {
        bitrix: "employee",
        codec: Codec::Id("UserId"),
        rust: "UserId",
        note: "user field",
    },
    TypeRow {
        bitrix: "crm_status",
        codec: Codec::Plain {
            codec: "Status",
            value: Value::Types("StatusId"),
        },
        rust: "StatusId",
        note: "`statusType` kept in the field metadata; no LIKE filter",
    },
    TypeRow {
        bitrix: "crm_category",
        codec: Codec::Id("CategoryId"),
        rust: "CategoryId",
        note: "0 is the default pipeline",
    },
    TypeRow {
        bitrix: "crm_currency",
        codec: Codec::Plain {
            codec: "Currency",
            value: Value::Types("CurrencyId"),
        },
        rust: "CurrencyId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_company",
        codec: Codec::Id("CompanyId"),
        rust: "CompanyId",
        note: "`\"0\"` reads as no company; no LIKE filter",
    },
    TypeRow {
        bitrix: "crm_contact",
        codec: Codec::Id("ContactId"),
        rust: "ContactId",
        note: "`CONTACT_IDS` cannot be filtered",
    },
    TypeRow {
        bitrix: "crm_lead",
        codec: Codec::Id("LeadId"),
        rust: "LeadId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_deal",
        codec: Codec::Id("DealId"),
        rust: "DealId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_quote",
        codec: Codec::Id("QuoteId"),
        rust: "QuoteId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_entity",
        codec: Codec::Id("ItemId"),
        rust: "ItemId",
        note: "`PARENT_ID_{n}`: the linked entity's id (`DealId` for 2, ..., `SmartItemId<n>` for a smart process or the smart invoice 31)",
    },
    TypeRow {
        bitrix: "location",
        codec: Codec::Plain {
            codec: "Location",
            value: Value::Types("LocationId"),
        },
        rust: "LocationId",
        note: "",
    },
    TypeRow {
        bitrix: "boolean",
        codec: Codec::Plain {
            codec: "Boolean",
            value: Value::Prelude("bool"),
        },
        rust: "bool",
        note: "reads `1`/`0`, `true`/`false`, `Y`/`N`; writes `1`/`0`",
    },
    TypeRow {
        bitrix: "money",
        codec: Codec::Plain {
            codec: "Money",
            value: Value::Types("Money"),
        },
        rust: "Money",
        note: "`\"300.50\\|RUB\"`, amount exact",
    },
    TypeRow {
        bitrix: "url",
        codec: Codec::Plain {
            codec: "Text",
            value: Value::Prelude("String"),
        },
        rust: "String",
        note: "",
    },
    TypeRow {
        bitrix: "text",
        codec: Codec::Plain {
            codec: "Text",
            value: Value::Prelude("String"),
        },
        rust: "String",
        note: "`crm.item.fields` (`sourceDescription`)",
    },
    TypeRow {
        bitrix: "address",
        codec: Codec::Plain {
            codec: "Address",
            value: Value::Types("Address"),
        },
        rust: "Address",
        note: "`\"text\\|lat;lng\\|locationId\"`",
    },
    TypeRow {
        bitrix: "enumeration",
        codec: Codec::Enum,
        rust: "generated enum",
        note: "one variant per item plus `Other(String)` for items added later",
    },
    TypeRow {
        bitrix: "file",
        codec: Codec::File,
        rust: "File (read), FileUpload (write)",
        note: "read `{id, showUrl, downloadUrl}`; write `{fileData: [name, base64]}` or `{id}`",
    },
    TypeRow {
        bitrix: "iblock_element",
        codec: Codec::Id("IblockElementId"),
        rust: "IblockElementId",
        note: "",
    },
    TypeRow {
        bitrix: "iblock_section",
        codec: Codec::Id("IblockSectionId"),
        rust: "IblockSectionId",
        note: "",
    },
    TypeRow {
        bitrix: "crm",
        codec: Codec::Plain {
            codec: "CrmLink",
            value: Value::Types("CrmLink"),
        },
        rust: "CrmLink",
        note: "`D_1`, `C_2`, `CO_3`, `L_4`, `SI_7`, `T80_6`, or a bare id",
    },
    TypeRow {
        bitrix: "resourcebooking",
        codec: Codec::Json,
        rust: "serde_json::Value",
        note: "booking records, kept as JSON",
    },
    TypeRow {
        bitrix: "crm_multifield",
        codec: Codec::Multifield,
        rust: "Vec<Multifield<K>> (read), MultifieldOps<K> (write)",
        note: "phones, e-mails, sites, messengers, links of leads, contacts and companies; `K` by code: `PHONE` `PhoneType`, `EMAIL` `EmailType`, `WEB` `WebType`, `IM` `ImType`, `LINK` `LinkType`, else (`fm`) `AnyMultifieldType`; already a list, never `Multi<..>`",
    },
];

/// The mapping for a type the generator does not know (`rest_219_test`, future types).
pub const UNKNOWN_ROW: TypeRow = TypeRow {
    bitrix: "(any other)",
    codec: Codec::Json,
    rust: "serde_json::Value",
    note: "with a compile-time warning; `strict` makes it an error",
};

/// The element codec of one field, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementCodec {
    /// A codec with one value type.
    Plain {
        /// Codec name under `bitrix_runtime::codec`.
        codec: &'static str,
        /// Its value type.
        value: Value,
    },
    /// `Id<T>`.
    Id(&'static str),
    /// `Id<SmartItemId<N>>`: an item of the smart process (or smart invoice) `N`.
    SmartId(u32),
    /// `Enum<E>` of the generated enum `E` (enumeration items, stages, dictionaries).
    Enum(String),
    /// `Pipeline<E>` of the generated category enum `E` (`CATEGORY_ID`).
    Category(String),
    /// `File` read, `FileUpload` written.
    File,
    /// Raw JSON.
    Json,
    /// `Multifields<K>` read, `MultifieldWrites<K>` written, with `K` under
    /// `bitrix_runtime::types` (`PhoneType`, ..., `AnyMultifieldType`).
    Multifield(&'static str),
}

/// The Rust side of one field, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The codec of one value.
    pub element: ElementCodec,
    /// `isMultiple`: read and written as `Multi<..>`, a `Vec` of values (false for
    /// multifields, whose codec already reads a list).
    pub multiple: bool,
    /// The field takes no filter (`CONTACT_IDS`): its constant's codec is `NoFilter<..>`.
    pub no_filter: bool,
    /// Whether the type is in [`TYPE_TABLE`].
    pub known: bool,
}

/// What the mapping needs to know of a field.
#[derive(Debug, Clone, Copy)]
pub struct FieldFacts<'a> {
    /// Bitrix code.
    pub code: &'a str,
    /// Bitrix type.
    pub bitrix_type: &'a str,
    /// `isMultiple`.
    pub multiple: bool,
    /// `isDynamic`.
    pub dynamic: bool,
    /// The entity's name (its own `ID` maps to its id type).
    pub entity: &'a str,
    /// The generated enum of an enumeration field.
    pub enum_ident: Option<&'a str>,
}

/// The row of a Bitrix type, if the generator knows it.
pub fn lookup(bitrix_type: &str) -> Option<&'static TypeRow> {
    TYPE_TABLE.iter().find(|row| row.bitrix == bitrix_type)
}

/// Maps a field to its codecs and Rust types, through [`TYPE_TABLE`].
pub fn map_field(f: &FieldFacts<'_>) -> Mapping {
    let row = lookup(f.bitrix_type);
    let element = match row.map(|r| r.codec) {
        // The entity's own ID is typed with the entity's id type.
        Some(Codec::Plain {
            codec: "Integer", ..
        }) if f.code == "ID" => match entities::smart_item_type(f.entity) {
            Some(n) => ElementCodec::SmartId(n),
            None => ElementCodec::Id(entities::id_type(f.entity)),
        },
        Some(Codec::Plain { codec, value }) => ElementCodec::Plain { codec, value },
        // A smart-process link reads the linked entity's own id type.
        Some(Codec::Id(_)) if f.bitrix_type == "crm_entity" => {
            match entities::parent_link_type(f.code) {
                Some(Ok(t)) => ElementCodec::Id(t),
                Some(Err(n)) => ElementCodec::SmartId(n),
                None => ElementCodec::Id(entities::ITEM_ID_TYPE),
            }
        }
        Some(Codec::Id(t)) => ElementCodec::Id(t),
        Some(Codec::Enum) => match f.enum_ident {
            Some(e) => ElementCodec::Enum(e.to_owned()),
            None => ElementCodec::Json,
        },
        Some(Codec::File) => ElementCodec::File,
        Some(Codec::Multifield) => ElementCodec::Multifield(entities::multifield_kind(f.code)),
        Some(Codec::Json) | None => ElementCodec::Json,
    };
    // A multifield's codec reads the whole list: it is never wrapped in `Multi`.
    let multiple = f.multiple && !matches!(element, ElementCodec::Multifield(_));
    Mapping {
        element,
        multiple,
        // CONTACT_IDS is never returned and cannot be filtered.
        no_filter: f.code == "CONTACT_IDS" && !f.dynamic,
        known: row.is_some(),
    }
}

/// The mapping table as Markdown (for the README).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| Bitrix type | Rust type | codec (`bitrix_runtime::codec`) | wire form, notes |\n|---|---|---|---|\n",
    );
    for row in TYPE_TABLE.iter().chain(std::iter::once(&UNKNOWN_ROW)) {
        out.push_str(&format!(
            "| `{}` | `{}` | `{}` | {} |\n",
            row.bitrix,
            row.rust,
            row.codec.display(),
            row.note
        ));
    }
    out.push_str("| any type with `isMultiple` | `Vec<T>` | `Multi<C>` | JSON array; empty forms read as an empty `Vec` |\n");
    out
}

/// The id type name of an entity's own `ID` field (see [`entities::id_type`]).
pub fn entity_id_type(entity: &str) -> &'static str {
    entities::id_type(entity)
}

//! Bitrix field types -> Rust types and wire codecs.
//!
//! The table [`TYPE_TABLE`] is the single source of the mapping; the README's table is
//! generated from it (`bitrix-codegen` test `readme_mapping_table_is_current`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::snapshot::Descriptor;

/// Which codec and Rust type a Bitrix type maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRow {
    /// The Bitrix `type` (`crm_status`, `money`, ...).
    pub bitrix: &'static str,
    /// The codec under `bitrix_runtime::codec`, with `{id}` for an id type.
    pub codec: &'static str,
    /// The Rust value type, as shown to users.
    pub rust: &'static str,
    /// What the wire form is / notes.
    pub note: &'static str,
}

/// Every Bitrix type the generator knows, standard and user-field types alike.
pub const TYPE_TABLE: &[TypeRow] = &[
    TypeRow {
        bitrix: "integer",
        codec: "Integer",
        rust: "i64",
        note: "`\"99\"` or `99`; the entity's own `ID` becomes its id type (`DealId`)",
    },
    TypeRow {
        bitrix: "string",
        codec: "Text",
        rust: "String",
        note: "kept verbatim",
    },
    TypeRow {
        bitrix: "char",
        codec: "YesNo",
        rust: "bool",
        note: "`\"Y\"`/`\"N\"`",
    },
    TypeRow {
        bitrix: "double",
        codec: "Decimal",
        rust: "rust_decimal::Decimal",
        note: "exact: `\"1000000.00\"` is not rounded through f64",
    },
    TypeRow {
        bitrix: "date",
        codec: "Date",
        rust: "chrono::NaiveDate",
        note: "read from `2024-08-30T02:00:00+02:00` (UTC midnight in portal time) as 2024-08-30; written `YYYY-MM-DD`",
    },
    TypeRow {
        bitrix: "datetime",
        codec: "DateTime",
        rust: "chrono::DateTime<FixedOffset>",
        note: "ISO 8601, the portal's offset kept",
    },
    TypeRow {
        bitrix: "user",
        codec: "Id<UserId>",
        rust: "UserId",
        note: "",
    },
    TypeRow {
        bitrix: "employee",
        codec: "Id<UserId>",
        rust: "UserId",
        note: "user field",
    },
    TypeRow {
        bitrix: "crm_status",
        codec: "Status",
        rust: "StatusId",
        note: "`statusType` kept in the field metadata; no LIKE filter",
    },
    TypeRow {
        bitrix: "crm_category",
        codec: "Id<CategoryId>",
        rust: "CategoryId",
        note: "0 is the default pipeline",
    },
    TypeRow {
        bitrix: "crm_currency",
        codec: "Currency",
        rust: "CurrencyId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_company",
        codec: "Id<CompanyId>",
        rust: "CompanyId",
        note: "`\"0\"` reads as no company; no LIKE filter",
    },
    TypeRow {
        bitrix: "crm_contact",
        codec: "Id<ContactId>",
        rust: "ContactId",
        note: "`CONTACT_IDS` cannot be filtered",
    },
    TypeRow {
        bitrix: "crm_lead",
        codec: "Id<LeadId>",
        rust: "LeadId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_deal",
        codec: "Id<DealId>",
        rust: "DealId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_quote",
        codec: "Id<QuoteId>",
        rust: "QuoteId",
        note: "",
    },
    TypeRow {
        bitrix: "crm_entity",
        codec: "Id<ItemId>",
        rust: "ItemId",
        note: "`PARENT_ID_{entityTypeId}`: a smart-process item",
    },
    TypeRow {
        bitrix: "location",
        codec: "Location",
        rust: "LocationId",
        note: "",
    },
    TypeRow {
        bitrix: "boolean",
        codec: "Boolean",
        rust: "bool",
        note: "reads `1`/`0`, `true`/`false`, `Y`/`N`; writes `1`/`0`",
    },
    TypeRow {
        bitrix: "money",
        codec: "Money",
        rust: "Money",
        note: "`\"300.50\\|RUB\"`, amount exact",
    },
    TypeRow {
        bitrix: "url",
        codec: "Text",
        rust: "String",
        note: "",
    },
    TypeRow {
        bitrix: "address",
        codec: "Address",
        rust: "Address",
        note: "`\"text\\|lat;lng\\|locationId\"`",
    },
    TypeRow {
        bitrix: "enumeration",
        codec: "Enum<_>",
        rust: "generated enum",
        note: "one variant per item plus `Other(String)` for items added later",
    },
    TypeRow {
        bitrix: "file",
        codec: "File / FileUpload",
        rust: "File (read), FileUpload (write)",
        note: "read `{id, showUrl, downloadUrl}`; write `{fileData: [name, base64]}` or `{id}`",
    },
    TypeRow {
        bitrix: "iblock_element",
        codec: "Id<IblockElementId>",
        rust: "IblockElementId",
        note: "",
    },
    TypeRow {
        bitrix: "iblock_section",
        codec: "Id<IblockSectionId>",
        rust: "IblockSectionId",
        note: "",
    },
    TypeRow {
        bitrix: "crm",
        codec: "CrmLink",
        rust: "CrmLink",
        note: "`D_1`, `C_2`, `CO_3`, `L_4`, `SI_7`, `T80_6`, or a bare id",
    },
    TypeRow {
        bitrix: "resourcebooking",
        codec: "Json",
        rust: "serde_json::Value",
        note: "booking records, kept as JSON",
    },
    TypeRow {
        bitrix: "crm_multifield",
        codec: "Json",
        rust: "serde_json::Value",
        note: "phones, e-mails of contacts and leads, kept as JSON",
    },
];

/// The mapping for a type the generator does not know (`rest_219_test`, future types).
pub const UNKNOWN_ROW: TypeRow = TypeRow {
    bitrix: "(any other)",
    codec: "Json",
    rust: "serde_json::Value",
    note: "with a compile-time warning; `strict` makes it an error",
};

/// The generated Rust side of one field.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Codec that reads the value (`Multi<..>` for multiple fields).
    pub read_codec: TokenStream,
    /// Rust type of a read value (`Vec<..>` for multiple fields).
    pub read_ty: TokenStream,
    /// Codec that writes the value on create/update.
    pub write_codec: TokenStream,
    /// Rust type of a written value.
    pub write_ty: TokenStream,
    /// Codec of the typed field constant (one element; decides the filter operators).
    pub filter_codec: TokenStream,
    /// Whether the type is in [`TYPE_TABLE`].
    pub known: bool,
}

/// What the mapping needs to know besides the descriptor.
pub struct MappingContext<'a> {
    /// Path of the runtime crate (`::bitrix_runtime`).
    pub runtime: &'a TokenStream,
    /// The entity's own id type name (`DealId`).
    pub entity_id: &'a str,
    /// The generated enum of an enumeration field.
    pub enum_ident: Option<&'a syn::Ident>,
}

/// Maps a descriptor to its codecs and Rust types.
pub fn map_field(d: &Descriptor<'_>, cx: &MappingContext<'_>) -> Mapping {
    let rt = cx.runtime;
    let id = |name: &str| {
        let ident = format_ident!("{}", name);
        (
            quote!(#rt::codec::Id<#rt::types::#ident>),
            quote!(#rt::types::#ident),
        )
    };
    let simple = |codec: &str, ty: TokenStream| {
        let codec = format_ident!("{}", codec);
        (quote!(#rt::codec::#codec), ty)
    };
    let field_type = d.field_type();
    let mut known = true;
    let mut write: Option<(TokenStream, TokenStream)> = None;
    let (codec, ty) = match field_type {
        "integer" if d.code == "ID" => id(cx.entity_id),
        "integer" => simple("Integer", quote!(i64)),
        "string" | "url" => simple("Text", quote!(::std::string::String)),
        "char" => simple("YesNo", quote!(bool)),
        "boolean" => simple("Boolean", quote!(bool)),
        "double" => simple("Decimal", quote!(#rt::types::Decimal)),
        "date" => simple("Date", quote!(#rt::types::NaiveDate)),
        "datetime" => simple(
            "DateTime",
            quote!(#rt::types::DateTime<#rt::types::FixedOffset>),
        ),
        "user" | "employee" => id("UserId"),
        "crm_status" => simple("Status", quote!(#rt::types::StatusId)),
        "crm_category" => id("CategoryId"),
        "crm_currency" => simple("Currency", quote!(#rt::types::CurrencyId)),
        "crm_company" => id("CompanyId"),
        "crm_contact" => id("ContactId"),
        "crm_lead" => id("LeadId"),
        "crm_deal" => id("DealId"),
        "crm_quote" => id("QuoteId"),
        "crm_entity" => id("ItemId"),
        "location" => simple("Location", quote!(#rt::types::LocationId)),
        "money" => simple("Money", quote!(#rt::types::Money)),
        "address" => simple("Address", quote!(#rt::types::Address)),
        "iblock_element" => id("IblockElementId"),
        "iblock_section" => id("IblockSectionId"),
        "crm" => simple("CrmLink", quote!(#rt::types::CrmLink)),
        "file" => {
            write = Some(simple("FileUpload", quote!(#rt::types::FileUpload)));
            simple("File", quote!(#rt::types::File))
        }
        "enumeration" => match cx.enum_ident {
            Some(e) => (quote!(#rt::codec::Enum<#e>), quote!(#e)),
            None => simple("Json", quote!(#rt::__private::serde_json::Value)),
        },
        "resourcebooking" | "crm_multifield" => {
            simple("Json", quote!(#rt::__private::serde_json::Value))
        }
        _ => {
            known = false;
            simple("Json", quote!(#rt::__private::serde_json::Value))
        }
    };
    let (write_codec, write_ty) = write.unwrap_or_else(|| (codec.clone(), ty.clone()));
    // CONTACT_IDS is never returned and cannot be filtered.
    let unfilterable = d.code == "CONTACT_IDS" && !d.is_dynamic();
    let filter_codec = if unfilterable {
        quote!(#rt::codec::NoFilter<#codec>)
    } else {
        codec.clone()
    };
    if d.is_multiple() {
        Mapping {
            read_codec: quote!(#rt::codec::Multi<#codec>),
            read_ty: quote!(::std::vec::Vec<#ty>),
            write_codec: quote!(#rt::codec::Multi<#write_codec>),
            write_ty: quote!(::std::vec::Vec<#write_ty>),
            filter_codec,
            known,
        }
    } else {
        Mapping {
            read_codec: codec,
            read_ty: ty,
            write_codec,
            write_ty,
            filter_codec,
            known,
        }
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
            row.bitrix, row.rust, row.codec, row.note
        ));
    }
    out.push_str("| any type with `isMultiple` | `Vec<T>` | `Multi<C>` | JSON array; empty forms read as an empty `Vec` |\n");
    out
}

/// The id type name of an entity's own `ID` field.
pub fn entity_id_type(entity: &str) -> &'static str {
    match entity {
        "deal" => "DealId",
        "lead" => "LeadId",
        "contact" => "ContactId",
        "company" => "CompanyId",
        "quote" => "QuoteId",
        _ => "ItemId",
    }
}

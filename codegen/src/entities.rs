//! The CRM entities the generator knows: one row per entity, read by the snapshot loader, the
//! type mapping, the CLI, the macro and the expansion. Adding an entity is adding a row.

/// One CRM entity of the legacy `crm.<entity>.*` API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityRow {
    /// Entity name, such as `deal` (the snapshot's `entity.name`, the CLI's `--entity`).
    pub name: &'static str,
    /// Method prefix, such as `crm.deal`.
    pub method_prefix: &'static str,
    /// CRM entity type id (2 for deals).
    pub entity_type_id: u32,
    /// The id type of the entity's own `ID` field, under `bitrix_runtime::types`.
    pub id_type: &'static str,
    /// The read model's name when none is given (`Deal`).
    pub struct_name: &'static str,
    /// The portal-independent trait over the standard fields, when the runtime has one.
    pub standard: Option<StandardSet>,
}

/// A runtime trait over an entity's standard fields (`bitrix_runtime::StandardDeal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardSet {
    /// The trait's name at the runtime's root.
    pub trait_name: &'static str,
    /// Its fields; the trait is implemented when the snapshot has each with its type.
    pub fields: &'static [StandardField],
}

/// One standard field: its getter in the trait, code, Bitrix type, the codec of its typed
/// constant, the Rust type the getter returns, and how it returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardField {
    /// Getter name in the trait.
    pub getter: &'static str,
    /// Bitrix code (also the name of the trait's constant).
    pub code: &'static str,
    /// The Bitrix type the field must have.
    pub bitrix_type: &'static str,
    /// Codec under `bitrix_runtime::codec` (`Id<DealId>`: arguments live in `types`).
    pub codec: &'static str,
    /// The getter's value type (`str`, `bool`, or a type under `bitrix_runtime::types`).
    pub rust: &'static str,
    /// How the getter returns it.
    pub access: Access,
}

/// How a standard getter returns its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `Option<T>`, copied.
    Copy,
    /// `Option<&T>`.
    Ref,
    /// `Option<&str>` from a `String`.
    Str,
}

const fn std_field(
    getter: &'static str,
    code: &'static str,
    bitrix_type: &'static str,
    codec: &'static str,
    rust: &'static str,
    access: Access,
) -> StandardField {
    StandardField {
        getter,
        code,
        bitrix_type,
        codec,
        rust,
        access,
    }
}

/// The standard deal fields of `bitrix_runtime::StandardDeal`.
pub const STANDARD_DEAL: &[StandardField] = &[
    std_field(
        "deal_id",
        "ID",
        "integer",
        "Id<DealId>",
        "DealId",
        Access::Copy,
    ),
    std_field("title", "TITLE", "string", "Text", "str", Access::Str),
    std_field(
        "type_id",
        "TYPE_ID",
        "crm_status",
        "Status",
        "StatusId",
        Access::Ref,
    ),
    std_field(
        "category_id",
        "CATEGORY_ID",
        "crm_category",
        "Id<CategoryId>",
        "CategoryId",
        Access::Copy,
    ),
    std_field(
        "stage_id",
        "STAGE_ID",
        "crm_status",
        "Status",
        "StatusId",
        Access::Ref,
    ),
    std_field(
        "currency_id",
        "CURRENCY_ID",
        "crm_currency",
        "Currency",
        "CurrencyId",
        Access::Ref,
    ),
    std_field(
        "opportunity",
        "OPPORTUNITY",
        "double",
        "Decimal",
        "Decimal",
        Access::Copy,
    ),
    std_field(
        "company_id",
        "COMPANY_ID",
        "crm_company",
        "Id<CompanyId>",
        "CompanyId",
        Access::Copy,
    ),
    std_field(
        "assigned_by_id",
        "ASSIGNED_BY_ID",
        "user",
        "Id<UserId>",
        "UserId",
        Access::Copy,
    ),
    std_field(
        "date_create",
        "DATE_CREATE",
        "datetime",
        "DateTime",
        "DateTime<FixedOffset>",
        Access::Copy,
    ),
    std_field(
        "date_modify",
        "DATE_MODIFY",
        "datetime",
        "DateTime",
        "DateTime<FixedOffset>",
        Access::Copy,
    ),
    std_field(
        "close_date",
        "CLOSEDATE",
        "date",
        "Date",
        "NaiveDate",
        Access::Copy,
    ),
    std_field("closed", "CLOSED", "char", "YesNo", "bool", Access::Copy),
    std_field("comments", "COMMENTS", "string", "Text", "str", Access::Str),
];

/// Every entity the generator knows.
pub const ENTITIES: &[EntityRow] = &[
    EntityRow {
        name: "deal",
        method_prefix: "crm.deal",
        entity_type_id: 2,
        id_type: "DealId",
        struct_name: "Deal",
        standard: Some(StandardSet {
            trait_name: "StandardDeal",
            fields: STANDARD_DEAL,
        }),
    },
    EntityRow {
        name: "lead",
        method_prefix: "crm.lead",
        entity_type_id: 1,
        id_type: "LeadId",
        struct_name: "Lead",
        standard: None,
    },
    EntityRow {
        name: "contact",
        method_prefix: "crm.contact",
        entity_type_id: 3,
        id_type: "ContactId",
        struct_name: "Contact",
        standard: None,
    },
    EntityRow {
        name: "company",
        method_prefix: "crm.company",
        entity_type_id: 4,
        id_type: "CompanyId",
        struct_name: "Company",
        standard: None,
    },
    EntityRow {
        name: "quote",
        method_prefix: "crm.quote",
        entity_type_id: 7,
        id_type: "QuoteId",
        struct_name: "Quote",
        standard: None,
    },
];

/// The id type of entities that are not in [`ENTITIES`] (smart-process items).
pub const ITEM_ID_TYPE: &str = "ItemId";

/// The row of the entity with this name.
pub fn by_name(name: &str) -> Option<&'static EntityRow> {
    ENTITIES.iter().find(|e| e.name == name)
}

/// The names of every known entity, in table order (`deal`, `lead`, ...).
pub fn names() -> impl Iterator<Item = &'static str> {
    ENTITIES.iter().map(|e| e.name)
}

/// The names as a list for messages: `deal, lead, contact, company, quote`.
pub fn names_list() -> String {
    names().collect::<Vec<_>>().join(", ")
}

/// The id type of an entity's own `ID` field (`DealId`; `ItemId` for an unknown entity).
pub fn id_type(entity: &str) -> &'static str {
    by_name(entity).map_or(ITEM_ID_TYPE, |e| e.id_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_type_ids_are_unique() {
        for (i, a) in ENTITIES.iter().enumerate() {
            for b in &ENTITIES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.entity_type_id, b.entity_type_id);
                assert_ne!(a.struct_name, b.struct_name);
            }
            assert_eq!(a.method_prefix, format!("crm.{}", a.name));
        }
        assert_eq!(id_type("lead"), "LeadId");
        assert_eq!(id_type("dynamic_1032"), "ItemId");
    }
}

//! Rust types for Bitrix field values: typed ids, money, addresses, files, CRM links.

use std::fmt;

pub use chrono::{DateTime, FixedOffset, NaiveDate};
pub use rust_decimal::Decimal;

/// A numeric record id of one kind (deal, contact, user, ...).
pub trait IdType:
    Copy + Eq + std::hash::Hash + fmt::Debug + From<u64> + Into<u64> + Send + Sync + 'static
{
    /// What the id identifies, for error messages ("deal", "user").
    const KIND: &'static str;
}

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident => $kind:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u64);

        impl From<u64> for $name {
            fn from(v: u64) -> Self { $name(v) }
        }
        impl From<$name> for u64 {
            fn from(v: $name) -> u64 { v.0 }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { fmt::Display::fmt(&self.0, f) }
        }
        impl IdType for $name {
            const KIND: &'static str = $kind;
        }
    )*};
}

id_types! {
    /// Id of a deal (`ID`, `crm_deal` links).
    DealId => "deal";
    /// Id of a lead (`LEAD_ID`).
    LeadId => "lead";
    /// Id of a contact (`CONTACT_ID`, `CONTACT_IDS`).
    ContactId => "contact";
    /// Id of a company (`COMPANY_ID`).
    CompanyId => "company";
    /// Id of a quote (`QUOTE_ID`).
    QuoteId => "quote";
    /// Id of a portal user (`ASSIGNED_BY_ID`, `employee` user fields).
    UserId => "user";
    /// Id of a pipeline (`CATEGORY_ID`; 0 is the default pipeline).
    CategoryId => "pipeline";
    /// Id of a smart-process item (`PARENT_ID_{entityTypeId}`).
    ItemId => "smart-process item";
    /// Id of an information block element (`iblock_element` user fields).
    IblockElementId => "iblock element";
    /// Id of an information block section (`iblock_section` user fields).
    IblockSectionId => "iblock section";
    /// Id of a stored file.
    FileId => "file";
}

macro_rules! string_ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str { &self.0 }
        }
        impl From<&str> for $name {
            fn from(v: &str) -> Self { $name(v.to_owned()) }
        }
        impl From<String> for $name {
            fn from(v: String) -> Self { $name(v) }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str { &self.0 }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
    )*};
}

string_ids! {
    /// A status id from a `crm.status` reference (`STAGE_ID` such as `C1:NEW`, `TYPE_ID`, `SOURCE_ID`).
    StatusId;
    /// A currency code (`CURRENCY_ID`, such as `RUB` or `EUR`).
    CurrencyId;
    /// A location id (`LOCATION_ID`).
    LocationId;
}

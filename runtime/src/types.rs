//! Rust types for Bitrix field values: typed ids, money, addresses, files, CRM links,
//! multifields.

use std::fmt;

pub use chrono::{DateTime, FixedOffset, NaiveDate};
pub use rust_decimal::Decimal;

mod multifield;
pub use multifield::{
    AnyMultifieldType, EmailType, ImType, LinkType, Multifield, MultifieldKind, MultifieldOp,
    MultifieldOps, PhoneType, WebType,
};

/// A numeric record id of one kind (deal, contact, user, ...).
pub trait IdType:
    Copy + Eq + std::hash::Hash + fmt::Debug + From<u64> + Into<u64> + Send + Sync + 'static
{
    /// What the id identifies, for error messages ("deal", "user").
    const KIND: &'static str;

    /// Whether the wire value `0` (`"0"`) means "no link" and decodes to `None`.
    ///
    /// True for every kind except [`CategoryId`], where 0 is the default pipeline.
    const ZERO_MEANS_NONE: bool = true;
}

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident => $kind:literal $(, zero_means_none: $zero:literal)?;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u64);

        impl std::str::FromStr for $name {
            type Err = ParseError;

            /// Parses the decimal id as the portal writes it (`"410"`).
            fn from_str(s: &str) -> Result<Self, ParseError> {
                crate::text::trim(s).parse::<u64>().map($name).map_err(|_| {
                    ParseError::new(
                        concat!($kind, " id"),
                        s,
                        "a non-negative integer such as \"410\"",
                    )
                })
            }
        }

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
            $(const ZERO_MEANS_NONE: bool = $zero;)?
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
    CategoryId => "pipeline", zero_means_none: false;
    /// Id of a smart-process item (`PARENT_ID_{entityTypeId}`).
    ItemId => "smart-process item";
    /// Id of an information block element (`iblock_element` user fields).
    IblockElementId => "iblock element";
    /// Id of an information block section (`iblock_section` user fields).
    IblockSectionId => "iblock section";
    /// Id of a stored file.
    FileId => "file";
}

id_types! {
    /// Id of a product row (`id` of `crm.item.productrow.*`, `ID` of the legacy rows).
    ProductRowId => "product row";
    /// Id of a catalog product (`productId`; 0, "not from the catalog", reads as `None`).
    ProductId => "product";
}

/// Id of an item of one smart process, or of the smart invoice (31): the entity type id is part
/// of the type, so an item of one smart process cannot be passed where another's is expected.
///
/// The generated smart-process and smart-invoice entities use it as their
/// [`Entity::Id`](crate::Entity::Id) (`SmartItemId<1220>` for the smart process 1220), and the
/// links to them (`PARENT_ID_1220` / `parentId1220` of any entity) read and write it, so
/// `client.get::<Project>(deal.parent_id_1220.unwrap())` compiles only when `Project` is that
/// smart process. Converts to and from the untyped [`ItemId`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SmartItemId<const ENTITY_TYPE_ID: u32>(pub u64);

impl<const T: u32> SmartItemId<T> {
    /// The smart process's entity type id.
    pub const ENTITY_TYPE_ID: u32 = T;
}

impl<const T: u32> fmt::Debug for SmartItemId<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmartItemId<{T}>({})", self.0)
    }
}

impl<const T: u32> fmt::Display for SmartItemId<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<const T: u32> std::str::FromStr for SmartItemId<T> {
    type Err = ParseError;

    /// Parses the decimal id as the portal writes it (`"410"`).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        crate::text::trim(s)
            .parse::<u64>()
            .map(SmartItemId)
            .map_err(|_| {
                ParseError::new(
                    "smart-process item id",
                    s,
                    "a non-negative integer such as \"410\"",
                )
            })
    }
}

impl<const T: u32> From<u64> for SmartItemId<T> {
    fn from(v: u64) -> Self {
        SmartItemId(v)
    }
}

impl<const T: u32> From<SmartItemId<T>> for u64 {
    fn from(v: SmartItemId<T>) -> u64 {
        v.0
    }
}

impl<const T: u32> From<ItemId> for SmartItemId<T> {
    fn from(v: ItemId) -> Self {
        SmartItemId(v.0)
    }
}

impl<const T: u32> From<SmartItemId<T>> for ItemId {
    fn from(v: SmartItemId<T>) -> ItemId {
        ItemId(v.0)
    }
}

impl<const T: u32> IdType for SmartItemId<T> {
    const KIND: &'static str = "smart-process item";
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
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str { &self.0 }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool { self.0 == other }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool { self.0 == *other }
        }
        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool { self == other.0 }
        }
        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool { *self == other.0 }
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

impl From<u64> for LocationId {
    /// Location ids are numeric on most portals (`"577"`).
    fn from(v: u64) -> Self {
        LocationId(v.to_string())
    }
}

/// A text form that could not be parsed (`"300.50|USD"` for money, `"CO_3"` for a CRM link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    input: String,
    expected: &'static str,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, input: &str, expected: &'static str) -> Self {
        // Keep messages readable when a whole document was passed by mistake.
        const MAX: usize = 120;
        let input = match input.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}...", &input[..cut]),
            None => input.to_owned(),
        };
        ParseError {
            what,
            input,
            expected,
        }
    }

    /// What was being parsed ("money", "CRM link", ...).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The rejected text (shortened when very long).
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: expected {}",
            self.what, self.input, self.expected
        )
    }
}

impl std::error::Error for ParseError {}

/// An amount of money in one currency: the value of `money` user fields (`"300.50|USD"`).
///
/// The amount is exact (no float rounding). Equality compares amounts numerically, so
/// `300|RUB` equals `300.00|RUB`; the text form keeps the scale it was given.
///
/// An empty [`currency`](Money::currency) means "no currency given": the portal reads `"300"`
/// (without `|CURRENCY`) as an amount in its base currency. Such a value is written back as
/// `"300"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Money {
    /// The amount, exactly as stored (`300.50`).
    pub amount: Decimal,
    /// The currency code (`USD`); empty when the value had none.
    pub currency: CurrencyId,
}

const MONEY_FORM: &str = "\"amount|CURRENCY\" such as \"300.50|USD\" (or a bare amount)";

impl Money {
    /// Money in the given currency: `Money::new(Decimal::new(30050, 2), "USD")` is `300.50|USD`.
    pub fn new(amount: impl Into<Decimal>, currency: impl Into<CurrencyId>) -> Self {
        Money {
            amount: amount.into(),
            currency: currency.into(),
        }
    }

    /// Parses the wire form; `Ok(None)` for an empty amount (`""`, `"|RUB"`).
    pub(crate) fn parse_wire(s: &str) -> Result<Option<Money>, ()> {
        let (amount, currency) = match s.split_once('|') {
            Some((a, c)) => (crate::text::trim(a), crate::text::trim(c)),
            None => (crate::text::trim(s), ""),
        };
        if !currency
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(());
        }
        if amount.is_empty() {
            return Ok(None);
        }
        if !amount
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
        {
            return Err(());
        }
        let amount = amount.parse::<Decimal>().map_err(|_| ())?;
        Ok(Some(Money {
            amount,
            currency: CurrencyId::from(currency),
        }))
    }
}

impl fmt::Display for Money {
    /// `300.50|USD`, or `300.50` when the currency is empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.currency.0.is_empty() {
            write!(f, "{}", self.amount)
        } else {
            write!(f, "{}|{}", self.amount, self.currency)
        }
    }
}

impl std::str::FromStr for Money {
    type Err = ParseError;

    /// Parses `"300.50|USD"` (or a bare amount `"300.50"`, leaving the currency empty).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match Money::parse_wire(s) {
            Ok(Some(m)) => Ok(m),
            _ => Err(ParseError::new("money", s, MONEY_FORM)),
        }
    }
}

impl<C: Into<CurrencyId>> From<(Decimal, C)> for Money {
    fn from((amount, currency): (Decimal, C)) -> Self {
        Money::new(amount, currency)
    }
}

/// A postal address with optional coordinates and location: the value of `address` user fields.
///
/// Wire form: `"text|lat;lng|locationId"`, where every part after the text may be empty or
/// missing (`"Москва, Тверская 1|;|577"`, `"text|55.75;37.61"`, `"text"`). The text itself
/// may contain `|`: the form is split from the right.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Address {
    /// The address as a person writes it.
    pub text: String,
    /// Latitude, when the portal geocoded the address.
    pub lat: Option<f64>,
    /// Longitude, when the portal geocoded the address.
    pub lng: Option<f64>,
    /// The id of the address in the portal's location module.
    pub location_id: Option<u64>,
}

impl Address {
    /// An address with text only.
    pub fn new(text: impl Into<String>) -> Self {
        Address {
            text: text.into(),
            ..Address::default()
        }
    }

    /// The same address with coordinates.
    pub fn with_coordinates(mut self, lat: f64, lng: f64) -> Self {
        self.lat = Some(lat);
        self.lng = Some(lng);
        self
    }

    /// The same address with a location id.
    pub fn with_location_id(mut self, location_id: u64) -> Self {
        self.location_id = Some(location_id);
        self
    }

    /// Whether nothing is set (blank text, no coordinates, no location).
    pub fn is_empty(&self) -> bool {
        crate::text::trim(&self.text).is_empty()
            && self.lat.is_none()
            && self.lng.is_none()
            && self.location_id.is_none()
    }

    /// Parses the wire form; any text is an address.
    pub(crate) fn parse_wire(s: &str) -> Address {
        fn coord(s: &str) -> Option<Option<f64>> {
            let t = crate::text::trim(s);
            if t.is_empty() {
                return Some(None);
            }
            // `f64::from_str` also reads "inf", "NaN" and "1e5"; coordinates are plain numbers.
            if !t
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
            {
                return None;
            }
            t.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some)
        }
        fn coords(s: &str) -> Option<(Option<f64>, Option<f64>)> {
            let (lat, lng) = s.split_once(';')?;
            Some((coord(lat)?, coord(lng)?))
        }
        fn location(s: &str) -> Option<Option<u64>> {
            let t = crate::text::trim(s);
            if t.is_empty() {
                Some(None)
            } else if t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse().ok().map(Some)
            } else {
                None
            }
        }

        if let Some((head, last)) = s.rsplit_once('|') {
            if let (Some(location_id), Some((text, middle))) =
                (location(last), head.rsplit_once('|'))
            {
                if let Some((lat, lng)) = coords(middle) {
                    return Address {
                        text: text.to_owned(),
                        lat,
                        lng,
                        location_id,
                    };
                }
            }
            if let Some((lat, lng)) = coords(last) {
                return Address {
                    text: head.to_owned(),
                    lat,
                    lng,
                    location_id: None,
                };
            }
        }
        Address::new(s)
    }
}

impl fmt::Display for Address {
    /// The wire form `text|lat;lng|locationId`, leaving out trailing parts that are empty.
    ///
    /// A text that contains `|` is always followed by the coordinates part (`text|;`), so it
    /// reads back unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        let has_coords = self.lat.is_some() || self.lng.is_some();
        if has_coords || self.location_id.is_some() || self.text.contains('|') {
            f.write_str("|")?;
            if let Some(lat) = self.lat {
                write!(f, "{lat}")?;
            }
            f.write_str(";")?;
            if let Some(lng) = self.lng {
                write!(f, "{lng}")?;
            }
        }
        if let Some(location_id) = self.location_id {
            write!(f, "|{location_id}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Address {
    type Err = std::convert::Infallible;

    /// Reads the wire form; never fails, since any text is an address.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Address::parse_wire(s))
    }
}

impl From<&str> for Address {
    fn from(text: &str) -> Self {
        Address::new(text)
    }
}

impl From<String> for Address {
    fn from(text: String) -> Self {
        Address::new(text)
    }
}

/// A stored file, as `get`/`list` return it for `file` user fields.
///
/// The URLs are relative to the portal (`/bitrix/components/...`) and need the webhook's or
/// token's authorization to download.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct File {
    /// The file id.
    pub id: FileId,
    /// The `showUrl` (`url` on `crm.item.*`): opens the file in the browser.
    pub show_url: Option<String>,
    /// The `downloadUrl` (`urlMachine` on `crm.item.*`: a direct link for applications):
    /// downloads the file.
    pub download_url: Option<String>,
}

impl File {
    /// A reference to a stored file, without URLs.
    pub fn new(id: impl Into<FileId>) -> Self {
        File {
            id: id.into(),
            show_url: None,
            download_url: None,
        }
    }
}

impl From<FileId> for File {
    fn from(id: FileId) -> Self {
        File::new(id)
    }
}

/// What to do with a `file` user field on `add`/`update`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum FileUpload {
    /// Upload a new file (sent as `{"fileData": [name, base64]}`).
    New {
        /// The file name the portal shows, such as `contract.pdf`.
        name: String,
        /// The file's bytes.
        content: Vec<u8>,
    },
    /// Keep a stored file (sent as `{"id": N}`); in a multiple field, files not listed are
    /// removed.
    Keep(FileId),
    /// Delete a stored file (sent as `{"id": N, "del": "Y"}`).
    Delete(FileId),
}

impl FileUpload {
    /// Upload a new file with this name and content.
    pub fn new(name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        FileUpload::New {
            name: name.into(),
            content: content.into(),
        }
    }

    /// Keep the stored file with this id.
    pub fn keep(id: impl Into<FileId>) -> Self {
        FileUpload::Keep(id.into())
    }

    /// Delete the stored file with this id.
    pub fn delete(id: impl Into<FileId>) -> Self {
        FileUpload::Delete(id.into())
    }
}

impl fmt::Debug for FileUpload {
    /// Shows the size of new content, not the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileUpload::New { name, content } => f
                .debug_struct("New")
                .field("name", name)
                .field("content", &format_args!("<{} bytes>", content.len()))
                .finish(),
            FileUpload::Keep(id) => f.debug_tuple("Keep").field(id).finish(),
            FileUpload::Delete(id) => f.debug_tuple("Delete").field(id).finish(),
        }
    }
}

impl From<FileId> for FileUpload {
    /// Keeps the stored file.
    fn from(id: FileId) -> Self {
        FileUpload::Keep(id)
    }
}

impl From<&File> for FileUpload {
    /// Keeps the stored file.
    fn from(file: &File) -> Self {
        FileUpload::Keep(file.id)
    }
}

impl From<File> for FileUpload {
    /// Keeps the stored file.
    fn from(file: File) -> Self {
        FileUpload::Keep(file.id)
    }
}

/// A link to a CRM record: the value of `crm` user fields.
///
/// The wire form is a type prefix and the id (`"D_1"`, `"CO_3"`, `"T80_6"`), or a bare id when
/// the field allows only one entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrmLink {
    /// A lead (`L_4`).
    Lead(LeadId),
    /// A deal (`D_1`).
    Deal(DealId),
    /// A contact (`C_2`).
    Contact(ContactId),
    /// A company (`CO_3`).
    Company(CompanyId),
    /// A quote (`Q_5`).
    Quote(QuoteId),
    /// A smart invoice (`SI_7`).
    SmartInvoice(ItemId),
    /// An item of a smart process (`T80_6`: the entity type id in hex, 0x80 = 128).
    Item {
        /// The smart process's entity type id (128 for `T80`).
        entity_type_id: u32,
        /// The item id.
        id: ItemId,
    },
    /// A bare id, in a field that allows one entity type only (`"12"` or `12`).
    Bare(u64),
}

const CRM_LINK_FORM: &str = "a prefixed id such as \"D_1\", \"C_2\", \"CO_3\", \"L_4\", \"Q_5\", \"SI_7\", \"T80_6\", or a bare id such as \"12\"";

impl CrmLink {
    /// The typed id of an item of the smart process (or smart invoice) `T`, when the link
    /// points at one (`T80_6` is `Some(SmartItemId::<128>(6))` and `None` for any other `T`).
    pub fn smart_item<const T: u32>(&self) -> Option<SmartItemId<T>> {
        match *self {
            CrmLink::Item { entity_type_id, id } if entity_type_id == T => Some(id.into()),
            CrmLink::SmartInvoice(id) if T == 31 => Some(id.into()),
            _ => None,
        }
    }

    /// A smart-process item (`T{hex entity type id}_{id}`).
    pub fn item(entity_type_id: u32, id: impl Into<ItemId>) -> Self {
        CrmLink::Item {
            entity_type_id,
            id: id.into(),
        }
    }

    /// The linked record's id.
    pub fn id(&self) -> u64 {
        match *self {
            CrmLink::Lead(id) => id.0,
            CrmLink::Deal(id) => id.0,
            CrmLink::Contact(id) => id.0,
            CrmLink::Company(id) => id.0,
            CrmLink::Quote(id) => id.0,
            CrmLink::SmartInvoice(id) => id.0,
            CrmLink::Item { id, .. } => id.0,
            CrmLink::Bare(id) => id,
        }
    }

    /// The CRM entity type id of the linked record (1 lead, 2 deal, 3 contact, 4 company,
    /// 7 quote, 31 smart invoice, 128+ smart processes); `None` for a bare id.
    pub fn entity_type_id(&self) -> Option<u32> {
        match *self {
            CrmLink::Lead(_) => Some(1),
            CrmLink::Deal(_) => Some(2),
            CrmLink::Contact(_) => Some(3),
            CrmLink::Company(_) => Some(4),
            CrmLink::Quote(_) => Some(7),
            CrmLink::SmartInvoice(_) => Some(31),
            CrmLink::Item { entity_type_id, .. } => Some(entity_type_id),
            CrmLink::Bare(_) => None,
        }
    }

    /// Parses the wire form (prefix case-insensitive, surrounding blanks ignored).
    pub(crate) fn parse_wire(s: &str) -> Option<CrmLink> {
        fn digits(s: &str) -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
        let t = crate::text::trim(s);
        if let Some(id) = digits(t) {
            return Some(CrmLink::Bare(id));
        }
        let (prefix, id) = t.split_once('_')?;
        let id = digits(id)?;
        let link = if prefix.eq_ignore_ascii_case("L") {
            CrmLink::Lead(LeadId(id))
        } else if prefix.eq_ignore_ascii_case("D") {
            CrmLink::Deal(DealId(id))
        } else if prefix.eq_ignore_ascii_case("C") {
            CrmLink::Contact(ContactId(id))
        } else if prefix.eq_ignore_ascii_case("CO") {
            CrmLink::Company(CompanyId(id))
        } else if prefix.eq_ignore_ascii_case("Q") {
            CrmLink::Quote(QuoteId(id))
        } else if prefix.eq_ignore_ascii_case("SI") {
            CrmLink::SmartInvoice(ItemId(id))
        } else {
            let hex = prefix
                .strip_prefix('T')
                .or_else(|| prefix.strip_prefix('t'))?;
            if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            CrmLink::Item {
                entity_type_id: u32::from_str_radix(hex, 16).ok()?,
                id: ItemId(id),
            }
        };
        Some(link)
    }
}

impl fmt::Display for CrmLink {
    /// The wire form: `D_1`, `CO_3`, `T80_6` (hex entity type id), or the bare id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CrmLink::Lead(id) => write!(f, "L_{id}"),
            CrmLink::Deal(id) => write!(f, "D_{id}"),
            CrmLink::Contact(id) => write!(f, "C_{id}"),
            CrmLink::Company(id) => write!(f, "CO_{id}"),
            CrmLink::Quote(id) => write!(f, "Q_{id}"),
            CrmLink::SmartInvoice(id) => write!(f, "SI_{id}"),
            CrmLink::Item { entity_type_id, id } => write!(f, "T{entity_type_id:x}_{id}"),
            CrmLink::Bare(id) => write!(f, "{id}"),
        }
    }
}

impl std::str::FromStr for CrmLink {
    type Err = ParseError;

    /// Parses `"D_1"`, `"CO_3"`, `"T80_6"`, `"12"`, ...
    fn from_str(s: &str) -> Result<Self, ParseError> {
        CrmLink::parse_wire(s).ok_or_else(|| ParseError::new("CRM link", s, CRM_LINK_FORM))
    }
}

macro_rules! crm_link_from {
    ($($id:ident => $variant:ident;)*) => {$(
        impl From<$id> for CrmLink {
            fn from(id: $id) -> Self {
                CrmLink::$variant(id)
            }
        }
    )*};
}

crm_link_from! {
    LeadId => Lead;
    DealId => Deal;
    ContactId => Contact;
    CompanyId => Company;
    QuoteId => Quote;
}

impl From<u64> for CrmLink {
    /// A bare id.
    fn from(id: u64) -> Self {
        CrmLink::Bare(id)
    }
}

/// A generated enumeration type: the items of an `enumeration` user field.
///
/// The portal sends the item id (`"3476"`); generated enums map the ids known at snapshot time
/// to variants and keep any other id in a fallback variant, so items added on the portal later
/// do not break decoding.
pub trait EnumValue: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The value for an item id; an id not in the snapshot gives the fallback variant.
    fn from_id(id: &str) -> Self;
    /// The item id as the portal knows it ("3476").
    fn id(&self) -> &str;
}

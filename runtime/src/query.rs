//! Typed field identifiers and filters for `crm.*.list`.
//!
//! Generated code gives each entity one constant per field, such as `Deal::TITLE`, of type
//! [`Field<Deal, C>`](Field) where `C` is the field's [`Codec`]. The codec decides which filter
//! operators exist, so `Deal::STAGE_ID.contains("x")` (LIKE on a `crm_status` field, which the
//! server quietly turns into `=`) or any filter on `CONTACT_IDS` does not compile.
//!
//! [`StandardDeal`], [`StandardLead`], [`StandardContact`] and [`StandardCompany`] live here
//! too: the typed constants and getters of the standard fields, so that `entity` (the traits the generated code implements) needs nothing from
//! this module and the two do not import each other.

use std::marker::PhantomData;

use serde_json::Value;

use crate::codec::{Codec, Encode};
use crate::entity::{Entity, EntityField};
use crate::{codec, types};

pub use crate::codec::{Filterable, Likeable, Ordered};

/// A typed identifier of one field of entity `E`, whose values are handled by codec `C`.
///
/// For a multiple field, `C` is the codec of one element: a filter value matches records that
/// hold that element.
pub struct Field<E: Entity, C> {
    field: E::Field,
    _codec: PhantomData<fn() -> C>,
}

impl<E: Entity, C> Clone for Field<E, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E: Entity, C> Copy for Field<E, C> {}

impl<E: Entity, C> std::fmt::Debug for Field<E, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Field({})", self.field.code())
    }
}

impl<E: Entity, C> Field<E, C> {
    /// Used by generated code.
    #[doc(hidden)]
    pub const fn new(field: E::Field) -> Self {
        Field {
            field,
            _codec: PhantomData,
        }
    }

    /// The field as an entry of the entity's field enum (for `select` and `order`).
    pub fn field(self) -> E::Field {
        self.field
    }

    /// The Bitrix code, such as `TITLE`.
    pub fn code(self) -> &'static str {
        self.field.code()
    }
}

impl<E: Entity, C: Codec> Field<E, C> {
    fn with(self, prefix: &str, value: Value) -> Filter<E> {
        Filter::from_condition(format!("{prefix}{}", self.code()), value)
    }

    fn encode(value: &C::Value) -> Value {
        // Codecs write plain JSON, so this cannot fail; a failure would be a codec bug and is
        // turned into JSON null rather than a panic.
        serde_json::to_value(Encode::<C>::new(value)).unwrap_or(Value::Null)
    }

    fn encode_all(values: impl IntoIterator<Item = impl Into<C::Value>>) -> Value {
        Value::Array(
            values
                .into_iter()
                .map(|v| Self::encode(&v.into()))
                .collect(),
        )
    }
}

// One impl with bounds on each method (not one impl per capability), so a missing capability
// is reported as E0277 with the capability's `on_unimplemented` text.
impl<E: Entity, C: Codec> Field<E, C> {
    /// `FIELD = value` (the `=` prefix).
    pub fn eq(self, value: impl Into<C::Value>) -> Filter<E>
    where
        C: Filterable,
    {
        self.with("=", Self::encode(&value.into()))
    }
    /// `FIELD != value` (the `!=` prefix).
    pub fn ne(self, value: impl Into<C::Value>) -> Filter<E>
    where
        C: Filterable,
    {
        self.with("!=", Self::encode(&value.into()))
    }
    /// `FIELD IN (values)` (the `@` prefix).
    pub fn one_of(self, values: impl IntoIterator<Item = impl Into<C::Value>>) -> Filter<E>
    where
        C: Filterable,
    {
        self.with("@", Self::encode_all(values))
    }
    /// `FIELD NOT IN (values)` (the `!@` prefix).
    pub fn none_of(self, values: impl IntoIterator<Item = impl Into<C::Value>>) -> Filter<E>
    where
        C: Filterable,
    {
        self.with("!@", Self::encode_all(values))
    }
    /// The field is empty (`FIELD = ""`).
    pub fn is_empty(self) -> Filter<E>
    where
        C: Filterable,
    {
        self.with("=", Value::String(String::new()))
    }
    /// The field is not empty (`FIELD != ""`).
    pub fn is_not_empty(self) -> Filter<E>
    where
        C: Filterable,
    {
        self.with("!=", Value::String(String::new()))
    }

    /// `FIELD > value`.
    pub fn gt(self, value: impl Into<C::Value>) -> Filter<E>
    where
        C: Ordered,
    {
        self.with(">", Self::encode(&value.into()))
    }
    /// `FIELD >= value`.
    pub fn ge(self, value: impl Into<C::Value>) -> Filter<E>
    where
        C: Ordered,
    {
        self.with(">=", Self::encode(&value.into()))
    }
    /// `FIELD < value`.
    pub fn lt(self, value: impl Into<C::Value>) -> Filter<E>
    where
        C: Ordered,
    {
        self.with("<", Self::encode(&value.into()))
    }
    /// `FIELD <= value`.
    pub fn le(self, value: impl Into<C::Value>) -> Filter<E>
    where
        C: Ordered,
    {
        self.with("<=", Self::encode(&value.into()))
    }

    /// Substring match, case-insensitive on most portals (the `%` prefix).
    pub fn contains(self, text: &str) -> Filter<E>
    where
        C: Likeable,
    {
        self.with("%", Value::String(text.to_owned()))
    }
    /// LIKE with explicit wildcards: `%` for any run of characters (the `=%` prefix).
    pub fn like(self, pattern: &str) -> Filter<E>
    where
        C: Likeable,
    {
        self.with("=%", Value::String(pattern.to_owned()))
    }
}

/// A conjunction of conditions for `crm.*.list` (`filter` parameter).
///
/// Built from typed fields (`Deal::OPPORTUNITY.gt(...)`) and combined with [`Filter::and`].
pub struct Filter<E> {
    conditions: Vec<(String, Value)>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Filter {
            conditions: self.conditions.clone(),
            _entity: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.conditions.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<E> PartialEq for Filter<E> {
    fn eq(&self, other: &Self) -> bool {
        self.conditions == other.conditions
    }
}

impl<E> Default for Filter<E> {
    fn default() -> Self {
        Filter {
            conditions: Vec::new(),
            _entity: PhantomData,
        }
    }
}

impl<E> Filter<E> {
    /// A filter that matches every record.
    pub fn all() -> Self {
        Self::default()
    }

    fn from_condition(key: String, value: Value) -> Self {
        Filter {
            conditions: vec![(key, value)],
            _entity: PhantomData,
        }
    }

    /// Both this filter and `other` must match.
    pub fn and(mut self, other: Filter<E>) -> Self {
        self.conditions.extend(other.conditions);
        self
    }

    /// The conditions as `(prefixed key, value)` pairs, in the order they were added.
    ///
    /// Two conditions on the same key (`>OPPORTUNITY` twice) cannot both be sent in one JSON
    /// object; the later one wins on the wire.
    pub fn conditions(&self) -> &[(String, Value)] {
        &self.conditions
    }

    /// Whether no condition was added.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The `filter` parameter as a JSON object.
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        self.conditions.iter().cloned().collect()
    }
}

/// The standard deal fields every portal has, so library code can work with any portal's
/// `Deal`: read them with the getters, filter and order with the typed constants
/// (`D::STAGE_ID.eq("WON")`, `D::OPPORTUNITY.gt(..)`).
///
/// A generated `Deal` implements it when its snapshot has all these fields with their standard
/// types (every real portal does; a trimmed test snapshot may not). A getter returns `None`
/// when the field was not selected.
pub trait StandardDeal: Entity {
    /// `ID`.
    const ID: Field<Self, codec::Id<types::DealId>>;
    /// `TITLE`.
    const TITLE: Field<Self, codec::Text>;
    /// `TYPE_ID`.
    const TYPE_ID: Field<Self, codec::Status>;
    /// `CATEGORY_ID`.
    const CATEGORY_ID: Field<Self, codec::Id<types::CategoryId>>;
    /// `STAGE_ID`.
    const STAGE_ID: Field<Self, codec::Status>;
    /// `CURRENCY_ID`.
    const CURRENCY_ID: Field<Self, codec::Currency>;
    /// `OPPORTUNITY`.
    const OPPORTUNITY: Field<Self, codec::Decimal>;
    /// `COMPANY_ID`.
    const COMPANY_ID: Field<Self, codec::Id<types::CompanyId>>;
    /// `ASSIGNED_BY_ID`.
    const ASSIGNED_BY_ID: Field<Self, codec::Id<types::UserId>>;
    /// `DATE_CREATE`.
    const DATE_CREATE: Field<Self, codec::DateTime>;
    /// `DATE_MODIFY`.
    const DATE_MODIFY: Field<Self, codec::DateTime>;
    /// `CLOSEDATE`.
    const CLOSEDATE: Field<Self, codec::Date>;
    /// `CLOSED`.
    const CLOSED: Field<Self, codec::YesNo>;
    /// `COMMENTS`.
    const COMMENTS: Field<Self, codec::Text>;

    /// `ID`.
    fn deal_id(&self) -> Option<types::DealId>;
    /// `TITLE`.
    fn title(&self) -> Option<&str>;
    /// `TYPE_ID`.
    fn type_id(&self) -> Option<&types::StatusId>;
    /// `CATEGORY_ID` (pipeline).
    fn category_id(&self) -> Option<types::CategoryId>;
    /// `STAGE_ID`.
    fn stage_id(&self) -> Option<&types::StatusId>;
    /// `CURRENCY_ID`.
    fn currency_id(&self) -> Option<&types::CurrencyId>;
    /// `OPPORTUNITY` (amount).
    fn opportunity(&self) -> Option<rust_decimal::Decimal>;
    /// `COMPANY_ID`.
    fn company_id(&self) -> Option<types::CompanyId>;
    /// `ASSIGNED_BY_ID`.
    fn assigned_by_id(&self) -> Option<types::UserId>;
    /// `DATE_CREATE`.
    fn date_create(&self) -> Option<chrono::DateTime<chrono::FixedOffset>>;
    /// `DATE_MODIFY`.
    fn date_modify(&self) -> Option<chrono::DateTime<chrono::FixedOffset>>;
    /// `CLOSEDATE`.
    fn close_date(&self) -> Option<chrono::NaiveDate>;
    /// `CLOSED`.
    fn closed(&self) -> Option<bool>;
    /// `COMMENTS`.
    fn comments(&self) -> Option<&str>;
}

/// A trait of standard fields: the given items, and the fields every lead, contact and company
/// has (`ASSIGNED_BY_ID`, `DATE_CREATE`, `DATE_MODIFY`, `COMMENTS`, `PHONE`, `EMAIL`).
macro_rules! standard_trait {
    ($(#[$doc:meta])* $name:ident { $($items:tt)* }) => {
        $(#[$doc])*
        pub trait $name: Entity {
            $($items)*
            /// `ASSIGNED_BY_ID`.
            const ASSIGNED_BY_ID: Field<Self, codec::Id<types::UserId>>;
            /// `DATE_CREATE`.
            const DATE_CREATE: Field<Self, codec::DateTime>;
            /// `DATE_MODIFY`.
            const DATE_MODIFY: Field<Self, codec::DateTime>;
            /// `COMMENTS`.
            const COMMENTS: Field<Self, codec::Text>;
            /// `PHONE` (select and order only: a multifield takes no typed filter).
            const PHONE: Field<Self, codec::Multifields<types::PhoneType>>;
            /// `EMAIL` (select and order only: a multifield takes no typed filter).
            const EMAIL: Field<Self, codec::Multifields<types::EmailType>>;
            /// `ASSIGNED_BY_ID`.
            fn assigned_by_id(&self) -> Option<types::UserId>;
            /// `DATE_CREATE`.
            fn date_create(&self) -> Option<chrono::DateTime<chrono::FixedOffset>>;
            /// `DATE_MODIFY`.
            fn date_modify(&self) -> Option<chrono::DateTime<chrono::FixedOffset>>;
            /// `COMMENTS`.
            fn comments(&self) -> Option<&str>;
            /// `PHONE`: the stored phone numbers.
            fn phone(&self) -> Option<&[types::Multifield<types::PhoneType>]>;
            /// `EMAIL`: the stored e-mail addresses.
            fn email(&self) -> Option<&[types::Multifield<types::EmailType>]>;
        }
    };
}

standard_trait! {
    /// The standard lead fields every portal has, so library code can work with any portal's
    /// `Lead`: read them with the getters, filter and order with the typed constants
    /// (`L::STATUS_ID.eq("NEW")`, `L::OPPORTUNITY.gt(..)`).
    ///
    /// A generated `Lead` implements it when its snapshot has all these fields with their standard
    /// types (every real portal does; a trimmed test snapshot may not). A getter returns `None`
    /// when the field was not selected.
    StandardLead {
    /// `ID`.
    const ID: Field<Self, codec::Id<types::LeadId>>;
    /// `TITLE`.
    const TITLE: Field<Self, codec::Text>;
    /// `NAME`.
    const NAME: Field<Self, codec::Text>;
    /// `LAST_NAME`.
    const LAST_NAME: Field<Self, codec::Text>;
    /// `STATUS_ID`.
    const STATUS_ID: Field<Self, codec::Status>;
    /// `SOURCE_ID`.
    const SOURCE_ID: Field<Self, codec::Status>;
    /// `CURRENCY_ID`.
    const CURRENCY_ID: Field<Self, codec::Currency>;
    /// `OPPORTUNITY`.
    const OPPORTUNITY: Field<Self, codec::Decimal>;

    /// `ID`.
    fn lead_id(&self) -> Option<types::LeadId>;
    /// `TITLE`.
    fn title(&self) -> Option<&str>;
    /// `NAME` (first name).
    fn name(&self) -> Option<&str>;
    /// `LAST_NAME`.
    fn last_name(&self) -> Option<&str>;
    /// `STATUS_ID`.
    fn status_id(&self) -> Option<&types::StatusId>;
    /// `SOURCE_ID`.
    fn source_id(&self) -> Option<&types::StatusId>;
    /// `CURRENCY_ID`.
    fn currency_id(&self) -> Option<&types::CurrencyId>;
    /// `OPPORTUNITY` (amount).
    fn opportunity(&self) -> Option<rust_decimal::Decimal>;
    }
}

standard_trait! {
    /// The standard contact fields every portal has, so library code can work with any portal's
    /// `Contact`: read them with the getters, filter and order with the typed constants
    /// (`C::COMPANY_ID.eq(..)`, `C::LAST_NAME.contains("Smith")`).
    ///
    /// A generated `Contact` implements it when its snapshot has all these fields with their
    /// standard types. A getter returns `None` when the field was not selected.
    StandardContact {
    /// `ID`.
    const ID: Field<Self, codec::Id<types::ContactId>>;
    /// `NAME`.
    const NAME: Field<Self, codec::Text>;
    /// `LAST_NAME`.
    const LAST_NAME: Field<Self, codec::Text>;
    /// `SECOND_NAME`.
    const SECOND_NAME: Field<Self, codec::Text>;
    /// `TYPE_ID`.
    const TYPE_ID: Field<Self, codec::Status>;
    /// `SOURCE_ID`.
    const SOURCE_ID: Field<Self, codec::Status>;
    /// `COMPANY_ID`.
    const COMPANY_ID: Field<Self, codec::Id<types::CompanyId>>;

    /// `ID`.
    fn contact_id(&self) -> Option<types::ContactId>;
    /// `NAME` (first name).
    fn name(&self) -> Option<&str>;
    /// `LAST_NAME`.
    fn last_name(&self) -> Option<&str>;
    /// `SECOND_NAME`.
    fn second_name(&self) -> Option<&str>;
    /// `TYPE_ID`.
    fn type_id(&self) -> Option<&types::StatusId>;
    /// `SOURCE_ID`.
    fn source_id(&self) -> Option<&types::StatusId>;
    /// `COMPANY_ID`.
    fn company_id(&self) -> Option<types::CompanyId>;
    }
}

standard_trait! {
    /// The standard company fields every portal has, so library code can work with any portal's
    /// `Company`: read them with the getters, filter and order with the typed constants
    /// (`C::INDUSTRY.eq("IT")`, `C::REVENUE.ge(..)`).
    ///
    /// A generated `Company` implements it when its snapshot has all these fields with their
    /// standard types. A getter returns `None` when the field was not selected.
    StandardCompany {
    /// `ID`.
    const ID: Field<Self, codec::Id<types::CompanyId>>;
    /// `TITLE`.
    const TITLE: Field<Self, codec::Text>;
    /// `COMPANY_TYPE`.
    const COMPANY_TYPE: Field<Self, codec::Status>;
    /// `INDUSTRY`.
    const INDUSTRY: Field<Self, codec::Status>;
    /// `REVENUE`.
    const REVENUE: Field<Self, codec::Decimal>;
    /// `CURRENCY_ID`.
    const CURRENCY_ID: Field<Self, codec::Currency>;

    /// `ID`.
    fn company_id(&self) -> Option<types::CompanyId>;
    /// `TITLE`.
    fn title(&self) -> Option<&str>;
    /// `COMPANY_TYPE`.
    fn company_type(&self) -> Option<&types::StatusId>;
    /// `INDUSTRY`.
    fn industry(&self) -> Option<&types::StatusId>;
    /// `REVENUE` (annual revenue).
    fn revenue(&self) -> Option<rust_decimal::Decimal>;
    /// `CURRENCY_ID`.
    fn currency_id(&self) -> Option<&types::CurrencyId>;
    }
}

//! Traits that tie generated entity types to the runtime.

use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;

use serde::de::DeserializeOwned;

/// Which REST methods a typed call uses.
///
/// Deals, leads, contacts, companies and quotes exist on both; smart processes and smart
/// invoices only on [`Api::Item`]. An entity's default is [`Entity::API`]; a client can override
/// it ([`ClientBuilder::api`](crate::ClientBuilder::api), [`Client::with_api`](crate::Client::with_api)),
/// but an entity without legacy methods ([`Entity::HAS_LEGACY`] false) always uses
/// [`Api::Item`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Api {
    /// The per-entity methods `crm.<entity>.*` (`crm.deal.add`, ...): UPPER field codes.
    #[default]
    Legacy,
    /// The universal methods `crm.item.*` with `entityTypeId`: camelCase field names
    /// ([`FieldMeta::item_name`]).
    ///
    /// Its answers carry amounts as JSON numbers (`"opportunity": 999.9`), which the JSON
    /// parser reads as `f64`: a [`Decimal`](crate::codec::Decimal) is parsed from the
    /// number's shortest round-trip text, so every amount of up to 15 significant digits
    /// reads exactly (`999.9`, `12345678.25`, `1000000.10`), but the scale is not kept
    /// (`1000000.10` reads as `1000000.1`) and digits beyond `f64`'s 15-17 are lost. The
    /// legacy API's string amounts (`"1000000.10"`) keep every digit and the scale.
    Item,
}

/// A CRM entity generated from a portal snapshot (for example the portal's `Deal`).
///
/// Implemented by `#[bitrix_entity]`; the client uses it to build method names and to decode
/// responses.
pub trait Entity:
    DeserializeOwned + Serialize + Debug + Clone + Default + Send + Sync + 'static
{
    /// The snapshot's entity name, such as `deal`.
    const NAME: &'static str;
    /// Method prefix, such as `crm.deal`: the client calls `{prefix}.add`, `{prefix}.list`, ...
    const METHOD_PREFIX: &'static str;
    /// The CRM entity type id (2 for deals).
    const ENTITY_TYPE_ID: u32;
    /// The route typed calls take unless the client overrides it ([`Api::Legacy`] by
    /// default; [`Api::Item`] for smart processes and smart invoices).
    const API: Api = Api::Legacy;
    /// Whether the legacy methods `crm.<entity>.*` exist (false for smart processes and smart
    /// invoices, whose [`METHOD_PREFIX`](Entity::METHOD_PREFIX) is `crm.item`): a client
    /// override to [`Api::Legacy`] never applies to such an entity.
    const HAS_LEGACY: bool = true;

    /// The typed identifier of a record (`DealId` for deals).
    type Id: Copy + Eq + Hash + Debug + Send + Sync + Into<u64> + From<u64> + 'static;
    /// The create payload (`NewDeal`).
    type New: CreatePayload<Entity = Self>;
    /// The update payload (`DealPatch`).
    type Patch: UpdatePayload<Entity = Self>;
    /// The enum of every field (`DealField`).
    type Field: EntityField;

    /// The record's id, when it was selected.
    fn id(&self) -> Option<Self::Id>;
}

/// A create payload (`NewDeal`): serializes to the `fields` object of `crm.*.add`.
pub trait CreatePayload: Serialize + Debug + Clone + Send + Sync + 'static {
    /// The entity it creates.
    type Entity: Entity<New = Self>;
}

/// An update payload (`DealPatch`): serializes to the `fields` object of `crm.*.update`,
/// holding only the touched fields.
pub trait UpdatePayload: Serialize + Debug + Clone + Default + Send + Sync + 'static {
    /// The entity it updates.
    type Entity: Entity<Patch = Self>;

    /// Whether no field is touched (the update would change nothing).
    fn is_empty(&self) -> bool;

    /// Codes of the fields this payload clears ([`Patch::Clear`](crate::Patch::Clear)): a clear
    /// cannot be expressed in a batch query string, so batch builders need to know.
    fn cleared_fields(&self) -> Vec<&'static str>;

    /// The stage this payload sets and its pipeline, when it sets one: the client refuses the
    /// update before sending it when the record is in another pipeline (the portal would
    /// silently ignore the stage). `None` by default.
    fn stage_guard(&self) -> Option<StageGuard> {
        None
    }
}

/// The generated enum of an entity's fields (`DealField`), used for `select` and `order`.
pub trait EntityField: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// Every field, in the order the portal listed them.
    const ALL: &'static [Self];

    /// The Bitrix code, such as `TITLE` or `UF_CRM_1721244482250`.
    fn code(self) -> &'static str {
        self.meta().code
    }

    /// What the snapshot says about this field.
    fn meta(self) -> &'static FieldMeta;

    /// The `crm.item.*` name, such as `title` or `ufCrm2_1639669411830`.
    fn item_name(self) -> &'static str {
        self.meta().item_name
    }

    /// The field with this exact (case-sensitive) Bitrix code or `crm.item.*` name.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.code() == code)
            .or_else(|| Self::ALL.iter().copied().find(|f| f.item_name() == code))
    }
}

/// A field descriptor from `crm.*.fields`, as it was when the snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldMeta {
    /// The Bitrix code, such as `UF_CRM_1721244482250` (for entities read from a `crm.item.*`
    /// snapshot: the descriptor's `upperName`).
    pub code: &'static str,
    /// The field's `crm.item.*` wire name (camelCase: `title`, `stageId`,
    /// `ufCrm2_1639669411830`, `parentId153`); the code when the snapshot gives no other.
    pub item_name: &'static str,
    /// The name of the generated Rust field (after renames).
    pub rust_name: &'static str,
    /// The descriptor's `title` (for user fields this is the code itself).
    pub title: &'static str,
    /// The human label of a user field (`formLabel`, else `listLabel`, else `filterLabel`).
    pub label: Option<&'static str>,
    /// The Bitrix type, such as `crm_status` or `enumeration`.
    pub bitrix_type: &'static str,
    /// `statusType` of `crm_status` fields (`DEAL_STAGE`, `SOURCE`, ...).
    pub status_type: Option<&'static str>,
    /// `isRequired`: must be given on create.
    pub required: bool,
    /// `isReadOnly`: the portal drops it on create and update.
    pub read_only: bool,
    /// `isImmutable`: the portal drops it on update.
    pub immutable: bool,
    /// `isMultiple`: the value is a list.
    pub multiple: bool,
    /// `isDynamic`: a user field (`UF_*`).
    pub dynamic: bool,
    /// `isDeprecated`.
    pub deprecated: bool,
}

impl FieldMeta {
    /// The most readable name: the label of a user field, else the title.
    pub fn display_name(&self) -> &'static str {
        self.label.unwrap_or(self.title)
    }
}

/// A stage an update payload sets, with the pipeline it belongs to.
///
/// `crm.<entity>.update` and `crm.item.update` silently ignore a stage of another pipeline, so
/// the client checks the record's pipeline before it sends an update carrying a guard
/// ([`UpdatePayload::stage_guard`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StageGuard {
    /// The stage id being set.
    pub stage: String,
    /// The pipeline that stage belongs to.
    pub category: crate::types::CategoryId,
}

//! What an event is about: the typed [`EventKind`] read from an event's name and `data`, and
//! the typed [`EventName`] for binding.

use std::fmt;

use serde_json::Value;

use crate::entity::Entity;
use crate::transport::u64_of;

/// A CRM entity an event can concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventEntity {
    /// Deals (entity type 2): `ONCRMDEAL*`.
    Deal,
    /// Leads (entity type 1): `ONCRMLEAD*`.
    Lead,
    /// Contacts (entity type 3): `ONCRMCONTACT*`.
    Contact,
    /// Companies (entity type 4): `ONCRMCOMPANY*`.
    Company,
    /// Quotes (entity type 7): `ONCRMQUOTE*`.
    Quote,
    /// Smart invoices (entity type 31): `ONCRMDYNAMICITEM*` with `ENTITY_TYPE_ID` 31.
    SmartInvoice,
    /// A smart process by its entity type id (128 and up, or 1030-style ids): `ONCRMDYNAMICITEM*`
    /// with that `ENTITY_TYPE_ID`.
    SmartProcess(u32),
}

impl EventEntity {
    /// The CRM entity type id (`entityTypeId`): 2 for deals.
    pub fn entity_type_id(self) -> u32 {
        match self {
            EventEntity::Lead => 1,
            EventEntity::Deal => 2,
            EventEntity::Contact => 3,
            EventEntity::Company => 4,
            EventEntity::Quote => 7,
            EventEntity::SmartInvoice => 31,
            EventEntity::SmartProcess(id) => id,
        }
    }

    /// The entity of an entity type id (anything not listed above is a smart process).
    pub fn from_entity_type_id(id: u32) -> EventEntity {
        match id {
            1 => EventEntity::Lead,
            2 => EventEntity::Deal,
            3 => EventEntity::Contact,
            4 => EventEntity::Company,
            7 => EventEntity::Quote,
            31 => EventEntity::SmartInvoice,
            other => EventEntity::SmartProcess(other),
        }
    }

    /// The event entity of a generated entity type (`EventEntity::of::<Deal>()`).
    pub fn of<E: Entity>() -> EventEntity {
        EventEntity::from_entity_type_id(E::ENTITY_TYPE_ID)
    }

    /// The part of the event names after `ONCRM`: `DEAL`, ..., `DYNAMICITEM` for smart
    /// processes and smart invoices (one set of events for all of them).
    pub fn event_stem(self) -> &'static str {
        match self {
            EventEntity::Deal => "DEAL",
            EventEntity::Lead => "LEAD",
            EventEntity::Contact => "CONTACT",
            EventEntity::Company => "COMPANY",
            EventEntity::Quote => "QUOTE",
            EventEntity::SmartInvoice | EventEntity::SmartProcess(_) => "DYNAMICITEM",
        }
    }

    /// The entity of a legacy stem (`DEAL`, ...); `DYNAMICITEM` needs the `ENTITY_TYPE_ID`.
    fn from_stem(stem: &str) -> Option<EventEntity> {
        Some(match stem {
            "DEAL" => EventEntity::Deal,
            "LEAD" => EventEntity::Lead,
            "CONTACT" => EventEntity::Contact,
            "COMPANY" => EventEntity::Company,
            "QUOTE" => EventEntity::Quote,
            _ => return None,
        })
    }
}

/// What happened to a record (or to a smart-process type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordAction {
    /// Created (`...ADD`).
    Add,
    /// Changed (`...UPDATE`).
    Update,
    /// Deleted (`...DELETE`).
    Delete,
}

impl RecordAction {
    /// The suffix of the event name: `ADD`, `UPDATE`, `DELETE`.
    pub fn suffix(self) -> &'static str {
        match self {
            RecordAction::Add => "ADD",
            RecordAction::Update => "UPDATE",
            RecordAction::Delete => "DELETE",
        }
    }

    fn from_suffix(s: &str) -> Option<RecordAction> {
        Some(match s {
            "ADD" => RecordAction::Add,
            "UPDATE" => RecordAction::Update,
            "DELETE" => RecordAction::Delete,
            _ => return None,
        })
    }
}

/// What happened to a user field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserFieldAction {
    /// Created (`...USERFIELDADD`).
    Add,
    /// Changed (`...USERFIELDUPDATE`).
    Update,
    /// Deleted (`...USERFIELDDELETE`).
    Delete,
    /// The items of an enumeration field changed (`...USERFIELDSETENUMVALUES`).
    SetEnumValues,
}

impl UserFieldAction {
    /// The suffix of the event name after `USERFIELD`.
    pub fn suffix(self) -> &'static str {
        match self {
            UserFieldAction::Add => "ADD",
            UserFieldAction::Update => "UPDATE",
            UserFieldAction::Delete => "DELETE",
            UserFieldAction::SetEnumValues => "SETENUMVALUES",
        }
    }

    fn from_suffix(s: &str) -> Option<UserFieldAction> {
        Some(match s {
            "ADD" => UserFieldAction::Add,
            "UPDATE" => UserFieldAction::Update,
            "DELETE" => UserFieldAction::Delete,
            "SETENUMVALUES" => UserFieldAction::SetEnumValues,
            _ => return None,
        })
    }
}

/// Whose user field an event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserFieldOwner {
    /// A field of deals, leads, contacts, companies or quotes (`ONCRMDEALUSERFIELD*`, ...).
    Entity(EventEntity),
    /// A field of a smart process or smart invoice (`ONCRMTYPEUSERFIELD*`): `type_id` is the
    /// number in `ENTITY_ID` `CRM_<n>` (the smart-process type's `id` in `crm.type.list`,
    /// not its entity type id), when it has that form.
    SmartProcessType {
        /// `<n>` of `CRM_<n>`.
        type_id: Option<u64>,
    },
}

/// What an event is about, read from its name and `data[FIELDS]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A record was created, changed or deleted (`ONCRMDEALADD`, ..., `ONCRMDYNAMICITEMADD`).
    /// The event carries only the id: read the record to see what changed.
    Record {
        /// The record's entity.
        entity: EventEntity,
        /// What happened.
        action: RecordAction,
        /// The record's id (`data[FIELDS][ID]`).
        id: u64,
    },
    /// A record moved to another pipeline (`ONCRMDEALMOVETOCATEGORY`); an update event comes
    /// too.
    MovedToCategory {
        /// The record's entity.
        entity: EventEntity,
        /// The record's id.
        id: u64,
        /// The new pipeline (`data[FIELDS][CATEGORY_ID]`).
        category_id: Option<u64>,
        /// The new stage (`data[FIELDS][STAGE_ID]`).
        stage_id: Option<String>,
    },
    /// A user field was created, changed or deleted: the portal's schema changed (a snapshot
    /// may be out of date; run `bitrix-codegen check`).
    UserField {
        /// Whose field.
        owner: UserFieldOwner,
        /// What happened.
        action: UserFieldAction,
        /// The user field's id (`data[FIELDS][ID]`).
        id: Option<u64>,
        /// `data[FIELDS][ENTITY_ID]` (`CRM_DEAL`, `CRM_13`).
        entity_id: Option<String>,
        /// The field's code (`data[FIELDS][FIELD_NAME]`, `UF_CRM_...`).
        field_name: Option<String>,
    },
    /// A smart-process type was created, changed or deleted (`ONCRMTYPEADD`, ...).
    SmartProcessType {
        /// What happened.
        action: RecordAction,
        /// The type's id (`data[FIELDS][ID]`).
        id: Option<u64>,
        /// The type's entity type id, when the event carries `ENTITY_TYPE_ID`.
        entity_type_id: Option<u32>,
    },
    /// Any other event (the name and data stay on the [`Event`](super::Event)).
    Other,
}

impl EventKind {
    /// Reads the kind from an event name (any case) and its `data`.
    pub fn classify(name: &str, data: &Value) -> EventKind {
        let upper = name.trim().to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("ONCRM") else {
            return EventKind::Other;
        };
        let fields = data.get("FIELDS").unwrap_or(&Value::Null);
        let id = fields.get("ID").and_then(u64_of);
        let text = |key: &str| {
            fields.get(key).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let entity_type_id = fields
            .get("ENTITY_TYPE_ID")
            .and_then(u64_of)
            .and_then(|n| u32::try_from(n).ok());

        if let Some(suffix) = rest.strip_prefix("TYPEUSERFIELD") {
            let Some(action) = UserFieldAction::from_suffix(suffix) else {
                return EventKind::Other;
            };
            let entity_id = text("ENTITY_ID");
            let type_id = entity_id
                .as_deref()
                .and_then(|e| e.strip_prefix("CRM_"))
                .and_then(|n| n.parse().ok());
            return EventKind::UserField {
                owner: UserFieldOwner::SmartProcessType { type_id },
                action,
                id,
                entity_id,
                field_name: text("FIELD_NAME"),
            };
        }
        if let Some(suffix) = rest.strip_prefix("TYPE") {
            return match RecordAction::from_suffix(suffix) {
                Some(action) => EventKind::SmartProcessType {
                    action,
                    id,
                    entity_type_id,
                },
                None => EventKind::Other,
            };
        }
        let (entity, suffix) = if let Some(suffix) = rest.strip_prefix("DYNAMICITEM") {
            match entity_type_id {
                Some(t) => (EventEntity::from_entity_type_id(t), suffix),
                None => return EventKind::Other,
            }
        } else {
            let Some((entity, suffix)) = ["DEAL", "LEAD", "CONTACT", "COMPANY", "QUOTE"]
                .iter()
                .find_map(|stem| Some((EventEntity::from_stem(stem)?, rest.strip_prefix(stem)?)))
            else {
                return EventKind::Other;
            };
            (entity, suffix)
        };
        if let Some(suffix) = suffix.strip_prefix("USERFIELD") {
            return match UserFieldAction::from_suffix(suffix) {
                Some(action) => EventKind::UserField {
                    owner: UserFieldOwner::Entity(entity),
                    action,
                    id,
                    entity_id: text("ENTITY_ID"),
                    field_name: text("FIELD_NAME"),
                },
                None => EventKind::Other,
            };
        }
        let Some(id) = id else {
            return EventKind::Other;
        };
        if suffix == "MOVETOCATEGORY" {
            return EventKind::MovedToCategory {
                entity,
                id,
                category_id: fields.get("CATEGORY_ID").and_then(u64_of),
                stage_id: text("STAGE_ID"),
            };
        }
        match RecordAction::from_suffix(suffix) {
            Some(action) => EventKind::Record { entity, action, id },
            None => EventKind::Other,
        }
    }

    /// Whether the event says the portal's schema changed (user fields, smart-process types):
    /// the natural trigger for a drift check (`bitrix-codegen check`).
    pub fn is_schema_change(&self) -> bool {
        matches!(
            self,
            EventKind::UserField { .. } | EventKind::SmartProcessType { .. }
        )
    }

    /// The record this event concerns and its id, for record and move events.
    pub fn record(&self) -> Option<(EventEntity, u64)> {
        match *self {
            EventKind::Record { entity, id, .. }
            | EventKind::MovedToCategory { entity, id, .. } => Some((entity, id)),
            _ => None,
        }
    }
}

/// An event name to bind, upper case as on the wire (names are case-insensitive on the
/// portal: `onCrmDealAdd` is `ONCRMDEALADD`).
///
/// ```
/// use bitrix_runtime::events::{EventEntity, EventName, RecordAction};
/// assert_eq!(EventName::from((EventEntity::Deal, RecordAction::Add)).as_str(), "ONCRMDEALADD");
/// assert_eq!(EventName::moved_to_category(EventEntity::Deal).as_str(), "ONCRMDEALMOVETOCATEGORY");
/// assert_eq!(EventName::from("onCrmLeadUpdate").as_str(), "ONCRMLEADUPDATE");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventName(String);

impl EventName {
    /// A record event: `ONCRM{entity}{ADD|UPDATE|DELETE}` (`ONCRMDYNAMICITEM*` for smart
    /// processes and smart invoices: one binding gets the events of every smart process, the
    /// `ENTITY_TYPE_ID` in the data tells them apart).
    pub fn record(entity: EventEntity, action: RecordAction) -> EventName {
        EventName(format!("ONCRM{}{}", entity.event_stem(), action.suffix()))
    }

    /// `ONCRM{entity}MOVETOCATEGORY` (documented for deals).
    pub fn moved_to_category(entity: EventEntity) -> EventName {
        EventName(format!("ONCRM{}MOVETOCATEGORY", entity.event_stem()))
    }

    /// A user-field event: `ONCRM{entity}USERFIELD{action}` (`ONCRMTYPEUSERFIELD*` for
    /// smart processes and smart invoices).
    pub fn user_field(entity: EventEntity, action: UserFieldAction) -> EventName {
        let stem = match entity {
            EventEntity::SmartInvoice | EventEntity::SmartProcess(_) => "TYPE",
            other => other.event_stem(),
        };
        EventName(format!("ONCRM{stem}USERFIELD{}", action.suffix()))
    }

    /// A smart-process type event: `ONCRMTYPE{ADD|UPDATE|DELETE}`.
    pub fn smart_process_type(action: RecordAction) -> EventName {
        EventName(format!("ONCRMTYPE{}", action.suffix()))
    }

    /// The name, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<(EventEntity, RecordAction)> for EventName {
    fn from((entity, action): (EventEntity, RecordAction)) -> Self {
        EventName::record(entity, action)
    }
}

impl From<&str> for EventName {
    fn from(name: &str) -> Self {
        EventName(name.trim().to_ascii_uppercase())
    }
}

impl From<String> for EventName {
    fn from(name: String) -> Self {
        EventName::from(name.as_str())
    }
}

impl From<&EventName> for EventName {
    fn from(name: &EventName) -> Self {
        name.clone()
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

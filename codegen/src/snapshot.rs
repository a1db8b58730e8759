//! The snapshot format: a portal's `crm.*.fields` (or `crm.item.fields`) result, kept
//! losslessly, plus the entity it describes and the API it was read through.
//!
//! ```json
//! {
//!   "format_version": 2,
//!   "entity": { "name": "deal", "api": "legacy", "method_prefix": "crm.deal", "entity_type_id": 2 },
//!   "fields": { "ID": { "type": "integer", "isRequired": false, ... }, ... }
//! }
//! ```
//!
//! A smart process read through `crm.item.fields`:
//!
//! ```json
//! {
//!   "format_version": 2,
//!   "entity": { "name": "dynamic_1032", "api": "item", "method_prefix": "crm.item",
//!               "entity_type_id": 1032, "title": "Проекты", "type_id": 5 },
//!   "fields": { "id": { "type": "integer", "upperName": "ID", ... }, "stageId": { ... }, ... }
//! }
//! ```
//!
//! `fields` is exactly the `result` object of `crm.deal.fields` (`result.fields` of
//! `crm.item.fields`, keyed by the camelCase names, each descriptor with its `upperName`):
//! every key of every descriptor is kept (known or not), in the order the portal returned
//! them. The file holds no portal URL, no credentials and no timestamp, so it is deterministic
//! and safe to commit. Version 1 files (no `api`, always the legacy API) still load.
//!
//! Version 3 adds the entity's pipelines, stages, dictionaries and currencies beside
//! `fields` ([`crate::catalog`]); a snapshot without them is still written as version 2.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

pub use crate::catalog::Catalog;
pub(crate) use crate::catalog::json_kind;
pub use crate::entities::Api;
use crate::entities::{self, ITEM_PREFIX};

/// The snapshot format version this crate writes for a snapshot without pipelines,
/// dictionaries or currencies.
pub const FORMAT_VERSION: u64 = 2;

/// The snapshot format version this crate writes for a snapshot that records pipelines,
/// dictionaries or currencies ([`crate::catalog`]).
pub const CATALOG_FORMAT_VERSION: u64 = 3;

/// The snapshot format versions this crate reads.
pub const READ_VERSIONS: &[u64] = &[1, 2, 3];

/// Which CRM entity a snapshot describes, and through which API it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityInfo {
    /// Entity name, such as `deal`, `smart_invoice`, or `dynamic_1032` for a smart process.
    pub name: String,
    /// Method prefix, such as `crm.deal` (`crm.item` for entities without a legacy API).
    pub method_prefix: String,
    /// CRM entity type id (2 for deals).
    pub entity_type_id: u32,
    /// The API the descriptors were read through (`crm.deal.fields` or `crm.item.fields`).
    pub api: Api,
    /// A smart process's title in `crm.type.list` (`Проекты`).
    pub title: Option<String>,
    /// A smart process's `crm.type` id (not its entity type id).
    pub type_id: Option<u64>,
}

impl EntityInfo {
    /// Deals: `crm.deal.*`, entity type id 2.
    pub fn deal() -> Self {
        Self::from_row(&crate::entities::ENTITIES[0])
    }

    /// The entity with this name among the ones with a fixed entity type id (the rows of
    /// [`crate::entities::ENTITIES`]: `deal`, `lead`, `contact`, `company`, `quote`,
    /// `smart_invoice`), read through its default API.
    pub fn by_name(name: &str) -> Option<Self> {
        crate::entities::by_name(name).map(Self::from_row)
    }

    /// The entity with this entity type id: a row of [`crate::entities::ENTITIES`], else a
    /// smart process (`dynamic_{id}`, read through `crm.item.*`).
    pub fn by_type_id(entity_type_id: u32) -> Self {
        match entities::by_type_id(entity_type_id) {
            Some(row) => Self::from_row(row),
            None => Self::smart_process(entity_type_id, None, None),
        }
    }

    /// A smart process of `crm.type.list`: its entity type id, title and `crm.type` id.
    pub fn smart_process(entity_type_id: u32, title: Option<String>, type_id: Option<u64>) -> Self {
        EntityInfo {
            name: entities::smart_process_name(entity_type_id),
            method_prefix: ITEM_PREFIX.into(),
            entity_type_id,
            api: Api::Item,
            title,
            type_id,
        }
    }

    /// The entity of a row of [`crate::entities::ENTITIES`] (legacy API when it has one).
    pub fn from_row(row: &crate::entities::EntityRow) -> Self {
        EntityInfo {
            name: row.name.into(),
            method_prefix: row.method_prefix.into(),
            entity_type_id: row.entity_type_id,
            api: if row.has_legacy {
                Api::Legacy
            } else {
                Api::Item
            },
            title: None,
            type_id: None,
        }
    }

    /// The same entity read through `api`.
    pub fn with_api(mut self, api: Api) -> Self {
        self.api = api;
        self
    }

    /// Whether the entity has the legacy `crm.<entity>.*` methods (smart processes and smart
    /// invoices do not).
    pub fn has_legacy(&self) -> bool {
        crate::entities::by_name(&self.name).is_some_and(|row| row.has_legacy)
    }

    /// The `{prefix}.fields` method the descriptors come from.
    pub fn fields_method(&self) -> String {
        match self.api {
            Api::Legacy => format!("{}.fields", self.method_prefix),
            Api::Item => format!("{ITEM_PREFIX}.fields"),
        }
    }

    /// The read model's default name: the table's (`Deal`, `Lead`, `SmartInvoice`), a smart
    /// process's title in PascalCase (`Proekty`, else `SmartProcess1032`), else the entity
    /// name in PascalCase.
    pub fn default_struct_name(&self) -> String {
        match crate::entities::by_name(&self.name) {
            Some(row) => row.struct_name.to_owned(),
            None if self.name == entities::smart_process_name(self.entity_type_id) => {
                entities::smart_process_struct_name(self.title.as_deref(), self.entity_type_id)
            }
            None => match crate::naming::pascal_case(&self.name) {
                p if crate::naming::is_pascal_ident(&p) => p,
                _ => "Item".to_owned(),
            },
        }
    }
}

/// A snapshot of one entity's field descriptors.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The entity described.
    pub entity: EntityInfo,
    /// The descriptors as the portal returned them, keyed by field code, in portal order.
    pub fields: Map<String, Value>,
    /// Pipelines, stages, dictionaries and currencies (empty when not recorded).
    pub catalog: Catalog,
}

/// Why a snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The text is not JSON.
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The text is JSON but not a snapshot or a `crm.*.fields` response.
    Shape(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Json {
                line,
                column,
                message,
            } => {
                write!(
                    f,
                    "malformed JSON at line {line}, column {column}: {message}"
                )
            }
            SnapshotError::Shape(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl Snapshot {
    /// Builds a snapshot from the `result` object of a `crm.*.fields` call.
    pub fn new(entity: EntityInfo, fields: Map<String, Value>) -> Result<Self, SnapshotError> {
        let snapshot = Snapshot {
            entity,
            fields,
            catalog: Catalog::default(),
        };
        snapshot.validate()?;
        Ok(snapshot)
    }

    /// Reads a snapshot file, or a raw `crm.*.fields` response pasted from the portal
    /// (`{"result": {...}, "time": {...}}`; the entity is then `default_entity`).
    pub fn parse(text: &str, default_entity: &EntityInfo) -> Result<Self, SnapshotError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SnapshotError::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        Self::from_value(value, default_entity)
    }

    /// Like [`Snapshot::parse`], from parsed JSON.
    pub fn from_value(value: Value, default_entity: &EntityInfo) -> Result<Self, SnapshotError> {
        let Value::Object(mut root) = value else {
            return Err(SnapshotError::Shape(format!(
                "expected a JSON object (a snapshot or a crm.*.fields response), found {}",
                json_kind(&value)
            )));
        };
        if let Some(error) = root.get("error") {
            let description = root
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("");
            return Err(SnapshotError::Shape(format!(
                "this is an error response from the portal, not field descriptors: {} {description}",
                error.as_str().unwrap_or("")
            )));
        }
        if let Some(version) = root.get("format_version") {
            let version = version
                .as_u64()
                .ok_or_else(|| SnapshotError::Shape("`format_version` must be a number".into()))?;
            if !READ_VERSIONS.contains(&version) {
                return Err(SnapshotError::Shape(format!(
                    "snapshot format_version {version} is not supported (this bitrix-codegen reads versions 1 to 3); \
                     re-create the snapshot with `bitrix-codegen snapshot` or upgrade bitrix-codegen"
                )));
            }
            let entity = parse_entity(root.get("entity"), version)?;
            let catalog = Catalog::read_from(&root).map_err(SnapshotError::Shape)?;
            let Some(Value::Object(fields)) = root.remove("fields") else {
                return Err(SnapshotError::Shape(
                    "the snapshot has no `fields` object".into(),
                ));
            };
            let mut snapshot = Self::new(entity, fields)?;
            snapshot.catalog = catalog;
            return Ok(snapshot);
        }
        if let Some(result) = root.remove("result") {
            let Value::Object(mut fields) = result else {
                return Err(SnapshotError::Shape(format!(
                    "`result` must be an object of field descriptors, found {}",
                    json_kind(&result)
                )));
            };
            // crm.item.fields wraps the descriptors in `result.fields`.
            let item_wrapper = fields.len() == 1
                && matches!(fields.get("fields"), Some(Value::Object(inner))
                    if inner.values().all(|d| d.get("type").is_some()));
            if item_wrapper {
                if let Some(Value::Object(inner)) = fields.remove("fields") {
                    fields = inner;
                }
            }
            let entity = raw_entity(default_entity, item_wrapper, &fields);
            return Self::new(entity, fields);
        }
        if !root.is_empty() && root.values().all(|d| d.get("type").is_some()) {
            // A bare `result` object.
            let entity = raw_entity(default_entity, false, &root);
            return Self::new(entity, root);
        }
        Err(SnapshotError::Shape(
            "this JSON is neither a snapshot (no `format_version`) nor a crm.*.fields response (no `result`)"
                .into(),
        ))
    }

    fn validate(&self) -> Result<(), SnapshotError> {
        let mut problems = Vec::new();
        if self.fields.is_empty() {
            problems.push("the snapshot has no fields".to_owned());
        }
        for (code, descriptor) in &self.fields {
            match descriptor {
                Value::Object(d) => match d.get("type") {
                    Some(Value::String(t)) if !t.is_empty() => {}
                    Some(other) => problems.push(format!(
                        "field {code}: `type` must be a non-empty string, found {}",
                        json_kind(other)
                    )),
                    None => problems.push(format!("field {code}: the descriptor has no `type`")),
                },
                other => problems.push(format!(
                    "field {code}: the descriptor must be an object, found {}",
                    json_kind(other)
                )),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SnapshotError::Shape(problems.join("; ")))
        }
    }

    /// The snapshot as deterministic, pretty-printed JSON with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut entity = Map::new();
        entity.insert("name".into(), Value::String(self.entity.name.clone()));
        entity.insert("api".into(), Value::from(self.entity.api.as_str()));
        entity.insert(
            "method_prefix".into(),
            Value::String(self.entity.method_prefix.clone()),
        );
        entity.insert(
            "entity_type_id".into(),
            Value::from(self.entity.entity_type_id),
        );
        if let Some(title) = &self.entity.title {
            entity.insert("title".into(), Value::String(title.clone()));
        }
        if let Some(id) = self.entity.type_id {
            entity.insert("type_id".into(), Value::from(id));
        }
        let mut root = Map::new();
        let version = if self.catalog.is_empty() {
            FORMAT_VERSION
        } else {
            CATALOG_FORMAT_VERSION
        };
        root.insert("format_version".into(), Value::from(version));
        root.insert("entity".into(), Value::Object(entity));
        root.insert("fields".into(), Value::Object(self.fields.clone()));
        self.catalog.write_into(&mut root);
        let mut text = serde_json::to_string_pretty(&Value::Object(root))
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    }

    /// Counts for people: fields, user fields, types seen, unknown types.
    pub fn summary(&self) -> Summary {
        let mut types: std::collections::BTreeMap<String, usize> = Default::default();
        let mut unknown: std::collections::BTreeSet<String> = Default::default();
        for d in self.descriptors() {
            *types.entry(d.field_type().to_owned()).or_default() += 1;
            if crate::mapping::lookup(d.field_type()).is_none() {
                unknown.insert(d.field_type().to_owned());
            }
        }
        Summary {
            entity: self.entity.name.clone(),
            fields: self.fields.len(),
            user_fields: self.descriptors().filter(|d| d.is_dynamic()).count(),
            required: self.descriptors().filter(|d| d.is_required()).count(),
            types,
            unknown_types: unknown.into_iter().collect(),
        }
    }

    /// The descriptors, typed, each with both of its names (see [`Descriptor`]).
    pub fn descriptors(&self) -> impl Iterator<Item = Descriptor<'_>> {
        self.fields
            .iter()
            .map(|(key, raw)| Descriptor::new(&self.entity, key, raw))
    }
}

/// The entity of a raw response: `crm.item.fields` when its descriptors came wrapped in
/// `result.fields` or all carry `upperName`.
fn raw_entity(default: &EntityInfo, item_wrapper: bool, fields: &Map<String, Value>) -> EntityInfo {
    let item = item_wrapper
        || (!fields.is_empty() && fields.values().all(|d| d.get("upperName").is_some()));
    if item {
        default.clone().with_api(Api::Item)
    } else {
        default.clone()
    }
}

fn parse_entity(value: Option<&Value>, version: u64) -> Result<EntityInfo, SnapshotError> {
    let Some(Value::Object(e)) = value else {
        return Err(SnapshotError::Shape(
            "the snapshot has no `entity` object (name, method_prefix, entity_type_id)".into(),
        ));
    };
    let text = |key: &str| {
        e.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SnapshotError::Shape(format!("`entity.{key}` must be a string")))
    };
    let entity_type_id = e
        .get("entity_type_id")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| SnapshotError::Shape("`entity.entity_type_id` must be a number".into()))?;
    let api = match e.get("api") {
        None if version == 1 => Api::Legacy,
        Some(Value::String(a)) => Api::parse(a).ok_or_else(|| {
            SnapshotError::Shape(format!(
                "`entity.api` must be \"legacy\" or \"item\", found {:?}",
                a.chars().take(40).collect::<String>()
            ))
        })?,
        _ => {
            return Err(SnapshotError::Shape(
                "`entity.api` must be \"legacy\" or \"item\"".into(),
            ));
        }
    };
    let title = match e.get("title") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => {
            return Err(SnapshotError::Shape(
                "`entity.title` must be a string".into(),
            ));
        }
    };
    let type_id = match e.get("type_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| SnapshotError::Shape("`entity.type_id` must be a number".into()))?,
        ),
    };
    Ok(EntityInfo {
        name: text("name")?,
        method_prefix: text("method_prefix")?,
        entity_type_id,
        api,
        title,
        type_id,
    })
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// What a snapshot holds, in numbers (printed by `bitrix-codegen snapshot`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Entity name.
    pub entity: String,
    /// Number of fields.
    pub fields: usize,
    /// Number of user fields (`isDynamic`).
    pub user_fields: usize,
    /// Number of required fields.
    pub required: usize,
    /// Fields per type.
    pub types: std::collections::BTreeMap<String, usize>,
    /// Types the generator does not know (mapped to raw JSON).
    pub unknown_types: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} fields ({} user fields, {} required)",
            self.entity, self.fields, self.user_fields, self.required
        )?;
        let types: Vec<String> = self.types.iter().map(|(t, n)| format!("{t} {n}")).collect();
        writeln!(f, "types: {}", types.join(", "))?;
        if self.unknown_types.is_empty() {
            writeln!(f, "unknown types: none")
        } else {
            writeln!(
                f,
                "unknown types (read and written as raw JSON): {}",
                self.unknown_types.join(", ")
            )
        }
    }
}

/// A typed view of one field descriptor. Flags that are missing or of an unexpected type read
/// as `false`: real portals omit `isDeprecated` unless it is true.
#[derive(Debug, Clone)]
pub struct Descriptor<'a> {
    /// The key in the snapshot's `fields` (the code of a legacy snapshot, the camelCase name of
    /// an item snapshot).
    pub key: &'a str,
    /// The legacy UPPER_CASE code (`TITLE`, `UF_CRM_2_1639669411830`): the key of a legacy
    /// snapshot, the `upperName` of an item snapshot.
    pub code: Cow<'a, str>,
    /// The `crm.item.*` name (`title`, `ufCrm2_1639669411830`, `createdTime`): the key of an
    /// item snapshot, derived from the code for a legacy one
    /// ([`crate::entities::item_name`]).
    pub item_name: Cow<'a, str>,
    /// The raw descriptor object.
    pub raw: &'a Value,
}

impl<'a> Descriptor<'a> {
    /// The descriptor stored under `key` in a snapshot of `entity`.
    pub fn new(entity: &EntityInfo, key: &'a str, raw: &'a Value) -> Self {
        let ty = raw.get("type").and_then(Value::as_str).unwrap_or("");
        let legacy_item_name = |code: &str| entities::item_name(&entity.name, code, ty);
        let (code, item_name): (Cow<'a, str>, Cow<'a, str>) = match entity.api {
            Api::Legacy => (Cow::Borrowed(key), Cow::Owned(legacy_item_name(key))),
            Api::Item => {
                let upper = raw
                    .get("upperName")
                    .and_then(Value::as_str)
                    .filter(|u| !u.trim().is_empty());
                let code = match upper {
                    Some(u) => Cow::Borrowed(u),
                    None => Cow::Owned(crate::naming::upper_name(key)),
                };
                // `useOriginalUfNames=Y` keys user fields by their UPPER code.
                let item = if key.chars().any(char::is_lowercase) {
                    Cow::Borrowed(key)
                } else {
                    Cow::Owned(legacy_item_name(key))
                };
                (code, item)
            }
        };
        Descriptor {
            key,
            code,
            item_name,
            raw,
        }
    }

    fn flag(&self, key: &str) -> bool {
        match self.raw.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.as_str(), "Y" | "y" | "1" | "true"),
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            _ => false,
        }
    }

    fn text(&self, key: &str) -> Option<&'a str> {
        self.raw
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// `type`.
    pub fn field_type(&self) -> &'a str {
        self.raw.get("type").and_then(Value::as_str).unwrap_or("")
    }
    /// `isRequired`.
    pub fn is_required(&self) -> bool {
        self.flag("isRequired")
    }
    /// `isReadOnly`.
    pub fn is_read_only(&self) -> bool {
        self.flag("isReadOnly")
    }
    /// `isImmutable`.
    pub fn is_immutable(&self) -> bool {
        self.flag("isImmutable")
    }
    /// `isMultiple`.
    pub fn is_multiple(&self) -> bool {
        self.flag("isMultiple")
    }
    /// `isDynamic` (user fields).
    pub fn is_dynamic(&self) -> bool {
        self.flag("isDynamic")
    }
    /// `isDeprecated`.
    pub fn is_deprecated(&self) -> bool {
        self.flag("isDeprecated")
    }
    /// `title`, else the code (an item snapshot's key when its code had to be derived).
    pub fn title(&self) -> &'a str {
        self.text("title").unwrap_or(match self.code {
            Cow::Borrowed(code) => code,
            Cow::Owned(_) => self.key,
        })
    }
    /// `upperName` (item snapshots).
    pub fn upper_name(&self) -> Option<&'a str> {
        self.text("upperName")
    }
    /// `statusType` when it is a string (requisite fields carry an array; it is ignored here).
    pub fn status_type(&self) -> Option<&'a str> {
        self.text("statusType")
    }
    /// `listLabel`.
    pub fn list_label(&self) -> Option<&'a str> {
        self.text("listLabel")
    }
    /// `formLabel`.
    pub fn form_label(&self) -> Option<&'a str> {
        self.text("formLabel")
    }
    /// `filterLabel`.
    pub fn filter_label(&self) -> Option<&'a str> {
        self.text("filterLabel")
    }
    /// The human label: `formLabel`, else `listLabel`, else `filterLabel`.
    pub fn label(&self) -> Option<&'a str> {
        self.form_label()
            .or(self.list_label())
            .or(self.filter_label())
    }
    /// `items` of an enumeration: `(ID, VALUE)` pairs; malformed entries are skipped.
    pub fn items(&self) -> Vec<(String, &'a str)> {
        let Some(Value::Array(items)) = self.raw.get("items") else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                let id = match item.get("ID")? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                let value = item.get("VALUE").and_then(Value::as_str).unwrap_or("");
                Some((id, value))
            })
            .collect()
    }
    /// `settings`, when it is a non-empty object (`[]` on portals means "no settings").
    pub fn settings(&self) -> Option<&'a Map<String, Value>> {
        self.raw
            .get("settings")
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../schemas/demo/deal.json");

    /// A version 1 file loads as the legacy API; it is written as version 2 with `api`, and
    /// that round-trips byte for byte.
    #[test]
    fn demo_snapshot_round_trips_byte_for_byte() {
        let snapshot = Snapshot::parse(DEMO, &EntityInfo::deal()).unwrap();
        assert_eq!(snapshot.entity, EntityInfo::deal());
        let v2 = snapshot.to_json_pretty();
        let upgraded = DEMO
            .replacen("\"format_version\": 1", "\"format_version\": 2", 1)
            .replacen(
                "\"name\": \"deal\",\n",
                "\"name\": \"deal\",\n    \"api\": \"legacy\",\n",
                1,
            );
        if DEMO.contains("\"format_version\": 1") {
            assert_eq!(v2, upgraded);
        }
        let again = Snapshot::parse(&v2, &EntityInfo::by_name("lead").unwrap()).unwrap();
        assert_eq!(again, snapshot);
        assert_eq!(again.to_json_pretty(), v2);
    }

    const PROJECTS: &str = r#"{
  "format_version": 2,
  "entity": {
    "name": "dynamic_1032",
    "api": "item",
    "method_prefix": "crm.item",
    "entity_type_id": 1032,
    "title": "Проекты",
    "type_id": 5
  },
  "fields": {
    "id": {
      "type": "integer",
      "isReadOnly": true,
      "title": "ID",
      "upperName": "ID"
    },
    "ufCrm5_1639669411830": {
      "type": "string",
      "isDynamic": true,
      "title": "UF_CRM_5_1639669411830",
      "upperName": "UF_CRM_5_1639669411830"
    },
    "parentId2": {
      "type": "crm_entity",
      "title": "Deal",
      "upperName": "PARENT_ID_2"
    },
    "stageId": {
      "type": "crm_status",
      "title": "Stage"
    }
  }
}
"#;

    #[test]
    fn item_snapshots_keep_both_names_and_round_trip() {
        let snapshot = Snapshot::parse(PROJECTS, &EntityInfo::deal()).unwrap();
        assert_eq!(
            snapshot.entity,
            EntityInfo::smart_process(1032, Some("Проекты".into()), Some(5))
        );
        assert_eq!(snapshot.entity.default_struct_name(), "Proekty");
        assert!(!snapshot.entity.has_legacy());
        assert_eq!(snapshot.to_json_pretty(), PROJECTS);
        let names: Vec<(String, String)> = snapshot
            .descriptors()
            .map(|d| (d.code.into_owned(), d.item_name.into_owned()))
            .collect();
        let expected = [
            ("ID", "id"),
            ("UF_CRM_5_1639669411830", "ufCrm5_1639669411830"),
            ("PARENT_ID_2", "parentId2"),
            // No `upperName`: derived from the camelCase name.
            ("STAGE_ID", "stageId"),
        ];
        assert_eq!(names, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    }

    #[test]
    fn legacy_descriptors_derive_their_item_names() {
        let snapshot = Snapshot::parse(
            r#"{"result": {"DATE_CREATE": {"type": "datetime"}, "STATUS_ID": {"type": "crm_status"},
                 "UF_CRM_1721244707107": {"type": "double"}, "PHONE": {"type": "crm_multifield"}}}"#,
            &EntityInfo::by_name("lead").unwrap(),
        )
        .unwrap();
        assert_eq!(snapshot.entity.api, Api::Legacy);
        let items: Vec<String> = snapshot
            .descriptors()
            .map(|d| d.item_name.into_owned())
            .collect();
        assert_eq!(
            items,
            ["createdTime", "stageId", "ufCrm_1721244707107", "PHONE"]
        );
    }

    #[test]
    fn bad_v2_entities_are_explained() {
        for (entity, expected) in [
            (
                r#"{"name": "deal", "method_prefix": "crm.deal", "entity_type_id": 2}"#,
                "`entity.api` must be",
            ),
            (
                r#"{"name": "deal", "api": "rest", "method_prefix": "crm.deal", "entity_type_id": 2}"#,
                "`entity.api` must be \"legacy\" or \"item\", found \"rest\"",
            ),
            (
                r#"{"name": "x", "api": "item", "method_prefix": "crm.item", "entity_type_id": 2, "title": 5}"#,
                "`entity.title` must be a string",
            ),
            (
                r#"{"name": "x", "api": "item", "method_prefix": "crm.item", "entity_type_id": 2, "type_id": "5"}"#,
                "`entity.type_id` must be a number",
            ),
        ] {
            let text = format!(
                r#"{{"format_version": 2, "entity": {entity}, "fields": {{"ID": {{"type": "integer"}}}}}}"#
            );
            let err = Snapshot::parse(&text, &EntityInfo::deal())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{entity}: {err}");
        }
    }

    #[test]
    fn raw_response_is_accepted_and_keeps_order_and_unknown_keys() {
        let raw = r#"{"result": {"ZED": {"type": "string", "isRequired": false, "future": [1]},
                      "ALPHA": {"type": "integer"}}, "time": {"start": 1}}"#;
        let snapshot = Snapshot::parse(raw, &EntityInfo::deal()).unwrap();
        let codes: Vec<_> = snapshot.fields.keys().cloned().collect();
        assert_eq!(codes, ["ZED", "ALPHA"]);
        assert_eq!(snapshot.fields["ZED"]["future"], serde_json::json!([1]));
        assert!(!snapshot.to_json_pretty().contains("time"));
    }

    #[test]
    fn item_fields_wrapper_is_unwrapped() {
        let raw = r#"{"result": {"fields": {"id": {"type": "integer", "upperName": "ID"}}}}"#;
        let snapshot = Snapshot::parse(raw, &EntityInfo::deal()).unwrap();
        assert!(snapshot.fields.contains_key("id"));
        assert_eq!(snapshot.entity.api, Api::Item);
        assert_eq!(snapshot.descriptors().next().unwrap().code, "ID");
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = Snapshot::parse("{\n  \"result\": {,\n}", &EntityInfo::deal()).unwrap_err();
        match err {
            SnapshotError::Json { line, column, .. } => assert_eq!((line, column), (2, 14)),
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_shapes_are_explained() {
        let cases = [
            ("[]", "expected a JSON object"),
            (
                r#"{"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}"#,
                "error response",
            ),
            (
                r#"{"format_version": 9, "entity": {}, "fields": {}}"#,
                "format_version 9",
            ),
            (
                r#"{"result": {"A": {"title": "x"}}}"#,
                "field A: the descriptor has no `type`",
            ),
            (
                r#"{"result": {"A": 5}}"#,
                "field A: the descriptor must be an object",
            ),
            (r#"{"hello": 1}"#, "neither a snapshot"),
            (r#"{"result": {}}"#, "no fields"),
        ];
        for (text, expected) in cases {
            let err = Snapshot::parse(text, &EntityInfo::deal())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn descriptor_flags_tolerate_missing_and_odd_forms() {
        let snapshot = Snapshot::parse(
            r#"{"result": {"A": {"type": "string", "isRequired": "Y", "items": [{"ID": 5, "VALUE": "x"}, {"bad": 1}],
                 "settings": [], "statusType": ["a"]}}}"#,
            &EntityInfo::deal(),
        )
        .unwrap();
        let d = snapshot.descriptors().next().unwrap();
        assert!(d.is_required());
        assert!(!d.is_deprecated());
        assert_eq!(d.items(), vec![("5".to_owned(), "x")]);
        assert!(d.settings().is_none());
        assert_eq!(d.status_type(), None);
        assert_eq!(d.title(), "A");
    }
}

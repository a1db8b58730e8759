//! The index of a folder written by `bitrix-codegen snapshot --all`: which file holds which
//! entity, through which API, and a smart process's title. `check --all` reads it to find the
//! snapshots and to tell smart processes added on the portal from removed ones.
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "entities": {
//!     "deal": { "file": "deal.json", "api": "legacy", "entity_type_id": 2, "struct_name": "Deal" },
//!     "smart_invoice": { "file": "smart_invoice.json", "api": "item", "entity_type_id": 31, "struct_name": "SmartInvoice" },
//!     "dynamic_1032": { "file": "dynamic_1032.json", "api": "item", "entity_type_id": 1032,
//!                       "title": "Проекты", "type_id": 5, "struct_name": "Proekty" }
//!   }
//! }
//! ```
//!
//! Entries are in the order `snapshot --all` wrote them: the five legacy entities, the smart
//! invoice, then the smart processes in `crm.type.list` order.

use std::path::Path;

use serde_json::{Map, Value};

use crate::entities::Api;
use crate::snapshot::EntityInfo;

/// The index's file name in the folder.
pub const INDEX_FILE: &str = "index.json";

/// The index format version this crate reads and writes.
pub const INDEX_VERSION: u64 = 1;

/// One entity of the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The entity's name (`deal`, `smart_invoice`, `dynamic_1032`).
    pub entity: String,
    /// Its snapshot's file name in the folder (`deal.json`).
    pub file: String,
    /// The API its snapshot was read through.
    pub api: Api,
    /// Its entity type id.
    pub entity_type_id: u32,
    /// A smart process's title.
    pub title: Option<String>,
    /// A smart process's `crm.type` id.
    pub type_id: Option<u64>,
    /// The read model's default name ([`EntityInfo::default_struct_name`]).
    pub struct_name: String,
}

impl IndexEntry {
    /// The entry of a snapshot of `entity`, in the file `{name}.json`.
    pub fn of(entity: &EntityInfo) -> Self {
        IndexEntry {
            entity: entity.name.clone(),
            file: format!("{}.json", entity.name),
            api: entity.api,
            entity_type_id: entity.entity_type_id,
            title: entity.title.clone(),
            type_id: entity.type_id,
            struct_name: entity.default_struct_name(),
        }
    }
}

/// The index of a `snapshot --all` folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// The entities, in the order they were written.
    pub entries: Vec<IndexEntry>,
}

impl Index {
    /// Deterministic, pretty-printed JSON with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut entities = Map::new();
        for e in &self.entries {
            let mut o = Map::new();
            o.insert("file".into(), Value::String(e.file.clone()));
            o.insert("api".into(), Value::from(e.api.as_str()));
            o.insert("entity_type_id".into(), Value::from(e.entity_type_id));
            if let Some(t) = &e.title {
                o.insert("title".into(), Value::String(t.clone()));
            }
            if let Some(id) = e.type_id {
                o.insert("type_id".into(), Value::from(id));
            }
            o.insert("struct_name".into(), Value::String(e.struct_name.clone()));
            entities.insert(e.entity.clone(), Value::Object(o));
        }
        let mut root = Map::new();
        root.insert("format_version".into(), Value::from(INDEX_VERSION));
        root.insert("entities".into(), Value::Object(entities));
        let mut text = serde_json::to_string_pretty(&Value::Object(root))
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    }

    /// Reads an index; every problem is named. A `file` must be a plain file name in the
    /// folder (no path separators, not `..`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
        if value.get("format_version").and_then(Value::as_u64) != Some(INDEX_VERSION) {
            return Err(format!(
                "not an index of format_version {INDEX_VERSION} (written by `bitrix-codegen snapshot --all`)"
            ));
        }
        let Some(entities) = value.get("entities").and_then(Value::as_object) else {
            return Err("the index has no `entities` object".into());
        };
        let mut entries = Vec::with_capacity(entities.len());
        for (name, e) in entities {
            let bad = |what: &str| format!("entity {name}: {what}");
            let text = |key: &str| e.get(key).and_then(Value::as_str).map(str::to_owned);
            let file = text("file").ok_or_else(|| bad("`file` must be a string"))?;
            let plain = !file.is_empty()
                && !file.contains(['/', '\\'])
                && file != ".."
                && file != "."
                && !Path::new(&file).is_absolute();
            if !plain {
                return Err(bad("`file` must be a file name in the index's folder"));
            }
            let api = text("api")
                .as_deref()
                .and_then(Api::parse)
                .ok_or_else(|| bad("`api` must be \"legacy\" or \"item\""))?;
            let entity_type_id = e
                .get("entity_type_id")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("`entity_type_id` must be a number"))?;
            entries.push(IndexEntry {
                entity: name.clone(),
                file,
                api,
                entity_type_id,
                title: text("title"),
                type_id: e.get("type_id").and_then(Value::as_u64),
                struct_name: text("struct_name").unwrap_or_default(),
            });
        }
        Ok(Index { entries })
    }

    /// Reads `dir/index.json`.
    pub fn read_dir(dir: &Path) -> Result<Self, String> {
        let path = dir.join(INDEX_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read {} ({e}); write the folder with `bitrix-codegen snapshot --all --out {}`",
                path.display(),
                dir.display()
            )
        })?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_round_trips_and_names_its_problems() {
        let index = Index {
            entries: vec![
                IndexEntry::of(&EntityInfo::deal()),
                IndexEntry::of(&EntityInfo::by_name("smart_invoice").unwrap()),
                IndexEntry::of(&EntityInfo::smart_process(
                    1032,
                    Some("Проекты".into()),
                    Some(5),
                )),
            ],
        };
        let text = index.to_json_pretty();
        assert_eq!(Index::parse(&text).unwrap(), index);
        assert_eq!(index.entries[2].file, "dynamic_1032.json");
        assert_eq!(index.entries[2].struct_name, "Proekty");
        assert_eq!(index.entries[1].api, Api::Item);
        for (bad, expected) in [
            ("[]", "not an index"),
            (r#"{"format_version": 1}"#, "no `entities`"),
            (
                r#"{"format_version": 1, "entities": {"x": {"file": "../x.json", "api": "item", "entity_type_id": 2}}}"#,
                "entity x: `file` must be a file name",
            ),
            (
                r#"{"format_version": 1, "entities": {"x": {"file": "x.json", "api": "rest", "entity_type_id": 2}}}"#,
                "`api` must be",
            ),
        ] {
            let err = Index::parse(bad).unwrap_err();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }
}

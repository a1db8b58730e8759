//! Pipelines, stages, dictionaries and currencies of one entity, as a snapshot records them.
//!
//! Snapshot format version 3 adds these optional sections beside `fields` (a snapshot without
//! them is written as version 2, exactly as before):
//!
//! ```json
//! "pipelines": [
//!   { "category": { "id": 0, "name": "Общая", "sort": 100, "isDefault": "Y", ... },
//!     "stages": [ { "STATUS_ID": "NEW", "NAME": "Новая", "SORT": "10", "EXTRA": { "SEMANTICS": "process", "COLOR": "#39A8EF" }, ... }, ... ] }
//! ],
//! "dictionaries": { "SOURCE": [ { "STATUS_ID": "CALL", "NAME": "Звонок", ... } ], ... },
//! "currencies": [ { "CURRENCY": "RUB", "FULL_NAME": "Российский рубль", "SORT": "100", "BASE": "Y", ... } ],
//! "notes": [ "crm.currency.list is not available on this portal: currencies are not recorded" ]
//! ```
//!
//! `category` is an item of `crm.category.list {entityTypeId}` and each stage a row of
//! `crm.status.list` filtered by the pipeline's `ENTITY_ID` (`DEAL_STAGE`, `DEAL_STAGE_{id}`,
//! `DYNAMIC_{entityTypeId}_STAGE_{id}`, `SMART_INVOICE_STAGE_{id}`), kept whole and in the
//! portal's order. `dictionaries` holds, by `ENTITY_ID`, the `crm.status.list` rows of every
//! directory a `crm_status` field of the entity names in its `statusType` (`SOURCE`,
//! `DEAL_TYPE`, `STATUS`, ...), sorted by directory. `currencies` holds the rows of
//! `crm.currency.list` without the exchange rate and its date (`AMOUNT`, `AMOUNT_CNT`,
//! `DATE_UPDATE`), which change daily without changing any type.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The `crm.currency.list` keys left out of a snapshot: they change without changing types.
pub const VOLATILE_CURRENCY_KEYS: &[&str] = &["AMOUNT", "AMOUNT_CNT", "DATE_UPDATE"];

/// Everything besides the field descriptors that a snapshot may record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    /// The entity's pipelines with their stages; `None` when not recorded (older snapshots,
    /// entities without pipelines).
    pub pipelines: Option<Vec<Pipeline>>,
    /// `crm.status.list` rows by directory (`ENTITY_ID`).
    pub dictionaries: BTreeMap<String, Vec<Value>>,
    /// `crm.currency.list` rows; `None` when not recorded.
    pub currencies: Option<Vec<Value>>,
    /// What could not be recorded, and why.
    pub notes: Vec<String>,
}

/// One pipeline: its `crm.category.list` item and its stages.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The category item as the portal returned it.
    pub category: Map<String, Value>,
    /// The stages (`crm.status.list` rows) in the portal's order.
    pub stages: Vec<Value>,
}

/// A typed view of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryView<'a> {
    /// `id`.
    pub id: u64,
    /// `name`.
    pub name: &'a str,
    /// `isDefault`.
    pub is_default: bool,
}

/// A typed view of one `crm.status.list` row (a stage or a dictionary item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView<'a> {
    /// `STATUS_ID` (`NEW`, `C1:NEW`, `DT1220_5:NEW`, `CALL`).
    pub status_id: &'a str,
    /// `NAME`.
    pub name: &'a str,
    /// `SORT`.
    pub sort: Option<i64>,
    /// `EXTRA.COLOR`, else `COLOR`.
    pub color: Option<&'a str>,
    /// `EXTRA.SEMANTICS`, else `SEMANTICS` (`S`/`F`; empty for a stage in progress).
    pub semantics: Option<Semantics>,
}

/// What a stage means for the record's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// In work.
    Process,
    /// Won.
    Success,
    /// Lost.
    Failure,
}

impl Semantics {
    /// The name of the matching `bitrix_runtime::pipeline::StageSemantics` variant.
    pub fn variant(self) -> &'static str {
        match self {
            Semantics::Process => "Process",
            Semantics::Success => "Success",
            Semantics::Failure => "Failure",
        }
    }
}

/// A typed view of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyView<'a> {
    /// `CURRENCY` (`RUB`).
    pub code: &'a str,
    /// `FULL_NAME`.
    pub name: &'a str,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The category's view; `None` when it has no numeric `id`.
pub fn category_view(category: &Map<String, Value>) -> Option<CategoryView<'_>> {
    let id = number(category.get("id")).and_then(|n| u64::try_from(n).ok())?;
    Some(CategoryView {
        id,
        name: category.get("name").and_then(Value::as_str).unwrap_or(""),
        is_default: matches!(
            category.get("isDefault"),
            Some(Value::String(s)) if s == "Y"
        ) || matches!(category.get("isDefault"), Some(Value::Bool(true))),
    })
}

/// The row's view; `None` when it has no `STATUS_ID` string.
pub fn status_view(row: &Value) -> Option<StatusView<'_>> {
    let status_id = row
        .get("STATUS_ID")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())?;
    let extra = row.get("EXTRA");
    let semantics = match extra
        .and_then(|e| e.get("SEMANTICS"))
        .and_then(Value::as_str)
    {
        Some("success") => Some(Semantics::Success),
        Some("failure") => Some(Semantics::Failure),
        Some("process") => Some(Semantics::Process),
        _ => match row.get("SEMANTICS").and_then(Value::as_str) {
            Some("S") => Some(Semantics::Success),
            Some("F") => Some(Semantics::Failure),
            _ => None,
        },
    };
    Some(StatusView {
        status_id,
        name: row.get("NAME").and_then(Value::as_str).unwrap_or(""),
        sort: number(row.get("SORT")),
        color: extra
            .and_then(|e| e.get("COLOR"))
            .and_then(Value::as_str)
            .or_else(|| row.get("COLOR").and_then(Value::as_str)),
        semantics,
    })
}

/// The currency's view; `None` when it has no `CURRENCY` string.
pub fn currency_view(row: &Value) -> Option<CurrencyView<'_>> {
    Some(CurrencyView {
        code: row
            .get("CURRENCY")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())?,
        name: row.get("FULL_NAME").and_then(Value::as_str).unwrap_or(""),
    })
}

/// A currency row as a snapshot keeps it (the volatile keys removed).
pub fn stable_currency(row: &Value) -> Value {
    match row {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !VOLATILE_CURRENCY_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The `crm.status.list` `ENTITY_ID` of a pipeline's stages.
pub fn stage_entity_id(entity_name: &str, entity_type_id: u32, category: u64) -> String {
    match entity_name {
        "deal" if category == 0 => "DEAL_STAGE".to_owned(),
        "deal" => format!("DEAL_STAGE_{category}"),
        "smart_invoice" => format!("SMART_INVOICE_STAGE_{category}"),
        _ => format!("DYNAMIC_{entity_type_id}_STAGE_{category}"),
    }
}

/// Whether a `statusType` names a pipeline's stages rather than a dictionary.
pub fn is_stage_directory(status_type: &str) -> bool {
    status_type == "DEAL_STAGE"
        || status_type.starts_with("DEAL_STAGE_")
        || status_type.starts_with("SMART_INVOICE_STAGE_")
        || (status_type.starts_with("DYNAMIC_") && status_type.contains("_STAGE_"))
}

impl Catalog {
    /// Whether nothing is recorded (the snapshot is then written as version 2).
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_none()
            && self.dictionaries.is_empty()
            && self.currencies.is_none()
            && self.notes.is_empty()
    }

    /// The pipelines with their typed views (pipelines without a numeric id are skipped).
    pub fn categories(&self) -> Vec<(CategoryView<'_>, &Pipeline)> {
        self.pipelines
            .iter()
            .flatten()
            .filter_map(|p| category_view(&p.category).map(|v| (v, p)))
            .collect()
    }

    /// The stages of a pipeline, typed (rows without a `STATUS_ID` are skipped).
    pub fn stages(pipeline: &Pipeline) -> Vec<StatusView<'_>> {
        pipeline.stages.iter().filter_map(status_view).collect()
    }

    /// The items of a dictionary, typed; `None` when it is not recorded.
    pub fn dictionary(&self, entity_id: &str) -> Option<Vec<StatusView<'_>>> {
        self.dictionaries
            .get(entity_id)
            .map(|rows| rows.iter().filter_map(status_view).collect())
    }

    /// The currencies, typed; `None` when they are not recorded.
    pub fn currency_list(&self) -> Option<Vec<CurrencyView<'_>>> {
        self.currencies
            .as_ref()
            .map(|rows| rows.iter().filter_map(currency_view).collect())
    }

    /// Adds the sections to a snapshot's root object.
    pub fn write_into(&self, root: &mut Map<String, Value>) {
        if let Some(pipelines) = &self.pipelines {
            let list = pipelines
                .iter()
                .map(|p| {
                    let mut m = Map::new();
                    m.insert("category".into(), Value::Object(p.category.clone()));
                    m.insert("stages".into(), Value::Array(p.stages.clone()));
                    Value::Object(m)
                })
                .collect();
            root.insert("pipelines".into(), Value::Array(list));
        }
        if !self.dictionaries.is_empty() {
            let m: Map<String, Value> = self
                .dictionaries
                .iter()
                .map(|(k, v)| (k.clone(), Value::Array(v.clone())))
                .collect();
            root.insert("dictionaries".into(), Value::Object(m));
        }
        if let Some(currencies) = &self.currencies {
            root.insert("currencies".into(), Value::Array(currencies.clone()));
        }
        if !self.notes.is_empty() {
            let notes = self.notes.iter().cloned().map(Value::String).collect();
            root.insert("notes".into(), Value::Array(notes));
        }
    }

    /// Reads the sections of a snapshot's root object; every problem is one message.
    pub fn read_from(root: &Map<String, Value>) -> Result<Catalog, String> {
        let mut catalog = Catalog::default();
        if let Some(value) = root.get("pipelines") {
            let Value::Array(list) = value else {
                return Err(format!(
                    "`pipelines` must be an array, found {}",
                    json_kind(value)
                ));
            };
            let mut pipelines = Vec::with_capacity(list.len());
            for (i, p) in list.iter().enumerate() {
                let (Some(Value::Object(category)), Some(Value::Array(stages))) =
                    (p.get("category"), p.get("stages"))
                else {
                    return Err(format!(
                        "`pipelines[{i}]` must be an object with a `category` object and a `stages` array"
                    ));
                };
                pipelines.push(Pipeline {
                    category: category.clone(),
                    stages: stages.clone(),
                });
            }
            catalog.pipelines = Some(pipelines);
        }
        if let Some(value) = root.get("dictionaries") {
            let Value::Object(m) = value else {
                return Err(format!(
                    "`dictionaries` must be an object, found {}",
                    json_kind(value)
                ));
            };
            for (k, v) in m {
                let Value::Array(rows) = v else {
                    return Err(format!(
                        "`dictionaries.{k}` must be an array, found {}",
                        json_kind(v)
                    ));
                };
                catalog.dictionaries.insert(k.clone(), rows.clone());
            }
        }
        if let Some(value) = root.get("currencies") {
            let Value::Array(rows) = value else {
                return Err(format!(
                    "`currencies` must be an array, found {}",
                    json_kind(value)
                ));
            };
            catalog.currencies = Some(rows.clone());
        }
        if let Some(value) = root.get("notes") {
            let Value::Array(notes) = value else {
                return Err(format!(
                    "`notes` must be an array, found {}",
                    json_kind(value)
                ));
            };
            catalog.notes = notes.iter().filter_map(text).collect();
        }
        Ok(catalog)
    }
}

/// A short name for the kind of a JSON value, for error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_directories_and_views() {
        assert_eq!(stage_entity_id("deal", 2, 0), "DEAL_STAGE");
        assert_eq!(stage_entity_id("deal", 2, 4), "DEAL_STAGE_4");
        assert_eq!(
            stage_entity_id("smart_invoice", 31, 3),
            "SMART_INVOICE_STAGE_3"
        );
        assert_eq!(
            stage_entity_id("dynamic_1220", 1220, 5),
            "DYNAMIC_1220_STAGE_5"
        );
        for s in [
            "DEAL_STAGE",
            "DEAL_STAGE_1",
            "DYNAMIC_1220_STAGE_5",
            "SMART_INVOICE_STAGE_3",
        ] {
            assert!(is_stage_directory(s), "{s}");
        }
        for s in ["SOURCE", "DEAL_TYPE", "STATUS", "DYNAMIC_X"] {
            assert!(!is_stage_directory(s), "{s}");
        }
        let row = serde_json::json!({"STATUS_ID": "C1:WON", "NAME": "Успех", "SORT": "60",
            "SEMANTICS": "S", "COLOR": "#00FF00"});
        let v = status_view(&row).unwrap();
        assert_eq!(
            (v.status_id, v.name, v.sort, v.color, v.semantics),
            (
                "C1:WON",
                "Успех",
                Some(60),
                Some("#00FF00"),
                Some(Semantics::Success)
            )
        );
        assert!(status_view(&serde_json::json!({"NAME": "x"})).is_none());
        let stable = stable_currency(
            &serde_json::json!({"CURRENCY": "RUB", "AMOUNT": "1.0", "DATE_UPDATE": "x"}),
        );
        assert_eq!(stable, serde_json::json!({"CURRENCY": "RUB"}));
    }

    #[test]
    fn malformed_sections_are_explained() {
        for (text, expected) in [
            (r#"{"pipelines": {}}"#, "`pipelines` must be an array"),
            (
                r#"{"pipelines": [{"category": 1}]}"#,
                "`pipelines[0]` must be",
            ),
            (
                r#"{"dictionaries": []}"#,
                "`dictionaries` must be an object",
            ),
            (
                r#"{"dictionaries": {"SOURCE": 1}}"#,
                "`dictionaries.SOURCE` must be",
            ),
            (r#"{"currencies": {}}"#, "`currencies` must be an array"),
            (r#"{"notes": "x"}"#, "`notes` must be an array"),
        ] {
            let root: Map<String, Value> = serde_json::from_str(text).unwrap();
            let err = Catalog::read_from(&root).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}

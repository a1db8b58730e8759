//! Drift between two snapshots of the same entity: what changed on the portal since the
//! snapshot was taken. Used by `bitrix-codegen check` (portal vs file) and `diff` (file vs file).

use std::fmt;

use serde_json::Value;

use crate::catalog::{Catalog, StatusView};
use crate::snapshot::{Descriptor, Snapshot};

/// One difference.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A field exists only in the new snapshot.
    FieldAdded {
        /// Field code.
        code: String,
        /// Its type.
        field_type: String,
        /// Its label or title.
        name: String,
    },
    /// A field exists only in the old snapshot.
    FieldRemoved {
        /// Field code.
        code: String,
        /// Its type.
        field_type: String,
    },
    /// The field's `type` changed.
    TypeChanged {
        /// Field code.
        code: String,
        /// Old type.
        from: String,
        /// New type.
        to: String,
    },
    /// A flag (`isRequired`, `isReadOnly`, `isImmutable`, `isMultiple`, `isDeprecated`, ...) changed.
    FlagChanged {
        /// Field code.
        code: String,
        /// The descriptor key.
        flag: String,
        /// Old value.
        from: bool,
        /// New value.
        to: bool,
    },
    /// An enumeration item was added.
    ItemAdded {
        /// Field code.
        code: String,
        /// Item id.
        id: String,
        /// Item label.
        value: String,
    },
    /// An enumeration item was removed.
    ItemRemoved {
        /// Field code.
        code: String,
        /// Item id.
        id: String,
        /// Item label.
        value: String,
    },
    /// An enumeration item's label changed.
    ItemRelabeled {
        /// Field code.
        code: String,
        /// Item id.
        id: String,
        /// Old label.
        from: String,
        /// New label.
        to: String,
    },
    /// `title`, `listLabel`, `formLabel` or `filterLabel` changed.
    LabelChanged {
        /// Field code.
        code: String,
        /// The descriptor key.
        key: String,
        /// Old text.
        from: Option<String>,
        /// New text.
        to: Option<String>,
    },
    /// Any other descriptor key changed (`settings`, `statusType`, keys new to this tool).
    OtherChanged {
        /// Field code.
        code: String,
        /// The descriptor key.
        key: String,
    },
    /// A pipeline exists only in the new snapshot.
    PipelineAdded {
        /// Category id.
        id: u64,
        /// Its name.
        name: String,
    },
    /// A pipeline exists only in the old snapshot.
    PipelineRemoved {
        /// Category id.
        id: u64,
        /// Its name.
        name: String,
    },
    /// A pipeline's name changed (its generated variant and stage enum are named after it).
    PipelineRenamed {
        /// Category id.
        id: u64,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// A stage exists only in the new snapshot.
    StageAdded {
        /// The pipeline's category id.
        category: u64,
        /// Stage id (`C1:REVIEW`).
        code: String,
        /// Its name.
        name: String,
    },
    /// A stage exists only in the old snapshot.
    StageRemoved {
        /// The pipeline's category id.
        category: u64,
        /// Stage id.
        code: String,
        /// Its name.
        name: String,
    },
    /// A stage's name changed.
    StageRenamed {
        /// The pipeline's category id.
        category: u64,
        /// Stage id.
        code: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// A stage's semantics (in work, won, lost) changed.
    StageSemanticsChanged {
        /// The pipeline's category id.
        category: u64,
        /// Stage id.
        code: String,
        /// Old semantics (`process`, `success`, `failure`, `none`).
        from: String,
        /// New semantics.
        to: String,
    },
    /// A dictionary item (`crm.status.list` row) exists only in the new snapshot.
    DictionaryItemAdded {
        /// The directory (`SOURCE`).
        directory: String,
        /// Item id (`STATUS_ID`).
        id: String,
        /// Its name.
        name: String,
    },
    /// A dictionary item exists only in the old snapshot.
    DictionaryItemRemoved {
        /// The directory.
        directory: String,
        /// Item id.
        id: String,
        /// Its name.
        name: String,
    },
    /// A dictionary item's name changed.
    DictionaryItemRenamed {
        /// The directory.
        directory: String,
        /// Item id.
        id: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// A currency exists only in the new snapshot.
    CurrencyAdded {
        /// Currency code.
        code: String,
    },
    /// A currency exists only in the old snapshot.
    CurrencyRemoved {
        /// Currency code.
        code: String,
    },
    /// The snapshots describe different entities.
    EntityChanged {
        /// Old entity name.
        from: String,
        /// New entity name.
        to: String,
    },
}

impl Change {
    /// Whether regenerated code changes shape for this difference (anything but labels and
    /// other descriptor keys).
    pub fn affects_types(&self) -> bool {
        !matches!(
            self,
            Change::LabelChanged { .. }
                | Change::OtherChanged { .. }
                | Change::ItemRelabeled { .. }
                | Change::StageRenamed { .. }
                | Change::DictionaryItemRenamed { .. }
        )
    }
}

/// Every difference between two snapshots, in field order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Drift {
    /// The differences.
    pub changes: Vec<Change>,
}

const LABEL_KEYS: &[&str] = &["title", "listLabel", "formLabel", "filterLabel"];

/// Compares `old` (the committed snapshot) with `new` (the portal now).
pub fn diff(old: &Snapshot, new: &Snapshot) -> Drift {
    let mut changes = Vec::new();
    if old.entity.name != new.entity.name {
        changes.push(Change::EntityChanged {
            from: old.entity.name.clone(),
            to: new.entity.name.clone(),
        });
    }
    // Fields are matched by their legacy code, which item snapshots carry as `upperName`.
    let new_codes: std::collections::BTreeSet<String> =
        new.descriptors().map(|n| n.code.into_owned()).collect();
    let mut old_by_code: std::collections::BTreeMap<String, Descriptor<'_>> = Default::default();
    for d in old.descriptors() {
        if !new_codes.contains(d.code.as_ref()) {
            changes.push(Change::FieldRemoved {
                code: d.code.to_string(),
                field_type: d.field_type().to_owned(),
            });
        }
        old_by_code.entry(d.code.to_string()).or_insert(d);
    }
    for n in new.descriptors() {
        match old_by_code.get(n.code.as_ref()) {
            None => changes.push(Change::FieldAdded {
                code: n.code.to_string(),
                field_type: n.field_type().to_owned(),
                name: n.label().unwrap_or(n.title()).to_owned(),
            }),
            Some(o) => compare_field(o, &n, &mut changes),
        }
    }
    compare_catalogs(&old.catalog, &new.catalog, &mut changes);
    Drift { changes }
}

/// Pipelines, stages, dictionaries and currencies; a section is compared only when both
/// snapshots record it (an older snapshot without it is not drift).
fn compare_catalogs(old: &Catalog, new: &Catalog, changes: &mut Vec<Change>) {
    if old.pipelines.is_some() && new.pipelines.is_some() {
        let (oc, nc) = (old.categories(), new.categories());
        for (o, _) in &oc {
            if !nc.iter().any(|(n, _)| n.id == o.id) {
                changes.push(Change::PipelineRemoved {
                    id: o.id,
                    name: o.name.to_owned(),
                });
            }
        }
        for (n, np) in &nc {
            let Some((o, op)) = oc.iter().find(|(o, _)| o.id == n.id) else {
                changes.push(Change::PipelineAdded {
                    id: n.id,
                    name: n.name.to_owned(),
                });
                continue;
            };
            if o.name != n.name {
                changes.push(Change::PipelineRenamed {
                    id: n.id,
                    from: o.name.to_owned(),
                    to: n.name.to_owned(),
                });
            }
            compare_stages(n.id, &Catalog::stages(op), &Catalog::stages(np), changes);
        }
    }
    for directory in new.dictionaries.keys() {
        let (Some(o), Some(n)) = (old.dictionary(directory), new.dictionary(directory)) else {
            continue;
        };
        for item in &o {
            if !n.iter().any(|x| x.status_id == item.status_id) {
                changes.push(Change::DictionaryItemRemoved {
                    directory: directory.clone(),
                    id: item.status_id.to_owned(),
                    name: item.name.to_owned(),
                });
            }
        }
        for item in &n {
            match o.iter().find(|x| x.status_id == item.status_id) {
                None => changes.push(Change::DictionaryItemAdded {
                    directory: directory.clone(),
                    id: item.status_id.to_owned(),
                    name: item.name.to_owned(),
                }),
                Some(x) if x.name != item.name => changes.push(Change::DictionaryItemRenamed {
                    directory: directory.clone(),
                    id: item.status_id.to_owned(),
                    from: x.name.to_owned(),
                    to: item.name.to_owned(),
                }),
                Some(_) => {}
            }
        }
    }
    if let (Some(o), Some(n)) = (old.currency_list(), new.currency_list()) {
        for c in &o {
            if !n.iter().any(|x| x.code == c.code) {
                changes.push(Change::CurrencyRemoved {
                    code: c.code.to_owned(),
                });
            }
        }
        for c in &n {
            if !o.iter().any(|x| x.code == c.code) {
                changes.push(Change::CurrencyAdded {
                    code: c.code.to_owned(),
                });
            }
        }
    }
}

fn semantics_name(s: Option<crate::catalog::Semantics>) -> String {
    s.map_or("none", |s| match s {
        crate::catalog::Semantics::Process => "process",
        crate::catalog::Semantics::Success => "success",
        crate::catalog::Semantics::Failure => "failure",
    })
    .to_owned()
}

fn compare_stages(
    category: u64,
    old: &[StatusView<'_>],
    new: &[StatusView<'_>],
    changes: &mut Vec<Change>,
) {
    for o in old {
        if !new.iter().any(|n| n.status_id == o.status_id) {
            changes.push(Change::StageRemoved {
                category,
                code: o.status_id.to_owned(),
                name: o.name.to_owned(),
            });
        }
    }
    for n in new {
        let Some(o) = old.iter().find(|o| o.status_id == n.status_id) else {
            changes.push(Change::StageAdded {
                category,
                code: n.status_id.to_owned(),
                name: n.name.to_owned(),
            });
            continue;
        };
        if o.name != n.name {
            changes.push(Change::StageRenamed {
                category,
                code: n.status_id.to_owned(),
                from: o.name.to_owned(),
                to: n.name.to_owned(),
            });
        }
        if o.semantics != n.semantics {
            changes.push(Change::StageSemanticsChanged {
                category,
                code: n.status_id.to_owned(),
                from: semantics_name(o.semantics),
                to: semantics_name(n.semantics),
            });
        }
    }
}

fn compare_field(o: &Descriptor<'_>, n: &Descriptor<'_>, changes: &mut Vec<Change>) {
    let code = n.code.to_string();
    if o.field_type() != n.field_type() {
        changes.push(Change::TypeChanged {
            code: code.clone(),
            from: o.field_type().to_owned(),
            to: n.field_type().to_owned(),
        });
    }
    let (Some(om), Some(nm)) = (o.raw.as_object(), n.raw.as_object()) else {
        return;
    };
    let mut keys: Vec<&String> = om.keys().chain(nm.keys()).collect();
    keys.dedup();
    let mut seen = std::collections::BTreeSet::new();
    for key in keys {
        if !seen.insert(key.as_str()) || key == "type" {
            continue;
        }
        let (ov, nv) = (om.get(key), nm.get(key));
        if ov == nv {
            continue;
        }
        if key.starts_with("is") && is_flag(ov) && is_flag(nv) {
            let (from, to) = (flag(ov), flag(nv));
            if from != to {
                changes.push(Change::FlagChanged {
                    code: code.clone(),
                    flag: key.clone(),
                    from,
                    to,
                });
            }
        } else if LABEL_KEYS.contains(&key.as_str()) {
            changes.push(Change::LabelChanged {
                code: code.clone(),
                key: key.clone(),
                from: ov.and_then(Value::as_str).map(str::to_owned),
                to: nv.and_then(Value::as_str).map(str::to_owned),
            });
        } else if key == "items" {
            compare_items(o, n, changes);
        } else {
            changes.push(Change::OtherChanged {
                code: code.clone(),
                key: key.clone(),
            });
        }
    }
}

fn is_flag(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Bool(_)))
}

fn flag(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

fn compare_items(o: &Descriptor<'_>, n: &Descriptor<'_>, changes: &mut Vec<Change>) {
    let (oi, ni) = (o.items(), n.items());
    for (id, value) in &oi {
        match ni.iter().find(|(nid, _)| nid == id) {
            None => changes.push(Change::ItemRemoved {
                code: n.code.to_string(),
                id: id.clone(),
                value: (*value).to_owned(),
            }),
            Some((_, nv)) if nv != value => changes.push(Change::ItemRelabeled {
                code: n.code.to_string(),
                id: id.clone(),
                from: (*value).to_owned(),
                to: (*nv).to_owned(),
            }),
            Some(_) => {}
        }
    }
    for (id, value) in &ni {
        if !oi.iter().any(|(oid, _)| oid == id) {
            changes.push(Change::ItemAdded {
                code: n.code.to_string(),
                id: id.clone(),
                value: (*value).to_owned(),
            });
        }
    }
}

impl Drift {
    /// No difference.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any difference changes the generated types.
    pub fn affects_types(&self) -> bool {
        self.changes.iter().any(Change::affects_types)
    }
}

fn quoted(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("\"{s}\""),
        None => "(none)".into(),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::FieldAdded {
                code,
                field_type,
                name,
            } => {
                write!(f, "+ {code}: field added ({field_type}, \"{name}\")")
            }
            Change::FieldRemoved { code, field_type } => {
                write!(f, "- {code}: field removed (was {field_type})")
            }
            Change::TypeChanged { code, from, to } => write!(f, "~ {code}: type {from} -> {to}"),
            Change::FlagChanged {
                code,
                flag,
                from,
                to,
            } => {
                write!(f, "~ {code}: {flag} {from} -> {to}")
            }
            Change::ItemAdded { code, id, value } => {
                write!(f, "+ {code}: enumeration item {id} \"{value}\" added")
            }
            Change::ItemRemoved { code, id, value } => {
                write!(f, "- {code}: enumeration item {id} \"{value}\" removed")
            }
            Change::ItemRelabeled { code, id, from, to } => {
                write!(
                    f,
                    "~ {code}: enumeration item {id} relabeled \"{from}\" -> \"{to}\""
                )
            }
            Change::LabelChanged {
                code,
                key,
                from,
                to,
            } => {
                write!(f, "~ {code}: {key} {} -> {}", quoted(from), quoted(to))
            }
            Change::OtherChanged { code, key } => write!(f, "~ {code}: {key} changed"),
            Change::PipelineAdded { id, name } => {
                write!(f, "+ pipeline {id} \"{name}\" added")
            }
            Change::PipelineRemoved { id, name } => {
                write!(f, "- pipeline {id} \"{name}\" removed")
            }
            Change::PipelineRenamed { id, from, to } => {
                write!(f, "~ pipeline {id} renamed \"{from}\" -> \"{to}\"")
            }
            Change::StageAdded {
                category,
                code,
                name,
            } => write!(f, "+ stage {code} \"{name}\" added to pipeline {category}"),
            Change::StageRemoved {
                category,
                code,
                name,
            } => write!(
                f,
                "- stage {code} \"{name}\" removed from pipeline {category}"
            ),
            Change::StageRenamed {
                category,
                code,
                from,
                to,
            } => write!(
                f,
                "~ stage {code} of pipeline {category} renamed \"{from}\" -> \"{to}\""
            ),
            Change::StageSemanticsChanged {
                category,
                code,
                from,
                to,
            } => write!(
                f,
                "~ stage {code} of pipeline {category}: semantics {from} -> {to}"
            ),
            Change::DictionaryItemAdded {
                directory,
                id,
                name,
            } => write!(f, "+ {directory}: item {id} \"{name}\" added"),
            Change::DictionaryItemRemoved {
                directory,
                id,
                name,
            } => write!(f, "- {directory}: item {id} \"{name}\" removed"),
            Change::DictionaryItemRenamed {
                directory,
                id,
                from,
                to,
            } => write!(f, "~ {directory}: item {id} renamed \"{from}\" -> \"{to}\""),
            Change::CurrencyAdded { code } => write!(f, "+ currency {code} added"),
            Change::CurrencyRemoved { code } => write!(f, "- currency {code} removed"),
            Change::EntityChanged { from, to } => write!(f, "! entity {from} -> {to}"),
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(
                f,
                "no drift: the snapshots describe the same fields, pipelines and dictionaries"
            );
        }
        let typed = self.changes.iter().filter(|c| c.affects_types()).count();
        writeln!(
            f,
            "{} difference(s), {typed} of them change the generated types:",
            self.changes.len()
        )?;
        for c in &self.changes {
            writeln!(f, "  {c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::EntityInfo;

    fn snap(text: &str) -> Snapshot {
        Snapshot::parse(text, &EntityInfo::deal()).unwrap()
    }

    #[test]
    fn identical_snapshots_have_no_drift() {
        let demo = snap(include_str!("../../schemas/demo/deal.json"));
        let drift = diff(&demo, &demo.clone());
        assert!(drift.is_empty());
        assert!(drift.to_string().starts_with("no drift"));
    }

    #[test]
    fn every_kind_of_change_is_reported() {
        let old = snap(
            r#"{"result": {
                "A": {"type": "string", "isRequired": false, "title": "A", "listLabel": "Старое"},
                "B": {"type": "integer", "isReadOnly": false},
                "E": {"type": "enumeration", "items": [{"ID": "1", "VALUE": "x"}, {"ID": "2", "VALUE": "y"}]},
                "GONE": {"type": "date"}
            }}"#,
        );
        let new = snap(
            r#"{"result": {
                "A": {"type": "string", "isRequired": true, "title": "A", "listLabel": "Новое", "settings": {"SIZE": 1}},
                "B": {"type": "double", "isReadOnly": false},
                "E": {"type": "enumeration", "items": [{"ID": "2", "VALUE": "yy"}, {"ID": "3", "VALUE": "z"}]},
                "NEW": {"type": "money", "formLabel": "Бюджет"}
            }}"#,
        );
        let drift = diff(&old, &new);
        let lines: Vec<String> = drift.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "- GONE: field removed (was date)",
                "~ A: isRequired false -> true",
                "~ A: listLabel \"Старое\" -> \"Новое\"",
                "~ A: settings changed",
                "~ B: type integer -> double",
                "- E: enumeration item 1 \"x\" removed",
                "~ E: enumeration item 2 relabeled \"y\" -> \"yy\"",
                "+ E: enumeration item 3 \"z\" added",
                "+ NEW: field added (money, \"Бюджет\")",
            ]
        );
        assert!(drift.affects_types());
        assert!(
            drift
                .to_string()
                .starts_with("9 difference(s), 6 of them change the generated types:")
        );
    }

    #[test]
    fn pipeline_stage_and_dictionary_changes_are_reported() {
        let old = snap(
            r#"{"format_version": 3, "entity": {"name": "deal", "api": "legacy", "method_prefix": "crm.deal", "entity_type_id": 2},
              "fields": {"ID": {"type": "integer"}},
              "pipelines": [
                {"category": {"id": 0, "name": "Общая"}, "stages": [
                  {"STATUS_ID": "NEW", "NAME": "Новая"}, {"STATUS_ID": "WON", "NAME": "Успех", "SEMANTICS": "S"}]},
                {"category": {"id": 1, "name": "Дилеры"}, "stages": [{"STATUS_ID": "C1:NEW", "NAME": "Новая"}]},
                {"category": {"id": 2, "name": "Тендеры"}, "stages": []}],
              "dictionaries": {"SOURCE": [{"STATUS_ID": "CALL", "NAME": "Звонок"}, {"STATUS_ID": "WEB", "NAME": "Сайт"}]},
              "currencies": [{"CURRENCY": "RUB"}, {"CURRENCY": "USD"}]}"#,
        );
        let new = snap(
            r#"{"format_version": 3, "entity": {"name": "deal", "api": "legacy", "method_prefix": "crm.deal", "entity_type_id": 2},
              "fields": {"ID": {"type": "integer"}},
              "pipelines": [
                {"category": {"id": 0, "name": "Общая"}, "stages": [
                  {"STATUS_ID": "NEW", "NAME": "Новая сделка"}, {"STATUS_ID": "WON", "NAME": "Успех", "SEMANTICS": "F"},
                  {"STATUS_ID": "REVIEW", "NAME": "Проверка"}]},
                {"category": {"id": 1, "name": "Партнёры"}, "stages": []},
                {"category": {"id": 3, "name": "Опт"}, "stages": []}],
              "dictionaries": {"SOURCE": [{"STATUS_ID": "CALL", "NAME": "Телефон"}, {"STATUS_ID": "MAIL", "NAME": "Почта"}]},
              "currencies": [{"CURRENCY": "RUB"}, {"CURRENCY": "EUR"}]}"#,
        );
        let lines: Vec<String> = diff(&old, &new)
            .changes
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "- pipeline 2 \"Тендеры\" removed",
                "~ stage NEW of pipeline 0 renamed \"Новая\" -> \"Новая сделка\"",
                "~ stage WON of pipeline 0: semantics success -> failure",
                "+ stage REVIEW \"Проверка\" added to pipeline 0",
                "~ pipeline 1 renamed \"Дилеры\" -> \"Партнёры\"",
                "- stage C1:NEW \"Новая\" removed from pipeline 1",
                "+ pipeline 3 \"Опт\" added",
                "- SOURCE: item WEB \"Сайт\" removed",
                "~ SOURCE: item CALL renamed \"Звонок\" -> \"Телефон\"",
                "+ SOURCE: item MAIL \"Почта\" added",
                "- currency USD removed",
                "+ currency EUR added",
            ]
        );
        // A snapshot that does not record pipelines is not compared with one that does.
        let fields_only = snap(r#"{"result": {"ID": {"type": "integer"}}}"#);
        assert!(diff(&fields_only, &new).is_empty());
    }

    #[test]
    fn label_only_drift_does_not_affect_types() {
        let old = snap(r#"{"result": {"A": {"type": "string", "formLabel": "a"}}}"#);
        let new = snap(r#"{"result": {"A": {"type": "string", "formLabel": "b"}}}"#);
        let drift = diff(&old, &new);
        assert_eq!(drift.changes.len(), 1);
        assert!(!drift.affects_types());
    }
}

//! Which events a successful write fires: record adds, updates, deletes and deal moves of
//! the legacy `crm.<entity>.*` methods and `crm.item.*`, user-field changes and `crm.type.*`.
//! What the answer does not tell (a deal's old pipeline, a deleted field's name) is read
//! before the write.

use serde_json::{Map, Value};

use crate::entities::DEAL;
use crate::events::names::{self, Action, FieldAction, Fired};
use crate::portal::Portal;
use crate::rest::{Body, array_param, param};
use crate::values::{php_intval, php_string};

/// What the portal looked like before a write, where the events need it.
#[derive(Debug, Default)]
pub(crate) enum Before {
    #[default]
    Nothing,
    /// A deal's pipeline before `crm.item.update`.
    DealCategory(i64),
    /// A user field before `userfield.update/delete`: its id and name.
    UserField { id: u32, name: String },
}

/// A write method this module knows: the entity type and the operation.
#[derive(Debug, PartialEq)]
enum Write {
    /// `crm.<entity>.add/update/delete`.
    Legacy(u32, &'static str),
    /// `crm.<entity>.userfield.add/update/delete`.
    UserField(u32, &'static str),
    /// `crm.item.add/update/delete` (the type from `entityTypeId`).
    Item(&'static str),
    /// `crm.type.add`.
    TypeAdd,
}

fn op(word: &str) -> Option<&'static str> {
    ["add", "update", "delete"].into_iter().find(|w| *w == word)
}

fn classify(portal: &Portal, method: &str) -> Option<Write> {
    if let Some(o) = method.strip_prefix("crm.item.") {
        return op(o).map(Write::Item);
    }
    if method == "crm.type.add" {
        return Some(Write::TypeAdd);
    }
    let rest = method.strip_prefix("crm.")?;
    let (entity, o) = rest.split_once('.')?;
    let type_id = portal.legacy_table(&format!("crm.{entity}"))?;
    match o.strip_prefix("userfield.") {
        Some(uf) => op(uf).map(|w| Write::UserField(type_id, w)),
        None => op(o).map(|w| Write::Legacy(type_id, w)),
    }
}

/// Whether `method` may fire events (cheap; no portal needed).
pub(crate) fn may_fire(method: &str) -> bool {
    method.starts_with("crm.")
        && (method.ends_with(".add") || method.ends_with(".update") || method.ends_with(".delete"))
}

fn id_of(params: &Map<String, Value>) -> Option<u32> {
    let id = param(params, "id").map(php_intval)?;
    u32::try_from(id).ok().filter(|&id| id > 0)
}

fn item_type(params: &Map<String, Value>) -> Option<u32> {
    u32::try_from(param(params, "entityTypeId").map(php_intval)?).ok()
}

/// Reads what [`after`] will need, before the write runs.
pub(crate) fn before(portal: &Portal, method: &str, params: &Map<String, Value>) -> Before {
    match classify(portal, method) {
        Some(Write::Item("update")) if item_type(params) == Some(DEAL) => {
            let category = id_of(params)
                .and_then(|id| portal.get(DEAL, id).ok())
                .map(|d| php_intval(&d["CATEGORY_ID"]))
                .unwrap_or(-1);
            Before::DealCategory(category)
        }
        Some(Write::UserField(type_id, "update" | "delete")) => {
            let found = id_of(params).and_then(|id| {
                let layout = &portal.table(type_id).ok()?.layout;
                let index = layout.uf_by_id(id)?;
                Some(Before::UserField {
                    id,
                    name: layout.fields[index].code.clone(),
                })
            });
            found.unwrap_or_default()
        }
        _ => Before::Nothing,
    }
}

fn json_of(body: &Body) -> Option<&Value> {
    match body {
        Body::Json(v) => Some(v),
        Body::Rows(_) => None,
    }
}

fn record_action(word: &str) -> Action {
    match word {
        "add" => Action::Add,
        "update" => Action::Update,
        _ => Action::Delete,
    }
}

/// The events of a write that succeeded with `result`.
pub(crate) fn after(
    portal: &Portal,
    method: &str,
    params: &Map<String, Value>,
    result: &Body,
    before: Before,
) -> Vec<Fired> {
    let Some(write) = classify(portal, method) else {
        return Vec::new();
    };
    let answer = json_of(result);
    match write {
        Write::Legacy(type_id, word) => {
            let id = if word == "add" {
                answer.and_then(Value::as_u64)
            } else {
                id_of(params).map(u64::from)
            };
            id.map(|id| names::record(type_id, record_action(word), id))
                .unwrap_or_default()
        }
        Write::Item(word) => {
            let Some(type_id) = item_type(params) else {
                return Vec::new();
            };
            let item = answer.map(|a| &a["item"]);
            let id = if word == "add" {
                item.and_then(|i| i["id"].as_u64())
            } else {
                id_of(params).map(u64::from)
            };
            let Some(id) = id else { return Vec::new() };
            let mut fired = names::record(type_id, record_action(word), id);
            if let (Before::DealCategory(old), Some(item)) = (before, item) {
                let category = item["categoryId"].as_i64().unwrap_or(old);
                if category != old && category >= 0 {
                    let stage = item["stageId"].as_str().unwrap_or_default();
                    fired.push(names::deal_moved(id, category as u64, stage));
                }
            }
            fired
        }
        Write::UserField(type_id, word) => {
            let Ok(table) = portal.table(type_id) else {
                return Vec::new();
            };
            let entity_id = table.entity.uf_entity.clone();
            let fields = array_param(params, "fields")
                .ok()
                .flatten()
                .unwrap_or_default();
            let sets_list = param(&fields, "LIST").is_some();
            let (id, name, action) = match (word, before) {
                ("add", _) => {
                    let Some(id) = answer
                        .and_then(Value::as_u64)
                        .and_then(|i| u32::try_from(i).ok())
                    else {
                        return Vec::new();
                    };
                    let Some(index) = table.layout.uf_by_id(id) else {
                        return Vec::new();
                    };
                    (
                        id,
                        table.layout.fields[index].code.clone(),
                        FieldAction::Add,
                    )
                }
                ("update", Before::UserField { id, name }) => (id, name, FieldAction::Update),
                ("delete", Before::UserField { id, name }) => (id, name, FieldAction::Delete),
                _ => return Vec::new(),
            };
            let mut fired = vec![names::user_field(type_id, action, id, &entity_id, &name)];
            if sets_list && action != FieldAction::Delete {
                fired.push(names::user_field(
                    type_id,
                    FieldAction::SetEnumValues,
                    id,
                    &entity_id,
                    &name,
                ));
            }
            fired
        }
        Write::TypeAdd => answer
            .and_then(|a| a["type"]["id"].as_u64())
            .and_then(|id| u32::try_from(id).ok())
            .map(|id| vec![names::smart_type(Action::Add, id)])
            .unwrap_or_default(),
    }
}

/// The request's `auth_connector` (a top-level parameter), when given.
pub(crate) fn connector(params: &Map<String, Value>) -> Option<String> {
    param(params, "auth_connector")
        .and_then(php_string)
        .filter(|c| !c.is_empty())
}

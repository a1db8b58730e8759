//! Pipelines (`crm.category.*`) of smart processes and the smart invoice, and where their
//! stage directories (`DYNAMIC_{type}_STAGE_{category}`, `SMART_INVOICE_STAGE_{category}`)
//! live for `crm.status.*`. Deals keep theirs in the [`Catalog`](crate::catalog::Catalog)
//! ([`crate::reference`]); both share the directory item ids.

use std::sync::RwLock;

use serde_json::{Map, Value, json};

use crate::catalog::{Category, Status};
use crate::categories::{
    category_fields_of, category_fields_param, category_id, category_name, category_sort,
    element_not_found,
};
use crate::entities::{DEAL, Pipeline, stage_entity_id};
use crate::error::ApiError;
use crate::portal::Portal;
use crate::rest::{Output, param};
use crate::values::{php_intval, php_string};

/// The smart type `crm.category.*` is called for: `None` when the call is the deals' (or
/// has no `entityTypeId`, or names a type without pipelines: the deal path answers those).
fn smart_type(p: &Portal, params: &Map<String, Value>) -> Option<Result<u32, ApiError>> {
    let id = php_intval(param(params, "entityTypeId")?);
    if id == i64::from(DEAL) {
        return None;
    }
    match u32::try_from(id).ok().and_then(|id| p.tables.get(&id)) {
        Some(t) if !t.entity.pipelines.is_empty() => Some(Ok(t.entity.type_id)),
        Some(_) => None,
        None if id > 0 => Some(Err(ApiError::new(
            400,
            "NOT_FOUND",
            "Smart process not found",
        ))),
        None => None,
    }
}

/// The pipelines of a smart type known to have them.
fn pipelines(p: &Portal, type_id: u32) -> &[Pipeline] {
    p.tables
        .get(&type_id)
        .map_or(&[], |t| t.entity.pipelines.as_slice())
}

fn pipelines_mut(p: &mut Portal, type_id: u32) -> Option<&mut Vec<Pipeline>> {
    p.tables.get_mut(&type_id).map(|t| &mut t.entity.pipelines)
}

/// The next pipeline id: one sequence over every smart type (10 at the least).
pub(crate) fn next_smart_category(p: &Portal) -> u32 {
    p.tables
        .values()
        .flat_map(|t| t.entity.pipelines.iter().map(|c| c.category.id))
        .max()
        .map_or(10, |m| (m + 1).max(10))
}

/// The demo portal's smart process with pipelines ("Проекты").
pub(crate) const DEMO_PROJECTS: u32 = 1220;

/// The demo portal's second pipeline of "Проекты" (after the default one, 5): "Внутренние"
/// with the type's default stages, so a smart process with two pipelines is there to test.
pub(crate) fn seed_demo(p: &mut Portal, lang: crate::lang::Lang) {
    let id = next_smart_category(p);
    let Some(list) = pipelines_mut(p, DEMO_PROJECTS) else {
        return;
    };
    let mut pipeline = Pipeline::default_for(DEMO_PROJECTS, id, lang);
    let name = match lang {
        crate::lang::Lang::Ru => "Внутренние",
        crate::lang::Lang::En => "Internal",
    };
    pipeline.category = Category {
        id,
        name: name.to_owned(),
        sort: 600,
    };
    pipeline.is_default = false;
    list.push(pipeline);
}

/// Runs `crm.category.<op>` for a smart type; `None` when the call is not for one.
pub(crate) fn call(
    portal: &RwLock<Portal>,
    method: &str,
    params: &Map<String, Value>,
) -> Option<Result<Output, ApiError>> {
    let op = method.strip_prefix("crm.category.")?;
    let type_id = match smart_type(&portal.read().expect("portal lock"), params)? {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    Some(category_op(portal, type_id, op, params))
}

fn category_op(
    portal: &RwLock<Portal>,
    type_id: u32,
    op: &str,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    match op {
        "list" => {
            let p = portal.read().expect("portal lock");
            let cats: Vec<Value> = pipelines(&p, type_id)
                .iter()
                .map(|c| c.json(type_id))
                .collect();
            let total = cats.len();
            Ok(Output::listed(json!({ "categories": cats }), total))
        }
        "get" => {
            let id = category_id(params)?;
            let p = portal.read().expect("portal lock");
            pipelines(&p, type_id)
                .iter()
                .find(|c| c.category.id == id)
                .map(|c| Output::one(json!({ "category": c.json(type_id) })))
                .ok_or_else(element_not_found)
        }
        "fields" => Ok(Output::plain(smart_category_fields())),
        "add" => {
            let fields = category_fields_param(params)?;
            let name = category_name(&fields)?.unwrap_or_else(|| "-".to_owned());
            let sort = category_sort(&fields).unwrap_or(500);
            let default = is_default(&fields);
            let mut p = portal.write().expect("portal lock");
            let id = next_smart_category(&p);
            let mut pipeline = Pipeline::default_for(type_id, id, p.lang);
            pipeline.category = Category { id, name, sort };
            pipeline.is_default = false;
            let list = pipelines_mut(&mut p, type_id).ok_or_else(element_not_found)?;
            list.push(pipeline);
            if default {
                make_default(list, id);
            }
            let c = list.last().map(|c| c.json(type_id)).unwrap_or_default();
            Ok(Output::write(json!({ "category": c })))
        }
        "update" => {
            let id = category_id(params)?;
            let fields = category_fields_param(params)?;
            let name = category_name(&fields)?;
            let sort = category_sort(&fields);
            let default = is_default(&fields);
            let mut p = portal.write().expect("portal lock");
            let list = pipelines_mut(&mut p, type_id).ok_or_else(element_not_found)?;
            let c = list
                .iter_mut()
                .find(|c| c.category.id == id)
                .ok_or_else(element_not_found)?;
            if let Some(name) = name {
                c.category.name = name;
            }
            if let Some(sort) = sort {
                c.category.sort = sort;
            }
            // The default pipeline cannot be made a non-default one; another one can take
            // its place.
            if default {
                make_default(list, id);
            }
            let c = list
                .iter()
                .find(|c| c.category.id == id)
                .map(|c| c.json(type_id))
                .unwrap_or_default();
            Ok(Output::write(json!({ "category": c })))
        }
        "delete" => {
            let id = category_id(params)?;
            let mut p = portal.write().expect("portal lock");
            let c = pipelines(&p, type_id)
                .iter()
                .find(|c| c.category.id == id)
                .ok_or_else(element_not_found)?;
            if c.is_default {
                return Err(ApiError::new(
                    400,
                    "BX_ERROR",
                    "This funnel is the default funnel",
                ));
            }
            if has_records(&p, type_id, "CATEGORY_ID", Value::from(id)) {
                return Err(ApiError::new(
                    400,
                    "BX_ERROR",
                    "Elements related to the funnel found",
                ));
            }
            if let Some(list) = pipelines_mut(&mut p, type_id) {
                list.retain(|c| c.category.id != id);
            }
            Ok(Output::write(Value::Null))
        }
        _ => Err(ApiError::method_not_found()),
    }
}

/// `isDefault: "Y"` (or `true`).
fn is_default(fields: &Map<String, Value>) -> bool {
    param(fields, "isDefault").is_some_and(|v| match v {
        Value::Bool(b) => *b,
        other => php_string(other).is_some_and(|s| s.eq_ignore_ascii_case("Y") || s == "1"),
    })
}

/// Makes pipeline `id` the default one, where new records without a `categoryId` go; the
/// old default one ceases to be.
fn make_default(list: &mut [Pipeline], id: u32) {
    for c in list.iter_mut() {
        c.is_default = c.category.id == id;
    }
}

/// Whether any record of the type has `value` in `field` (a legacy code).
pub(crate) fn has_records(p: &Portal, type_id: u32, field: &str, value: Value) -> bool {
    let mut filter = Map::new();
    filter.insert(field.to_owned(), value);
    p.list(type_id, Some(&json!(["ID"])), &filter, &Map::new(), -1)
        .is_ok_and(|page| !page.rows.is_empty())
}

/// `crm.category.fields` of a smart process: `isDefault` can be changed, `isSystem` and
/// `code` exist only here (crm-category-add.md).
fn smart_category_fields() -> Value {
    category_fields_of(&[
        ("id", "integer", false, true, "ID"),
        ("name", "string", false, false, "NAME"),
        ("sort", "integer", false, false, "SORT"),
        ("entityTypeId", "integer", true, true, "ENTITY_TYPE_ID"),
        ("isDefault", "boolean", false, false, "IS_DEFAULT"),
        ("isSystem", "boolean", false, true, "IS_SYSTEM"),
        ("code", "string", false, true, "CODE"),
    ])
}

/// A smart stage directory: the type and the pipeline's place in its list.
pub(crate) fn smart_directory(p: &Portal, entity: &str) -> Option<(u32, usize)> {
    p.tables.values().find_map(|t| {
        let i = t
            .entity
            .pipelines
            .iter()
            .position(|c| stage_entity_id(t.entity.type_id, c.category.id) == entity)?;
        Some((t.entity.type_id, i))
    })
}

/// Every smart stage, for `crm.status.list`.
pub(crate) fn smart_stages(p: &Portal) -> impl Iterator<Item = &Status> {
    p.tables
        .values()
        .flat_map(|t| t.entity.pipelines.iter().flat_map(|c| c.stages.iter()))
}

/// The smart stage with this directory item id: (type, pipeline index, stage index).
pub(crate) fn smart_status(p: &Portal, id: u32) -> Option<(u32, usize, usize)> {
    p.tables.values().find_map(|t| {
        t.entity.pipelines.iter().enumerate().find_map(|(i, c)| {
            let s = c.stages.iter().position(|s| s.id == id)?;
            Some((t.entity.type_id, i, s))
        })
    })
}

/// The stage list of one smart pipeline, for writing.
pub(crate) fn stages_mut(p: &mut Portal, type_id: u32, index: usize) -> Option<&mut Vec<Status>> {
    pipelines_mut(p, type_id)?
        .get_mut(index)
        .map(|c| &mut c.stages)
}

/// The stage list of one smart pipeline.
pub(crate) fn stages(p: &Portal, type_id: u32, index: usize) -> &[Status] {
    pipelines(p, type_id)
        .get(index)
        .map_or(&[], |c| c.stages.as_slice())
}

/// The `crm.status.entity.types` entries of the smart pipelines (crm-status-entity-types.md:
/// `SEMANTIC_INFO` `[]`, `PREFIX` `DT{type}_{category}`, `CATEGORY_ID` a number; a smart
/// process's also name their pipeline).
pub(crate) fn entity_types(p: &Portal) -> Vec<Value> {
    let en = p.lang == crate::lang::Lang::En;
    let mut out = Vec::new();
    for t in p.tables.values() {
        let title = t.entity.smart.as_ref().map_or("", |s| s.title.as_str());
        for c in &t.entity.pipelines {
            let ty = t.entity.type_id;
            let invoice = ty == crate::entities::SMART_INVOICE;
            let name = if invoice {
                (if en {
                    "Invoice stages"
                } else {
                    "Стадии счетов"
                })
                .to_owned()
            } else {
                format!("{title} ({})", c.category.name)
            };
            let mut e = json!({
                "ID": stage_entity_id(ty, c.category.id),
                "NAME": name,
                "SEMANTIC_INFO": [],
                "PREFIX": format!("DT{ty}_{}", c.category.id),
                "FIELD_ATTRIBUTE_SCOPE": format!("category_{}", c.category.id),
                "ENTITY_TYPE_ID": ty,
                "IS_ENABLED": true,
                "CATEGORY_ID": c.category.id,
            });
            if !invoice {
                e["CATEGORY_NAME"] = json!(c.category.name);
                e["CATEGORY_SORT"] = json!(c.category.sort);
                e["IS_DEFAULT_CATEGORY"] = json!(c.is_default);
            }
            out.push(e);
        }
    }
    out
}

//! The reference-data methods: pipelines (`crm.category.*`, entity type 2) and directories
//! (`crm.status.*`). They change the one [`Catalog`](crate::catalog::Catalog) that deals
//! validate `CATEGORY_ID` and `STAGE_ID` against, so a new pipeline or stage is usable at once.

use std::sync::RwLock;

use serde_json::{Map, Value, json};

use crate::catalog::{NewStatus, Semantic, Status};
use crate::categories::{
    category_fields_of, category_fields_param, category_id, category_name, category_sort,
    element_not_found, name_required, required,
};
use crate::error::ApiError;
use crate::pipelines;
use crate::portal::Portal;
use crate::rest::{Output, array_param, param};
use crate::schema::descriptor;
use crate::values::{php_intval, php_string};

/// Runs one of this module's methods; `None` when `method` is not one of them.
pub(crate) fn call(
    portal: &RwLock<Portal>,
    method: &str,
    params: &Map<String, Value>,
) -> Option<Result<Output, ApiError>> {
    let read = || portal.read().expect("portal lock");
    let write = || portal.write().expect("portal lock");
    Some(match method {
        "crm.category.fields" => deal_pipelines(params).map(|()| Output::plain(category_fields())),
        "crm.category.get" => deal_pipelines(params).and_then(|()| {
            let id = category_id(params)?;
            let p = read();
            let c = p.catalog.category(id).ok_or_else(element_not_found)?;
            Ok(Output::plain(json!({"category": p.catalog.category_json(c)})))
        }),
        "crm.category.add" => deal_pipelines(params).and_then(|()| {
            let fields = category_fields_param(params)?;
            let name = category_name(&fields)?.ok_or_else(name_required)?;
            let sort = category_sort(&fields).unwrap_or(500);
            let mut p = write();
            let id = p.catalog.add_category(name, sort);
            let c = p.catalog.category(id).expect("just added");
            Ok(Output::write(json!({"category": p.catalog.category_json(c)})))
        }),
        "crm.category.update" => deal_pipelines(params).and_then(|()| {
            let id = category_id(params)?;
            let fields = category_fields_param(params)?;
            let name = category_name(&fields)?;
            let mut p = write();
            if !p
                .catalog
                .update_category(id, name, category_sort(&fields))
            {
                return Err(element_not_found());
            }
            let c = p.catalog.category(id).expect("exists");
            Ok(Output::write(json!({"category": p.catalog.category_json(c)})))
        }),
        "crm.category.delete" => deal_pipelines(params).and_then(|()| {
            let id = category_id(params)?;
            let mut p = write();
            let name = p
                .catalog
                .category(id)
                .ok_or_else(element_not_found)?
                .name
                .clone();
            if id == 0 {
                return Err(ApiError::new(
                    400,
                    "0",
                    "Default deal category cannot be deleted",
                ));
            }
            if has_deals(&p, "CATEGORY_ID", Value::from(id)) {
                return Err(ApiError::new(
                    400,
                    "0",
                    format!("Deals related to the funnel {name} found"),
                ));
            }
            p.catalog.remove_category(id);
            Ok(Output::write(Value::Null))
        }),
        "crm.status.fields" => Ok(Output::plain(status_fields())),
        "crm.status.entity.types" => {
            let p = read();
            let mut types = p.catalog.entity_types_json(p.lang);
            if let Value::Array(list) = &mut types {
                list.extend(pipelines::entity_types(&p));
            }
            Ok(Output::plain(types))
        }
        "crm.status.entity.items" => {
            let p = read();
            let entity = param(params, "entityId").and_then(php_string);
            let smart = entity
                .as_deref()
                .and_then(|e| pipelines::smart_directory(&p, e));
            let items: Option<Vec<&Status>> = match (entity.as_deref(), smart) {
                (_, Some((t, i))) => Some(pipelines::stages(&p, t, i).iter().collect()),
                (Some(e), None) if p.catalog.has_entity(e) => Some(p.catalog.items(e).collect()),
                _ => None,
            };
            match items {
                None => Err(ApiError::legacy(
                    "The parameter entityId is not defined or invalid.",
                )),
                Some(items) => Ok(Output::plain(Value::Array(
                    items
                        .into_iter()
                        .map(|s| json!({"NAME": s.name, "SORT": s.sort, "STATUS_ID": s.status_id}))
                        .collect(),
                ))),
            }
        }
        "crm.status.get" => status_id(params).and_then(|id| {
            let p = read();
            let s = find_status(&p, id).ok_or_else(status_not_found)?;
            Ok(Output::plain(p.catalog.status_json(s)))
        }),
        "crm.status.add" => status_add(portal, params),
        "crm.status.update" => status_id(params).and_then(|id| {
            let fields =
                array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))?;
            let name = param(&fields, "NAME")
                .and_then(php_string)
                .filter(|n| !n.trim().is_empty());
            let sort = param(&fields, "SORT").map(|v| php_intval(v).max(0) as u32);
            let color = param(&fields, "COLOR").and_then(php_string);
            let mut p = write();
            if let Some((t, i, n)) = pipelines::smart_status(&p, id) {
                let stages = pipelines::stages_mut(&mut p, t, i).ok_or_else(status_not_found)?;
                let s = &mut stages[n];
                if let Some(name) = name {
                    s.name = name;
                }
                if let Some(sort) = sort {
                    s.sort = sort;
                }
                if color.is_some() {
                    s.color = color;
                }
                stages.sort_by_key(|s| s.sort);
            } else if !p.catalog.update_status(id, name, sort, color) {
                return Err(status_not_found());
            }
            Ok(Output::write(json!(true)))
        }),
        "crm.status.delete" => status_id(params).and_then(|id| {
            let forced = array_param(params, "params")?
                .and_then(|o| param(&o, "FORCED").and_then(php_string))
                .is_some_and(|f| f == "Y");
            let mut p = write();
            let smart = pipelines::smart_status(&p, id);
            let s = find_status(&p, id).ok_or_else(status_not_found)?;
            if s.system && !forced {
                return Err(ApiError::legacy(
                    "CRM System Status can be deleted only if parameter FORCED is specified and equal to \"Y\".",
                ));
            }
            let owner = match smart {
                Some((t, ..)) => Some(t),
                None => s
                    .category_id
                    .map(|_| crate::entities::DEAL)
                    .or_else(|| crate::entities::staged_owner(&s.entity_id)),
            };
            // Deals and smart items hold a stage in STAGE_ID, leads and quotes in STATUS_ID.
            let field = |t: u32| {
                if matches!(t, crate::entities::LEAD | crate::entities::QUOTE) {
                    "STATUS_ID"
                } else {
                    "STAGE_ID"
                }
            };
            if owner.is_some_and(|t| {
                pipelines::has_records(&p, t, field(t), Value::from(s.status_id.clone()))
            }) {
                return Err(ApiError::legacy("There are active items in this status."));
            }
            match smart {
                Some((t, i, n)) => {
                    if let Some(stages) = pipelines::stages_mut(&mut p, t, i) {
                        stages.remove(n);
                    }
                }
                None => p.catalog.remove_status(id),
            }
            Ok(Output::write(json!(true)))
        }),
        _ => return None,
    })
}

/// `entityTypeId` must be given and be deals (2), the only type with pipelines here.
pub(crate) fn deal_pipelines(params: &Map<String, Value>) -> Result<(), ApiError> {
    let t = php_intval(required(params, "entityTypeId")?);
    if t != 2 {
        return Err(ApiError::new(
            400,
            "ENTITY_TYPE_NOT_SUPPORTED",
            format!("Entity type {t} does not support categories"),
        ));
    }
    Ok(())
}

fn status_id(params: &Map<String, Value>) -> Result<u32, ApiError> {
    let id = param(params, "id").map(php_intval).unwrap_or(0);
    u32::try_from(id)
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| ApiError::legacy("Invalid identifier."))
}

fn status_not_found() -> ApiError {
    ApiError::legacy("Status is not found.")
}

/// Whether any deal has `value` in `field`.
fn has_deals(p: &Portal, field: &str, value: Value) -> bool {
    pipelines::has_records(p, crate::entities::DEAL, field, value)
}

/// The directory item with this id, in the catalog or in a smart pipeline.
fn find_status(p: &Portal, id: u32) -> Option<&Status> {
    p.catalog.status(id).or_else(|| {
        let (t, i, n) = pipelines::smart_status(p, id)?;
        pipelines::stages(p, t, i).get(n)
    })
}

/// `crm.status.add`: the documented required fields (both missing: both messages), the
/// pipeline prefix for `DEAL_STAGE_{n}`, unique `STATUS_ID` per directory, and no stage in
/// progress after the success stage.
fn status_add(portal: &RwLock<Portal>, params: &Map<String, Value>) -> Result<Output, ApiError> {
    let fields = array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))?;
    let text = |k: &str| {
        param(&fields, k)
            .and_then(php_string)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let (entity, code, name) = (text("ENTITY_ID"), text("STATUS_ID"), text("NAME"));
    let mut missing = Vec::new();
    if entity.is_none() {
        missing.push("The field ENTITY_ID is required.");
    }
    if code.is_none() {
        missing.push("The field STATUS_ID is required.");
    }
    let (Some(entity), Some(code)) = (entity, code) else {
        return Err(ApiError::legacy(missing.join("\n")));
    };
    let mut p = portal.write().expect("portal lock");
    let smart = pipelines::smart_directory(&p, &entity);
    if smart.is_none() && !p.catalog.has_entity(&entity) {
        return Err(ApiError::legacy("Specified entity type is not supported."));
    }
    let name = name.ok_or_else(|| ApiError::legacy("The field Title is required."))?;
    // The directory's items, and the stage prefix and pipeline when it is a pipeline's.
    let (items, prefix, category): (Vec<&Status>, Option<String>, Option<u32>) = match smart {
        Some((t, i)) => {
            let stages = pipelines::stages(&p, t, i);
            let c = stages.first().and_then(|s| s.category_id);
            let c = c.or_else(|| entity.rsplit('_').next().and_then(|n| n.parse().ok()));
            let prefix = c.map(|c| format!("DT{t}_{c}:"));
            (stages.iter().collect(), prefix, c)
        }
        None => {
            let c = p.catalog.stage_category(&entity);
            let prefix = c.filter(|&c| c > 0).map(|c| format!("C{c}:"));
            (p.catalog.items(&entity).collect(), prefix, c)
        }
    };
    let status_id = match &prefix {
        Some(pre) if !code.starts_with(pre.as_str()) => format!("{pre}{code}"),
        _ => code,
    };
    if items.iter().any(|s| s.status_id == status_id) {
        return Err(ApiError::new(
            400,
            "ERROR_CORE",
            "The specified status ID already exists.",
        ));
    }
    let staged = category.is_some() || crate::catalog::is_staged_directory(&entity);
    let semantic = match (staged, text("SEMANTICS").as_deref()) {
        (true, Some("S")) => Semantic::Success,
        (true, Some("F")) => Semantic::Failure,
        _ => Semantic::Process,
    };
    let sort = param(&fields, "SORT").map_or(10, |v| php_intval(v).max(0) as u32);
    let won = items
        .iter()
        .filter(|_| staged)
        .find(|s| s.semantic == Semantic::Success)
        .map(|s| s.sort);
    if semantic == Semantic::Process && won.is_some_and(|w| sort > w) {
        return Err(ApiError::legacy(
            "Cannot create more stages after the final stage because the final successful stage already exists. Try using sort order values less than that of the final stage.",
        ));
    }
    let new = NewStatus {
        entity_id: entity,
        status_id,
        name,
        sort,
        color: text("COLOR"),
        semantic,
    };
    let id = match smart {
        Some((t, i)) => {
            let id = p.catalog.take_status_id();
            let status = new.into_status(id, category, true);
            let stages = pipelines::stages_mut(&mut p, t, i).ok_or_else(status_not_found)?;
            stages.push(status);
            stages.sort_by_key(|s| s.sort);
            id
        }
        None => p.catalog.add_status(new),
    };
    Ok(Output::write(json!(id)))
}

/// `crm.category.fields` for deals: `{"fields": {...}}`, each with `upperName`.
fn category_fields() -> Value {
    category_fields_of(&[
        ("id", "integer", false, true, "ID"),
        ("name", "string", false, false, "NAME"),
        ("sort", "integer", false, false, "SORT"),
        ("entityTypeId", "integer", true, true, "ENTITY_TYPE_ID"),
        ("isDefault", "boolean", false, true, "IS_DEFAULT"),
        ("originId", "string", false, false, "ORIGIN_ID"),
        ("originatorId", "string", false, false, "ORIGINATOR_ID"),
    ])
}

/// `crm.status.fields`, as documented.
fn status_fields() -> Value {
    let rows = [
        ("ID", "integer", false, true, false, "ID"),
        ("ENTITY_ID", "string", true, false, true, "Entity ID"),
        ("STATUS_ID", "string", true, false, true, "Status"),
        ("SORT", "integer", false, false, false, "Sorting"),
        ("NAME", "string", true, false, false, "Name"),
        ("NAME_INIT", "string", false, true, false, "Default Name"),
        ("SYSTEM", "char", false, true, false, "System"),
        ("CATEGORY_ID", "integer", false, false, true, "CATEGORY_ID"),
        ("COLOR", "string", false, false, false, "COLOR"),
        ("SEMANTICS", "char", false, false, true, "SEMANTICS"),
        (
            "EXTRA",
            "crm_status_extra",
            false,
            false,
            false,
            "Additional Fields",
        ),
    ];
    let mut fields = Map::new();
    for (key, ty, required, read_only, immutable, title) in rows {
        fields.insert(
            key.into(),
            Value::Object(descriptor(ty, required, read_only, immutable, title)),
        );
    }
    Value::Object(fields)
}

//! `crm.item.*` and `crm.type.*`: the universal API over the same tables the legacy methods
//! use, with camelCase names (the correspondence is in [`crate::entities`]), the
//! `{"item": ...}` / `{"items": [...]}` envelopes and the item value forms (ids and amounts as
//! JSON numbers, booleans `Y`/`N`, empty dates `null`, files with `urlMachine`).

use std::sync::RwLock;

use serde_json::{Map, Number, Value, json};

use crate::entities::{DEAL, Entity, SmartType};
use crate::error::ApiError;
use crate::filter::split_prefix;
use crate::multifields::{self, Entry};
use crate::portal::{Caller, Env, Portal, Table};
use crate::rest::{Body, Output, array_param, param};
use crate::schema::{Kind, Layout, Slot};
use crate::store::Row;
use crate::values::{php_intval, php_string};

/// 400 `NOT_FOUND` for an `entityTypeId` the portal does not have.
fn type_not_found() -> ApiError {
    ApiError::new(400, "NOT_FOUND", "Smart process not found")
}

/// 400 `NOT_FOUND` for a missing item.
fn item_not_found() -> ApiError {
    ApiError::new(400, "NOT_FOUND", "Item not found")
}

fn entity_type_id(p: &Portal, params: &Map<String, Value>) -> Result<u32, ApiError> {
    let id = param(params, "entityTypeId").map(php_intval).unwrap_or(0);
    u32::try_from(id)
        .ok()
        .filter(|id| p.tables.contains_key(id))
        .ok_or_else(type_not_found)
}

fn item_id(params: &Map<String, Value>) -> Result<u32, ApiError> {
    let id = param(params, "id").map(php_intval).unwrap_or(0);
    u32::try_from(id)
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(item_not_found)
}

/// `useOriginalUfNames=Y`.
fn original_uf_names(params: &Map<String, Value>) -> bool {
    param(params, "useOriginalUfNames")
        .and_then(php_string)
        .is_some_and(|v| v.eq_ignore_ascii_case("Y"))
}

/// Runs `crm.item.<op>`.
pub(crate) fn call(
    portal: &RwLock<Portal>,
    op: &str,
    params: &Map<String, Value>,
    caller: Caller,
) -> Result<Output, ApiError> {
    let original = original_uf_names(params);
    match op {
        "fields" => {
            let p = portal.read().expect("portal lock");
            let t = p.table(entity_type_id(&p, params)?)?;
            Ok(Output::plain(
                json!({ "fields": t.layout.item_fields_json(original) }),
            ))
        }
        "get" => {
            let p = portal.read().expect("portal lock");
            let ety = entity_type_id(&p, params)?;
            let id = item_id(params)?;
            let t = p.table(ety)?;
            let item = full_item(t, &p.env(), id, original).ok_or_else(item_not_found)?;
            Ok(Output::one(json!({ "item": item })))
        }
        "add" | "update" => {
            let mut p = portal.write().expect("portal lock");
            let ety = entity_type_id(&p, params)?;
            let given = array_param(params, "fields")?.unwrap_or_default();
            let fields = legacy_fields(&p.table(ety)?.layout, &given);
            let id = if op == "add" {
                p.add(ety, &fields, caller)?
            } else {
                let id = item_id(params)?;
                if !p.table(ety)?.store.rows.contains_key(&id) {
                    return Err(item_not_found());
                }
                // A deal changes its pipeline only here (`categoryId` with a stage of it).
                if let (DEAL, Some(category)) = (ety, given.get("categoryId")) {
                    let stage = given.get("stageId").and_then(php_string);
                    p.move_deal(id, php_intval(category), stage.as_deref(), caller)?;
                }
                p.update(ety, id, &fields, caller)?;
                id
            };
            let item =
                full_item(p.table(ety)?, &p.env(), id, original).ok_or_else(item_not_found)?;
            Ok(Output::write(json!({ "item": item })))
        }
        "delete" => {
            let mut p = portal.write().expect("portal lock");
            let ety = entity_type_id(&p, params)?;
            let id = item_id(params)?;
            p.delete(ety, id).map_err(|_| item_not_found())?;
            Ok(Output::write(json!([])))
        }
        "list" => {
            let p = portal.read().expect("portal lock");
            let ety = entity_type_id(&p, params)?;
            let t = p.table(ety)?;
            let filter = array_param(params, "filter")?.unwrap_or_default();
            let filter = legacy_filter(&t.layout, &filter)?;
            let order = array_param(params, "order")?.unwrap_or_default();
            let order = legacy_order(&t.layout, &order)?;
            let select = Select::parse(&t.layout, param(params, "select"));
            let start = param(params, "start").map(php_intval).unwrap_or(0);
            let env = p.env();
            let page = t.list_with(&env, &filter, &order, start, |id, row| {
                render(t, &env, id, row, &select, original)
            });
            let total = page.total;
            Ok(Output {
                result: Body::Json(json!({ "items": page.rows })),
                total: Some(total),
                next: page.next,
                work: page.work,
                scanned: page.scanned,
            })
        }
        _ => Err(ApiError::method_not_found()),
    }
}

/// Which fields an item shows.
struct Select {
    fields: Vec<usize>,
    /// `select: ["*"]` or none: every field, plus `entityTypeId`.
    all: bool,
}

impl Select {
    fn parse(layout: &Layout, select: Option<&Value>) -> Select {
        let names: Vec<String> = match select {
            Some(Value::Array(a)) => a.iter().filter_map(php_string).collect(),
            Some(Value::Object(o)) => o.values().filter_map(php_string).collect(),
            _ => Vec::new(),
        };
        if names.is_empty() || names.iter().any(|n| n == "*") {
            return Select::all(layout);
        }
        let mut fields: Vec<usize> = layout.index("ID").into_iter().collect();
        for i in names.iter().filter_map(|n| layout.item_index(n)) {
            if !fields.contains(&i) && shown(layout, i) {
                fields.push(i);
            }
        }
        Select { fields, all: false }
    }

    fn all(layout: &Layout) -> Select {
        let id = layout.index("ID");
        let fields = id
            .into_iter()
            .chain((0..layout.fields.len()).filter(|&i| Some(i) != id && shown(layout, i)))
            .collect();
        Select { fields, all: true }
    }
}

/// Multifields are shown in `fm`, not as fields.
fn shown(layout: &Layout, index: usize) -> bool {
    layout.fields[index].ty != "crm_multifield"
}

/// An item with every field, or `None` when it does not exist.
fn full_item(t: &Table, env: &Env<'_>, id: u32, original: bool) -> Option<Value> {
    let row = t.store.rows.get(&id)?;
    Some(render(t, env, id, row, &Select::all(&t.layout), original))
}

/// One item in the `crm.item.*` form.
fn render(t: &Table, env: &Env<'_>, id: u32, row: &Row, select: &Select, original: bool) -> Value {
    let mut text = String::new();
    t.render_json(env, &mut text, id, row, &select.fields);
    let legacy: Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
    let mut out = Map::new();
    for &i in &select.fields {
        let f = &t.layout.fields[i];
        let key = if f.uf && original {
            f.code.clone()
        } else {
            f.item.clone()
        };
        let v = legacy.get(&f.code).cloned().unwrap_or(Value::Null);
        out.insert(key, item_value(f.kind, v));
    }
    if select.all {
        // `fm`: every multifield value, only for the full select (crm-item-list.md).
        let mut fm = Vec::new();
        for f in t
            .layout
            .fields
            .iter()
            .filter(|f| f.kind == Kind::Multifield)
        {
            if let Slot::Multi(s) = f.slot {
                fm.extend(
                    row.multi(s).iter().map(|c| {
                        Entry::decode(t.store.strings.get(c.as_text())).item_json(&f.code)
                    }),
                );
            }
        }
        if t.layout.fields.iter().any(|f| f.kind == Kind::Multifield) {
            out.insert("fm".into(), Value::Array(fm));
        }
        out.insert("entityTypeId".into(), json!(t.entity.type_id));
    }
    Value::Object(out)
}

/// A legacy value in the item form.
fn item_value(kind: Kind, v: Value) -> Value {
    match v {
        Value::Array(list) => Value::Array(list.into_iter().map(|v| item_value(kind, v)).collect()),
        Value::String(s) => match kind {
            Kind::Id | Kind::Int | Kind::Enum => {
                s.parse::<i64>().map_or(Value::String(s), Value::from)
            }
            Kind::Cents | Kind::Float(_) => number(&s).unwrap_or(Value::String(s)),
            Kind::Bool => Value::from(if s == "1" { "Y" } else { "N" }),
            Kind::Date | Kind::DateTime if s.is_empty() => Value::Null,
            _ => Value::String(s),
        },
        Value::Object(mut o) if kind == Kind::File => {
            if let Some(url) = o.get("downloadUrl").cloned() {
                o.insert("urlMachine".into(), url);
            }
            Value::Object(o)
        }
        other => other,
    }
}

/// `"19000.00"` -> `19000`, `"999.90"` -> `999.9` (amounts are JSON numbers on crm.item).
fn number(s: &str) -> Option<Value> {
    if let Some(whole) = s
        .strip_suffix(".00")
        .or_else(|| (!s.contains('.')).then_some(s))
    {
        if let Ok(n) = whole.parse::<i64>() {
            return Some(Value::from(n));
        }
    }
    let f: f64 = s.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// Item `fields` keyed by legacy codes; unknown names are dropped, as the legacy methods drop
/// unknown codes.
fn legacy_fields(layout: &Layout, given: &Map<String, Value>) -> Map<String, Value> {
    let mut out: Map<String, Value> = given
        .iter()
        .filter_map(|(k, v)| {
            let i = layout.item_index(k)?;
            Some((layout.fields[i].code.clone(), v.clone()))
        })
        .collect();
    // `fm` carries the multifields.
    if let Some(fm) = given.get("fm") {
        for (code, values) in multifields::split_fm(fm) {
            if layout
                .index(&code)
                .is_some_and(|i| layout.fields[i].kind == Kind::Multifield)
            {
                out.insert(code, values);
            }
        }
    }
    out
}

/// An item filter keyed by legacy codes (prefixes kept, `logic` groups nested); an unknown
/// field is `INVALID_ARG_VALUE` as on the portal.
fn legacy_filter(
    layout: &Layout,
    filter: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    for (key, value) in filter {
        if key.eq_ignore_ascii_case("logic") {
            out.insert("LOGIC".into(), value.clone());
            continue;
        }
        if let (Value::Object(sub), true) = (value, key.parse::<u64>().is_ok()) {
            out.insert(key.clone(), Value::Object(legacy_filter(layout, sub)?));
            continue;
        }
        let (_, name) = split_prefix(key);
        let prefix = &key[..key.len() - name.len()];
        let i = layout.item_index(name).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_ARG_VALUE",
                format!("Invalid filter: field '{name}' is not allowed in filter"),
            )
        })?;
        out.insert(format!("{prefix}{}", layout.fields[i].code), value.clone());
    }
    Ok(out)
}

/// An item order keyed by legacy codes; unknown fields and directions are `INVALID_ARG_VALUE`.
fn legacy_order(
    layout: &Layout,
    order: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    for (name, dir) in order {
        let i = layout.item_index(name).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_ARG_VALUE",
                format!("Invalid order: field '{name}' is not allowed in order"),
            )
        })?;
        let d = php_string(dir).unwrap_or_default();
        if !d.eq_ignore_ascii_case("ASC") && !d.eq_ignore_ascii_case("DESC") {
            return Err(ApiError::new(
                400,
                "INVALID_ARG_VALUE",
                format!(
                    "Invalid order: allowed sort directions are ASC, DESC. But got '{d}' for field '{name}'"
                ),
            ));
        }
        out.insert(layout.fields[i].code.clone(), Value::String(d));
    }
    Ok(out)
}

/// The `crm.type.*` form of a smart process.
fn type_json(entity: &Entity, smart: &SmartType) -> Value {
    let yn = |b: bool| if b { "Y" } else { "N" };
    json!({
        "id": smart.id,
        "title": smart.title,
        "code": "",
        "createdBy": 1,
        "entityTypeId": entity.type_id,
        "customSectionId": null,
        "isCategoriesEnabled": yn(smart.categories),
        "isStagesEnabled": yn(smart.stages),
        "isBeginCloseDatesEnabled": "Y",
        "isClientEnabled": "Y",
        "isUseInUserfieldEnabled": "Y",
        "isLinkWithProductsEnabled": "N",
        "isMycompanyEnabled": "Y",
        "isDocumentsEnabled": "N",
        "isSourceEnabled": "Y",
        "isObserversEnabled": "Y",
        "isRecyclebinEnabled": "N",
        "isAutomationEnabled": "N",
        "isBizProcEnabled": "N",
        "isSetOpenPermissions": "Y",
        "isPaymentsEnabled": "N",
        "isCountersEnabled": "N",
        "relations": {"parent": [], "child": []},
        "linkedUserFields": {},
        "customSections": [],
    })
}

/// The smart processes (the smart invoice is not a `crm.type`).
fn smart_processes(p: &Portal) -> impl Iterator<Item = (&Entity, &SmartType)> {
    p.tables
        .values()
        .filter(|t| t.entity.type_id != crate::entities::SMART_INVOICE)
        .filter_map(|t| Some((&t.entity, t.entity.smart.as_ref()?)))
}

/// The `entityTypeId` of the smart process whose `crm.type` id is `id`.
fn smart_type_table(p: &Portal, id: i64) -> Option<u32> {
    smart_processes(p)
        .find(|(_, s)| i64::from(s.id) == id)
        .map(|(e, _)| e.type_id)
}

/// Runs `crm.type.<op>`.
pub(crate) fn call_type(
    portal: &RwLock<Portal>,
    op: &str,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    match op {
        "list" => {
            let p = portal.read().expect("portal lock");
            let types: Vec<Value> = smart_processes(&p).map(|(e, s)| type_json(e, s)).collect();
            let total = types.len();
            Ok(Output::listed(json!({ "types": types }), total))
        }
        "get" => {
            let p = portal.read().expect("portal lock");
            let id = param(params, "id").map(php_intval).unwrap_or(0);
            smart_processes(&p)
                .find(|(_, s)| i64::from(s.id) == id)
                .map(|(e, s)| Output::one(json!({ "type": type_json(e, s) })))
                .ok_or_else(type_not_found)
        }
        "fields" => Ok(Output::plain(json!({ "fields": type_fields() }))),
        "add" => {
            let fields =
                array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))?;
            let title = param(&fields, "title")
                .and_then(php_string)
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "CRM_FIELD_ERROR_REQUIRED",
                        "The \"Title\" field is required",
                    )
                })?;
            let yes = |k: &str| {
                param(&fields, k)
                    .and_then(php_string)
                    .is_some_and(|v| v.eq_ignore_ascii_case("Y"))
            };
            let mut p = portal.write().expect("portal lock");
            let next_type_id = smart_processes(&p).map(|(_, s)| s.id).max().unwrap_or(0) + 1;
            let wanted = param(&fields, "entityTypeId").map(php_intval).unwrap_or(0);
            let entity_type_id = match u32::try_from(wanted) {
                Ok(id) if id > 0 => {
                    if p.tables.contains_key(&id) || !(128..1 << 30).contains(&id) {
                        return Err(ApiError::new(
                            400,
                            "CRM_FIELD_ERROR_VALUE_NOT_VALID",
                            "Invalid value for field \"entityTypeId\"",
                        ));
                    }
                    id
                }
                _ => p
                    .tables
                    .keys()
                    .copied()
                    .filter(|&id| id >= 1030)
                    .max()
                    .map_or(1030, |m| m + 2),
            };
            let smart = SmartType {
                id: next_type_id,
                title,
                categories: yes("isCategoriesEnabled"),
                stages: yes("isStagesEnabled") || yes("isCategoriesEnabled"),
            };
            // Pipeline ids are one sequence over every smart type.
            let category = crate::pipelines::next_smart_category(&p);
            let snapshot = crate::entities::smart_process_snapshot(
                entity_type_id,
                category,
                smart.categories,
                smart.stages,
            );
            let layout =
                Layout::from_value(&snapshot).map_err(|e| ApiError::new(400, "ERROR_CORE", e))?;
            let entity = Entity::smart(
                entity_type_id,
                smart.clone(),
                smart.stages.then_some(category),
                p.lang,
            );
            let out = type_json(&entity, &smart);
            p.install(entity, layout);
            Ok(Output::write(json!({ "type": out })))
        }
        "update" => {
            let id = param(params, "id").map(php_intval).unwrap_or(0);
            let fields = array_param(params, "fields")?.unwrap_or_default();
            let title = param(&fields, "title")
                .and_then(php_string)
                .filter(|t| !t.trim().is_empty());
            let mut p = portal.write().expect("portal lock");
            let type_id = smart_type_table(&p, id).ok_or_else(type_not_found)?;
            let table = p.table_mut(type_id)?;
            if let (Some(smart), Some(title)) = (table.entity.smart.as_mut(), title) {
                smart.title = title;
            }
            let smart = table.entity.smart.as_ref().ok_or_else(type_not_found)?;
            let out = type_json(&table.entity, smart);
            Ok(Output::write(json!({ "type": out })))
        }
        "delete" => {
            // "If `result` returns `null`, it is likely that the required parameter `id` was
            // not provided."
            let Some(id) = param(params, "id").map(php_intval) else {
                return Ok(Output::write(Value::Null));
            };
            let mut p = portal.write().expect("portal lock");
            let type_id = smart_type_table(&p, id)
                .ok_or_else(|| ApiError::new(400, "0", "Smart process not found"))?;
            if !p.table(type_id)?.store.rows.is_empty() {
                return Err(ApiError::new(
                    400,
                    "BX_ERROR",
                    "You cannot delete an entity type that has elements",
                ));
            }
            p.tables.remove(&type_id);
            Ok(Output::write(json!([])))
        }
        _ => Err(ApiError::method_not_found()),
    }
}

/// `crm.type.fields`: the settable fields of a smart process type.
fn type_fields() -> Value {
    let mut m = Map::new();
    for (name, ty, title) in [
        ("id", "integer", "ID"),
        ("title", "string", "Title"),
        ("entityTypeId", "integer", "Entity type ID"),
        ("isCategoriesEnabled", "boolean", "Pipelines enabled"),
        ("isStagesEnabled", "boolean", "Stages enabled"),
        ("isClientEnabled", "boolean", "Client field enabled"),
        ("isSourceEnabled", "boolean", "Source field enabled"),
        ("isObserversEnabled", "boolean", "Observers field enabled"),
    ] {
        m.insert(
            name.into(),
            json!({
                "type": ty,
                "isRequired": name == "title",
                "isReadOnly": name == "id",
                "isImmutable": name == "entityTypeId",
                "isMultiple": false,
                "isDynamic": false,
                "title": title,
            }),
        );
    }
    Value::Object(m)
}

//! REST methods other than `batch`: parameters resolved leniently, results and errors as the
//! portal gives them.

use std::sync::RwLock;

use serde_json::{Map, Value, json};

use crate::config::Work;
use crate::error::ApiError;
use crate::items;
use crate::portal::{Caller, PAGE, Portal};
use crate::reference;
use crate::rest::{Body, Output, array_param, param};
use crate::schema::{ItemSpec, Labels, USER_TYPES, UserFieldSpec, UserFieldUpdate};
use crate::system;
use crate::values::{as_list, php_intval, php_string};

fn id_param(params: &Map<String, Value>) -> Result<u32, ApiError> {
    let id = param(params, "id").map(php_intval).unwrap_or(0);
    if id <= 0 || id > i64::from(u32::MAX) {
        return Err(ApiError::invalid_id());
    }
    Ok(id as u32)
}

fn start_param(params: &Map<String, Value>) -> i64 {
    param(params, "start").map(php_intval).unwrap_or(0)
}

/// Runs one method.
pub(crate) fn call(
    portal: &RwLock<Portal>,
    method: &str,
    params: &Map<String, Value>,
    caller: Caller,
) -> Result<Output, ApiError> {
    if let Some(op) = method.strip_prefix("crm.item.productrow.") {
        return crate::product_rows::call_item(portal, op, params, caller);
    }
    if let Some(op) = method.strip_prefix("crm.item.") {
        return items::call(portal, op, params, caller);
    }
    if let Some(op) = method.strip_prefix("crm.type.") {
        return items::call_type(portal, op, params);
    }
    // crm.<entity>.<op>: the entity's legacy methods, when it has them.
    if let Some((prefix, op)) = method
        .match_indices('.')
        .nth(1)
        .map(|(i, _)| (&method[..i], &method[i + 1..]))
    {
        let table = portal.read().expect("portal lock").legacy_table(prefix);
        if let Some(entity_type_id) = table {
            return legacy(portal, entity_type_id, op, params, caller);
        }
    }
    if let Some(out) = crate::pipelines::call(portal, method, params) {
        return out;
    }
    if method.starts_with("crm.currency.") {
        let p = portal.read().expect("portal lock");
        if let Some(out) = crate::currency::call(&p.catalog, p.lang, method, params) {
            return out;
        }
    }
    match method {
        "crm.status.list" => status_list(portal, params),
        "crm.category.list" => {
            reference::deal_pipelines(params)?;
            let p = portal.read().expect("portal lock");
            let cats: Vec<Value> = p
                .catalog
                .categories
                .iter()
                .map(|c| p.catalog.category_json(c))
                .collect();
            let total = cats.len();
            Ok(Output::listed(json!({ "categories": cats }), total))
        }
        _ => {
            if let Some(v) =
                system::call(&portal.read().expect("portal lock"), method, params, caller)
            {
                return Ok(Output::plain(v));
            }
            reference::call(portal, method, params)
                .unwrap_or_else(|| Err(ApiError::method_not_found()))
        }
    }
}

/// The legacy methods of one entity type (`crm.lead.add`, `crm.lead.userfield.get`, ...).
fn legacy(
    portal: &RwLock<Portal>,
    entity_type_id: u32,
    op: &str,
    params: &Map<String, Value>,
    caller: Caller,
) -> Result<Output, ApiError> {
    let read = || portal.read().expect("portal lock");
    let write = || portal.write().expect("portal lock");
    match op {
        "fields" => Ok(Output::plain(
            read().table(entity_type_id)?.layout.fields_json(),
        )),
        "add" => {
            let fields =
                array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))?;
            array_param(params, "params")?;
            let id = write().add(entity_type_id, &fields, caller)?;
            Ok(Output::write(json!(id)))
        }
        "get" => {
            let id = id_param(params)?;
            let record = read().get(entity_type_id, id)?;
            Ok(Output::one(record))
        }
        "update" => {
            let id = id_param(params)?;
            let fields =
                array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))?;
            array_param(params, "params")?;
            write().update(entity_type_id, id, &fields, caller)?;
            Ok(Output::write(json!(true)))
        }
        "delete" => {
            let id = id_param(params)?;
            write().delete(entity_type_id, id)?;
            Ok(Output::write(json!(true)))
        }
        "list" => {
            let filter = array_param(params, "filter")?.unwrap_or_default();
            let order = array_param(params, "order")?.unwrap_or_default();
            let select = param(params, "select");
            let page = read().list(entity_type_id, select, &filter, &order, start_param(params))?;
            Ok(Output {
                result: Body::Rows(page.rows),
                total: Some(page.total),
                next: page.next,
                work: page.work,
                scanned: page.scanned,
            })
        }
        op if op.starts_with("productrows.") => {
            crate::product_rows::call_legacy(portal, entity_type_id, op, params, caller)
                .unwrap_or_else(|| Err(ApiError::method_not_found()))
        }
        op if op.starts_with("contact.")
            && crate::contacts::has_bindings(&read(), entity_type_id) =>
        {
            crate::contacts::call(
                portal,
                entity_type_id,
                &op["contact.".len()..],
                params,
                caller,
            )
        }
        "userfield.add" => userfield_add(portal, entity_type_id, params),
        "userfield.get" => {
            let id = id_param(params)?;
            let p = read();
            let t = p.table(entity_type_id)?;
            let index = t.layout.uf_by_id(id).ok_or_else(|| entity_not_found(id))?;
            Ok(Output::plain(
                t.layout.fields[index]
                    .userfield_json(Labels::Languages, &t.entity.uf_entity)
                    .unwrap_or(Value::Null),
            ))
        }
        "userfield.list" => userfield_list(portal, entity_type_id, params),
        "userfield.update" => {
            let id = id_param(params)?;
            let fields =
                array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))?;
            let mut p = write();
            let layout = &mut p.table_mut(entity_type_id)?.layout;
            let index = layout.uf_by_id(id).ok_or_else(|| entity_not_found(id))?;
            let upd = UserFieldUpdate {
                mandatory: param(&fields, "MANDATORY").map(yes),
                xml_id: text(&fields, "XML_ID"),
                // "Must be greater than zero": another value is ignored.
                sort: param(&fields, "SORT")
                    .map(php_intval)
                    .filter(|&s| s > 0)
                    .map(|s| s.min(i64::from(u32::MAX)) as u32),
                show_filter: text(&fields, "SHOW_FILTER"),
                show_in_list: text(&fields, "SHOW_IN_LIST"),
                edit_in_list: text(&fields, "EDIT_IN_LIST"),
                is_searchable: text(&fields, "IS_SEARCHABLE"),
                edit_form_label: label(&fields, "EDIT_FORM_LABEL"),
                list_column_label: label(&fields, "LIST_COLUMN_LABEL"),
                list_filter_label: label(&fields, "LIST_FILTER_LABEL"),
                error_message: label(&fields, "ERROR_MESSAGE"),
                help_message: label(&fields, "HELP_MESSAGE"),
                settings: param(&fields, "SETTINGS").cloned(),
                items: param(&fields, "LIST").map(items),
            };
            let upd = with_common_label(upd, &fields);
            layout.update_user_field(index, upd);
            Ok(Output::write(json!(true)))
        }
        "userfield.delete" => {
            let id = id_param(params)?;
            let mut p = write();
            let layout = &mut p.table_mut(entity_type_id)?.layout;
            let index = layout.uf_by_id(id).ok_or_else(|| entity_not_found(id))?;
            layout.remove_field(index);
            Ok(Output::write(json!(true)))
        }
        _ => Err(ApiError::method_not_found()),
    }
}

/// `ERROR_NOT_FOUND` of the user field methods.
fn entity_not_found(id: u32) -> ApiError {
    ApiError::new(
        400,
        "ERROR_NOT_FOUND",
        format!("The entity with ID '{id}' is not found"),
    )
}

fn yes(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s == "Y" || s == "1",
        other => php_intval(other) > 0,
    }
}

fn text(fields: &Map<String, Value>, name: &str) -> Option<String> {
    param(fields, name).and_then(php_string)
}

/// A label given as a string or per language (`{"ru": "...", "en": "..."}`: the portal's
/// language, Russian, wins).
fn label(fields: &Map<String, Value>, name: &str) -> Option<String> {
    match param(fields, name)? {
        Value::Object(o) => o
            .get("ru")
            .or_else(|| o.values().next())
            .and_then(php_string),
        other => php_string(other),
    }
}

fn with_common_label(mut upd: UserFieldUpdate, fields: &Map<String, Value>) -> UserFieldUpdate {
    if let Some(l) = label(fields, "LABEL") {
        upd.edit_form_label.get_or_insert_with(|| l.clone());
        upd.list_column_label.get_or_insert_with(|| l.clone());
        upd.list_filter_label.get_or_insert(l);
    }
    upd
}

fn items(list: &Value) -> Vec<ItemSpec> {
    as_list(list)
        .into_iter()
        .filter_map(|i| i.as_object())
        .map(|i| ItemSpec {
            id: param(i, "ID")
                .map(|v| php_intval(v) as u32)
                .filter(|&id| id > 0),
            value: text(i, "VALUE").unwrap_or_default(),
            sort: param(i, "SORT").map(|v| php_intval(v).max(0) as u32),
            def: param(i, "DEF").is_some_and(yes),
            xml_id: text(i, "XML_ID"),
            delete: param(i, "DEL").is_some_and(yes),
        })
        .collect()
}

fn userfield_add(
    portal: &RwLock<Portal>,
    entity_type_id: u32,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    let fields = array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))?;
    let name = text(&fields, "FIELD_NAME")
        .map(|n| n.trim().to_ascii_uppercase())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::legacy("The parameter 'FIELD_NAME' is not defined or invalid."))?;
    let ty = text(&fields, "USER_TYPE_ID")
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::legacy("The parameter 'USER_TYPE_ID' is not defined or invalid.")
        })?;
    if !USER_TYPES.contains(&ty.as_str()) && !ty.starts_with("rest_") {
        return Err(ApiError::new(
            400,
            "ERROR_CORE",
            format!("User type \"{ty}\" is not registered"),
        ));
    }
    let mut p = portal.write().expect("portal lock");
    let table = p.table_mut(entity_type_id)?;
    let prefix = table.entity.uf_prefix.clone();
    let code = if name.starts_with(&prefix) {
        name
    } else {
        format!("{prefix}{}", name.strip_prefix("UF_CRM_").unwrap_or(&name))
    };
    if code.len() > 50
        || !code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ApiError::new(
            400,
            "ERROR_CORE",
            "Invalid field name: use up to 50 Latin letters, digits and underscores",
        ));
    }
    let mut spec = UserFieldSpec {
        code,
        ty,
        multiple: param(&fields, "MULTIPLE").is_some_and(yes),
        mandatory: param(&fields, "MANDATORY").is_some_and(yes),
        xml_id: text(&fields, "XML_ID"),
        sort: param(&fields, "SORT").map(|v| php_intval(v).max(0) as u32),
        show_filter: text(&fields, "SHOW_FILTER"),
        show_in_list: text(&fields, "SHOW_IN_LIST"),
        edit_in_list: text(&fields, "EDIT_IN_LIST"),
        is_searchable: text(&fields, "IS_SEARCHABLE"),
        edit_form_label: label(&fields, "EDIT_FORM_LABEL"),
        list_column_label: label(&fields, "LIST_COLUMN_LABEL"),
        list_filter_label: label(&fields, "LIST_FILTER_LABEL"),
        error_message: label(&fields, "ERROR_MESSAGE"),
        help_message: label(&fields, "HELP_MESSAGE"),
        settings: param(&fields, "SETTINGS").cloned(),
        items: param(&fields, "LIST").map(items).unwrap_or_default(),
    };
    if let Some(l) = label(&fields, "LABEL") {
        spec.edit_form_label.get_or_insert_with(|| l.clone());
        spec.list_column_label.get_or_insert_with(|| l.clone());
        spec.list_filter_label.get_or_insert(l);
    }
    let uf_entity = table.entity.uf_entity.clone();
    let id = table
        .layout
        .add_user_field(spec, &uf_entity)
        .map_err(|e| ApiError::new(400, "ERROR_CORE", e))?;
    Ok(Output::write(json!(id)))
}

fn userfield_list(
    portal: &RwLock<Portal>,
    entity_type_id: u32,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    let filter = array_param(params, "filter")?.unwrap_or_default();
    let order = array_param(params, "order")?.unwrap_or_default();
    // Labels come as text only when `filter[LANG]` asks for them (this portal has one text
    // per label, whatever the language).
    let labels = if param(&filter, "LANG").is_some() {
        Labels::Text
    } else {
        Labels::Omit
    };
    let p = portal.read().expect("portal lock");
    let t = p.table(entity_type_id)?;
    let mut rows: Vec<Value> = t
        .layout
        .fields
        .iter()
        .filter_map(|f| f.userfield_json(labels, &t.entity.uf_entity))
        .filter(|row| matches_simple(row, &filter))
        .collect();
    sort_simple(&mut rows, &order);
    let total = rows.len();
    Ok(Output {
        result: Body::Json(Value::Array(rows)),
        total: Some(total),
        next: None,
        work: Work {
            returned: total as u64,
            ..Work::default()
        },
        scanned: 0,
    })
}

fn status_list(portal: &RwLock<Portal>, params: &Map<String, Value>) -> Result<Output, ApiError> {
    let filter = array_param(params, "filter")?.unwrap_or_default();
    let order = array_param(params, "order")?.unwrap_or_default();
    let start = start_param(params).max(0) as usize;
    let p = portal.read().expect("portal lock");
    let mut rows: Vec<Value> = p
        .catalog
        .statuses
        .iter()
        .chain(crate::pipelines::smart_stages(&p))
        .map(|s| p.catalog.status_json(s))
        .filter(|row| matches_simple(row, &filter))
        .collect();
    if order.is_empty() {
        let mut o = Map::new();
        o.insert("SORT".into(), Value::from("ASC"));
        sort_simple(&mut rows, &o);
    } else {
        sort_simple(&mut rows, &order);
    }
    let total = rows.len();
    let offset = (start / PAGE) * PAGE;
    let page: Vec<Value> = rows.into_iter().skip(offset).take(PAGE).collect();
    Ok(Output {
        total: Some(total),
        next: (offset + PAGE < total).then_some(offset + PAGE),
        work: Work {
            returned: page.len() as u64,
            counted: total as u64,
            ..Work::default()
        },
        scanned: 0,
        result: Body::Json(Value::Array(page)),
    })
}

/// Equality filter on the row's keys (case-insensitive key names).
fn matches_simple(row: &Value, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(k, want)| {
        let (negate, key) = match k.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, k.strip_prefix('=').unwrap_or(k)),
        };
        let got = row
            .as_object()
            .and_then(|o| o.iter().find(|(rk, _)| rk.eq_ignore_ascii_case(key)))
            .map(|(_, v)| php_string(v).unwrap_or_default());
        let Some(got) = got else { return true };
        let hit = as_list(want)
            .into_iter()
            .filter_map(php_string)
            .any(|w| w == got);
        hit != negate
    })
}

fn sort_simple(rows: &mut [Value], order: &Map<String, Value>) {
    let keys: Vec<(String, bool)> = order
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_uppercase(),
                !v.as_str().is_some_and(|d| d.eq_ignore_ascii_case("DESC")),
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        for (k, asc) in &keys {
            let get = |r: &Value| {
                r.as_object()
                    .and_then(|o| o.iter().find(|(rk, _)| rk.eq_ignore_ascii_case(k)))
                    .map(|(_, v)| php_string(v).unwrap_or_default())
                    .unwrap_or_default()
            };
            let (x, y) = (get(a), get(b));
            let o = match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                _ => x.cmp(&y),
            };
            let o = if *asc { o } else { o.reverse() };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

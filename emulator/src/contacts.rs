//! Contact bindings of deals, leads and quotes: `crm.<entity>.contact.items.get/set/delete`,
//! `crm.<entity>.contact.add/delete/fields`, as the docs' pages under `deals/contacts/` give
//! them. The record's `CONTACT_IDS` stays the one list of bound contacts (so `CONTACT_ID`,
//! `contactIds` and the legacy writes agree), primary first; the sort index and the primary
//! flag of each binding are kept beside it, in
//! [`Bindings`](crate::attached::Bindings).

use std::sync::RwLock;

use serde_json::{Map, Value, json};

use crate::attached::Binding;
use crate::error::ApiError;
use crate::portal::{Caller, Portal};
use crate::rest::{Output, array_param, param};
use crate::schema::Slot;
use crate::values::{as_list, php_intval, php_string};

/// `ROLE_ID` of every binding (a system field, `0` in the docs' example).
const ROLE_ID: i64 = 0;

/// Runs `crm.<entity>.contact.<op>`.
pub(crate) fn call(
    portal: &RwLock<Portal>,
    entity_type_id: u32,
    op: &str,
    params: &Map<String, Value>,
    caller: Caller,
) -> Result<Output, ApiError> {
    match op {
        "fields" => Ok(Output::plain(fields())),
        "items.get" => {
            let id = owner_id(params, false)?;
            let p = portal.read().expect("portal lock");
            let items = bindings(&p, entity_type_id, id).ok_or_else(not_found_dot)?;
            let rows: Vec<Value> = items
                .iter()
                .map(|b| {
                    json!({"CONTACT_ID": b.contact_id, "SORT": b.sort, "ROLE_ID": ROLE_ID,
                        "IS_PRIMARY": if b.primary { "Y" } else { "N" }})
                })
                .collect();
            let mut out = Output::plain(Value::Array(rows));
            out.work.returned = items.len() as u64;
            Ok(out)
        }
        "items.set" => {
            let id = owner_id(params, false)?;
            let items = match param(params, "items") {
                Some(v @ (Value::Array(_) | Value::Object(_))) => as_list(v),
                _ => return Err(ApiError::legacy("The parameter items must be array.")),
            };
            let mut new = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let Some(o) = item.as_object() else { continue };
                let contact_id = param(o, "CONTACT_ID").map_or(0, php_intval);
                if contact_id <= 0 || new.iter().any(|b: &Binding| b.contact_id == contact_id) {
                    continue;
                }
                new.push(Binding {
                    contact_id,
                    sort: param(o, "SORT").map_or((i as i64 + 1) * 10, php_intval),
                    primary: is_yes(param(o, "IS_PRIMARY")),
                });
            }
            let mut p = portal.write().expect("portal lock");
            bindings(&p, entity_type_id, id).ok_or_else(not_found_dot)?;
            store(&mut p, entity_type_id, id, new, caller)?;
            Ok(Output::write(json!(true)))
        }
        "items.delete" => {
            let id = owner_id(params, false)?;
            let mut p = portal.write().expect("portal lock");
            bindings(&p, entity_type_id, id).ok_or_else(|| ApiError::legacy("Not found"))?;
            store(&mut p, entity_type_id, id, Vec::new(), caller)?;
            Ok(Output::write(json!(true)))
        }
        "add" => {
            let id = owner_id(params, true)?;
            let fields = array_param(params, "fields")
                .ok()
                .flatten()
                .ok_or_else(|| ApiError::legacy("The parameter 'fields' must be array."))?;
            let contact_id = contact_id(&fields)?;
            let mut p = portal.write().expect("portal lock");
            let mut items = bindings(&p, entity_type_id, id).ok_or_else(not_found_dot)?;
            if items.iter().any(|b| b.contact_id == contact_id) {
                return Ok(Output::write(json!(false)));
            }
            let primary = match param(&fields, "IS_PRIMARY") {
                Some(v) => is_yes(Some(v)),
                None => !items.iter().any(|b| b.primary),
            };
            if primary {
                items.iter_mut().for_each(|b| b.primary = false);
            }
            let sort = param(&fields, "SORT").map_or_else(
                || items.iter().map(|b| b.sort).max().unwrap_or(0) + 10,
                php_intval,
            );
            items.push(Binding {
                contact_id,
                sort,
                primary,
            });
            store(&mut p, entity_type_id, id, items, caller)?;
            Ok(Output::write(json!(true)))
        }
        "delete" => {
            let id = owner_id(params, true)?;
            let fields = array_param(params, "fields")
                .ok()
                .flatten()
                .ok_or_else(|| ApiError::legacy("The parameter 'item' must be array."))?;
            let contact_id = contact_id(&fields)?;
            let mut p = portal.write().expect("portal lock");
            let mut items = bindings(&p, entity_type_id, id).ok_or_else(not_found_dot)?;
            let before = items.len();
            items.retain(|b| b.contact_id != contact_id);
            if items.len() == before {
                return Ok(Output::write(json!(false)));
            }
            store(&mut p, entity_type_id, id, items, caller)?;
            Ok(Output::write(json!(true)))
        }
        _ => Err(ApiError::method_not_found()),
    }
}

/// Whether an entity type has contact bindings (a `CONTACT_IDS` field).
pub(crate) fn has_bindings(p: &Portal, entity_type_id: u32) -> bool {
    p.tables
        .get(&entity_type_id)
        .is_some_and(|t| t.layout.std.contact_ids.is_some())
}

/// `id` of the owner record; `quoted` gives the message of `contact.add/delete`.
fn owner_id(params: &Map<String, Value>, quoted: bool) -> Result<u32, ApiError> {
    let id = param(params, "id").map_or(0, php_intval);
    u32::try_from(id).ok().filter(|&id| id > 0).ok_or_else(|| {
        ApiError::legacy(if quoted {
            "The parameter 'ownerEntityID' is invalid or not defined."
        } else {
            "The parameter ownerEntityID is invalid or not defined."
        })
    })
}

fn contact_id(fields: &Map<String, Value>) -> Result<i64, ApiError> {
    param(fields, "CONTACT_ID")
        .map(php_intval)
        .filter(|&c| c > 0)
        .ok_or_else(|| ApiError::legacy("The parameter 'fields' is not valid."))
}

fn not_found_dot() -> ApiError {
    ApiError::legacy("Not found.")
}

fn is_yes(v: Option<&Value>) -> bool {
    v.and_then(php_string)
        .is_some_and(|s| s.eq_ignore_ascii_case("Y"))
}

/// The record's bindings in `SORT` order, or `None` when the record does not exist. The
/// contacts are those of `CONTACT_IDS`; contacts bound by a legacy write get the sort
/// `(i + 1) * 10` of their place, and the first of them is primary.
pub(crate) fn bindings(p: &Portal, entity_type_id: u32, id: u32) -> Option<Vec<Binding>> {
    let t = p.tables.get(&entity_type_id)?;
    let row = t.store.rows.get(&id)?;
    let ids: Vec<i64> = match t.layout.std.contact_ids.map(|i| t.layout.fields[i].slot) {
        Some(Slot::Multi(s)) => row.multi(s).iter().map(|c| c.as_int()).collect(),
        _ => Vec::new(),
    };
    // The kept flags hold while the contacts are the ones they were stored for; a legacy
    // write of another set rebinds from scratch.
    let meta = p
        .contact_bindings
        .get(&(entity_type_id, id))
        .filter(|m| m.len() == ids.len() && m.iter().all(|b| ids.contains(&b.contact_id)));
    let mut out: Vec<Binding> = ids
        .iter()
        .enumerate()
        .map(|(i, &contact_id)| {
            meta.and_then(|m| m.iter().find(|b| b.contact_id == contact_id))
                .copied()
                .unwrap_or(Binding {
                    contact_id,
                    sort: (i as i64 + 1) * 10,
                    primary: false,
                })
        })
        .collect();
    let first_primary = out.iter().position(|b| b.primary).unwrap_or(0);
    for (i, b) in out.iter_mut().enumerate() {
        b.primary = i == first_primary;
    }
    out.sort_by_key(|b| b.sort);
    Some(out)
}

/// Writes the bindings: `CONTACT_IDS` (primary first, then by `SORT`) through the record's
/// update, and the sort indexes and flags beside it. The first one flagged primary wins;
/// with none, the first given is primary (crm-deal-contact-items-set.md).
fn store(
    p: &mut Portal,
    entity_type_id: u32,
    id: u32,
    mut items: Vec<Binding>,
    caller: Caller,
) -> Result<(), ApiError> {
    let primary = items.iter().position(|b| b.primary).unwrap_or(0);
    for (i, b) in items.iter_mut().enumerate() {
        b.primary = i == primary;
    }
    items.sort_by_key(|b| b.sort);
    let mut ids: Vec<i64> = Vec::with_capacity(items.len());
    ids.extend(items.iter().filter(|b| b.primary).map(|b| b.contact_id));
    ids.extend(items.iter().filter(|b| !b.primary).map(|b| b.contact_id));
    let code = {
        let t = p.table(entity_type_id)?;
        t.layout
            .std
            .contact_ids
            .map(|i| t.layout.fields[i].code.clone())
            .ok_or_else(ApiError::method_not_found)?
    };
    let mut fields = Map::new();
    fields.insert(code, json!(ids));
    p.update(entity_type_id, id, &fields, caller)?;
    if items.is_empty() {
        p.contact_bindings.remove(&(entity_type_id, id));
    } else {
        p.contact_bindings.insert((entity_type_id, id), items);
    }
    Ok(())
}

/// `crm.deal.contact.fields`, as documented.
fn fields() -> Value {
    let d = |ty: &str, required: bool, title: &str| {
        Value::Object(crate::schema::descriptor(ty, required, false, false, title))
    };
    json!({
        "SORT": d("integer", false, "Sorting"),
        "IS_PRIMARY": d("char", false, "Primary"),
        "CONTACT_ID": d("integer", true, "Contact"),
    })
}

//! The route of typed calls: `crm.<entity>.*` or `crm.item.*` ([`Api`]), chosen once per call
//! from the entity and the client's override, and every translation between the two in one
//! place: method names, bodies (`entityTypeId`, camelCase keys, file and multifield write
//! forms), list parameters (filter, order, select, the `>ID` cursor and its batch
//! references) and answers (`{"item": ..}`, `{"items": [..]}`, the new id, confirmations).
//!
//! The rest of the client builds legacy forms (UPPER codes, `>ID`) and hands them to a
//! [`Route`], which leaves them as they are on [`Api::Legacy`] and translates them on
//! [`Api::Item`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::calls::{AddParams, UpdateParams, expect_true, payload_object};
use crate::entity::{Api, Entity, EntityField, FieldMeta};
use crate::error::Error;
use crate::transport::u64_of;

/// The Bitrix type of multifields.
const MULTIFIELD: &str = "crm_multifield";

/// Where the typed calls of one entity go, and how their bodies and answers translate.
#[derive(Clone, Copy)]
pub(crate) struct Route {
    /// The API the calls use.
    pub api: Api,
    prefix: &'static str,
    entity_type_id: u32,
    /// The metadata of a field by its code (or item name).
    field: fn(&str) -> Option<&'static FieldMeta>,
    /// Whether the entity's snapshot gives `crm.item.*` names (some item name differs from
    /// its code); without them the item route cannot work.
    named: bool,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("api", &self.api)
            .field("prefix", &self.prefix)
            .field("entity_type_id", &self.entity_type_id)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        (self.api, self.prefix, self.entity_type_id)
            == (other.api, other.prefix, other.entity_type_id)
    }
}

impl Default for Route {
    /// The legacy route of an entity without fields (tests of the parameter builder).
    fn default() -> Self {
        Route {
            api: Api::Legacy,
            prefix: "crm.deal",
            entity_type_id: 2,
            field: |_| None,
            named: true,
        }
    }
}

fn field_of<E: Entity>(name: &str) -> Option<&'static FieldMeta> {
    <E::Field as EntityField>::from_code(name).map(EntityField::meta)
}

impl Route {
    /// The route of entity `E`: `over` (the client's override) when given, else
    /// [`Entity::API`]; always [`Api::Item`] for an entity without legacy methods.
    pub(crate) fn of<E: Entity>(over: Option<Api>) -> Route {
        let api = if E::HAS_LEGACY {
            over.unwrap_or(E::API)
        } else {
            Api::Item
        };
        Route {
            api,
            prefix: match api {
                Api::Legacy => E::METHOD_PREFIX,
                Api::Item => "crm.item",
            },
            entity_type_id: E::ENTITY_TYPE_ID,
            field: field_of::<E>,
            named: api == Api::Legacy
                || <E::Field as EntityField>::ALL
                    .iter()
                    .any(|f| f.meta().item_name != f.meta().code),
        }
    }

    /// Whether calls of this route can be sent: the item route needs the snapshot's item
    /// names ([`FieldMeta::item_name`]); without them it would send UPPER codes that
    /// `crm.item.*` does not know and read nothing back.
    pub(crate) fn check(&self, method: &str) -> Result<(), Error> {
        if self.named {
            return Ok(());
        }
        Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: "this entity's snapshot has no crm.item.* field names (every FieldMeta::item_name equals its code), so it cannot use the item API; regenerate it with a bitrix-codegen that records item names, or use the legacy API (Client::with_api(Api::Legacy))".into(),
            source: None,
        })
    }

    fn item(&self) -> bool {
        self.api == Api::Item
    }

    /// `crm.deal.add` or `crm.item.add`.
    pub(crate) fn method(&self, action: &str) -> String {
        format!("{}.{action}", self.prefix)
    }

    /// The body's start: empty, or `{"entityTypeId": N}`.
    fn body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if self.item() {
            body.insert("entityTypeId".into(), Value::from(self.entity_type_id));
        }
        body
    }

    /// The body of a get, delete or `fields`: `{"id": id}` (with `entityTypeId` on the item
    /// route).
    pub(crate) fn id_body(&self, id: Option<u64>) -> Map<String, Value> {
        let mut body = self.body();
        if let Some(id) = id {
            body.insert("id".into(), Value::from(id));
        }
        body
    }

    /// `{"fields": {...}, "params": {...}}` of an add.
    pub(crate) fn add_body(
        &self,
        method: &str,
        new: &impl Serialize,
        params: AddParams,
    ) -> Result<Map<String, Value>, Error> {
        let fields = payload_object(method, new)?;
        self.write_body(method, None, fields, params.to_params())
    }

    /// `{"id": .., "fields": {...}, "params": {...}}` of an update.
    pub(crate) fn update_body(
        &self,
        method: &str,
        id: u64,
        patch: &impl Serialize,
        params: UpdateParams,
    ) -> Result<Map<String, Value>, Error> {
        let fields = payload_object(method, patch)?;
        self.write_body(method, Some(id), fields, params.to_params())
    }

    fn write_body(
        &self,
        method: &str,
        id: Option<u64>,
        fields: Map<String, Value>,
        params: Option<Map<String, Value>>,
    ) -> Result<Map<String, Value>, Error> {
        self.check(method)?;
        let invalid = |message: String| Error::InvalidRequest {
            method: method.to_owned(),
            message,
            source: None,
        };
        if id.is_none() {
            if let Some(code) = self.multifield_change_in(&fields) {
                return Err(invalid(format!(
                    "the create payload changes or deletes stored values of the multifield {code}, but a new record has none; only add values on create"
                )));
            }
        }
        let fields = if self.item() {
            self.item_fields(fields).map_err(invalid)?
        } else {
            fields
        };
        let mut body = self.body();
        if let Some(id) = id {
            body.insert("id".into(), Value::from(id));
        }
        body.insert("fields".into(), Value::Object(fields));
        if let Some(p) = params {
            if self.item() {
                let names: Vec<&String> = p.keys().collect();
                return Err(invalid(format!(
                    "crm.item.* has no {names:?} parameters; leave them unset, or send the call on the legacy API (Client::with_api(Api::Legacy))"
                )));
            }
            body.insert("params".into(), Value::Object(p));
        }
        Ok(body)
    }

    /// A multifield of a create payload holding an entry with an id (a change or delete).
    fn multifield_change_in(&self, fields: &Map<String, Value>) -> Option<String> {
        fields.iter().find_map(|(code, value)| {
            let meta = (self.field)(code)?;
            let entries = value.as_array()?;
            (meta.bitrix_type == MULTIFIELD
                && entries
                    .iter()
                    .any(|e| e.get("ID").is_some_and(|id| !id.is_null())))
            .then(|| code.clone())
        })
    }

    /// A payload's legacy fields as `crm.item.*` takes them: keys by item name, files
    /// `[name, base64]` instead of `{"fileData": [name, base64]}`, and the multifields merged
    /// into `fm` (adds keyed `n0`, `n1`, ..., changes and deletes by the value's id).
    fn item_fields(&self, fields: Map<String, Value>) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        let mut fm = Map::new();
        for (code, value) in fields {
            let meta = (self.field)(&code);
            match meta {
                Some(meta) if meta.bitrix_type == MULTIFIELD => {
                    fm_entries(meta, value, &mut fm)?;
                }
                _ => {
                    let name = meta.map_or(code, |m| m.item_name.to_owned());
                    out.insert(name, item_files(value));
                }
            }
        }
        if !fm.is_empty() {
            out.insert("fm".into(), Value::Object(fm));
        }
        Ok(out)
    }

    /// A legacy list parameter set as sent on this route: on the item route, with
    /// `entityTypeId`, filter and order keys by item name (operators kept: `>id`,
    /// `=stageId`), boolean user fields filtered as `1`/`0`, and `select` by item name (`*`
    /// for every field; `*` also when a multifield is selected, since `fm` comes only with
    /// it).
    pub(crate) fn list_params(
        &self,
        filter: &Map<String, Value>,
        order: &Map<String, Value>,
        select: &[String],
    ) -> Map<String, Value> {
        let mut p = self.body();
        let (filter, order, select) = if self.item() {
            (
                self.item_filter(filter),
                order
                    .iter()
                    .map(|(k, v)| (self.item_name(k), v.clone()))
                    .collect(),
                self.item_select(select),
            )
        } else {
            (filter.clone(), order.clone(), select.to_vec())
        };
        if !filter.is_empty() {
            p.insert("filter".into(), Value::Object(filter));
        }
        if !order.is_empty() {
            p.insert("order".into(), Value::Object(order));
        }
        p.insert(
            "select".into(),
            Value::Array(select.into_iter().map(Value::String).collect()),
        );
        p
    }

    fn item_name(&self, code: &str) -> String {
        (self.field)(code).map_or_else(|| code.to_owned(), |m| m.item_name.to_owned())
    }

    fn item_filter(&self, filter: &Map<String, Value>) -> Map<String, Value> {
        filter
            .iter()
            .map(|(key, value)| {
                let name_at = key
                    .find(|c: char| c.is_alphanumeric() || c == '_')
                    .unwrap_or(key.len());
                let (operator, code) = key.split_at(name_at);
                let meta = (self.field)(code);
                let value = match meta {
                    Some(m) if m.bitrix_type == "boolean" => one_zero(value.clone()),
                    _ => value.clone(),
                };
                (format!("{operator}{}", self.item_name(code)), value)
            })
            .collect()
    }

    fn item_select(&self, select: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(select.len());
        let mut star = false;
        for code in select {
            match code.as_str() {
                "*" => star = true,
                "UF_*" => {}
                _ => match (self.field)(code) {
                    Some(m) if m.bitrix_type == MULTIFIELD => star = true,
                    Some(m) => out.push(m.item_name.to_owned()),
                    None => out.push(code.clone()),
                },
            }
        }
        if star {
            out.insert(0, "*".into());
        }
        out
    }

    /// The filter key of the fast export's cursor (`>ID`, `<id`).
    pub(crate) fn cursor_key(&self, legacy: &'static str) -> String {
        if self.item() {
            legacy.replace("ID", "id")
        } else {
            legacy.to_owned()
        }
    }

    /// The batch reference to the id of row `row` of list command `key`'s page:
    /// `$result[c0][49][ID]`, or `$result[c0][items][49][id]` on the item route.
    pub(crate) fn row_id_ref(&self, key: &str, row: usize) -> String {
        if self.item() {
            format!("$result[{key}][items][{row}][id]")
        } else {
            format!("$result[{key}][{row}][ID]")
        }
    }

    /// The id an add returned: `394` or `"394"` (legacy), `{"item": {"id": 394, ..}}` (item).
    pub(crate) fn new_id(&self, method: &str, result: &Value) -> Result<u64, Error> {
        let id = if self.item() {
            result.get("item").and_then(|item| item.get("id"))
        } else {
            Some(result)
        };
        match id.and_then(u64_of) {
            Some(id) if id > 0 => Ok(id),
            _ => Err(Error::Decode {
                method: method.to_owned(),
                message: format!(
                    "expected the new record's id (a positive integer{}), got {result}; the record may have been created, so look for it on the portal before adding it again",
                    if self.item() {
                        " in result.item.id"
                    } else {
                        ""
                    }
                ),
                source: None,
            }),
        }
    }

    /// An update's answer: `true` (legacy) or the updated item (item).
    pub(crate) fn confirm_update(&self, method: &str, result: &Value) -> Result<(), Error> {
        if self.item() && result.get("item").is_some_and(Value::is_object) {
            return Ok(());
        }
        expect_true(method, result)
    }

    /// A delete's answer: `true` (legacy), an empty result (item).
    pub(crate) fn confirm_delete(&self, method: &str, result: &Value) -> Result<(), Error> {
        let empty = match result {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
            _ => false,
        };
        if self.item() && empty {
            return Ok(());
        }
        expect_true(method, result)
    }

    /// The record of a get's `result` (`{"item": {..}}` on the item route).
    pub(crate) fn record<'v>(&self, result: &'v Value) -> &'v Value {
        match (self.item(), result.get("item")) {
            (true, Some(item)) => item,
            _ => result,
        }
    }

    /// The descriptors of a `fields` call's `result` (`{"fields": {..}}` on the item route).
    pub(crate) fn descriptors(&self, result: Value) -> Value {
        match result {
            Value::Object(mut m) if self.item() && m.contains_key("fields") => {
                m.remove("fields").unwrap_or_default()
            }
            other => other,
        }
    }

    /// Reads one record with a direct call, decoding it straight from the answer's text.
    pub(crate) async fn get<P: crate::projection::Projection>(
        &self,
        engine: &Arc<crate::engine::Engine>,
        id: u64,
    ) -> Result<P, Error> {
        let method = self.method("get");
        self.check(&method)?;
        let body = self.id_body(Some(id));
        if self.item() {
            let wrapped: ItemOf<crate::projection::Keyed<P>> =
                engine.execute_one(&method, &body, true, false).await?;
            Ok(wrapped.item.row)
        } else {
            let keyed: crate::projection::Keyed<P> =
                engine.execute_one(&method, &body, true, false).await?;
            Ok(keyed.row)
        }
    }
}

/// `{"item": {..}}` of `crm.item.get`.
#[derive(Deserialize)]
#[serde(bound = "E: serde::de::DeserializeOwned")]
struct ItemOf<E> {
    item: E,
}

/// `{"fileData": [name, base64]}` (also inside a list) as `[name, base64]`.
fn item_files(value: Value) -> Value {
    match value {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("fileData") => {
            m.remove("fileData").unwrap_or_default()
        }
        Value::Array(list) => Value::Array(list.into_iter().map(item_files).collect()),
        other => other,
    }
}

/// `"Y"`/`"N"` (and lists of them) as `1`/`0`: a filter on a boolean user field on
/// `crm.item.*`.
fn one_zero(value: Value) -> Value {
    match value {
        Value::String(s) if s == "Y" || s == "1" => Value::from(1),
        Value::String(s) if s == "N" || s == "0" => Value::from(0),
        Value::Array(list) => Value::Array(list.into_iter().map(one_zero).collect()),
        other => other,
    }
}

/// The legacy write entries of multifield `meta` as `fm` entries: adds keyed `n{k}` (numbered
/// across every multifield of the payload), changes and deletes by the value's id.
fn fm_entries(meta: &FieldMeta, value: Value, fm: &mut Map<String, Value>) -> Result<(), String> {
    let entries = match value {
        Value::Array(list) => list,
        Value::Null => return Ok(()),
        other => {
            return Err(format!(
                "the multifield {} is written as {other}, not as a list of entries",
                meta.code
            ));
        }
    };
    for entry in entries {
        let Value::Object(entry) = entry else {
            return Err(format!(
                "an entry of the multifield {} is not an object",
                meta.code
            ));
        };
        let type_id = match entry.get("TYPE_ID").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => t.to_owned(),
            // `fm` itself (the any-kind) without a type: nothing to file it under.
            _ if meta.item_name == "fm" => {
                return Err(format!(
                    "an entry of {} has no type (TYPE_ID such as PHONE); give AnyMultifieldType a type_id",
                    meta.code
                ));
            }
            _ => meta.code.to_owned(),
        };
        let mut item = Map::new();
        item.insert("typeId".into(), Value::String(type_id));
        if let Some(v) = entry.get("VALUE_TYPE") {
            item.insert("valueType".into(), v.clone());
        }
        item.insert(
            "value".into(),
            entry.get("VALUE").cloned().unwrap_or(Value::from("")),
        );
        let key = match entry.get("ID").and_then(u64_of) {
            Some(id) => id.to_string(),
            None => format!("n{}", fm.keys().filter(|k| k.starts_with('n')).count()),
        };
        fm.insert(key, Value::Object(item));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::__private::{DYNAMIC, meta};
    use serde_json::json;

    static FIELDS: [FieldMeta; 6] = [
        meta("ID", "id", "integer", 0).with_item_name("id"),
        meta("OPPORTUNITY", "opportunity", "double", 0),
        meta("UF_CRM_FLAG", "uf_crm_flag", "boolean", DYNAMIC).with_item_name("ufCrmFlag"),
        meta("UF_CRM_DOCS", "uf_crm_docs", "file", DYNAMIC).with_item_name("ufCrmDocs"),
        meta("PHONE", "phone", MULTIFIELD, 0),
        meta("FM", "fm", MULTIFIELD, 0).with_item_name("fm"),
    ];

    fn item_route() -> Route {
        Route {
            api: Api::Item,
            prefix: "crm.item",
            entity_type_id: 1030,
            field: |name| {
                FIELDS
                    .iter()
                    .find(|m| m.code == name || m.item_name == name)
            },
            named: true,
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn filters_orders_and_selects_use_item_names() {
        let route = item_route();
        let p = route.list_params(
            &map(json!({">=OPPORTUNITY": "10.50", "!@UF_CRM_FLAG": ["Y", "N"], "=NEW_FIELD": 1})),
            &map(json!({"OPPORTUNITY": "DESC"})),
            &[
                "ID".into(),
                "OPPORTUNITY".into(),
                "PHONE".into(),
                "UF_*".into(),
            ],
        );
        assert_eq!(
            Value::Object(p),
            json!({"entityTypeId": 1030,
                   "filter": {">=OPPORTUNITY": "10.50", "!@ufCrmFlag": [1, 0], "=NEW_FIELD": 1},
                   "order": {"OPPORTUNITY": "DESC"},
                   "select": ["*", "id", "OPPORTUNITY"]})
        );
        assert_eq!(route.cursor_key("<=ID"), "<=id");
        assert_eq!(route.row_id_ref("c3", 49), "$result[c3][items][49][id]");
        let legacy = Route::default();
        assert_eq!(legacy.cursor_key(">ID"), ">ID");
        assert_eq!(legacy.row_id_ref("c3", 49), "$result[c3][49][ID]");
    }

    #[test]
    fn writes_use_item_names_and_forms() {
        let route = item_route();
        let fields = route
            .item_fields(map(json!({
                "UF_CRM_DOCS": [{"fileData": ["a.pdf", "QQ=="]}, {"id": 5}],
                "PHONE": [{"VALUE_TYPE": "WORK", "VALUE": "+1"}, {"ID": 9, "VALUE": ""}],
                "FM": [{"VALUE_TYPE": "HOME", "VALUE": "a@b.c", "TYPE_ID": "EMAIL"}]
            })))
            .unwrap();
        assert_eq!(
            Value::Object(fields),
            json!({"ufCrmDocs": [["a.pdf", "QQ=="], {"id": 5}],
                   "fm": {"n0": {"typeId": "PHONE", "valueType": "WORK", "value": "+1"},
                          "9": {"typeId": "PHONE", "value": ""},
                          "n1": {"typeId": "EMAIL", "valueType": "HOME", "value": "a@b.c"}}})
        );
        let e = route
            .item_fields(map(json!({"FM": [{"VALUE_TYPE": "HOME", "VALUE": "x"}]})))
            .unwrap_err();
        assert!(e.contains("type_id"), "{e}");
        let e = route.item_fields(map(json!({"PHONE": "+1"}))).unwrap_err();
        assert!(e.contains("PHONE"), "{e}");
    }

    #[test]
    fn answers_read_by_route() {
        let (item, legacy) = (item_route(), Route::default());
        assert_eq!(item.new_id("m", &json!({"item": {"id": 7}})).unwrap(), 7);
        assert!(item.new_id("m", &json!(7)).is_err());
        assert_eq!(legacy.new_id("m", &json!("7")).unwrap(), 7);
        assert!(item.confirm_delete("m", &json!([])).is_ok());
        assert!(legacy.confirm_delete("m", &json!([])).is_err());
        assert!(
            item.confirm_update("m", &json!({"item": {"id": 7}}))
                .is_ok()
        );
        assert!(legacy.confirm_update("m", &json!({"item": {}})).is_err());
        assert_eq!(item.record(&json!({"item": {"id": 7}})), &json!({"id": 7}));
        assert_eq!(
            item.descriptors(json!({"fields": {"id": {}}})),
            json!({"id": {}})
        );
        assert_eq!(
            Value::Object(item.id_body(Some(3))),
            json!({"entityTypeId": 1030, "id": 3})
        );
    }
}

//! The portal's deal fields: descriptors as `crm.deal.fields` returns them, how each field is
//! stored, and the user-field metadata behind `crm.deal.userfield.*`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// The demo portal (`schemas/demo/deal.json`).
pub(crate) const DEMO_SNAPSHOT: &str = include_str!("../portals/demo-deal.json");
/// The seed documentation's portal (`schemas/seed/deal.json`).
pub(crate) const SEED_SNAPSHOT: &str = include_str!("../portals/seed-deal.json");

/// The seed documentation's field set as a snapshot value.
pub(crate) fn seed_portal_fields() -> Value {
    serde_json::from_str(SEED_SNAPSHOT).expect("schemas/seed/deal.json is valid JSON")
}

/// How a field's values are stored, compared and shown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// The deal id (the key of the store).
    Id,
    /// Whole numbers and ids: integer, user, employee, crm_company, crm_contact, crm_lead,
    /// crm_quote, crm_entity, crm_category, iblock_*.
    Int,
    /// Standard `double` fields (DECIMAL(18,2)): stored in cents, shown as "1000.00".
    Cents,
    /// User field `double`, rounded to its precision.
    Float(u8),
    /// `char`: "Y" / "N".
    Char,
    /// User field `boolean`: 1 / 0.
    Bool,
    /// Text: string, url, crm_status, crm_currency, location, address, crm, money.
    Text,
    /// Date (days since 1970-01-01).
    Date,
    /// Date and time (unix seconds).
    DateTime,
    /// Enumeration item id.
    Enum,
    /// File id.
    File,
    /// A multifield value (`crm_multifield`): see [`crate::multifields`].
    Multifield,
    /// Any other type: the raw JSON value.
    Raw,
}

impl Kind {
    fn of(ty: &str, code: &str, uf: bool, settings: Option<&Value>) -> Kind {
        match ty {
            "integer" if code == "ID" => Kind::Id,
            "integer" | "user" | "employee" | "crm_company" | "crm_contact" | "crm_lead"
            | "crm_quote" | "crm_entity" | "crm_category" | "crm_deal" | "iblock_element"
            | "iblock_section" => Kind::Int,
            "double" if uf => {
                let precision = settings
                    .and_then(|s| s.get("PRECISION"))
                    .and_then(|p| p.as_u64().or_else(|| p.as_str()?.parse().ok()))
                    .unwrap_or(2)
                    .min(12) as u8;
                Kind::Float(precision)
            }
            "double" => Kind::Cents,
            "char" => Kind::Char,
            "boolean" => Kind::Bool,
            "string" | "url" | "crm_status" | "crm_currency" | "location" | "address" | "crm"
            | "money" | "text" => Kind::Text,
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "enumeration" => Kind::Enum,
            "file" => Kind::File,
            "crm_multifield" => Kind::Multifield,
            _ => Kind::Raw,
        }
    }
}

/// One item of an enumeration user field.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EnumItem {
    pub id: u32,
    pub value: String,
    pub sort: u32,
    pub def: bool,
    pub xml_id: String,
}

/// What `crm.deal.userfield.*` knows about a user field beyond its descriptor.
#[derive(Clone, Debug)]
pub(crate) struct UfMeta {
    pub id: u32,
    pub xml_id: Option<String>,
    pub sort: u32,
    pub show_filter: String,
    pub show_in_list: String,
    pub edit_in_list: String,
    pub is_searchable: String,
    pub edit_form_label: String,
    pub list_column_label: String,
    pub list_filter_label: String,
    pub error_message: Option<String>,
    pub help_message: Option<String>,
    pub settings: Value,
    pub items: Vec<EnumItem>,
}

/// Where a field's values live in a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The deal id.
    Key,
    /// `Row::cells[i]`.
    Single(u16),
    /// `Row::multi` entry `i`.
    Multi(u16),
}

/// One deal field.
#[derive(Clone, Debug)]
pub(crate) struct FieldDef {
    pub code: String,
    /// The `crm.item.*` name (`title`, `createdTime`, `ufCrm_...`).
    pub item: String,
    pub ty: String,
    pub kind: Kind,
    pub multiple: bool,
    pub read_only: bool,
    pub immutable: bool,
    pub required: bool,
    pub uf: bool,
    pub slot: Slot,
    /// LIKE is turned into `=` for this field (crm_status, crm_contact, crm_company).
    pub like_exact: bool,
    /// The reference list of a `crm_status` field (`statusType` or `settings.ENTITY_TYPE`).
    pub status_entity: Option<String>,
    /// The descriptor `crm.deal.fields` shows.
    pub descriptor: Map<String, Value>,
    pub uf_meta: Option<UfMeta>,
}

impl FieldDef {
    /// The enumeration items of this field.
    pub(crate) fn items(&self) -> &[EnumItem] {
        self.uf_meta
            .as_ref()
            .map(|m| m.items.as_slice())
            .unwrap_or(&[])
    }

    /// The label shown in forms (for error messages).
    pub(crate) fn label(&self) -> &str {
        if let Some(m) = &self.uf_meta {
            if !m.edit_form_label.is_empty() {
                return &m.edit_form_label;
            }
        }
        self.descriptor
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or(&self.code)
    }

    /// Rewrites the descriptor of a user field from its metadata.
    fn rebuild_uf_descriptor(&mut self) {
        let Some(meta) = &self.uf_meta else { return };
        let mut d = Map::new();
        d.insert("type".into(), Value::from(self.ty.clone()));
        d.insert("isRequired".into(), Value::Bool(self.required));
        d.insert("isReadOnly".into(), Value::Bool(false));
        d.insert("isImmutable".into(), Value::Bool(false));
        d.insert("isMultiple".into(), Value::Bool(self.multiple));
        d.insert("isDynamic".into(), Value::Bool(true));
        if self.ty == "enumeration" {
            d.insert(
                "items".into(),
                Value::Array(
                    meta.items
                        .iter()
                        .map(|i| json!({"ID": i.id.to_string(), "VALUE": i.value}))
                        .collect(),
                ),
            );
        }
        d.insert("settings".into(), meta.settings.clone());
        d.insert("title".into(), Value::from(self.code.clone()));
        d.insert(
            "listLabel".into(),
            Value::from(meta.list_column_label.clone()),
        );
        d.insert(
            "formLabel".into(),
            Value::from(meta.edit_form_label.clone()),
        );
        d.insert(
            "filterLabel".into(),
            Value::from(meta.list_filter_label.clone()),
        );
        self.descriptor = d;
    }

    /// The `crm.deal.userfield.get` / `list` object of a user field, its labels in `labels`
    /// form.
    pub(crate) fn userfield_json(&self, labels: Labels, uf_entity: &str) -> Option<Value> {
        let meta = self.uf_meta.as_ref()?;
        let mut o = json!({
            "ID": meta.id.to_string(),
            "ENTITY_ID": uf_entity,
            "FIELD_NAME": self.code,
            "USER_TYPE_ID": self.ty,
            "XML_ID": meta.xml_id,
            "SORT": meta.sort.to_string(),
            "MULTIPLE": yn(self.multiple),
            "MANDATORY": yn(self.required),
            "SHOW_FILTER": meta.show_filter,
            "SHOW_IN_LIST": meta.show_in_list,
            "EDIT_IN_LIST": meta.edit_in_list,
            "IS_SEARCHABLE": meta.is_searchable,
            "SETTINGS": meta.settings,
        });
        let texts = [
            ("EDIT_FORM_LABEL", Some(&meta.edit_form_label)),
            ("LIST_COLUMN_LABEL", Some(&meta.list_column_label)),
            ("LIST_FILTER_LABEL", Some(&meta.list_filter_label)),
            ("ERROR_MESSAGE", meta.error_message.as_ref()),
            ("HELP_MESSAGE", meta.help_message.as_ref()),
        ];
        for (key, text) in texts {
            let v = match labels {
                Labels::Omit => continue,
                Labels::Text => json!(text),
                // The one stored text in every language ("when a string is passed, it is set
                // for each language"); an unset message is "" everywhere.
                Labels::Languages => Value::Object(
                    LANGUAGES
                        .iter()
                        .map(|l| ((*l).to_owned(), json!(text.map_or("", String::as_str))))
                        .collect(),
                ),
            };
            o[key] = v;
        }
        if self.ty == "enumeration" {
            o["LIST"] = Value::Array(
                meta.items
                    .iter()
                    .map(|i| {
                        json!({
                            "ID": i.id.to_string(),
                            "SORT": i.sort.to_string(),
                            "VALUE": i.value,
                            "DEF": yn(i.def),
                            "XML_ID": i.xml_id,
                        })
                    })
                    .collect(),
            );
        }
        Some(o)
    }
}

/// How `userfield_json` shows the labels and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Labels {
    /// Per language (`crm.deal.userfield.get`).
    Languages,
    /// As text (`crm.deal.userfield.list` with `filter[LANG]`).
    Text,
    /// Left out (`crm.deal.userfield.list` without `LANG`).
    Omit,
}

/// The languages of a label map, as in the documented `crm.deal.userfield.get` answer.
const LANGUAGES: [&str; 21] = [
    "ar", "br", "de", "en", "fr", "hi", "id", "in", "it", "ja", "kz", "la", "ms", "pl", "ru", "sc",
    "tc", "th", "tr", "ua", "vn",
];

fn yn(b: bool) -> &'static str {
    if b { "Y" } else { "N" }
}

/// Field indexes of the standard fields with server-side behaviour.
#[derive(Clone, Debug, Default)]
pub(crate) struct Std {
    pub title: Option<usize>,
    pub type_id: Option<usize>,
    pub category_id: Option<usize>,
    pub stage_id: Option<usize>,
    pub previous_stage_id: Option<usize>,
    pub stage_semantic_id: Option<usize>,
    pub is_new: Option<usize>,
    pub closed: Option<usize>,
    pub currency_id: Option<usize>,
    pub opportunity: Option<usize>,
    pub company_id: Option<usize>,
    pub contact_id: Option<usize>,
    pub contact_ids: Option<usize>,
    pub begindate: Option<usize>,
    pub closedate: Option<usize>,
    pub assigned_by_id: Option<usize>,
    pub created_by_id: Option<usize>,
    pub modify_by_id: Option<usize>,
    pub moved_by_id: Option<usize>,
    pub date_create: Option<usize>,
    pub date_modify: Option<usize>,
    pub moved_time: Option<usize>,
    pub last_activity_time: Option<usize>,
    pub last_activity_by: Option<usize>,
    pub source_id: Option<usize>,
}

/// The portal's field layout.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub fields: Vec<FieldDef>,
    by_code: HashMap<String, usize>,
    pub singles: u16,
    pub multis: u16,
    pub std: Std,
    /// Show standard fields in descriptor order (every entity but deals, whose `get` follows
    /// the documented column order).
    pub descriptor_order: bool,
    next_uf_id: u32,
    pub next_item_id: u32,
}

/// Order of standard fields in a `crm.deal.get` answer (the database column order, as in the
/// documented example). Other standard fields follow in descriptor order, then
/// `LAST_ACTIVITY_BY`, then user fields.
const OUTPUT_ORDER: &[&str] = &[
    "ID",
    "TITLE",
    "TYPE_ID",
    "STAGE_ID",
    "PROBABILITY",
    "CURRENCY_ID",
    "OPPORTUNITY",
    "IS_MANUAL_OPPORTUNITY",
    "TAX_VALUE",
    "LEAD_ID",
    "COMPANY_ID",
    "CONTACT_ID",
    "QUOTE_ID",
    "BEGINDATE",
    "CLOSEDATE",
    "ASSIGNED_BY_ID",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "OPENED",
    "CLOSED",
    "COMMENTS",
    "ADDITIONAL_INFO",
    "LOCATION_ID",
    "CATEGORY_ID",
    "STAGE_SEMANTIC_ID",
    "IS_NEW",
    "IS_RECURRING",
    "IS_RETURN_CUSTOMER",
    "IS_REPEATED_APPROACH",
    "SOURCE_ID",
    "SOURCE_DESCRIPTION",
    "ORIGINATOR_ID",
    "ORIGIN_ID",
    "MOVED_BY_ID",
    "MOVED_TIME",
    "LAST_ACTIVITY_TIME",
    "UTM_SOURCE",
    "UTM_MEDIUM",
    "UTM_CAMPAIGN",
    "UTM_CONTENT",
    "UTM_TERM",
];

impl Layout {
    /// Reads a snapshot, a raw `crm.deal.fields` response or a bare `result` object.
    pub(crate) fn from_value(value: &Value) -> Result<Layout, String> {
        let fields = extract_fields(value)?;
        // A `crm.item.fields` answer: camelCase keys, legacy-style codes in `upperName`.
        let item_keyed = fields.values().any(|d| d.get("upperName").is_some());
        let mut layout = Layout {
            fields: Vec::new(),
            by_code: HashMap::new(),
            singles: 0,
            multis: 0,
            std: Std::default(),
            descriptor_order: false,
            next_uf_id: 101,
            next_item_id: 1,
        };
        let max_item = fields
            .values()
            .filter_map(|d| d.get("items").and_then(Value::as_array))
            .flatten()
            .filter_map(|i| i.get("ID").and_then(id_of))
            .max()
            .unwrap_or(0);
        layout.next_item_id = max_item + 2;
        for (code, descriptor) in fields {
            let Value::Object(descriptor) = descriptor else {
                return Err(format!(
                    "the descriptor of field {code} is not an object: give the `result` of crm.deal.fields unchanged"
                ));
            };
            let (code, item) = match descriptor.get("upperName").and_then(Value::as_str) {
                Some(upper) if item_keyed => (upper.to_owned(), code.clone()),
                _ => (code.clone(), crate::names::item_name(code)),
            };
            let mut descriptor = descriptor.clone();
            descriptor.remove("upperName");
            layout.push_descriptor(code, item, descriptor)?;
        }
        if !layout.by_code.contains_key("ID") {
            return Err(
                "the field list has no ID field: give the complete `result` of crm.deal.fields"
                    .to_owned(),
            );
        }
        Ok(layout)
    }

    fn push_descriptor(
        &mut self,
        code: String,
        item: String,
        descriptor: Map<String, Value>,
    ) -> Result<(), String> {
        let ty = descriptor
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!(
                    "field {code} has no `type`: give the `result` of crm.deal.fields unchanged"
                )
            })?
            .to_owned();
        let flag = |k: &str| descriptor.get(k).and_then(Value::as_bool).unwrap_or(false);
        let multiple = flag("isMultiple");
        let uf = flag("isDynamic") || code.starts_with("UF_");
        let settings = descriptor.get("settings");
        let kind = Kind::of(&ty, &code, uf, settings);
        let status_entity = if ty == "crm_status" {
            descriptor
                .get("statusType")
                .and_then(Value::as_str)
                .or_else(|| {
                    settings
                        .and_then(|s| s.get("ENTITY_TYPE"))
                        .and_then(Value::as_str)
                })
                .map(str::to_owned)
        } else {
            None
        };
        let uf_meta = if uf {
            let label = |k: &str| {
                descriptor
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or(&code)
                    .to_owned()
            };
            let items = descriptor
                .get("items")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .enumerate()
                        .filter_map(|(n, i)| {
                            Some(EnumItem {
                                id: i.get("ID").and_then(id_of)?,
                                value: i
                                    .get("VALUE")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                                sort: (n as u32 + 1) * 10,
                                def: i.get("DEF").and_then(Value::as_str) == Some("Y"),
                                xml_id: i
                                    .get("XML_ID")
                                    .and_then(Value::as_str)
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| format!("{:x}", 0x5f3a_0000u32 + n as u32)),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let id = self.next_uf_id;
            self.next_uf_id += 1;
            Some(UfMeta {
                id,
                xml_id: None,
                sort: 100,
                show_filter: "E".into(),
                show_in_list: "Y".into(),
                edit_in_list: "Y".into(),
                is_searchable: "N".into(),
                edit_form_label: label("formLabel"),
                list_column_label: label("listLabel"),
                list_filter_label: label("filterLabel"),
                error_message: None,
                help_message: None,
                settings: settings.cloned().unwrap_or(Value::Array(Vec::new())),
                items,
            })
        } else {
            None
        };
        let slot = if code == "ID" {
            Slot::Key
        } else if multiple {
            self.multis += 1;
            Slot::Multi(self.multis - 1)
        } else {
            self.singles += 1;
            Slot::Single(self.singles - 1)
        };
        if self.singles == u16::MAX || self.multis == u16::MAX {
            return Err("too many fields: the emulator supports at most 65,534 fields".into());
        }
        let def = FieldDef {
            like_exact: matches!(ty.as_str(), "crm_status" | "crm_contact" | "crm_company"),
            code: code.clone(),
            item,
            ty,
            kind,
            multiple,
            read_only: flag("isReadOnly"),
            immutable: flag("isImmutable"),
            required: flag("isRequired"),
            uf,
            slot,
            status_entity,
            descriptor,
            uf_meta,
        };
        let index = self.fields.len();
        self.fields.push(def);
        self.by_code.insert(code.clone(), index);
        if !uf {
            let s = &mut self.std;
            let target = match code.as_str() {
                "TITLE" => &mut s.title,
                "TYPE_ID" => &mut s.type_id,
                "CATEGORY_ID" => &mut s.category_id,
                "STAGE_ID" => &mut s.stage_id,
                "PREVIOUS_STAGE_ID" => &mut s.previous_stage_id,
                "STAGE_SEMANTIC_ID" => &mut s.stage_semantic_id,
                "IS_NEW" => &mut s.is_new,
                "CLOSED" => &mut s.closed,
                "CURRENCY_ID" => &mut s.currency_id,
                "OPPORTUNITY" => &mut s.opportunity,
                "COMPANY_ID" => &mut s.company_id,
                // A company's CONTACT_ID is its list of contacts (crm.company.contact.*).
                "CONTACT_ID" if multiple => &mut s.contact_ids,
                "CONTACT_ID" => &mut s.contact_id,
                "CONTACT_IDS" => &mut s.contact_ids,
                "BEGINDATE" => &mut s.begindate,
                "CLOSEDATE" => &mut s.closedate,
                "ASSIGNED_BY_ID" => &mut s.assigned_by_id,
                // Smart processes name them the crm.item way.
                "CREATED_BY_ID" | "CREATED_BY" => &mut s.created_by_id,
                "MODIFY_BY_ID" | "UPDATED_BY" => &mut s.modify_by_id,
                "MOVED_BY_ID" | "MOVED_BY" => &mut s.moved_by_id,
                "DATE_CREATE" | "CREATED_TIME" => &mut s.date_create,
                "DATE_MODIFY" | "UPDATED_TIME" => &mut s.date_modify,
                "MOVED_TIME" => &mut s.moved_time,
                "LAST_ACTIVITY_TIME" => &mut s.last_activity_time,
                "LAST_ACTIVITY_BY" => &mut s.last_activity_by,
                "SOURCE_ID" => &mut s.source_id,
                _ => return Ok(()),
            };
            *target = Some(index);
        }
        Ok(())
    }

    /// The field with this code (case-sensitive, as on the server).
    pub(crate) fn index(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    /// The field with this code.
    #[cfg(test)]
    pub(crate) fn get(&self, code: &str) -> Option<&FieldDef> {
        self.index(code).map(|i| &self.fields[i])
    }

    /// The field with this `crm.item.*` name, or its upper name (`ID`, `CREATED_TIME`, a user
    /// field's `UF_` code), as the portal converts keys to upper case first.
    pub(crate) fn item_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.item == name).or_else(|| {
            self.fields
                .iter()
                .position(|f| crate::names::upper_name(&f.item, &f.code, f.uf) == name)
        })
    }

    /// The `fields` of `crm.item.fields`: item names (user fields under their `UF_` codes
    /// with `original_uf_names`), each descriptor with its `upperName`.
    pub(crate) fn item_fields_json(&self, original_uf_names: bool) -> Value {
        let mut m = Map::new();
        let mut multifields = false;
        for f in &self.fields {
            // The multifields are one `fm` field on crm.item (object-fields.md).
            if f.kind == Kind::Multifield {
                multifields = true;
                continue;
            }
            let mut d = f.descriptor.clone();
            d.insert(
                "upperName".into(),
                Value::String(crate::names::upper_name(&f.item, &f.code, f.uf)),
            );
            let key = if f.uf && original_uf_names {
                f.code.clone()
            } else {
                f.item.clone()
            };
            m.insert(key, Value::Object(d));
        }
        if multifields {
            m.insert(
                "fm".into(),
                json!({
                    "type": "crm_multifield",
                    "isRequired": false,
                    "isReadOnly": false,
                    "isImmutable": false,
                    "isMultiple": true,
                    "isDynamic": false,
                    "title": "fm",
                    "upperName": "FM",
                }),
            );
        }
        Value::Object(m)
    }

    /// The `result` of `crm.deal.fields`.
    pub(crate) fn fields_json(&self) -> Value {
        let mut m = Map::new();
        for f in &self.fields {
            m.insert(f.code.clone(), Value::Object(f.descriptor.clone()));
        }
        Value::Object(m)
    }

    /// Field indexes in the order `crm.deal.get` shows them (`CONTACT_IDS` excluded).
    pub(crate) fn output_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.fields.len());
        let mut seen = vec![false; self.fields.len()];
        let columns: &[&str] = if self.descriptor_order {
            &[]
        } else {
            OUTPUT_ORDER
        };
        for code in columns {
            if let Some(i) = self.index(code) {
                out.push(i);
                seen[i] = true;
            }
        }
        let tail = self.index("LAST_ACTIVITY_BY");
        for (i, f) in self.fields.iter().enumerate() {
            if !seen[i]
                && !f.uf
                && Some(i) != tail
                && f.code != "CONTACT_IDS"
                && f.kind != Kind::Multifield
            {
                out.push(i);
            }
        }
        if let Some(t) = tail {
            out.push(t);
        }
        // User fields, then the multifields (the documented crm.contact.get).
        for (i, f) in self.fields.iter().enumerate() {
            if f.uf {
                out.push(i);
            }
        }
        for (i, f) in self.fields.iter().enumerate() {
            if f.kind == Kind::Multifield && !f.uf {
                out.push(i);
            }
        }
        out
    }

    /// User fields by their `crm.deal.userfield` id.
    pub(crate) fn uf_by_id(&self, id: u32) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.uf_meta.as_ref().is_some_and(|m| m.id == id))
    }

    /// Adds a user field (`crm.deal.userfield.add`); returns its id.
    pub(crate) fn add_user_field(
        &mut self,
        spec: UserFieldSpec,
        uf_entity: &str,
    ) -> Result<u32, String> {
        if self.by_code.contains_key(&spec.code) {
            return Err(format!(
                "Field with name {} already exists for entity {uf_entity}",
                spec.code
            ));
        }
        let mut settings = default_settings(&spec.ty);
        if let (Value::Object(base), Some(Value::Object(given))) = (&mut settings, &spec.settings) {
            for (k, v) in given {
                base.insert(k.clone(), v.clone());
            }
        } else if let Some(given @ Value::Object(_)) = &spec.settings {
            settings = given.clone();
        }
        let mut items = Vec::new();
        for (n, item) in spec.items.into_iter().enumerate() {
            items.push(EnumItem {
                id: self.next_item_id,
                value: item.value,
                sort: item.sort.unwrap_or((n as u32 + 1) * 10),
                def: item.def,
                xml_id: item.xml_id.unwrap_or_else(|| {
                    format!("{:032x}", u128::from(self.next_item_id) * 0x9e37_79b9)
                }),
            });
            self.next_item_id += 2;
        }
        let code = spec.code.clone();
        let mut descriptor = Map::new();
        descriptor.insert("type".into(), Value::from(spec.ty.clone()));
        descriptor.insert("isMultiple".into(), Value::Bool(spec.multiple));
        descriptor.insert("isDynamic".into(), Value::Bool(true));
        descriptor.insert("isRequired".into(), Value::Bool(spec.mandatory));
        descriptor.insert("settings".into(), settings);
        self.push_descriptor(code.clone(), crate::names::item_name(&code), descriptor)?;
        let index = self.by_code[&code];
        let f = &mut self.fields[index];
        let meta = f.uf_meta.as_mut().expect("user fields have metadata");
        let label = |l: &Option<String>| l.clone().unwrap_or_else(|| code.clone());
        meta.edit_form_label = label(&spec.edit_form_label);
        meta.list_column_label = label(&spec.list_column_label);
        meta.list_filter_label = label(&spec.list_filter_label);
        meta.xml_id = spec.xml_id;
        meta.sort = spec.sort.unwrap_or(100);
        meta.show_filter = spec.show_filter.unwrap_or_else(|| "N".into());
        meta.show_in_list = spec.show_in_list.unwrap_or_else(|| "Y".into());
        meta.edit_in_list = spec.edit_in_list.unwrap_or_else(|| "Y".into());
        meta.is_searchable = spec.is_searchable.unwrap_or_else(|| "N".into());
        meta.error_message = spec.error_message;
        meta.help_message = spec.help_message;
        meta.items = items;
        let id = meta.id;
        f.rebuild_uf_descriptor();
        Ok(id)
    }

    /// Applies `crm.deal.userfield.update` to the user field at `index`.
    pub(crate) fn update_user_field(&mut self, index: usize, upd: UserFieldUpdate) {
        let mut next_item_id = self.next_item_id;
        let f = &mut self.fields[index];
        if let Some(m) = upd.mandatory {
            f.required = m;
        }
        let Some(meta) = f.uf_meta.as_mut() else {
            return;
        };
        if let Some(v) = upd.edit_form_label {
            meta.edit_form_label = v;
        }
        if let Some(v) = upd.list_column_label {
            meta.list_column_label = v;
        }
        if let Some(v) = upd.list_filter_label {
            meta.list_filter_label = v;
        }
        if let Some(v) = upd.error_message {
            meta.error_message = Some(v);
        }
        if let Some(v) = upd.help_message {
            meta.help_message = Some(v);
        }
        if let Some(v) = upd.sort {
            meta.sort = v;
        }
        if let Some(v) = upd.xml_id {
            meta.xml_id = Some(v);
        }
        if let Some(Value::Object(given)) = upd.settings {
            if let Value::Object(base) = &mut meta.settings {
                for (k, v) in given {
                    base.insert(k, v);
                }
            } else {
                meta.settings = Value::Object(given);
            }
        }
        for v in [
            (&mut meta.show_filter, upd.show_filter),
            (&mut meta.show_in_list, upd.show_in_list),
            (&mut meta.edit_in_list, upd.edit_in_list),
            (&mut meta.is_searchable, upd.is_searchable),
        ] {
            if let Some(new) = v.1 {
                *v.0 = new;
            }
        }
        if let Some(list) = upd.items {
            for item in list {
                match item.id {
                    Some(id) => {
                        if item.delete {
                            meta.items.retain(|i| i.id != id);
                        } else if let Some(existing) = meta.items.iter_mut().find(|i| i.id == id) {
                            if !item.value.is_empty() {
                                existing.value = item.value;
                            }
                            if let Some(s) = item.sort {
                                existing.sort = s;
                            }
                            existing.def = item.def;
                            if let Some(x) = item.xml_id {
                                existing.xml_id = x;
                            }
                        }
                    }
                    None if !item.delete && !item.value.is_empty() => {
                        let n = meta.items.len() as u32;
                        meta.items.push(EnumItem {
                            id: next_item_id,
                            value: item.value,
                            sort: item.sort.unwrap_or((n + 1) * 10),
                            def: item.def,
                            xml_id: item.xml_id.unwrap_or_else(|| {
                                format!("{:032x}", u128::from(next_item_id) * 0x9e37_79b9)
                            }),
                        });
                        next_item_id += 2;
                    }
                    None => {}
                }
            }
            meta.items.sort_by_key(|i| (i.sort, i.id));
        }
        f.rebuild_uf_descriptor();
        self.next_item_id = next_item_id;
    }

    /// Removes the user field at `index` (its slot is not reused, so old values never come
    /// back under another field).
    pub(crate) fn remove_field(&mut self, index: usize) {
        self.fields.remove(index);
        self.by_code.clear();
        for (i, f) in self.fields.iter().enumerate() {
            self.by_code.insert(f.code.clone(), i);
        }
        let mut std = Std::default();
        std::mem::swap(&mut std, &mut self.std);
        // Standard fields are never removed, but indexes after `index` shift.
        let shift = |o: Option<usize>| o.map(|i| if i > index { i - 1 } else { i });
        self.std = Std {
            title: shift(std.title),
            type_id: shift(std.type_id),
            category_id: shift(std.category_id),
            stage_id: shift(std.stage_id),
            previous_stage_id: shift(std.previous_stage_id),
            stage_semantic_id: shift(std.stage_semantic_id),
            is_new: shift(std.is_new),
            closed: shift(std.closed),
            currency_id: shift(std.currency_id),
            opportunity: shift(std.opportunity),
            company_id: shift(std.company_id),
            contact_id: shift(std.contact_id),
            contact_ids: shift(std.contact_ids),
            begindate: shift(std.begindate),
            closedate: shift(std.closedate),
            assigned_by_id: shift(std.assigned_by_id),
            created_by_id: shift(std.created_by_id),
            modify_by_id: shift(std.modify_by_id),
            moved_by_id: shift(std.moved_by_id),
            date_create: shift(std.date_create),
            date_modify: shift(std.date_modify),
            moved_time: shift(std.moved_time),
            last_activity_time: shift(std.last_activity_time),
            last_activity_by: shift(std.last_activity_by),
            source_id: shift(std.source_id),
        };
    }
}

/// A new user field (`crm.deal.userfield.add`).
#[derive(Clone, Debug, Default)]
pub(crate) struct UserFieldSpec {
    pub code: String,
    pub ty: String,
    pub multiple: bool,
    pub mandatory: bool,
    pub xml_id: Option<String>,
    pub sort: Option<u32>,
    pub show_filter: Option<String>,
    pub show_in_list: Option<String>,
    pub edit_in_list: Option<String>,
    pub is_searchable: Option<String>,
    pub edit_form_label: Option<String>,
    pub list_column_label: Option<String>,
    pub list_filter_label: Option<String>,
    pub error_message: Option<String>,
    pub help_message: Option<String>,
    pub settings: Option<Value>,
    pub items: Vec<ItemSpec>,
}

/// Changes to a user field (`crm.deal.userfield.update`).
#[derive(Clone, Debug, Default)]
pub(crate) struct UserFieldUpdate {
    pub mandatory: Option<bool>,
    pub xml_id: Option<String>,
    pub sort: Option<u32>,
    pub show_filter: Option<String>,
    pub show_in_list: Option<String>,
    pub edit_in_list: Option<String>,
    pub is_searchable: Option<String>,
    pub edit_form_label: Option<String>,
    pub list_column_label: Option<String>,
    pub list_filter_label: Option<String>,
    pub error_message: Option<String>,
    pub help_message: Option<String>,
    pub settings: Option<Value>,
    pub items: Option<Vec<ItemSpec>>,
}

/// An enumeration item in `LIST`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ItemSpec {
    pub id: Option<u32>,
    pub value: String,
    pub sort: Option<u32>,
    pub def: bool,
    pub xml_id: Option<String>,
    pub delete: bool,
}

/// User field types `crm.deal.userfield.add` accepts.
pub(crate) const USER_TYPES: &[&str] = &[
    "string",
    "integer",
    "double",
    "boolean",
    "date",
    "datetime",
    "money",
    "url",
    "address",
    "enumeration",
    "file",
    "employee",
    "crm_status",
    "iblock_element",
    "iblock_section",
    "crm",
    "resourcebooking",
];

/// Default `settings` of a new user field, as a portal fills them.
pub(crate) fn default_settings(ty: &str) -> Value {
    match ty {
        "string" => {
            json!({"SIZE": 20, "ROWS": 1, "REGEXP": "", "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": ""})
        }
        "integer" => json!({"SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": null}),
        "double" => {
            json!({"PRECISION": 2, "SIZE": 20, "MIN_VALUE": 0.0, "MAX_VALUE": 0.0, "DEFAULT_VALUE": null})
        }
        "boolean" => {
            json!({"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX", "LABEL": ["", ""], "LABEL_CHECKBOX": ""})
        }
        "date" => json!({"DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}}),
        "datetime" => {
            json!({"DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}, "USE_SECOND": "Y", "USE_TIMEZONE": "N"})
        }
        "money" => json!({"DEFAULT_VALUE": ""}),
        "url" => {
            json!({"POPUP": "Y", "SIZE": 20, "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": "", "ROWS": 1})
        }
        "address" => json!({"SHOW_MAP": "Y"}),
        "enumeration" => {
            json!({"DISPLAY": "LIST", "LIST_HEIGHT": 1, "CAPTION_NO_VALUE": "", "SHOW_NO_VALUE": "Y"})
        }
        "file" => {
            json!({"SIZE": 20, "LIST_WIDTH": 0, "LIST_HEIGHT": 0, "MAX_SHOW_SIZE": 0, "MAX_ALLOWED_SIZE": 0, "EXTENSIONS": [], "TARGET_BLANK": "Y"})
        }
        "crm_status" => json!({"ENTITY_TYPE": "INDUSTRY"}),
        "iblock_element" | "iblock_section" => {
            json!({"IBLOCK_TYPE_ID": "", "IBLOCK_ID": 0, "DEFAULT_VALUE": "", "DISPLAY": "LIST", "LIST_HEIGHT": 5, "ACTIVE_FILTER": "N"})
        }
        "crm" => json!({"LEAD": "N", "CONTACT": "Y", "COMPANY": "Y", "DEAL": "N"}),
        _ => Value::Array(Vec::new()),
    }
}

fn id_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn extract_fields(value: &Value) -> Result<&Map<String, Value>, String> {
    let obj = value.as_object().ok_or_else(|| {
        "the fields file is not a JSON object: give a snapshot (schemas/*/deal.json) or a saved crm.deal.fields response".to_owned()
    })?;
    if let Some(Value::Object(f)) = obj.get("fields") {
        return Ok(f);
    }
    if let Some(Value::Object(r)) = obj.get("result") {
        if let Some(Value::Object(f)) = r.get("fields") {
            return Ok(f);
        }
        return Ok(r);
    }
    if obj.contains_key("ID") {
        return Ok(obj);
    }
    Err("the fields file has neither `fields` (a snapshot) nor `result` (a crm.deal.fields response): give one of those".to_owned())
}

/// A `crm_rest_field_description` as the documented examples give it.
pub(crate) fn descriptor(
    ty: &str,
    required: bool,
    read_only: bool,
    immutable: bool,
    title: &str,
) -> Map<String, Value> {
    let v = json!({
        "type": ty,
        "isRequired": required,
        "isReadOnly": read_only,
        "isImmutable": immutable,
        "isMultiple": false,
        "isDynamic": false,
        "title": title,
    });
    v.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_portal_layout() {
        let v: Value = serde_json::from_str(DEMO_SNAPSHOT).unwrap();
        let l = Layout::from_value(&v).unwrap();
        assert_eq!(l.fields.len(), 80);
        let id = l.get("ID").unwrap();
        assert_eq!(id.kind, Kind::Id);
        assert_eq!(l.get("OPPORTUNITY").unwrap().kind, Kind::Cents);
        assert_eq!(l.get("UF_CRM_1721244523457").unwrap().kind, Kind::Float(3));
        assert!(l.get("CONTACT_IDS").unwrap().multiple);
        assert!(l.get("STAGE_ID").unwrap().like_exact);
        assert_eq!(
            l.get("UF_CRM_1721244656789")
                .unwrap()
                .status_entity
                .as_deref(),
            Some("INDUSTRY")
        );
        assert_eq!(l.get("UF_CRM_1721244590123").unwrap().items().len(), 4);
        assert_eq!(l.fields_json(), v["fields"]);
    }

    #[test]
    fn raw_response_and_bare_result_are_accepted() {
        let v: Value = serde_json::from_str(SEED_SNAPSHOT).unwrap();
        let raw = json!({"result": v["fields"], "time": {}});
        assert_eq!(Layout::from_value(&raw).unwrap().fields.len(), 47);
        assert_eq!(Layout::from_value(&v["fields"]).unwrap().fields.len(), 47);
        let err = Layout::from_value(&json!({"x": 1})).unwrap_err();
        assert!(err.contains("snapshot"), "{err}");
    }

    #[test]
    fn output_order_matches_the_documented_get() {
        let l = Layout::from_value(&seed_portal_fields()).unwrap();
        let codes: Vec<&str> = l
            .output_order()
            .into_iter()
            .map(|i| l.fields[i].code.as_str())
            .collect();
        assert_eq!(codes.len(), 46);
        assert_eq!(
            &codes[43..],
            ["PARENT_ID_1220", "LAST_ACTIVITY_BY", "UF_CRM_1721244482250"]
        );
    }

    #[test]
    fn new_user_fields_get_descriptors_and_fresh_item_ids() {
        let v: Value = serde_json::from_str(DEMO_SNAPSHOT).unwrap();
        let mut l = Layout::from_value(&v).unwrap();
        let id = l
            .add_user_field(
                UserFieldSpec {
                    code: "UF_CRM_COLOR".into(),
                    ty: "enumeration".into(),
                    edit_form_label: Some("Цвет".into()),
                    items: vec![
                        ItemSpec {
                            value: "Красный".into(),
                            ..ItemSpec::default()
                        },
                        ItemSpec {
                            value: "Синий".into(),
                            ..ItemSpec::default()
                        },
                    ],
                    ..UserFieldSpec::default()
                },
                "CRM_DEAL",
            )
            .unwrap();
        let f = &l.fields[l.uf_by_id(id).unwrap()];
        let items = f.descriptor["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let first: u32 = items[0]["ID"].as_str().unwrap().parse().unwrap();
        assert!(first > 3492, "fresh ids follow the existing ones");
        assert_eq!(f.descriptor["formLabel"], "Цвет");
        assert_eq!(f.descriptor["listLabel"], "UF_CRM_COLOR");
        assert_eq!(f.descriptor["title"], "UF_CRM_COLOR");
        assert!(
            l.add_user_field(
                UserFieldSpec {
                    code: "UF_CRM_COLOR".into(),
                    ty: "string".into(),
                    ..UserFieldSpec::default()
                },
                "CRM_DEAL"
            )
            .is_err()
        );
    }
}

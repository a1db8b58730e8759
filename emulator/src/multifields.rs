//! Multifields (`PHONE`, `EMAIL`, `WEB`, `IM`, `LINK` of leads, contacts and companies,
//! `data-types.md#crm_multifield`): each value has its own id, a value type and the text.
//!
//! Stored as interned text cells `"{id}\x1f{VALUE_TYPE}\x1f{VALUE}"` in the field's multiple
//! slot. Writes follow `crm-contact-update.md` and `crm-item-update.md`: an entry without an
//! id (a list item, or under a key `n0`, `n1`, ...) adds a value; an entry whose `ID` is one of
//! the record's values changes it, or deletes it with an empty or missing `VALUE` or with
//! `DELETE: "Y"`; an `ID` the record does not have adds a new value. The docs do not say what
//! the portal does with an unknown `VALUE_TYPE`: the emulator keeps it as given (nothing is
//! lost); a missing one is the kind's first type (`WORK`, for `IM` `OTHER`, for `LINK` `USER`).

use serde_json::{Map, Value, json};

use crate::values::{php_intval, php_string};

const SEP: char = '\u{1f}';

/// One stored value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub id: u32,
    pub value_type: String,
    pub value: String,
}

impl Entry {
    /// The stored text.
    pub(crate) fn encode(&self) -> String {
        format!("{}{SEP}{}{SEP}{}", self.id, self.value_type, self.value)
    }

    /// The entry behind stored text (an unreadable one is id 0, empty).
    pub(crate) fn decode(text: &str) -> Entry {
        let mut parts = text.splitn(3, SEP);
        let id = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Entry {
            id,
            value_type: parts.next().unwrap_or("").to_owned(),
            value: parts.next().unwrap_or("").to_owned(),
        }
    }

    /// The value part of stored text (what filters compare).
    pub(crate) fn value_of(text: &str) -> &str {
        text.splitn(3, SEP).nth(2).unwrap_or("")
    }

    /// The legacy form: `{"ID": "12", "VALUE_TYPE": "WORK", "VALUE": "+7...", "TYPE_ID": "PHONE"}`.
    pub(crate) fn legacy_json(&self, type_id: &str) -> Value {
        json!({
            "ID": self.id.to_string(),
            "VALUE_TYPE": self.value_type,
            "VALUE": self.value,
            "TYPE_ID": type_id,
        })
    }

    /// The `fm` form of `crm.item.*`: `{"id": 12, "valueType", "value", "typeId"}`.
    pub(crate) fn item_json(&self, type_id: &str) -> Value {
        json!({
            "id": self.id,
            "valueType": self.value_type,
            "value": self.value,
            "typeId": type_id,
        })
    }
}

/// The value type a new value gets when none is given.
fn default_value_type(type_id: &str) -> &'static str {
    match type_id {
        "IM" => "OTHER",
        "LINK" => "USER",
        _ => "WORK",
    }
}

/// A text member by name in any case (`VALUE` / `value`).
fn member<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// Applies a written value (list or object of entries) to the record's `current` values;
/// new ids come from `next_id`.
pub(crate) fn apply(
    type_id: &str,
    current: Vec<Entry>,
    written: &Value,
    next_id: &mut u32,
) -> Vec<Entry> {
    let mut out = current;
    let entries: Vec<(Option<&str>, &Value)> = match written {
        Value::Array(a) => a.iter().map(|v| (None, v)).collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (Some(k.as_str()), v)).collect(),
        _ => Vec::new(),
    };
    for (key, entry) in entries {
        let Value::Object(o) = entry else { continue };
        // The id: the entry's `ID`, else a numeric key (`fm: {"15": {...}}`).
        let id = member(o, "ID")
            .map(php_intval)
            .or_else(|| key.and_then(|k| k.parse::<i64>().ok()))
            .filter(|&id| id > 0);
        let value = member(o, "VALUE").and_then(php_string);
        let value_type = member(o, "VALUE_TYPE")
            .and_then(php_string)
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().to_ascii_uppercase());
        let delete = member(o, "DELETE")
            .and_then(php_string)
            .is_some_and(|d| d.eq_ignore_ascii_case("Y"));
        match id.and_then(|id| out.iter().position(|e| i64::from(e.id) == id)) {
            Some(pos) => match value.filter(|v| !v.is_empty() && !delete) {
                None => {
                    out.remove(pos);
                }
                Some(v) => {
                    out[pos].value = v;
                    if let Some(t) = value_type {
                        out[pos].value_type = t;
                    }
                }
            },
            None => {
                let Some(v) = value.filter(|v| !v.is_empty() && !delete) else {
                    continue;
                };
                out.push(Entry {
                    id: *next_id,
                    value_type: value_type
                        .unwrap_or_else(|| default_value_type(type_id).to_owned()),
                    value: v,
                });
                *next_id += 1;
            }
        }
    }
    out
}

/// `fm` of `crm.item.add/update` split into the legacy multifield values per `TYPE_ID`
/// (`{"PHONE": {"15": {"VALUE": ..., "VALUE_TYPE": ...}}, ...}`); entries without a `typeId`
/// are dropped.
pub(crate) fn split_fm(fm: &Value) -> Map<String, Value> {
    let entries: Vec<(String, &Value)> = match fm {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(n, v)| (format!("n{n}"), v))
            .collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), v)).collect(),
        _ => Vec::new(),
    };
    let mut out = Map::new();
    for (key, entry) in entries {
        let Value::Object(o) = entry else { continue };
        let Some(type_id) = member(o, "typeId").and_then(php_string) else {
            continue;
        };
        let mut legacy = Map::new();
        for (from, to) in [
            ("id", "ID"),
            ("value", "VALUE"),
            ("valueType", "VALUE_TYPE"),
        ] {
            if let Some(v) = member(o, from) {
                legacy.insert(to.into(), v.clone());
            }
        }
        // An entry under a `nN` key has no id; a missing value is a delete.
        if !legacy.contains_key("VALUE") {
            legacy.insert("VALUE".into(), Value::from(""));
        }
        if let Value::Object(by_key) = out
            .entry(type_id.to_ascii_uppercase())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            by_key.insert(key, Value::Object(legacy));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phones(list: &[(u32, &str, &str)]) -> Vec<Entry> {
        list.iter()
            .map(|(id, t, v)| Entry {
                id: *id,
                value_type: (*t).into(),
                value: (*v).into(),
            })
            .collect()
    }

    #[test]
    fn the_documented_update_rules() {
        let mut next = 300;
        let current = phones(&[
            (222, "WORK", "111111"),
            (223, "WORK", "222222"),
            (224, "WORK", "333333"),
            (225, "WORK", "44444"),
        ]);
        // crm-contact-update.md: change 223.
        let changed = apply(
            "PHONE",
            current.clone(),
            &json!([{"ID": 223, "VALUE": "444444", "VALUE_TYPE": "MOBILE"}]),
            &mut next,
        );
        assert_eq!(changed[1], phones(&[(223, "MOBILE", "444444")])[0]);
        // Delete all but 225: DELETE=Y, an empty VALUE, only the ID.
        let left = apply(
            "PHONE",
            current,
            &json!([{"ID": 222, "DELETE": "Y"}, {"ID": 223, "VALUE": ""}, {"ID": 224}]),
            &mut next,
        );
        assert_eq!(left, phones(&[(225, "WORK", "44444")]));
        // Add under n0 / as a list; a missing VALUE_TYPE is WORK, an unknown one kept.
        let added = apply(
            "PHONE",
            left,
            &json!({"n0": {"VALUE": "55555"}, "n1": {"VALUE": "6", "VALUE_TYPE": "sputnik"}}),
            &mut next,
        );
        assert_eq!(
            added,
            phones(&[
                (225, "WORK", "44444"),
                (300, "WORK", "55555"),
                (301, "SPUTNIK", "6")
            ])
        );
        assert_eq!(next, 302);
    }

    #[test]
    fn stored_text_round_trips() {
        let e = Entry {
            id: 12,
            value_type: "WORK".into(),
            value: "a\u{1f}b".into(),
        };
        assert_eq!(Entry::decode(&e.encode()), e);
        assert_eq!(Entry::value_of(&e.encode()), "a\u{1f}b");
    }

    #[test]
    fn fm_splits_by_type() {
        let legacy = split_fm(&json!({
            "n0": {"typeId": "PHONE", "valueType": "WORK", "value": "+49"},
            "16": {"typeId": "EMAIL", "value": ""},
            "x": {"value": "no type"}
        }));
        assert_eq!(
            legacy,
            *json!({
                "PHONE": {"n0": {"VALUE": "+49", "VALUE_TYPE": "WORK"}},
                "EMAIL": {"16": {"VALUE": ""}}
            })
            .as_object()
            .unwrap()
        );
    }
}

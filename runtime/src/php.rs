//! PHP `http_build_query` encoding, used for the commands of a `batch`.
//!
//! A batch command is `method?query-string`, where nested parameters use PHP's bracket syntax
//! (`fields[TITLE]=x`, `filter[>ID]=5`, `select[0]=ID`). A query string has no way to say
//! `null` or "an empty array" (PHP's `http_build_query` silently drops both), so the encoder
//! refuses them instead of losing data: clearing a multiple field needs a direct JSON call.
//!
//! The portal also replaces batch references (`$result[key][field]`, and `$result_error[..]`,
//! `$result_total[..]`, ...) inside every value of a command, and offers no escape for them:
//! percent-encoding is undone before the replacement, and the reference grammar has no quoting.
//! So a user's text containing one ("Price $result[c0] end") would be stored altered; the
//! encoder refuses it instead, and the call must be sent directly (JSON, no replacement).

use serde_json::{Map, Value};

/// A value that a query string cannot carry, at `path` (such as `fields[UF_CRM_5]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inexpressible {
    pub path: String,
    pub what: &'static str,
}

/// Encodes `params` as PHP `http_build_query` would, refusing `null`, `[]` and `{}`.
pub(crate) fn build_query(params: &Map<String, Value>) -> Result<String, Inexpressible> {
    let mut out = String::new();
    for (key, value) in params {
        encode_value(&mut out, key, value)?;
    }
    Ok(out)
}

/// Appends `key=value` where `value` is sent verbatim (a `$result[...]` batch reference, whose
/// characters are all safe in a query string).
pub(crate) fn push_raw(out: &mut String, key: &str, raw_value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    push_encoded(out, key);
    out.push('=');
    out.push_str(raw_value);
}

fn encode_value(out: &mut String, path: &str, value: &Value) -> Result<(), Inexpressible> {
    match value {
        Value::Null => Err(Inexpressible {
            path: path.to_owned(),
            what: "null",
        }),
        Value::Bool(b) => {
            push_pair(out, path, if *b { "1" } else { "0" });
            Ok(())
        }
        Value::Number(n) => {
            push_pair(out, path, &n.to_string());
            Ok(())
        }
        Value::String(s) if has_batch_reference(s) => Err(Inexpressible {
            path: path.to_owned(),
            what: "text containing a batch reference ($result[...]), which the portal would replace with another command's result",
        }),
        Value::String(s) => {
            push_pair(out, path, s);
            Ok(())
        }
        Value::Array(items) => {
            if items.is_empty() {
                return Err(Inexpressible {
                    path: path.to_owned(),
                    what: "an empty list",
                });
            }
            for (i, item) in items.iter().enumerate() {
                encode_value(out, &format!("{path}[{i}]"), item)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            if map.is_empty() {
                return Err(Inexpressible {
                    path: path.to_owned(),
                    what: "an empty object",
                });
            }
            for (k, v) in map {
                encode_value(out, &format!("{path}[{k}]"), v)?;
            }
            Ok(())
        }
    }
}

/// Whether `text` holds what the portal may read as a batch reference: `$result`, more name
/// letters or underscores (`$result_next`), then `[` (compared case-insensitively, to be safe).
pub(crate) fn has_batch_reference(text: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let named = after
            .get(..6)
            .is_some_and(|n| n.eq_ignore_ascii_case("result"));
        if named {
            let tail = after[6..].trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '_');
            if tail.starts_with('[') {
                return true;
            }
        }
        rest = after;
    }
    false
}

fn push_pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    push_encoded(out, key);
    out.push('=');
    push_encoded(out, value);
}

fn push_encoded(out: &mut String, text: &str) {
    out.extend(url::form_urlencoded::byte_serialize(text.as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(v: Value) -> Result<String, Inexpressible> {
        match v {
            Value::Object(m) => build_query(&m),
            _ => unreachable!("tests pass objects"),
        }
    }

    fn decoded(s: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn batch_references_in_values_are_refused() {
        for text in [
            "Price $result[c0] end",
            "$result[c0][ID]",
            "$RESULT[x]",
            "$result_next[c1]",
            "a $ b $result[",
        ] {
            assert!(has_batch_reference(text), "{text}");
            let e = q(json!({"fields": {"COMMENTS": text}})).unwrap_err();
            assert_eq!(e.path, "fields[COMMENTS]");
            assert!(e.what.contains("batch reference"), "{e:?}");
        }
        for text in [
            "$100",
            "price $result",
            "$results",
            "$resul[x]",
            "US$ [1]",
            "$",
        ] {
            assert!(!has_batch_reference(text), "{text}");
        }
        assert!(q(json!({"fields": {"COMMENTS": "costs $100 [net]"}})).is_ok());
    }

    #[test]
    fn nested_keys_use_php_brackets() {
        let s = q(json!({
            "id": 5,
            "fields": {"TITLE": "Сделка & co", "OPENED": "Y", "UF_CRM_1": [1, 2]},
            "filter": {">ID": 10, "%TITLE": "a b"},
            "select": ["ID", "UF_*"],
            "flag": true
        }))
        .unwrap();
        assert_eq!(
            decoded(&s),
            vec![
                ("id".into(), "5".into()),
                ("fields[TITLE]".into(), "Сделка & co".into()),
                ("fields[OPENED]".into(), "Y".into()),
                ("fields[UF_CRM_1][0]".into(), "1".into()),
                ("fields[UF_CRM_1][1]".into(), "2".into()),
                ("filter[>ID]".into(), "10".into()),
                ("filter[%TITLE]".into(), "a b".into()),
                ("select[0]".into(), "ID".into()),
                ("select[1]".into(), "UF_*".into()),
                ("flag".into(), "1".into()),
            ]
        );
        assert!(!s.contains(' '), "{s}");
        assert!(!s.contains("& "), "{s}");
    }

    #[test]
    fn empty_string_is_expressible() {
        let s = q(json!({"fields": {"COMMENTS": ""}})).unwrap();
        assert_eq!(decoded(&s), vec![("fields[COMMENTS]".into(), "".into())]);
    }

    #[test]
    fn null_and_empty_collections_are_refused() {
        assert_eq!(
            q(json!({"fields": {"UF_CRM_1": []}})),
            Err(Inexpressible {
                path: "fields[UF_CRM_1]".into(),
                what: "an empty list"
            })
        );
        assert_eq!(
            q(json!({"fields": {"LEAD_ID": null}})).unwrap_err().what,
            "null"
        );
        assert_eq!(
            q(json!({"fields": {}})).unwrap_err().what,
            "an empty object"
        );
    }

    #[test]
    fn raw_values_are_verbatim() {
        let mut s = q(json!({"start": -1})).unwrap();
        push_raw(&mut s, "filter[>ID]", "$result[c0][49][ID]");
        assert_eq!(s, "start=-1&filter%5B%3EID%5D=$result[c0][49][ID]");
        assert_eq!(
            decoded(&s)[1],
            ("filter[>ID]".into(), "$result[c0][49][ID]".into())
        );
    }
}

//! PHP `parse_str`: query strings and form bodies with nested keys (`fields[TITLE]=x`,
//! `filter[>ID]=5`, `select[]=ID`) become nested objects of strings.

use serde_json::{Map, Value};

/// Parses `a=1&b[c]=2&d[]=3&d[]=4` into `{"a":"1","b":{"c":"2"},"d":{"0":"3","1":"4"}}`.
/// PHP arrays become JSON objects (index keys are strings); readers accept both forms.
pub(crate) fn parse_str(query: &str) -> Map<String, Value> {
    let mut root = Map::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        insert(&mut root, &key, Value::String(value.into_owned()));
    }
    root
}

/// PHP's `max_input_nesting_level`: deeper keys are discarded.
const MAX_NESTING: usize = 64;

/// Inserts one `key=value` pair with PHP's key syntax.
pub(crate) fn insert(root: &mut Map<String, Value>, key: &str, value: Value) {
    let (base, segments) = split_key(key);
    if base.is_empty() || segments.len() > MAX_NESTING {
        return;
    }
    if segments.is_empty() {
        root.insert(base, value);
        return;
    }
    let mut node = root
        .entry(base)
        .or_insert_with(|| Value::Object(Map::new()));
    for (i, seg) in segments.iter().enumerate() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let map = node.as_object_mut().expect("just made an object");
        let key = if seg.is_empty() {
            next_index(map).to_string()
        } else {
            seg.clone()
        };
        if i + 1 == segments.len() {
            map.insert(key, value);
            return;
        }
        node = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

fn next_index(map: &Map<String, Value>) -> i64 {
    map.keys()
        .filter_map(|k| k.parse::<i64>().ok())
        .max()
        .map(|m| m + 1)
        .unwrap_or(0)
}

/// `fields[TITLE][0]` -> (`fields`, [`TITLE`, `0`]). PHP turns spaces and dots of the base name
/// into underscores and keeps a malformed bracket literally.
fn split_key(key: &str) -> (String, Vec<String>) {
    let Some(open) = key.find('[') else {
        return (php_base(key), Vec::new());
    };
    if open == 0 {
        return (String::new(), Vec::new());
    }
    let base = php_base(&key[..open]);
    let mut segments = Vec::new();
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            // PHP: an unclosed bracket ends the parsing; the base keeps `_`.
            if segments.is_empty() {
                return (format!("{base}_{}", stripped), Vec::new());
            }
            break;
        };
        segments.push(stripped[..close].to_owned());
        rest = &stripped[close + 1..];
    }
    (base, segments)
}

fn php_base(s: &str) -> String {
    s.replace([' ', '.'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys() {
        let m = parse_str(
            "fields%5BTITLE%5D=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0&fields[CONTACT_IDS][]=84&fields[CONTACT_IDS][]=83&filter[%3EID]=5&select[0]=ID&start=-1",
        );
        assert_eq!(
            Value::Object(m),
            json!({
                "fields": {"TITLE": "Сделка", "CONTACT_IDS": {"0": "84", "1": "83"}},
                "filter": {">ID": "5"},
                "select": {"0": "ID"},
                "start": "-1"
            })
        );
    }

    #[test]
    fn plus_is_a_space_and_values_keep_brackets() {
        let m = parse_str(
            "cmd[a]=crm.deal.list%3Ffilter%5B%3EID%5D%3D%24result%5Bb%5D%5B49%5D%5BID%5D&halt=1&x=a+b",
        );
        assert_eq!(
            m["cmd"]["a"],
            "crm.deal.list?filter[>ID]=$result[b][49][ID]"
        );
        assert_eq!(m["x"], "a b");
        assert_eq!(m["halt"], "1");
    }

    #[test]
    fn too_deep_keys_are_discarded_like_php() {
        let deep = format!("a{}=1&b=2", "[0]".repeat(65));
        let m = parse_str(&deep);
        assert!(m.get("a").is_none());
        assert_eq!(m["b"], "2");
        let ok = format!("a{}=1", "[0]".repeat(64));
        assert!(parse_str(&ok).get("a").is_some());
    }

    #[test]
    fn php_base_name_rules() {
        let m = parse_str("a.b=1&c d=2&[x]=3&e[f=4");
        assert_eq!(m["a_b"], "1");
        assert_eq!(m["c_d"], "2");
        assert_eq!(m["e_f"], "4");
        assert_eq!(m.len(), 3);
    }
}

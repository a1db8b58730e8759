//! PHP `parse_str`: query strings and form bodies with nested keys (`fields[TITLE]=x`,
//! `filter[>ID]=5`, `select[]=ID`) become nested objects of strings.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Parses `a=1&b[c]=2&d[]=3&d[]=4` into `{"a":"1","b":{"c":"2"},"d":{"0":"3","1":"4"}}`.
/// PHP arrays become JSON objects (index keys are strings); readers accept both forms.
///
/// Linear in the input: every array keeps PHP's "next free index" as it is built, so `x[]=`
/// repeated 40,000 times costs 40,000 appends, not a scan of the array per append.
pub(crate) fn parse_str(query: &str) -> Map<String, Value> {
    let mut root = Array::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        root.insert(&key, value.into_owned());
    }
    root.into_map()
}

/// PHP's `max_input_nesting_level`: deeper keys are discarded.
const MAX_NESTING: usize = 64;

/// A PHP array while the input is parsed: entries in insertion order, a key index and PHP's
/// next free integer key.
#[derive(Default)]
struct Array {
    index: HashMap<String, usize>,
    entries: Vec<(String, Node)>,
    /// The largest integer key seen (PHP's `nNextFreeElement` is one more).
    max_int: Option<i64>,
}

/// One value of a PHP array: a string or a nested array.
enum Node {
    Leaf(String),
    Array(Array),
}

impl Array {
    /// Inserts one `key=value` pair with PHP's key syntax.
    fn insert(&mut self, key: &str, value: String) {
        let (base, segments) = split_key(key);
        if base.is_empty() || segments.len() > MAX_NESTING {
            return;
        }
        let Some((last, parents)) = segments.split_last() else {
            self.set(base, Node::Leaf(value));
            return;
        };
        let mut array = self.child(base);
        for seg in parents {
            let Some(key) = array.key_for(seg) else {
                return;
            };
            array = array.child(key);
        }
        if let Some(key) = array.key_for(last) {
            array.set(key, Node::Leaf(value));
        }
    }

    /// `seg` as a key of this array; an empty segment (`x[]`) is the next free index, `None`
    /// when that index would overflow (PHP refuses to append then).
    fn key_for(&self, seg: &str) -> Option<String> {
        if !seg.is_empty() {
            return Some(seg.to_owned());
        }
        match self.max_int {
            None => Some("0".to_owned()),
            Some(max) => max.checked_add(1).map(|next| next.to_string()),
        }
    }

    /// The array under `key`, made (or made from a string, as PHP does) when needed.
    fn child(&mut self, key: String) -> &mut Array {
        let at = match self.index.get(&key) {
            Some(&at) => at,
            None => {
                self.set(key, Node::Array(Array::default()));
                self.entries.len() - 1
            }
        };
        let node = &mut self.entries[at].1;
        if let Node::Leaf(_) = node {
            *node = Node::Array(Array::default());
        }
        match node {
            Node::Array(array) => array,
            Node::Leaf(_) => unreachable!("replaced by an array just above"),
        }
    }

    /// Sets `key`, keeping the position of a key that is already there.
    fn set(&mut self, key: String, node: Node) {
        if let Ok(n) = key.parse::<i64>() {
            self.max_int = Some(self.max_int.map_or(n, |m| m.max(n)));
        }
        match self.index.get(&key) {
            Some(&at) => self.entries[at].1 = node,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, node));
            }
        }
    }

    fn into_map(self) -> Map<String, Value> {
        self.entries
            .into_iter()
            .map(|(key, node)| {
                let value = match node {
                    Node::Leaf(s) => Value::String(s),
                    Node::Array(a) => Value::Object(a.into_map()),
                };
                (key, value)
            })
            .collect()
    }
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
    fn appends_take_the_next_free_index_like_php() {
        let m = parse_str("a[5]=x&a[]=y&a[b]=z&a[]=w&n[-5]=p&n[]=q");
        assert_eq!(
            Value::Object(m),
            json!({"a": {"5": "x", "6": "y", "b": "z", "7": "w"}, "n": {"-5": "p", "-4": "q"}})
        );
        // PHP refuses to append after the largest integer key; nothing wraps or panics.
        let m = parse_str("a[9223372036854775807]=x&a[]=y&b=1");
        assert_eq!(
            Value::Object(m),
            json!({"a": {"9223372036854775807": "x"}, "b": "1"})
        );
    }

    #[test]
    fn a_string_becomes_an_array_and_keys_keep_their_place() {
        let m = parse_str("a=1&b=2&a[x]=3&b=4");
        assert_eq!(Value::Object(m), json!({"a": {"x": "3"}, "b": "4"}));
    }

    #[test]
    fn many_appends_to_one_array() {
        let body = "x[]=v&".repeat(40_000);
        let m = parse_str(&body);
        let x = m["x"].as_object().expect("an array");
        assert_eq!(x.len(), 40_000);
        assert_eq!(x["39999"], "v");
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

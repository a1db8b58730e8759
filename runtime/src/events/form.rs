//! Decoding of an event body: `application/x-www-form-urlencoded` with PHP's nested keys
//! (what `http_build_query` writes: `data[FIELDS][ID]=6641`) into a JSON tree, or a JSON body
//! (some proxies re-encode the form as JSON).
//!
//! It follows PHP's `parse_str` where that matters for events: `+` is a space, `%XX` is a
//! byte (an invalid escape stays as written), a later duplicate key replaces an earlier one,
//! `a[]=` appends, and an object whose keys are exactly `0..n` becomes a JSON array (as PHP's
//! `json_encode` writes such an array). Invalid UTF-8 becomes U+FFFD. Keys nested deeper than
//! [`MAX_DEPTH`] and pairs beyond [`MAX_PAIRS`] are refused, so a hostile body costs bounded
//! work and never overflows the stack.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The deepest key nesting accepted (PHP's `max_input_nesting_level` is 64).
pub(crate) const MAX_DEPTH: usize = 64;
/// The most `key=value` pairs accepted in one body (a real event has about 15).
pub(crate) const MAX_PAIRS: usize = 10_000;

/// Decodes a body into a JSON object: a JSON object when the body is one (after leading
/// whitespace), a PHP form otherwise.
pub(crate) fn decode(body: &[u8]) -> Result<Map<String, Value>, String> {
    let trimmed = body.trim_ascii_start();
    if trimmed.first() == Some(&b'{') {
        return match serde_json::from_slice::<Value>(trimmed) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err("the JSON body is not an object".into()),
            Err(e) => Err(format!(
                "the body starts with `{{` but is not valid JSON ({e})"
            )),
        };
    }
    parse_form(body)
}

/// Parses a PHP form body into a JSON object.
pub(crate) fn parse_form(body: &[u8]) -> Result<Map<String, Value>, String> {
    let mut root = Map::new();
    // The next index of `[]` per container path (PHP: the largest integer key + 1).
    let mut next_index: HashMap<Vec<String>, u64> = HashMap::new();
    let mut pairs = 0usize;
    for pair in body.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        pairs += 1;
        if pairs > MAX_PAIRS {
            return Err(format!(
                "the body has more than {MAX_PAIRS} parameters; an event has about 15"
            ));
        }
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = percent_decode(key);
        let value = percent_decode(value);
        let Some(path) = split_key(&key) else {
            continue; // PHP ignores a pair without a name
        };
        if path.len() > MAX_DEPTH {
            return Err(format!(
                "the key `{}` nests deeper than {MAX_DEPTH} levels",
                key.chars().take(60).collect::<String>()
            ));
        }
        insert(&mut root, &mut next_index, path, value);
    }
    root.values_mut().for_each(lists_to_arrays);
    Ok(root)
}

/// Splits `a[b][][c]` into `["a", "b", "", "c"]` (an empty segment appends). A key whose
/// brackets do not close is taken whole as a plain name (PHP mangles it; no event uses one).
/// Text after the last `]` is ignored, as PHP does. `None` for an empty name.
fn split_key(key: &str) -> Option<Vec<Option<String>>> {
    let Some(open) = key.find('[') else {
        return (!key.is_empty()).then(|| vec![Some(key.to_owned())]);
    };
    let base = &key[..open];
    if base.is_empty() {
        return None;
    }
    let mut path = vec![Some(base.to_owned())];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            if path.len() == 1 {
                return Some(vec![Some(key.to_owned())]);
            }
            break;
        };
        let segment = &stripped[..close];
        path.push((!segment.is_empty()).then(|| segment.to_owned()));
        rest = &stripped[close + 1..];
    }
    Some(path)
}

/// Sets `value` at `path` (an empty segment `None` appends), replacing a scalar on the way by
/// an object, as PHP does.
fn insert(
    root: &mut Map<String, Value>,
    next_index: &mut HashMap<Vec<String>, u64>,
    path: Vec<Option<String>>,
    value: String,
) {
    let mut walked: Vec<String> = Vec::with_capacity(path.len());
    let mut map = root;
    let last = path.len() - 1;
    for (depth, segment) in path.into_iter().enumerate() {
        let key = match segment {
            Some(k) => {
                if let Some(n) = k.parse::<u64>().ok().filter(|n| n.to_string() == k) {
                    let next = next_index.entry(walked.clone()).or_insert(0);
                    *next = (*next).max(n.saturating_add(1));
                }
                k
            }
            None => {
                let next = next_index.entry(walked.clone()).or_insert(0);
                let k = next.to_string();
                *next = next.saturating_add(1);
                k
            }
        };
        if depth == last {
            map.insert(key, Value::String(value));
            return;
        }
        walked.push(key.clone());
        let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
            next_index.remove(&walked);
        }
        map = match slot {
            Value::Object(m) => m,
            _ => return, // cannot happen: made an object just above
        };
    }
}

/// Turns every object whose keys are exactly `0..n` (in that order) into an array, in place.
fn lists_to_arrays(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    map.values_mut().for_each(lists_to_arrays);
    let is_list = !map.is_empty() && map.keys().enumerate().all(|(i, k)| is_index(k, i));
    if is_list {
        let items = std::mem::take(map).into_iter().map(|(_, v)| v).collect();
        *value = Value::Array(items);
    }
}

/// Whether `key` is `i` written in decimal without leading zeros.
fn is_index(key: &str, i: usize) -> bool {
    key.parse::<usize>() == Ok(i) && (key == "0" || !key.starts_with(['0', '+']))
}

/// Undoes `application/x-www-form-urlencoded` escaping: `+` is a space, `%XX` a byte; an
/// invalid escape stays literal; invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                raw.get(i + 1).and_then(|b| hex(*b)),
                raw.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

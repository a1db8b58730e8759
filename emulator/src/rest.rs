//! What every REST method shares: its answer (`Body`, `Output`, PHP's JSON encoding), the list
//! of methods this portal serves, and the lenient parameter readers. The method handlers
//! (`methods`, `reference`, `system`) build on it; it depends on none of them.

use serde_json::{Map, Value};

use crate::config::Work;
use crate::error::ApiError;

/// A method's `result`: a JSON value, or list rows already written as JSON text (the hot
/// path of exports skips building `Value`s).
#[derive(Debug)]
pub(crate) enum Body {
    Json(Value),
    Rows(Vec<String>),
}

impl Body {
    /// Writes the JSON text (`/` escaped as `\/` when `slashes`; rows are already written
    /// with the same setting).
    pub(crate) fn write(&self, out: &mut String, slashes: bool) {
        match self {
            Body::Json(v) => write_json(out, v, slashes),
            Body::Rows(rows) => {
                out.push('[');
                for (i, r) in rows.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(r);
                }
                out.push(']');
            }
        }
    }

    /// The value at `path` (object keys, array indexes), for `$result[...]` references.
    pub(crate) fn at(&self, path: &[&str]) -> Option<Value> {
        match self {
            Body::Json(v) => navigate(v, path).cloned(),
            Body::Rows(rows) => match path.split_first() {
                None => Some(Value::Array(
                    rows.iter()
                        .filter_map(|r| serde_json::from_str(r).ok())
                        .collect(),
                )),
                Some((index, rest)) => {
                    let text = rows.get(index.parse::<usize>().ok()?)?;
                    let row: Value = serde_json::from_str(text).ok()?;
                    navigate(&row, rest).cloned()
                }
            },
        }
    }
}

/// Follows object keys and array indexes.
pub(crate) fn navigate<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            Value::Object(o) => o.get(*seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Writes a value as PHP's `json_encode` would (`/` escaped when `slashes`).
pub(crate) fn write_json(out: &mut String, v: &Value, slashes: bool) {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned());
    if slashes {
        // In JSON text '/' only occurs inside strings.
        out.push_str(&text.replace('/', "\\/"));
    } else {
        out.push_str(&text);
    }
}

/// A method's answer before it is wrapped with `time`.
#[derive(Debug)]
pub(crate) struct Output {
    pub result: Body,
    pub total: Option<usize>,
    pub next: Option<usize>,
    pub work: Work,
    /// Rows a list filter examined.
    pub scanned: u64,
}

impl Output {
    /// A complete list in one answer (`total` = `count`, no `next`).
    pub(crate) fn listed(result: Value, count: usize) -> Output {
        Output {
            result: Body::Json(result),
            total: Some(count),
            next: None,
            work: Work {
                returned: count as u64,
                ..Work::default()
            },
            scanned: 0,
        }
    }

    /// One record read (`crm.deal.get`, `crm.item.get`).
    pub(crate) fn one(result: Value) -> Output {
        Output {
            result: Body::Json(result),
            total: None,
            next: None,
            work: Work {
                returned: 1,
                ..Work::default()
            },
            scanned: 0,
        }
    }

    /// A read answer without paging.
    pub(crate) fn plain(result: Value) -> Output {
        Output {
            result: Body::Json(result),
            total: None,
            next: None,
            work: Work::default(),
            scanned: 0,
        }
    }

    /// A write answer (costs a write in the model).
    pub(crate) fn write(result: Value) -> Output {
        Output {
            result: Body::Json(result),
            total: None,
            next: None,
            work: Work {
                write: true,
                ..Work::default()
            },
            scanned: 0,
        }
    }
}

/// Methods this portal knows (lower case), besides `batch`; `methods` and `method.get` answer
/// from this list.
pub(crate) const METHODS: &[&str] = &[
    "server.time",
    "profile",
    "app.info",
    "scope",
    "methods",
    "method.get",
    "user.admin",
    "user.current",
    "crm.deal.fields",
    "crm.deal.add",
    "crm.deal.get",
    "crm.deal.list",
    "crm.deal.update",
    "crm.deal.delete",
    "crm.deal.productrows.get",
    "crm.deal.productrows.set",
    "crm.deal.contact.fields",
    "crm.deal.contact.add",
    "crm.deal.contact.delete",
    "crm.deal.contact.items.get",
    "crm.deal.contact.items.set",
    "crm.deal.contact.items.delete",
    "crm.deal.userfield.add",
    "crm.deal.userfield.get",
    "crm.deal.userfield.list",
    "crm.deal.userfield.update",
    "crm.deal.userfield.delete",
    "crm.lead.fields",
    "crm.lead.add",
    "crm.lead.get",
    "crm.lead.list",
    "crm.lead.update",
    "crm.lead.delete",
    "crm.lead.productrows.get",
    "crm.lead.productrows.set",
    "crm.lead.contact.fields",
    "crm.lead.contact.add",
    "crm.lead.contact.delete",
    "crm.lead.contact.items.get",
    "crm.lead.contact.items.set",
    "crm.lead.contact.items.delete",
    "crm.lead.userfield.add",
    "crm.lead.userfield.get",
    "crm.lead.userfield.list",
    "crm.lead.userfield.update",
    "crm.lead.userfield.delete",
    "crm.contact.fields",
    "crm.contact.add",
    "crm.contact.get",
    "crm.contact.list",
    "crm.contact.update",
    "crm.contact.delete",
    "crm.contact.userfield.add",
    "crm.contact.userfield.get",
    "crm.contact.userfield.list",
    "crm.contact.userfield.update",
    "crm.contact.userfield.delete",
    "crm.company.fields",
    "crm.company.add",
    "crm.company.get",
    "crm.company.list",
    "crm.company.update",
    "crm.company.delete",
    "crm.company.userfield.add",
    "crm.company.userfield.get",
    "crm.company.userfield.list",
    "crm.company.userfield.update",
    "crm.company.userfield.delete",
    "crm.quote.fields",
    "crm.quote.add",
    "crm.quote.get",
    "crm.quote.list",
    "crm.quote.update",
    "crm.quote.delete",
    "crm.quote.contact.fields",
    "crm.quote.contact.add",
    "crm.quote.contact.delete",
    "crm.quote.contact.items.get",
    "crm.quote.contact.items.set",
    "crm.quote.contact.items.delete",
    "crm.quote.userfield.add",
    "crm.quote.userfield.get",
    "crm.quote.userfield.list",
    "crm.quote.userfield.update",
    "crm.quote.userfield.delete",
    "crm.item.fields",
    "crm.item.add",
    "crm.item.get",
    "crm.item.list",
    "crm.item.update",
    "crm.item.delete",
    "crm.item.productrow.fields",
    "crm.item.productrow.add",
    "crm.item.productrow.update",
    "crm.item.productrow.get",
    "crm.item.productrow.list",
    "crm.item.productrow.delete",
    "crm.item.productrow.set",
    "crm.type.fields",
    "crm.type.add",
    "crm.type.get",
    "crm.type.list",
    "crm.status.fields",
    "crm.status.add",
    "crm.status.get",
    "crm.status.list",
    "crm.status.update",
    "crm.status.delete",
    "crm.status.entity.types",
    "crm.status.entity.items",
    "crm.currency.list",
    "crm.currency.get",
    "crm.currency.fields",
    "crm.currency.base.get",
    "crm.category.fields",
    "crm.category.add",
    "crm.category.get",
    "crm.category.list",
    "crm.category.update",
    "crm.category.delete",
    "events",
    "event.bind",
    "event.unbind",
    "event.get",
    "event.offline.get",
    "event.offline.clear",
    "event.offline.error",
    "event.offline.list",
];

/// A parameter by name, ignoring case (`fields` / `FIELDS`); `null` counts as absent.
pub(crate) fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    params
        .get(name)
        .or_else(|| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// A PHP array parameter: an object, or a JSON array turned into an index-keyed object.
pub(crate) fn array_param(
    params: &Map<String, Value>,
    name: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match param(params, name) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o.clone())),
        Some(Value::Array(a)) => Ok(Some(
            a.iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect(),
        )),
        Some(_) => Err(ApiError::must_be_array(name)),
    }
}

//! `crm.deal.list` filters and sort orders, with the server's type rules.
//!
//! Prefixes: `>=`, `>`, `<=`, `<`, `@` (IN), `!@` (NOT IN), `%` (substring LIKE), `=%` / `%=`
//! (LIKE with explicit `%` and `_`), `!%` (NOT LIKE), `><` / `!><` (between), `=` (the default),
//! `!=` and `!`. Text comparisons ignore case (the database collation). LIKE on `crm_status`,
//! `crm_contact` and `crm_company` fields is an exact `=`. An empty value (`""` or `null`) with
//! `=` means "field is empty", with `!` / `!=` "field is not empty". Numeric values are PHP
//! casts: a reference left literal in a batch (`"$result[x][49][ID]"`) is 0. Unknown fields and
//! `CONTACT_IDS` are ignored. Nested groups: a value that is an object under an index key, with
//! `"LOGIC": "OR"` (or `AND`).

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::schema::{FieldDef, Kind, Layout, Slot};
use crate::store::{Cell, Row, Strings};
use crate::values::{parse_date, parse_datetime, php_floatval, php_intval, php_string};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Like,
    LikePattern,
    NotLike,
    Between,
    NotBetween,
}

const PREFIXES: &[(&str, Op)] = &[
    ("!><", Op::NotBetween),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("><", Op::Between),
    ("!@", Op::NotIn),
    ("=%", Op::LikePattern),
    ("%=", Op::LikePattern),
    ("!=", Op::Ne),
    ("!%", Op::NotLike),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("@", Op::In),
    ("%", Op::Like),
    ("=", Op::Eq),
    ("!", Op::Ne),
];

/// Splits `>=OPPORTUNITY` into (`Ge`, `OPPORTUNITY`).
pub(crate) fn split_prefix(key: &str) -> (Op, &str) {
    for (p, op) in PREFIXES {
        if let Some(rest) = key.strip_prefix(p) {
            return (*op, rest);
        }
    }
    (Op::Eq, key)
}

/// A filter value converted for the field's kind.
#[derive(Clone, Debug, PartialEq)]
enum FVal {
    Int(i64),
    Float(f64),
    Text(String),
    /// A value that matches nothing (e.g. "X" for a Y/N field).
    Never,
}

/// One condition.
#[derive(Debug)]
pub(crate) struct Cond {
    field: usize,
    op: Op,
    values: Vec<FVal>,
    /// The value was empty: test for (non-)emptiness.
    empty: bool,
    memo: HashMap<u32, bool>,
}

/// A tree of conditions.
#[derive(Debug)]
pub(crate) enum Node {
    Cond(Cond),
    Group { or: bool, nodes: Vec<Node> },
}

/// A parsed filter.
#[derive(Debug)]
pub(crate) struct Filter {
    pub root: Node,
}

impl Filter {
    /// Parses a filter object (keys with prefixes).
    pub(crate) fn parse(
        layout: &Layout,
        filter: &Map<String, Value>,
        tz: chrono::FixedOffset,
    ) -> Filter {
        Filter {
            root: parse_group(layout, filter, tz, false),
        }
    }

    /// Bounds on ID from the top-level AND conditions: (lowest, highest), inclusive.
    pub(crate) fn id_bounds(&self, layout: &Layout) -> (u32, u32) {
        let mut lo: i64 = 0;
        let mut hi: i64 = i64::from(u32::MAX);
        let Node::Group { or: false, nodes } = &self.root else {
            return (0, u32::MAX);
        };
        for n in nodes {
            let Node::Cond(c) = n else { continue };
            if layout.fields[c.field].kind != Kind::Id || c.empty {
                continue;
            }
            let Some(FVal::Int(v)) = c.values.first() else {
                continue;
            };
            match c.op {
                Op::Gt => lo = lo.max(v.saturating_add(1)),
                Op::Ge => lo = lo.max(*v),
                Op::Lt => hi = hi.min(v.saturating_sub(1)),
                Op::Le => hi = hi.min(*v),
                Op::Eq if c.values.len() == 1 => {
                    lo = lo.max(*v);
                    hi = hi.min(*v);
                }
                _ => {}
            }
        }
        let clamp = |x: i64| x.clamp(0, i64::from(u32::MAX)) as u32;
        (clamp(lo), clamp(hi))
    }

    /// Does the row match?
    pub(crate) fn matches(
        &mut self,
        layout: &Layout,
        strings: &Strings,
        id: u32,
        row: &Row,
    ) -> bool {
        eval(&mut self.root, layout, strings, id, row)
    }
}

fn parse_group(
    layout: &Layout,
    filter: &Map<String, Value>,
    tz: chrono::FixedOffset,
    or: bool,
) -> Node {
    let mut nodes = Vec::new();
    for (key, value) in filter {
        if key.eq_ignore_ascii_case("LOGIC") {
            continue;
        }
        if let Value::Object(sub) = value {
            if key.parse::<u64>().is_ok() || key.is_empty() {
                let sub_or = sub
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("LOGIC"))
                    .and_then(|(_, v)| v.as_str())
                    .is_some_and(|l| l.eq_ignore_ascii_case("OR"));
                nodes.push(parse_group(layout, sub, tz, sub_or));
                continue;
            }
        }
        let (op, code) = split_prefix(key);
        let Some(index) = layout.index(code) else {
            continue;
        };
        let f = &layout.fields[index];
        if f.code == "CONTACT_IDS" {
            continue;
        }
        let op = match op {
            Op::Like | Op::LikePattern if f.like_exact => Op::Eq,
            Op::NotLike if f.like_exact => Op::Ne,
            other => other,
        };
        let list: Vec<&Value> = match value {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            other => vec![other],
        };
        let is_empty = |v: &Value| v.is_null() || v.as_str() == Some("");
        let empty = match value {
            Value::Array(_) | Value::Object(_) => false,
            v => is_empty(v),
        };
        let values: Vec<FVal> = if empty {
            Vec::new()
        } else {
            list.into_iter()
                .filter(|v| !matches!(v, Value::Array(_) | Value::Object(_)))
                .map(|v| convert(f, op, v, tz))
                .collect()
        };
        // `=` with a list is IN; `!=` with a list is NOT IN.
        let op = match (op, matches!(value, Value::Array(_) | Value::Object(_))) {
            (Op::Eq, true) => Op::In,
            (Op::Ne, true) => Op::NotIn,
            (op, _) => op,
        };
        nodes.push(Node::Cond(Cond {
            field: index,
            op,
            values,
            empty,
            memo: HashMap::new(),
        }));
    }
    Node::Group { or, nodes }
}

fn convert(f: &FieldDef, op: Op, v: &Value, tz: chrono::FixedOffset) -> FVal {
    let like = matches!(op, Op::Like | Op::LikePattern | Op::NotLike);
    if like {
        return FVal::Text(php_string(v).unwrap_or_default().to_lowercase());
    }
    match f.kind {
        Kind::Id | Kind::Int | Kind::Enum | Kind::File | Kind::Bool => FVal::Int(php_intval(v)),
        Kind::Cents => FVal::Int((php_floatval(v) * 100.0).round() as i64),
        Kind::Float(_) => FVal::Float(php_floatval(v)),
        Kind::Char => match v.as_str() {
            Some("Y") => FVal::Int(1),
            Some("N") => FVal::Int(0),
            _ => FVal::Never,
        },
        Kind::Date => match v.as_str().and_then(parse_date) {
            Some(d) => FVal::Int(d),
            None => FVal::Never,
        },
        Kind::DateTime => match v.as_str().and_then(|s| parse_datetime(s, tz)) {
            Some(t) => FVal::Int(t),
            None => FVal::Never,
        },
        Kind::Text | Kind::Raw | Kind::Multifield => {
            FVal::Text(php_string(v).unwrap_or_default().to_lowercase())
        }
    }
}

fn eval(node: &mut Node, layout: &Layout, strings: &Strings, id: u32, row: &Row) -> bool {
    match node {
        Node::Group { or, nodes } => {
            if nodes.is_empty() {
                return true;
            }
            if *or {
                nodes.iter_mut().any(|n| eval(n, layout, strings, id, row))
            } else {
                nodes.iter_mut().all(|n| eval(n, layout, strings, id, row))
            }
        }
        Node::Cond(c) => eval_cond(c, layout, strings, id, row),
    }
}

/// The row's values of a field (NULL single values are no values).
pub(crate) fn cells_of<'r>(
    f: &FieldDef,
    id: u32,
    row: &'r Row,
    buf: &'r mut [Cell; 1],
) -> &'r [Cell] {
    match f.slot {
        Slot::Key => {
            buf[0] = Cell::int(i64::from(id));
            &buf[..]
        }
        Slot::Single(s) => {
            let c = row.single(s);
            if c.is_null() {
                &[]
            } else {
                buf[0] = c;
                &buf[..]
            }
        }
        Slot::Multi(s) => row.multi(s),
    }
}

fn eval_cond(c: &mut Cond, layout: &Layout, strings: &Strings, id: u32, row: &Row) -> bool {
    let f = &layout.fields[c.field];
    let mut buf = [Cell::NULL];
    let cells = cells_of(f, id, row, &mut buf);
    if c.empty {
        let is_empty = cells.is_empty()
            || (f.kind == Kind::Text && cells.iter().all(|x| strings.get(x.as_text()).is_empty()));
        return match c.op {
            Op::Ne | Op::NotIn | Op::NotLike | Op::NotBetween => !is_empty,
            _ => is_empty,
        };
    }
    let negated = matches!(c.op, Op::Ne | Op::NotIn | Op::NotLike | Op::NotBetween);
    let positive = match c.op {
        Op::Ne => Op::Eq,
        Op::NotIn => Op::In,
        Op::NotLike => Op::Like,
        Op::NotBetween => Op::Between,
        other => other,
    };
    let mut any = false;
    for &cell in cells {
        if cell_matches(c, positive, f, strings, cell) {
            any = true;
            break;
        }
    }
    if negated { !any } else { any }
}

fn cell_matches(c: &mut Cond, op: Op, f: &FieldDef, strings: &Strings, cell: Cell) -> bool {
    let text_kind = matches!(f.kind, Kind::Text | Kind::Raw | Kind::Multifield);
    if text_kind {
        let key = cell.as_text();
        if let Some(&hit) = c.memo.get(&key) {
            return hit;
        }
        let stored = strings.get(key);
        let s = if f.kind == Kind::Multifield {
            crate::multifields::Entry::value_of(stored).to_lowercase()
        } else {
            stored.to_lowercase()
        };
        let hit = text_matches(op, &c.values, &s);
        c.memo.insert(key, hit);
        return hit;
    }
    if matches!(op, Op::Like | Op::LikePattern) {
        let s = match f.kind {
            Kind::Float(_) => crate::values::format_php_float(cell.as_float()),
            Kind::Cents => crate::values::format_cents(cell.as_int()),
            _ => cell.as_int().to_string(),
        };
        return text_matches(op, &c.values, &s);
    }
    let ord = |v: &FVal| -> Option<Ordering> {
        match (f.kind, v) {
            (Kind::Float(_), FVal::Float(x)) => cell.as_float().partial_cmp(x),
            (_, FVal::Int(x)) => Some(cell.as_int().cmp(x)),
            (_, FVal::Float(x)) => (cell.as_int() as f64).partial_cmp(x),
            _ => None,
        }
    };
    match op {
        Op::Eq | Op::In => c.values.iter().any(|v| ord(v) == Some(Ordering::Equal)),
        Op::Gt => c.values.first().and_then(ord) == Some(Ordering::Greater),
        Op::Ge => matches!(
            c.values.first().and_then(ord),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::Lt => c.values.first().and_then(ord) == Some(Ordering::Less),
        Op::Le => matches!(
            c.values.first().and_then(ord),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Op::Between => match (
            c.values.first().and_then(ord),
            c.values.get(1).and_then(ord),
        ) {
            (Some(a), Some(b)) => a != Ordering::Less && b != Ordering::Greater,
            _ => false,
        },
        _ => false,
    }
}

fn text_matches(op: Op, values: &[FVal], s: &str) -> bool {
    let texts = values.iter().filter_map(|v| match v {
        FVal::Text(t) => Some(t.as_str()),
        _ => None,
    });
    match op {
        Op::Eq | Op::In => texts.into_iter().any(|t| t == s),
        Op::Like => texts.into_iter().any(|t| s.contains(t)),
        Op::LikePattern => texts.into_iter().any(|t| like(t, s)),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let Some(t) = values.first().and_then(|v| match v {
                FVal::Text(t) => Some(t.as_str()),
                _ => None,
            }) else {
                return false;
            };
            let o = s.cmp(t);
            match op {
                Op::Gt => o == Ordering::Greater,
                Op::Ge => o != Ordering::Less,
                Op::Lt => o == Ordering::Less,
                _ => o != Ordering::Greater,
            }
        }
        Op::Between => {
            let mut it = texts;
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => s >= a && s <= b,
                _ => false,
            }
        }
        _ => false,
    }
}

/// SQL LIKE: `%` any run, `_` one character.
pub(crate) fn like(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// A sort key of one field value; NULL sorts first in ascending order, as in MySQL.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub(crate) enum SortKey {
    Null,
    Num(f64),
    Rank(u32),
}

/// Parses `order`: field codes with "ASC"/"DESC" (any case); unknown fields are ignored.
pub(crate) fn parse_order(layout: &Layout, order: &Map<String, Value>) -> Vec<(usize, bool)> {
    order
        .iter()
        .filter_map(|(k, v)| {
            let i = layout.index(k)?;
            if layout.fields[i].code == "CONTACT_IDS" {
                return None;
            }
            let asc = !v
                .as_str()
                .is_some_and(|d| d.trim().eq_ignore_ascii_case("DESC"));
            Some((i, asc))
        })
        .collect()
}

/// Sorts ids by the order keys (ties by ID ascending).
pub(crate) fn sort_ids(
    layout: &Layout,
    strings: &Strings,
    rows: &std::collections::BTreeMap<u32, Row>,
    ids: &mut [u32],
    order: &[(usize, bool)],
) {
    // Text fields sort by rank of their lower-cased value, computed once per distinct string.
    let mut ranks: Vec<Option<HashMap<u32, u32>>> = Vec::new();
    for &(fi, _) in order {
        let f = &layout.fields[fi];
        if matches!(f.kind, Kind::Text | Kind::Raw | Kind::Multifield) {
            let mut distinct: Vec<u32> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for id in ids.iter() {
                let mut buf = [Cell::NULL];
                if let Some(c) = cells_of(f, *id, &rows[id], &mut buf).first() {
                    if seen.insert(c.as_text()) {
                        distinct.push(c.as_text());
                    }
                }
            }
            let mut keyed: Vec<(String, u32)> = distinct
                .into_iter()
                .map(|s| (strings.get(s).to_lowercase(), s))
                .collect();
            keyed.sort();
            ranks.push(Some(
                keyed
                    .into_iter()
                    .enumerate()
                    .map(|(r, (_, s))| (s, r as u32))
                    .collect(),
            ));
        } else {
            ranks.push(None);
        }
    }
    let key_of = |id: u32, k: usize| -> SortKey {
        let (fi, _) = order[k];
        let f = &layout.fields[fi];
        let mut buf = [Cell::NULL];
        let Some(&c) = cells_of(f, id, &rows[&id], &mut buf).first() else {
            return SortKey::Null;
        };
        match (&ranks[k], f.kind) {
            (Some(r), _) => SortKey::Rank(r.get(&c.as_text()).copied().unwrap_or(0)),
            (None, Kind::Float(_)) => SortKey::Num(c.as_float()),
            (None, _) => SortKey::Num(c.as_int() as f64),
        }
    };
    let mut keyed: Vec<(Vec<SortKey>, u32)> = ids
        .iter()
        .map(|&id| ((0..order.len()).map(|k| key_of(id, k)).collect(), id))
        .collect();
    keyed.sort_by(|(a, ia), (b, ib)| {
        for (k, &(_, asc)) in order.iter().enumerate() {
            let o = a[k].partial_cmp(&b[k]).unwrap_or(Ordering::Equal);
            let o = if asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        ia.cmp(ib)
    });
    for (slot, (_, id)) in ids.iter_mut().zip(keyed) {
        *slot = id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(split_prefix(">=OPPORTUNITY"), (Op::Ge, "OPPORTUNITY"));
        assert_eq!(split_prefix("=%TITLE"), (Op::LikePattern, "TITLE"));
        assert_eq!(split_prefix("%=TITLE"), (Op::LikePattern, "TITLE"));
        assert_eq!(split_prefix("!@ID"), (Op::NotIn, "ID"));
        assert_eq!(split_prefix("!ID"), (Op::Ne, "ID"));
        assert_eq!(split_prefix("ID"), (Op::Eq, "ID"));
        assert_eq!(split_prefix("><ID"), (Op::Between, "ID"));
    }

    #[test]
    fn like_patterns() {
        assert!(like("%а", "[а] сделка"));
        assert!(like("мол%", "молоко"));
        assert!(!like("мол%", "комол"));
        assert!(like("%мол%", "комолз"));
        assert!(like("a_c", "abc"));
        assert!(!like("a_c", "abbc"));
        assert!(like("%", ""));
    }
}

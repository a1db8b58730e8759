//! Export planning: which method an export uses (chained `>ID` cursors or offset pages), and
//! what the user's id conditions mean for the cursor.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::params::{ListParams, Order, by_id};
use crate::engine::Engine;
use crate::transport::u64_of;

/// What an id condition in the user's filter means for the fast method's cursor.
pub(crate) enum IdBound {
    /// Rows with ids beyond this value (exclusive) in the scan direction.
    After(u64),
    /// Nothing can match.
    Empty,
}

/// How an export reads its rows.
pub(crate) enum Mode {
    /// Chained `>ID` (or `<ID`) cursors, `start=-1`.
    Fast {
        direction: Order,
        /// Exclusive id bound to start from (`None`: from the first row).
        start: Option<u64>,
    },
    /// Offset pages with the portal's counting.
    Offset,
}

/// An export, ready to run.
pub(crate) struct ExportPlan {
    pub engine: Arc<Engine>,
    pub method: String,
    pub mode: Mode,
    /// The parameters of every page, without the fast method's cursor condition.
    pub params: ListParams,
}

impl ExportPlan {
    /// The plan for `params` (ordered with the `ID` tie-breaker): the fast method in
    /// `fast_direction` when the order allows it and the id conditions are numbers, offset
    /// pages otherwise. `None` when the id conditions leave nothing to match.
    pub(crate) fn new(
        engine: Arc<Engine>,
        method: String,
        params: ListParams,
        fast_direction: Option<Order>,
    ) -> Option<Self> {
        if let Some(direction) = fast_direction {
            if let Some((filter, bound)) = split_id_bounds(&params.filter, direction) {
                let start = match bound {
                    Some(IdBound::Empty) => return None,
                    Some(IdBound::After(v)) => Some(v),
                    None => None,
                };
                return Some(ExportPlan {
                    engine,
                    method,
                    mode: Mode::Fast { direction, start },
                    params: ListParams {
                        filter,
                        order: by_id(direction),
                        select: params.select,
                        route: params.route,
                    },
                });
            }
        }
        Some(ExportPlan {
            engine,
            method,
            mode: Mode::Offset,
            params,
        })
    }
}

/// Moves the user's `>ID`/`>=ID` (ascending) or `<ID`/`<=ID` (descending) conditions into the
/// cursor. `None` when a bound's value is not a number (then the offset method is used).
pub(crate) fn split_id_bounds(
    filter: &Map<String, Value>,
    direction: Order,
) -> Option<(Map<String, Value>, Option<IdBound>)> {
    let (strict, inclusive) = match direction {
        Order::Asc => (">ID", ">=ID"),
        Order::Desc => ("<ID", "<=ID"),
    };
    let mut rest = Map::new();
    let mut bound: Option<IdBound> = None;
    for (key, value) in filter {
        if key != strict && key != inclusive {
            rest.insert(key.clone(), value.clone());
            continue;
        }
        let v = u64_of(value)?;
        let b = match (direction, key == inclusive) {
            (Order::Asc, false) => IdBound::After(v),
            (Order::Asc, true) => IdBound::After(v.saturating_sub(1)),
            (Order::Desc, false) if v <= 1 => IdBound::Empty,
            (Order::Desc, false) => IdBound::After(v),
            (Order::Desc, true) if v == 0 => IdBound::Empty,
            (Order::Desc, true) => IdBound::After(v.saturating_add(1)),
        };
        bound = Some(match (bound, b) {
            (Some(IdBound::Empty), _) | (_, IdBound::Empty) => IdBound::Empty,
            (None, b) => b,
            (Some(IdBound::After(a)), IdBound::After(b)) => IdBound::After(match direction {
                Order::Asc => a.max(b),
                Order::Desc => a.min(b),
            }),
        });
    }
    Some((rest, bound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn id_bounds_move_into_the_cursor() {
        let f = map(json!({">ID": "10", ">=ID": 30, "=STAGE_ID": "NEW", "<ID": 99}));
        let (rest, bound) = split_id_bounds(&f, Order::Asc).unwrap();
        assert_eq!(Value::Object(rest), json!({"=STAGE_ID": "NEW", "<ID": 99}));
        assert!(matches!(bound, Some(IdBound::After(29))));

        let (rest, bound) = split_id_bounds(&f, Order::Desc).unwrap();
        assert_eq!(
            Value::Object(rest),
            json!({">ID": "10", ">=ID": 30, "=STAGE_ID": "NEW"})
        );
        assert!(matches!(bound, Some(IdBound::After(99))));

        let (_, bound) = split_id_bounds(&map(json!({"<=ID": 0})), Order::Desc).unwrap();
        assert!(matches!(bound, Some(IdBound::Empty)));
        let (_, bound) = split_id_bounds(&map(json!({"=TITLE": "x"})), Order::Asc).unwrap();
        assert!(bound.is_none());
        assert!(split_id_bounds(&map(json!({">ID": "abc"})), Order::Asc).is_none());
    }
}

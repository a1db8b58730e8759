//! A list query as plain data, and the one builder of its parameters (`filter`, `order`,
//! `select`, `start`) for every call a list makes: pages, counts, chained cursors, the far-end
//! probe and the id range of a parallel export.

use serde_json::{Map, Value};

use crate::api::Route;
use crate::entity::{Entity, EntityField};
use crate::error::Error;
use crate::php;

/// `start=-1`: the portal does not count the rows (no `total`, no `next`), which is what makes
/// `>ID` paging fast on big portals.
pub(crate) const NO_COUNT: i64 = -1;

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl Order {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        }
    }

    pub(crate) fn opposite(self) -> Order {
        match self {
            Order::Asc => Order::Desc,
            Order::Desc => Order::Asc,
        }
    }

    /// The filter key of the fast method's cursor: rows beyond an id in this direction.
    pub(crate) fn cursor_key(self) -> &'static str {
        match self {
            Order::Asc => ">ID",
            Order::Desc => "<ID",
        }
    }
}

/// One page of a list call.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<E> {
    /// The rows.
    pub items: Vec<E>,
    /// How many rows match (absent when the portal did not count).
    pub total: Option<u64>,
    /// The `start` of the next page, when more rows exist.
    pub next: Option<u64>,
}

/// What a list call asks for, in the legacy form (UPPER codes, `>ID`); [`at`](ListParams::at)
/// and [`query`](ListParams::query) send it as its route says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ListParams {
    pub filter: Map<String, Value>,
    pub order: Map<String, Value>,
    pub select: Vec<String>,
    pub route: Route,
}

impl ListParams {
    /// Ids only, ordered by ID in `order`, matching `filter` and, with `after`, beyond that id
    /// in `cursor`'s direction: the far-end probe of an export and the ends of its id range.
    pub(crate) fn ids(&self, after: Option<(Order, u64)>, order: Order) -> Self {
        let mut filter = self.filter.clone();
        if let Some((cursor, id)) = after {
            filter.insert(cursor.cursor_key().into(), Value::from(id));
        }
        ListParams {
            filter,
            order: by_id(order),
            select: vec!["ID".into()],
            route: self.route,
        }
    }

    /// The ids of `filter`, unordered: a count.
    pub(crate) fn count(filter: Map<String, Value>, route: Route) -> Self {
        ListParams {
            filter,
            order: Map::new(),
            select: vec!["ID".into()],
            route,
        }
    }

    /// The parameters of one call from row `start` (or [`NO_COUNT`]): the one place that
    /// builds them, through the route's translation. Empty filters and orders are left out.
    pub(crate) fn at(&self, start: i64) -> Map<String, Value> {
        let mut p = self
            .route
            .list_params(&self.filter, &self.order, &self.select);
        p.insert("start".into(), Value::from(start));
        p
    }

    /// [`at`](Self::at) as a batch command's query string, inexpressible values reported as
    /// errors.
    pub(crate) fn query(&self, method: &str, start: i64) -> Result<String, Error> {
        php::build_query(&self.at(start)).map_err(|e| Error::InvalidRequest {
            method: method.to_owned(),
            message: format!(
                "the list parameter {} is {}, which a batch command cannot express; remove it from the filter, or read the pages with direct calls (ListQuery::page)",
                e.path, e.what
            ),
            source: None,
        })
    }
}

/// `{"ID": "ASC"}` or `{"ID": "DESC"}`.
pub(crate) fn by_id(order: Order) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ID".into(), Value::String(order.as_str().into()));
    m
}

/// `select` without an explicit list: every standard field (`*`), every user field (`UF_*`)
/// and the standard multiple fields, which `*` leaves out.
pub(crate) fn default_select<E: Entity>() -> Vec<String> {
    let mut select = vec!["*".to_owned(), "UF_*".to_owned()];
    for f in <E::Field as EntityField>::ALL {
        let meta = f.meta();
        if meta.multiple && !meta.dynamic {
            select.push(meta.code.to_owned());
        }
    }
    select
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_call_of_a_list_is_built_the_same_way() {
        let filter = match json!({"=STAGE_ID": "NEW"}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let page = ListParams {
            filter: filter.clone(),
            order: by_id(Order::Desc),
            select: vec!["ID".into(), "TITLE".into()],
            route: Route::default(),
        };
        assert_eq!(
            Value::Object(page.at(100)),
            json!({"filter": {"=STAGE_ID": "NEW"}, "order": {"ID": "DESC"}, "select": ["ID", "TITLE"], "start": 100})
        );
        assert_eq!(
            Value::Object(ListParams::count(filter.clone(), Route::default()).at(0)),
            json!({"filter": {"=STAGE_ID": "NEW"}, "select": ["ID"], "start": 0})
        );
        assert_eq!(
            Value::Object(page.ids(Some((Order::Asc, 7)), Order::Desc).at(NO_COUNT)),
            json!({"filter": {"=STAGE_ID": "NEW", ">ID": 7}, "order": {"ID": "DESC"}, "select": ["ID"], "start": -1})
        );
        assert_eq!(
            Value::Object(ListParams::default().at(0)),
            json!({"select": [], "start": 0})
        );
        assert_eq!(
            page.query("crm.deal.list", NO_COUNT).unwrap(),
            "filter%5B%3DSTAGE_ID%5D=NEW&order%5BID%5D=DESC&select%5B0%5D=ID&select%5B1%5D=TITLE&start=-1"
        );
    }
}

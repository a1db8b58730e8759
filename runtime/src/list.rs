//! Typed list queries and exports (documented on [`ListQuery`]).

mod chain;
mod cursor;
mod offset;
mod parallel;
mod params;
mod plan;
mod progress;
mod stream;

use std::sync::Arc;

use futures::TryStreamExt;
use serde_json::{Map, Value};

pub use parallel::{ParallelResumePoint, ParallelStream};
pub use params::{Order, Page};
pub use progress::Progress;
pub use stream::{ListStream, ResumePoint};

pub(crate) use params::ListParams;

use crate::api::Route;
use crate::engine::{Engine, Exec};
use crate::entity::{Api, Entity, EntityField};
use crate::error::Error;
use crate::projection::{Keyed, Projection};
use crate::query::Filter;
use crate::transport::{PAGE_SIZE, Response, Rows};

use params::default_select;
use plan::{ExportPlan, Mode};
use progress::{ProgressFn, Tracker};

/// A typed `crm.*.list` query and export (`client.list::<Deal>()`).
///
/// It runs on the entity's API (`crm.deal.list` or `crm.item.list`, see [`Api`]): everything
/// below holds for both; on `crm.item.list` the field names, the `>id` cursor and its batch
/// references (`$result[c{n}][items][49][id]`) are the item API's.
///
/// A [`ListQuery`] is built from the generated field identifiers: `filter` takes a typed
/// [`Filter`], `order` and `select` take fields. Without a `select`, every field is requested,
/// user fields included (`*`, `UF_*` and the standard multiple fields). The query of a
/// [`Projection`] (`client.list::<Row>()`) requests exactly the projection's fields (and `ID`)
/// and yields its rows; filters and order still take the entity's fields.
///
/// [`ListQuery::stream`] exports every matching row with bounded memory:
///
/// - **fast method** (when the order is empty or by `ID` only): pages are chained by id,
///   `filter[>ID]` = the last id seen, `order[ID]=ASC`, `start=-1` (no counting, which is what
///   makes it fast on big portals). The first request holds the first page and a probe for the
///   far end of the id range (one page in the opposite order, ids only), so a small result
///   costs one request. After that up to 50 pages go in one `batch`, each page's filter
///   referring to the previous page's last id (`$result[c{n}][49][ID]`): 2,500 rows per HTTP
///   request. The number of chained pages follows the rows still expected (the density of
///   matching ids times the id range left), because a chain reference after a short page
///   cannot resolve and the portal would run the rest of the batch as `ID > 0` queries. Every
///   id is checked to be strictly increasing, so a row can neither repeat nor be skipped by
///   the chaining, and a failed command resumes from the last id seen. The export ends on a
///   short page, so rows created during the export past the probe's end are still read.
/// - **offset pages** (any other order): `start=0, 50, 100, ...` with the portal's counting,
///   50 pages per batch after the first. `ID` is appended to the order as a tie-breaker.
///   **Offset pages cannot be consistent under concurrent writes**: a row created, deleted or
///   re-sorted (an order by `DATE_MODIFY`) while the export runs shifts the offsets, so other
///   rows are skipped or repeated. The export detects what it can see (a page repeating rows
///   of the previous request, a `next` that does not advance, pages that never end) and stops
///   with an error instead of looping or yielding duplicates, but it cannot see a skipped
///   row. For a complete export of a changing portal, order by `ID` (the fast method above)
///   and sort afterwards.
///
/// While rows of one request are consumed, the next request is already on its way: at most
/// two requests' rows (5,000) are held in memory.
pub struct ListQuery<P: Projection> {
    engine: Arc<Engine>,
    filter: Filter<P::Entity>,
    order: Vec<(FieldOf<P>, Order)>,
    select: Option<Vec<FieldOf<P>>>,
    route: Route,
    progress: Option<ProgressFn>,
    counted: bool,
}

/// The field enum of a projection's entity.
type FieldOf<P> = <<P as Projection>::Entity as Entity>::Field;

impl<P: Projection> Clone for ListQuery<P> {
    fn clone(&self) -> Self {
        ListQuery {
            engine: self.engine.clone(),
            route: self.route,
            filter: self.filter.clone(),
            order: self.order.clone(),
            select: self.select.clone(),
            progress: self.progress.clone(),
            counted: self.counted,
        }
    }
}

impl<P: Projection> std::fmt::Debug for ListQuery<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListQuery")
            .field("entity", &<P::Entity as Entity>::NAME)
            .field("api", &self.route.api)
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("select", &self.select)
            .field("on_progress", &self.progress.is_some())
            .field("with_total", &self.counted)
            .finish()
    }
}

impl<P: Projection> ListQuery<P> {
    pub(crate) fn new(engine: Arc<Engine>, api: Option<Api>) -> Self {
        ListQuery {
            engine,
            route: Route::of::<P::Entity>(api),
            filter: Filter::default(),
            order: Vec::new(),
            select: None,
            progress: None,
            counted: false,
        }
    }

    /// Makes [`stream`](Self::stream) and [`stream_parallel`](Self::stream_parallel) also ask
    /// the portal how many rows match (one more request, [`count`](Self::count), sent while
    /// the first rows are fetched), so an export by the fast method, which the portal does
    /// not count, knows its [`total`](ListStream::total) early too. A failed count leaves the
    /// total unknown until the export ends; the export itself goes on. It is the portal's
    /// count when it was taken: rows created or deleted during the export are not in it. An
    /// offset export (ordered by another field) has its total from its first page, so no
    /// count is sent for it.
    pub fn with_total(mut self) -> Self {
        self.counted = true;
        self
    }

    /// The count for [`with_total`](Self::with_total), when asked for.
    fn counting(&self) -> Option<progress::Counting> {
        if !self.counted || !self.uses_fast_export() {
            return None;
        }
        let query = self.clone();
        Some(Box::pin(async move { query.count().await }))
    }

    /// Calls `callback` with the export's [`Progress`] after every request of
    /// [`stream`](Self::stream) or [`stream_parallel`](Self::stream_parallel) that brought
    /// rows, and once more when an export whose total was not known (the fast method) has
    /// ended, with its total. It runs inside the stream's poll: keep it short.
    ///
    /// ```no_run
    /// # use bitrix_runtime::{Client, Entity};
    /// # async fn demo<D: Entity>(client: Client) -> Result<(), bitrix_runtime::Error> {
    /// let rows: Vec<D> = client
    ///     .list::<D>()
    ///     .on_progress(|p| eprintln!("{} of {:?} rows, {} requests", p.rows, p.total, p.requests))
    ///     .all()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn on_progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// Adds conditions (all conditions must match).
    pub fn filter(mut self, filter: Filter<P::Entity>) -> Self {
        self.filter = std::mem::take(&mut self.filter).and(filter);
        self
    }

    /// Adds a sort key (earlier keys take precedence).
    pub fn order(mut self, field: impl Into<FieldOf<P>>, order: Order) -> Self {
        let field = field.into();
        self.order.retain(|(f, _)| *f != field);
        self.order.push((field, order));
        self
    }

    /// Requests only these fields (`ID` is always added, because exports chain on it). A
    /// [`Projection`]'s own fields are always requested too (its struct needs them): for a
    /// narrower read, declare a narrower projection.
    pub fn select<F: Into<FieldOf<P>>>(mut self, fields: impl IntoIterator<Item = F>) -> Self {
        let mut list: Vec<FieldOf<P>> = Vec::new();
        for f in fields {
            let f = f.into();
            if !list.contains(&f) {
                list.push(f);
            }
        }
        self.select = Some(list);
        self
    }

    fn id_field() -> Option<FieldOf<P>> {
        <FieldOf<P> as EntityField>::from_code("ID")
    }

    fn select_codes(&self) -> Vec<String> {
        let chosen = match (&self.select, P::select()) {
            (None, None) => None,
            (Some(list), None) => Some(list.clone()),
            (None, Some(own)) => Some(own),
            (Some(list), Some(own)) => {
                let mut list = list.clone();
                for f in own {
                    if !list.contains(&f) {
                        list.push(f);
                    }
                }
                Some(list)
            }
        };
        match &chosen {
            None => default_select::<P::Entity>(),
            Some(fields) => {
                let mut codes: Vec<String> = fields.iter().map(|f| f.code().to_owned()).collect();
                if !codes.iter().any(|c| c == "ID") {
                    codes.insert(0, "ID".to_owned());
                }
                codes
            }
        }
    }

    /// The filter as sent, or `None` when nothing can match (an empty `one_of`).
    fn filter_map(&self) -> Option<Map<String, Value>> {
        let mut map = Map::new();
        for (key, value) in self.filter.conditions() {
            let empty_list = matches!(value, Value::Array(a) if a.is_empty());
            if empty_list && key.starts_with("!@") {
                continue; // NOT IN () excludes nothing
            }
            if empty_list && key.starts_with('@') {
                return None; // IN () matches nothing
            }
            map.insert(key.clone(), value.clone());
        }
        Some(map)
    }

    fn order_map(&self, tie_break: bool) -> Map<String, Value> {
        let mut map = Map::new();
        for (f, o) in &self.order {
            map.insert(f.code().to_owned(), Value::String(o.as_str().to_owned()));
        }
        if tie_break && !map.contains_key("ID") && Self::id_field().is_some() {
            map.insert("ID".into(), Value::String("ASC".into()));
        }
        map
    }

    fn method(&self) -> String {
        self.route.method("list")
    }

    /// What the query asks for, ordered with the `ID` tie-breaker or not; `None` when nothing
    /// can match (an empty `one_of`).
    fn params(&self, tie_break: bool) -> Option<ListParams> {
        Some(ListParams {
            filter: self.filter_map()?,
            order: self.order_map(tie_break),
            select: self.select_codes(),
            route: self.route,
        })
    }

    /// Where the query's calls go.
    pub(crate) fn route(&self) -> Route {
        self.route
    }

    /// Parameters of one offset page.
    pub(crate) fn page_params(&self, start: i64) -> Option<Map<String, Value>> {
        Some(self.params(false)?.at(start))
    }

    /// The first page (`start=0`), with `total` and `next`.
    pub async fn first_page(&self) -> Result<Page<P>, Error> {
        self.page(0).await
    }

    /// The page starting at row `start` (a multiple of 50), with `total` and `next`.
    pub async fn page(&self, start: u64) -> Result<Page<P>, Error> {
        self.route.check(&self.method())?;
        let Some(params) = self.page_params(start as i64) else {
            return Ok(Page {
                items: Vec::new(),
                total: Some(0),
                next: None,
            });
        };
        let method = self.method();
        let paced = [method.as_str()];
        let r: Response<Rows<Keyed<P>>> = self
            .engine
            .execute(&method, &params, Exec::read(&paced))
            .await?;
        Ok(Page {
            items: r.result.0.into_iter().map(|k| k.row).collect(),
            total: r.total,
            next: r.next,
        })
    }

    /// How many rows match (one request).
    pub async fn count(&self) -> Result<u64, Error> {
        self.route.check(&self.method())?;
        let Some(filter) = self.filter_map() else {
            return Ok(0);
        };
        let method = self.method();
        let p = ListParams::count(filter, self.route).at(0);
        let paced = [method.as_str()];
        let r: Response<Value> = self.engine.execute(&method, &p, Exec::read(&paced)).await?;
        match (r.total, &r.result) {
            (Some(total), _) => Ok(total),
            (None, Value::Array(rows)) if rows.len() < PAGE_SIZE => Ok(rows.len() as u64),
            (None, Value::Object(m)) => match m.get("items") {
                Some(Value::Array(rows)) if rows.len() < PAGE_SIZE => Ok(rows.len() as u64),
                _ => Err(Error::Decode {
                    method,
                    message: "the answer has no `total`, so the portal did not count the rows; count the rows of list().all() instead".into(),
                    source: None,
                }),
            },
            _ => Err(Error::Decode {
                method,
                message: "the answer has no `total`, so the portal did not count the rows; count the rows of list().all() instead".into(),
                source: None,
            }),
        }
    }

    /// Every matching row, collected (see [`stream`](ListQuery::stream) for bounded memory).
    pub async fn all(&self) -> Result<Vec<P>, Error> {
        self.stream().try_collect().await
    }

    /// Every matching row as a stream; see the [module documentation](crate::ListQuery).
    pub fn stream(&self) -> ListStream<P> {
        match self.route.check(&self.method()) {
            Ok(()) => ListStream::from_plan(self.export_plan()),
            Err(e) => ListStream::failed(e),
        }
        .whole(self.progress.clone())
        .counting(self.counting())
    }

    /// Every matching row, read by up to `partitions` chained `>ID` scans running at once;
    /// see [`ParallelStream`].
    ///
    /// One request first finds the smallest and largest matching id; the id range between
    /// them is split into `partitions` equal parts (fewer when the range holds fewer than
    /// `partitions` pages of ids), and each part is exported like [`stream`](Self::stream)
    /// with an upper bound (`<=ID`), the last part without one (so rows created during the
    /// export are read, as by `stream`). The scans share the client's rate limiter and
    /// operating-time tracker, so together they stay within the portal's limits.
    ///
    /// Rows come in the order they arrive: ascending within a part, interleaved across parts
    /// (any order of the query is ignored). Up to `partitions` times [`stream`](Self::stream)'s
    /// rows are held in memory. When the query cannot use the fast method (an order by another
    /// field) or `partitions` is 0 or 1, this is [`stream`](Self::stream).
    pub fn stream_parallel(&self, partitions: usize) -> ParallelStream<P> {
        if partitions <= 1 || !self.uses_fast_export() || self.route.check("").is_err() {
            return ParallelStream::whole(self.stream());
        }
        let mut ascending = self.clone();
        ascending.order.clear();
        let tracker = Tracker::new(self.progress.clone());
        let span = parallel::export_span::<P::Entity>(&self.method(), partitions);
        match ascending.export_plan() {
            Some(
                plan @ ExportPlan {
                    mode: Mode::Fast { start, .. },
                    ..
                },
            ) => ParallelStream::split(plan, start, partitions, tracker, span, self.counting()),
            // Not reached (the query uses the fast method, checked above): the plain export.
            Some(_) => ParallelStream::whole(self.stream()),
            None => ParallelStream::empty(tracker, span, self.counting()),
        }
    }

    /// Whether [`stream`](ListQuery::stream) uses the fast `>ID` method for this query.
    pub fn uses_fast_export(&self) -> bool {
        matches!(
            self.export_plan(),
            Some(ExportPlan {
                mode: Mode::Fast { .. },
                ..
            })
        )
    }

    fn export_plan(&self) -> Option<ExportPlan> {
        let fast_direction = match (Self::id_field(), self.order.as_slice()) {
            (Some(_), []) => Some(Order::Asc),
            (Some(id), [(f, o)]) if *f == id => Some(*o),
            _ => None,
        };
        ExportPlan::new(
            self.engine.clone(),
            self.method(),
            self.params(true)?,
            fast_direction,
        )
    }
}

//! Typed list queries and exports.
//!
//! A [`ListQuery`] is built from the generated field identifiers: `filter` takes a typed
//! [`Filter`], `order` and `select` take fields. Without a `select`, every field is requested,
//! user fields included (`*`, `UF_*` and the standard multiple fields).
//!
//! [`ListQuery::stream`] exports every matching row with bounded memory:
//!
//! - **fast method** (when the order is empty or by `ID` only): pages are chained by id,
//!   `filter[>ID]` = the last id seen, `order[ID]=ASC`, `start=-1` (no counting, which is what
//!   makes it fast on big portals). The first request holds the first page and a probe for the
//!   far end of the id range (one page in the opposite order, ids only), so a small result
//!   costs one request. After that up to 50 pages go in one `batch`, each page's filter
//!   referring to the previous page's last id (`$result[c{n}][49][ID]`): 2,500 rows per HTTP
//!   request. The number of chained pages follows the rows still expected (the density of
//!   matching ids times the id range left), because a chain reference after a short page
//!   cannot resolve and the portal would run the rest of the batch as `ID > 0` queries. Every
//!   id is checked to be strictly increasing, so a row can neither repeat nor be skipped by
//!   the chaining, and a failed command resumes from the last id seen. The export ends on a
//!   short page, so rows created during the export past the probe's end are still read.
//! - **offset pages** (any other order): `start=0, 50, 100, ...` with the portal's counting,
//!   50 pages per batch after the first. `ID` is appended to the order as a tie-breaker.
//!   Offset pages are only consistent if the matching rows do not change during the export.
//!
//! While rows of one request are consumed, the next request is already on its way: at most
//! two requests' rows (5,000) are held in memory.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use crate::batch::{RawCommand, send_raw};
use crate::client::{Client, Exec, default_select};
use crate::entity::{Entity, EntityField};
use crate::error::{ApiErrorCode, Error};
use crate::php;
use crate::query::Filter;
use crate::transport::{ChainPages, PhpMap, Response};

/// The portal's fixed page size.
pub const PAGE_SIZE: usize = 50;
/// Commands per batch.
pub const BATCH_SIZE: usize = 50;

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl Order {
    fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
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

/// A typed `crm.*.list` query; see the [module documentation](self).
pub struct ListQuery<E: Entity> {
    client: Client,
    filter: Filter<E>,
    order: Vec<(E::Field, Order)>,
    select: Option<Vec<E::Field>>,
}

impl<E: Entity> Clone for ListQuery<E> {
    fn clone(&self) -> Self {
        ListQuery {
            client: self.client.clone(),
            filter: self.filter.clone(),
            order: self.order.clone(),
            select: self.select.clone(),
        }
    }
}

impl<E: Entity> std::fmt::Debug for ListQuery<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListQuery")
            .field("entity", &E::NAME)
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("select", &self.select)
            .finish()
    }
}

/// What an id condition in the user's filter means for the fast method's cursor.
enum IdBound {
    /// Rows with ids beyond this value (exclusive) in the scan direction.
    After(u64),
    /// Nothing can match.
    Empty,
}

impl<E: Entity> ListQuery<E> {
    pub(crate) fn new(client: Client) -> Self {
        ListQuery {
            client,
            filter: Filter::default(),
            order: Vec::new(),
            select: None,
        }
    }

    /// Adds conditions (all conditions must match).
    pub fn filter(mut self, filter: Filter<E>) -> Self {
        self.filter = std::mem::take(&mut self.filter).and(filter);
        self
    }

    /// Adds a sort key (earlier keys take precedence).
    pub fn order(mut self, field: impl Into<E::Field>, order: Order) -> Self {
        let field = field.into();
        self.order.retain(|(f, _)| *f != field);
        self.order.push((field, order));
        self
    }

    /// Requests only these fields (`ID` is always added, because exports chain on it).
    pub fn select<F: Into<E::Field>>(mut self, fields: impl IntoIterator<Item = F>) -> Self {
        let mut list: Vec<E::Field> = Vec::new();
        for f in fields {
            let f = f.into();
            if !list.contains(&f) {
                list.push(f);
            }
        }
        self.select = Some(list);
        self
    }

    fn id_field() -> Option<E::Field> {
        <E::Field as EntityField>::from_code("ID")
    }

    fn select_codes(&self) -> Vec<String> {
        match &self.select {
            None => default_select::<E>(),
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

    fn method() -> String {
        format!("{}.list", E::METHOD_PREFIX)
    }

    /// Parameters of one offset page.
    pub(crate) fn page_params(&self, start: i64) -> Option<Map<String, Value>> {
        let filter = self.filter_map()?;
        let mut p = Map::new();
        if !filter.is_empty() {
            p.insert("filter".into(), Value::Object(filter));
        }
        let order = self.order_map(false);
        if !order.is_empty() {
            p.insert("order".into(), Value::Object(order));
        }
        p.insert(
            "select".into(),
            Value::Array(self.select_codes().into_iter().map(Value::String).collect()),
        );
        p.insert("start".into(), Value::from(start));
        Some(p)
    }

    /// The first page (`start=0`), with `total` and `next`.
    pub async fn first_page(&self) -> Result<Page<E>, Error> {
        self.page(0).await
    }

    /// The page starting at row `start` (a multiple of 50), with `total` and `next`.
    pub async fn page(&self, start: u64) -> Result<Page<E>, Error> {
        let Some(params) = self.page_params(start as i64) else {
            return Ok(Page {
                items: Vec::new(),
                total: Some(0),
                next: None,
            });
        };
        let method = Self::method();
        let paced = [method.as_str()];
        let r: Response<Vec<E>> = self
            .client
            .execute(&method, &params, read_exec(&paced))
            .await?;
        Ok(Page {
            items: r.result,
            total: r.total,
            next: r.next,
        })
    }

    /// How many rows match (one request).
    pub async fn count(&self) -> Result<u64, Error> {
        let Some(filter) = self.filter_map() else {
            return Ok(0);
        };
        let method = Self::method();
        let mut p = Map::new();
        if !filter.is_empty() {
            p.insert("filter".into(), Value::Object(filter));
        }
        p.insert("select".into(), Value::Array(vec![Value::from("ID")]));
        p.insert("start".into(), Value::from(0));
        let paced = [method.as_str()];
        let r: Response<Value> = self.client.execute(&method, &p, read_exec(&paced)).await?;
        match (r.total, &r.result) {
            (Some(total), _) => Ok(total),
            (None, Value::Array(rows)) if rows.len() < PAGE_SIZE => Ok(rows.len() as u64),
            _ => Err(Error::Decode {
                method,
                message: "the answer has no `total`, so the portal did not count the rows; count the rows of list().all() instead".into(),
            }),
        }
    }

    /// Every matching row, collected (see [`stream`](ListQuery::stream) for bounded memory).
    pub async fn all(&self) -> Result<Vec<E>, Error> {
        self.stream().try_collect().await
    }

    /// Every matching row as a stream; see the [module documentation](self).
    pub fn stream(&self) -> ListStream<E> {
        ListStream::from_plan(self.export_plan())
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
    pub fn stream_parallel(&self, partitions: usize) -> ParallelStream<E> {
        if partitions <= 1 || !self.uses_fast_export() {
            return ParallelStream {
                inner: Box::pin(self.stream()),
                failed: false,
            };
        }
        let mut ascending = self.clone();
        ascending.order.clear();
        let inner: BoxedRows<E> = match ascending.export_plan() {
            Some(plan) => Box::pin(futures::stream::once(partitioned(plan, partitions)).flatten()),
            None => Box::pin(futures::stream::empty()),
        };
        ParallelStream {
            inner,
            failed: false,
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
        let filter = self.filter_map()?;
        let select = self.select_codes();
        let method = Self::method();
        let fast_direction = match (Self::id_field(), self.order.as_slice()) {
            (Some(_), []) => Some(Order::Asc),
            (Some(id), [(f, o)]) if *f == id => Some(*o),
            _ => None,
        };
        if let Some(direction) = fast_direction {
            if let Some((filter, bound)) = split_id_bounds(&filter, direction) {
                let start = match bound {
                    Some(IdBound::Empty) => return None,
                    Some(IdBound::After(v)) => Some(v),
                    None => None,
                };
                return Some(ExportPlan {
                    client: self.client.clone(),
                    method,
                    mode: Mode::Fast { direction, start },
                    filter,
                    order: {
                        let mut m = Map::new();
                        m.insert("ID".into(), Value::String(direction.as_str().into()));
                        m
                    },
                    select,
                });
            }
        }
        Some(ExportPlan {
            client: self.client.clone(),
            method,
            mode: Mode::Offset,
            filter,
            order: self.order_map(true),
            select,
        })
    }
}

fn read_exec<'a>(paced: &'a [&'a str]) -> Exec<'a> {
    Exec {
        idempotent: true,
        paced_methods: paced,
        not_found_on_retry_is_success: false,
    }
}

/// Moves the user's `>ID`/`>=ID` (ascending) or `<ID`/`<=ID` (descending) conditions into the
/// cursor. `None` when a bound's value is not a number (then the offset method is used).
fn split_id_bounds(
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
        let v = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        }?;
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

enum Mode {
    Fast {
        direction: Order,
        /// Exclusive id bound to start from (`None`: from the first row).
        start: Option<u64>,
    },
    Offset,
}

struct ExportPlan {
    client: Client,
    method: String,
    mode: Mode,
    filter: Map<String, Value>,
    order: Map<String, Value>,
    select: Vec<String>,
}

impl ExportPlan {
    /// Parameters of a page without the fast method's cursor condition.
    fn params(&self, start: i64) -> Map<String, Value> {
        let mut p = Map::new();
        if !self.filter.is_empty() {
            p.insert("filter".into(), Value::Object(self.filter.clone()));
        }
        if !self.order.is_empty() {
            p.insert("order".into(), Value::Object(self.order.clone()));
        }
        p.insert(
            "select".into(),
            Value::Array(self.select.iter().cloned().map(Value::String).collect()),
        );
        p.insert("start".into(), Value::from(start));
        p
    }

    fn cursor_key(direction: Order) -> &'static str {
        match direction {
            Order::Asc => ">ID",
            Order::Desc => "<ID",
        }
    }

    /// A batch command's query string, inexpressible values reported as errors.
    fn query(&self, params: &Map<String, Value>) -> Result<String, Error> {
        php::build_query(params).map_err(|e| Error::InvalidRequest {
            method: self.method.clone(),
            message: format!(
                "the list parameter {} is {}, which a batch command cannot express; remove it from the filter",
                e.path, e.what
            ),
        })
    }
}

/// Where the next fetch starts.
enum Position {
    /// Nothing fetched yet.
    First,
    /// Fast method: the last id seen, the first id of the export, the rows seen, and the far
    /// end of the id range (when the probe found it).
    After {
        last: u64,
        origin: u64,
        seen: u64,
        far: Option<u64>,
    },
    /// Offset pages: the next `start`, and the total when known.
    Offset { next: u64, total: Option<u64> },
}

struct Cursor<E> {
    plan: Arc<ExportPlan>,
    position: Position,
    /// Consecutive fetches that made no progress (refused commands).
    stalls: u32,
    done: bool,
    _entity: PhantomData<fn() -> E>,
}

struct Fetched<E> {
    /// The rows in order, in the pages they were decoded into (kept as they are: a row is a
    /// large struct, and moving every row into one buffer showed in profiles).
    rows: Vec<Vec<E>>,
    error: Option<Error>,
}

/// Checks a fast-method page (ids strictly monotonic after `last`) and appends it to `out`.
/// Returns whether the page was full; on an error, the rows before the bad one are appended.
fn accept_fast_page<E: Entity>(
    method: &str,
    page: Vec<E>,
    direction: Order,
    last: &mut Option<u64>,
    out: &mut Vec<Vec<E>>,
) -> Result<bool, Error> {
    let full = page.len() >= PAGE_SIZE;
    let mut page = page;
    for index in 0..page.len() {
        let Some(id) = page[index].id() else {
            page.truncate(index);
            out.push(page);
            return Err(Error::Decode {
                method: method.to_owned(),
                message: "a row has no ID although the export selects it, so the export cannot continue without risking repeated or skipped rows; check that nothing between the client and the portal rewrites the answers".into(),
            });
        };
        let id: u64 = id.into();
        if let Some(prev) = *last {
            let in_order = match direction {
                Order::Asc => id > prev,
                Order::Desc => id < prev,
            };
            if !in_order {
                page.truncate(index);
                out.push(page);
                return Err(Error::Decode {
                    method: method.to_owned(),
                    message: format!(
                        "the portal returned ID {id} after ID {prev} in an export ordered by ID {}; the rows are out of order, so the export stops instead of repeating or skipping rows. Every row before this error was yielded once: to resume, export again with a filter on ID beyond {prev}",
                        direction.as_str()
                    ),
                });
            }
        }
        *last = Some(id);
    }
    out.push(page);
    Ok(full)
}

/// Rows in a fetch's pages.
fn row_count<E>(pages: &[Vec<E>]) -> usize {
    pages.iter().map(Vec::len).sum()
}

async fn fetch<E: Entity>(mut cur: Cursor<E>) -> (Cursor<E>, Fetched<E>) {
    let plan = cur.plan.clone();
    let fetched = match plan.mode {
        Mode::Fast { direction, start } => fetch_fast(&plan, &mut cur, direction, start).await,
        Mode::Offset => fetch_offset(&plan, &mut cur).await,
    };
    if fetched.error.is_some() {
        cur.done = true;
    }
    (cur, fetched)
}

fn failed<E>(rows: Vec<Vec<E>>, error: Error) -> Fetched<E> {
    Fetched {
        rows,
        error: Some(error),
    }
}

/// After a batch made no progress because commands were refused, counts the stall; too many
/// in a row end the export with the refusal.
fn stalled<E>(cur: &mut Cursor<E>, refusal: Option<Error>, plan: &ExportPlan) -> Option<Error> {
    cur.stalls += 1;
    if cur.stalls >= plan.client.inner.retry.max_attempts.max(1) {
        Some(refusal.unwrap_or_else(|| Error::Decode {
            method: plan.method.clone(),
            message: "the portal's batch answers make no progress (no rows, no error); try the export again later".into(),
        }))
    } else {
        None
    }
}

/// Commands of `method` that fit in the next batch: at most 50, fewer when the method's
/// operating time is nearly used up (at least one: the pacing step then waits for the reset).
fn affordable(client: &Client, method: &str) -> usize {
    client
        .operating()
        .affordable(method)
        .unwrap_or(BATCH_SIZE)
        .clamp(1, BATCH_SIZE)
}

fn is_refusal(e: &Error) -> bool {
    matches!(
        e.api_code(),
        Some(ApiErrorCode::OperationTimeLimit | ApiErrorCode::QueryLimitExceeded)
    )
}

/// How many chained pages the next fast batch should hold: the rows still expected, from the
/// density of matching ids seen so far and the far end of the id range (found by the probe of
/// the first request), plus one page to see the end. Sized well, the last batch of an export
/// holds no commands whose chain reference cannot resolve (the portal would run those as
/// `ID > 0` queries whose rows are thrown away).
fn chain_length(direction: Order, last: u64, origin: u64, seen: u64, far: Option<u64>) -> usize {
    let Some(far) = far else {
        return BATCH_SIZE;
    };
    let remaining_span = match direction {
        Order::Asc => far.saturating_sub(last),
        Order::Desc => last.saturating_sub(far),
    };
    if remaining_span == 0 {
        return 1;
    }
    let covered = last.abs_diff(origin) + 1;
    let density = (seen as f64 / covered as f64).min(1.0);
    let rows = (remaining_span as f64 * density).ceil();
    let pages = (rows / PAGE_SIZE as f64).ceil() as usize + 1;
    pages.clamp(1, BATCH_SIZE)
}

async fn fetch_fast<E: Entity>(
    plan: &ExportPlan,
    cur: &mut Cursor<E>,
    direction: Order,
    start: Option<u64>,
) -> Fetched<E> {
    let method = plan.method.as_str();
    let cursor_key = format!("filter[{}]", ExportPlan::cursor_key(direction));
    let base = match plan.query(&plan.params(-1)) {
        Ok(q) => q,
        Err(e) => return failed(Vec::new(), e),
    };
    let command = |key: String, cursor: Option<&str>| {
        let mut query = base.clone();
        if let Some(cursor) = cursor {
            php::push_raw(&mut query, &cursor_key, cursor);
        }
        RawCommand {
            key,
            method: method.to_owned(),
            query,
        }
    };
    let (commands, state) = match cur.position {
        Position::First => {
            // The first page, and a probe for the far end of the id range (one cheap page in
            // the opposite order, ids only), in one request.
            let start_text = start.map(|s| s.to_string());
            let page = command("c0".into(), start_text.as_deref());
            let mut probe_params = Map::new();
            let mut filter = plan.filter.clone();
            if let Some(s) = start {
                filter.insert(ExportPlan::cursor_key(direction).into(), Value::from(s));
            }
            if !filter.is_empty() {
                probe_params.insert("filter".into(), Value::Object(filter));
            }
            let mut order = Map::new();
            let opposite = match direction {
                Order::Asc => Order::Desc,
                Order::Desc => Order::Asc,
            };
            order.insert("ID".into(), Value::String(opposite.as_str().into()));
            probe_params.insert("order".into(), Value::Object(order));
            probe_params.insert("select".into(), Value::Array(vec![Value::from("ID")]));
            probe_params.insert("start".into(), Value::from(-1));
            let probe = match plan.query(&probe_params) {
                Ok(query) => RawCommand {
                    key: "far".into(),
                    method: method.to_owned(),
                    query,
                },
                Err(e) => return failed(Vec::new(), e),
            };
            (vec![page, probe], None)
        }
        Position::After {
            last,
            origin,
            seen,
            far,
        } => {
            let n = chain_length(direction, last, origin, seen, far)
                .min(affordable(&plan.client, method));
            let commands = (0..n)
                .map(|i| {
                    let cursor = if i == 0 {
                        last.to_string()
                    } else {
                        format!("$result[c{}][{}][ID]", i - 1, PAGE_SIZE - 1)
                    };
                    command(format!("c{i}"), Some(&cursor))
                })
                .collect();
            (commands, Some((last, origin, seen, far)))
        }
        Position::Offset { .. } => {
            return failed(
                Vec::new(),
                Error::Decode {
                    method: method.to_owned(),
                    message: "internal: an offset position in a fast export".into(),
                },
            );
        }
    };
    let batch = match send_raw::<ChainPages<E>>(&plan.client, &commands, true, true).await {
        Ok(b) => b,
        Err(e) => return failed(Vec::new(), e),
    };
    let mut pages: HashMap<String, Vec<E>> = batch.result.0.into_iter().collect();
    let mut rows = Vec::with_capacity(commands.len());
    let mut last = state.map(|(last, ..)| last).or(start);
    let mut refusal = None;
    for command in commands.iter().filter(|c| c.key != "far") {
        if let Some(raw) = batch.result_error.0.get(&command.key) {
            let e = crate::transport::command_error(method, raw, &|t| plan.client.redact(t));
            if is_refusal(&e) {
                refusal = Some(e);
                break;
            }
            return failed(rows, e);
        }
        let Some(page) = pages.remove(&command.key) else {
            break;
        };
        match accept_fast_page(method, page, direction, &mut last, &mut rows) {
            Ok(true) => {}
            Ok(false) => {
                cur.done = true;
                break;
            }
            Err(e) => return failed(rows, e),
        }
    }
    let received = row_count(&rows);
    if received == 0 && !cur.done {
        if let Some(e) = stalled(cur, refusal, plan) {
            return failed(rows, e);
        }
        return Fetched { rows, error: None };
    }
    cur.stalls = 0;
    if let Some(last) = last {
        let (origin, seen, far) = match state {
            Some((_, origin, seen, far)) => (origin, seen, far),
            None => {
                let origin = rows
                    .iter()
                    .find_map(|page| page.first())
                    .and_then(|r| r.id())
                    .map(Into::into)
                    .unwrap_or(last);
                let far = pages
                    .remove("far")
                    .and_then(|p| p.first().and_then(|r| r.id()))
                    .map(Into::into);
                (origin, 0, far)
            }
        };
        cur.position = Position::After {
            last,
            origin,
            seen: seen + received as u64,
            far,
        };
    }
    Fetched { rows, error: None }
}

async fn fetch_offset<E: Entity>(plan: &ExportPlan, cur: &mut Cursor<E>) -> Fetched<E> {
    let method = plan.method.as_str();
    let paced = [method];
    match cur.position {
        Position::First | Position::After { .. } => {
            let params = plan.params(0);
            let r: Result<Response<Vec<E>>, Error> = plan
                .client
                .execute(method, &params, read_exec(&paced))
                .await;
            match r {
                Ok(r) => {
                    let full = r.result.len() >= PAGE_SIZE;
                    match r.next {
                        Some(next) if full => {
                            cur.position = Position::Offset {
                                next,
                                total: r.total,
                            }
                        }
                        _ => cur.done = true,
                    }
                    Fetched {
                        rows: vec![r.result],
                        error: None,
                    }
                }
                Err(e) => failed(Vec::new(), e),
            }
        }
        Position::Offset { next, total } => {
            let pages = match total {
                Some(t) => (t.saturating_sub(next)).div_ceil(PAGE_SIZE as u64).max(1),
                None => BATCH_SIZE as u64,
            }
            .min(affordable(&plan.client, method) as u64);
            let mut commands = Vec::with_capacity(pages as usize);
            for i in 0..pages {
                let start = next + i * PAGE_SIZE as u64;
                match plan.query(&plan.params(start as i64)) {
                    Ok(query) => commands.push(RawCommand {
                        key: format!("c{i}"),
                        method: method.to_owned(),
                        query,
                    }),
                    Err(e) => return failed(Vec::new(), e),
                }
            }
            let batch = match send_raw::<PhpMap<Vec<E>>>(&plan.client, &commands, true, true).await
            {
                Ok(b) => b,
                Err(e) => return failed(Vec::new(), e),
            };
            let mut result = batch.result.0;
            let mut rows = Vec::with_capacity(commands.len());
            let mut position = next;
            let mut refusal = None;
            for command in &commands {
                if let Some(raw) = batch.result_error.0.get(&command.key) {
                    let e =
                        crate::transport::command_error(method, raw, &|t| plan.client.redact(t));
                    if is_refusal(&e) {
                        refusal = Some(e);
                        break;
                    }
                    return failed(rows, e);
                }
                let Some(page) = result.remove(&command.key) else {
                    break;
                };
                let full = page.len() >= PAGE_SIZE;
                rows.push(page);
                position += PAGE_SIZE as u64;
                if !full || total.is_some_and(|t| position >= t) {
                    cur.done = true;
                    break;
                }
            }
            if row_count(&rows) == 0 && !cur.done {
                if let Some(e) = stalled(cur, refusal, plan) {
                    return failed(rows, e);
                }
            } else {
                cur.stalls = 0;
            }
            cur.position = Position::Offset {
                next: position,
                total,
            };
            Fetched { rows, error: None }
        }
    }
}

type BoxedRows<E> = Pin<Box<dyn Stream<Item = Result<E, Error>> + Send>>;

/// Finds the id range of an ascending fast plan and starts one chained scan per part of it.
async fn partitioned<E: Entity>(plan: ExportPlan, partitions: usize) -> BoxedRows<E> {
    let Mode::Fast { start, .. } = plan.mode else {
        return Box::pin(ListStream::from_plan(Some(plan)));
    };
    let (low, high) = match id_range::<E>(&plan, start).await {
        Ok(Some(range)) => range,
        Ok(None) => return Box::pin(futures::stream::empty()),
        Err(e) => return Box::pin(futures::stream::iter([Err(e)])),
    };
    // Parts of the id range (low, high]; each holds at least a page's worth of ids.
    let low = low.saturating_sub(1);
    let span = high.saturating_sub(low);
    let parts = partition_bounds(low, span, partitions);
    let last = parts.len() - 1;
    let streams = parts.into_iter().enumerate().map(|(i, (after, up_to))| {
        let mut filter = plan.filter.clone();
        if i < last {
            // Tighter than any upper bound of the user's own filter: the probe's largest id
            // satisfies it, and `up_to` is at most that.
            filter.insert("<=ID".into(), Value::from(up_to));
        }
        ListStream::from_plan(Some(ExportPlan {
            client: plan.client.clone(),
            method: plan.method.clone(),
            mode: Mode::Fast {
                direction: Order::Asc,
                start: Some(after),
            },
            filter,
            order: plan.order.clone(),
            select: plan.select.clone(),
        }))
    });
    Box::pin(futures::stream::select_all(streams))
}

/// Splits the ids `(low, low + span]` into at most `partitions` consecutive ranges
/// `(after, up_to]`, none narrower than a page (at least one range).
fn partition_bounds(low: u64, span: u64, partitions: usize) -> Vec<(u64, u64)> {
    let parts = (span.div_ceil(PAGE_SIZE as u64) as usize).clamp(1, partitions.max(1));
    let at = |i: usize| low + ((u128::from(span) * i as u128) / parts as u128) as u64;
    (0..parts).map(|i| (at(i), at(i + 1))).collect()
}

/// The smallest and largest matching id (`None` when nothing matches), in one request.
async fn id_range<E: Entity>(
    plan: &ExportPlan,
    start: Option<u64>,
) -> Result<Option<(u64, u64)>, Error> {
    let method = plan.method.as_str();
    let mut commands = Vec::with_capacity(2);
    for (key, order) in [("min", Order::Asc), ("max", Order::Desc)] {
        let mut p = Map::new();
        let mut filter = plan.filter.clone();
        if let Some(s) = start {
            filter.insert(">ID".into(), Value::from(s));
        }
        if !filter.is_empty() {
            p.insert("filter".into(), Value::Object(filter));
        }
        let mut o = Map::new();
        o.insert("ID".into(), Value::String(order.as_str().into()));
        p.insert("order".into(), Value::Object(o));
        p.insert("select".into(), Value::Array(vec![Value::from("ID")]));
        p.insert("start".into(), Value::from(-1));
        commands.push(RawCommand {
            key: key.into(),
            method: method.to_owned(),
            query: plan.query(&p)?,
        });
    }
    let batch = send_raw::<ChainPages<E>>(&plan.client, &commands, false, true).await?;
    for c in &commands {
        if let Some(raw) = batch.result_error.0.get(&c.key) {
            return Err(crate::transport::command_error(method, raw, &|t| {
                plan.client.redact(t)
            }));
        }
    }
    let first_id = |key: &str| {
        batch
            .result
            .0
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, rows)| rows.first())
            .and_then(|r| r.id())
            .map(Into::<u64>::into)
    };
    Ok(match (first_id("min"), first_id("max")) {
        (Some(low), Some(high)) if low <= high => Some((low, high)),
        _ => None,
    })
}

/// The rows of [`ListQuery::stream_parallel`], as a [`Stream`].
///
/// Rows are yielded as they arrive from the parts (not in id order); the first error ends the
/// stream (rows received before it are yielded first, the other parts' requests are dropped).
pub struct ParallelStream<E: Entity> {
    inner: BoxedRows<E>,
    failed: bool,
}

impl<E: Entity> std::fmt::Debug for ParallelStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelStream")
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<E: Entity> Stream for ParallelStream<E> {
    type Item = Result<E, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Err(_))) = &next {
            self.failed = true;
            self.inner = Box::pin(futures::stream::empty());
        }
        next
    }
}

type FetchFuture<E> = Pin<Box<dyn Future<Output = (Cursor<E>, Fetched<E>)> + Send>>;

/// The rows of a [`ListQuery`], as a [`Stream`]; see the [module documentation](self).
///
/// Rows are yielded in the query's order; the first error ends the stream (rows received
/// before it are yielded first).
pub struct ListStream<E: Entity> {
    /// Fetched pages not yet yielded (each yielded row by row, without copying the rest).
    buffer: VecDeque<std::vec::IntoIter<E>>,
    /// Rows in `buffer`.
    buffered: usize,
    inflight: Option<FetchFuture<E>>,
    cursor: Option<Cursor<E>>,
    error: Option<Error>,
}

impl<E: Entity> ListStream<E> {
    /// A stream over the rows of `plan`; no plan: a query that matches nothing.
    fn from_plan(plan: Option<ExportPlan>) -> Self {
        ListStream {
            buffer: VecDeque::new(),
            buffered: 0,
            inflight: None,
            cursor: plan.map(|plan| Cursor {
                plan: Arc::new(plan),
                position: Position::First,
                stalls: 0,
                done: false,
                _entity: PhantomData,
            }),
            error: None,
        }
    }
}

impl<E: Entity> std::fmt::Debug for ListStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListStream")
            .field("buffered", &self.buffered)
            .field("fetching", &self.inflight.is_some())
            .finish_non_exhaustive()
    }
}

// No field is structurally pinned (the in-flight future is boxed), so the stream can move.
impl<E: Entity> Unpin for ListStream<E> {}

impl<E: Entity> Stream for ListStream<E> {
    type Item = Result<E, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(fut) = this.inflight.as_mut() {
                if let Poll::Ready((cursor, fetched)) = fut.as_mut().poll(cx) {
                    this.inflight = None;
                    for page in fetched.rows {
                        if !page.is_empty() {
                            this.buffered += page.len();
                            this.buffer.push_back(page.into_iter());
                        }
                    }
                    if let Some(e) = fetched.error {
                        this.error = Some(e);
                    }
                    this.cursor = Some(cursor);
                }
            }
            // Fetch ahead while the buffer holds less than one batch of rows.
            if this.inflight.is_none()
                && this.error.is_none()
                && this.buffered < BATCH_SIZE * PAGE_SIZE
            {
                if let Some(cursor) = this.cursor.take() {
                    if cursor.done {
                        this.cursor = Some(cursor);
                    } else {
                        this.inflight = Some(Box::pin(fetch(cursor)));
                        continue;
                    }
                }
            }
            break;
        }
        while let Some(page) = this.buffer.front_mut() {
            if let Some(row) = page.next() {
                this.buffered -= 1;
                return Poll::Ready(Some(Ok(row)));
            }
            this.buffer.pop_front();
        }
        if let Some(e) = this.error.take() {
            this.cursor = None;
            return Poll::Ready(Some(Err(e)));
        }
        if this.inflight.is_some() {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
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
    fn chains_are_sized_from_the_id_density() {
        // Dense ids 1..=100_000, after the first page: the full 50 pages.
        assert_eq!(chain_length(Order::Asc, 50, 1, 50, Some(100_000)), 50);
        // 2,450 rows left: 49 pages and one to see the end.
        assert_eq!(
            chain_length(Order::Asc, 97_550, 1, 97_550, Some(100_000)),
            50
        );
        assert_eq!(
            chain_length(Order::Asc, 97_600, 1, 97_600, Some(100_000)),
            49
        );
        // Every tenth id matches: 600 ids left hold about 60 rows.
        assert_eq!(chain_length(Order::Asc, 500, 10, 50, Some(1_100)), 3);
        // Descending scans count downwards.
        assert_eq!(chain_length(Order::Desc, 651, 700, 50, Some(1)), 14);
        // At the far end: one page to catch rows added meanwhile; without a probe: 50.
        assert_eq!(chain_length(Order::Asc, 700, 1, 700, Some(700)), 1);
        assert_eq!(chain_length(Order::Asc, 700, 1, 700, None), 50);
    }

    #[test]
    fn partitions_cover_the_id_range_once() {
        // Ids 1..=20,000 (low = 0) in 8 parts of 2,500 ids.
        let parts = partition_bounds(0, 20_000, 8);
        assert_eq!(parts.len(), 8);
        assert_eq!(parts[0], (0, 2_500));
        assert_eq!(parts[7], (17_500, 20_000));
        assert!(parts.windows(2).all(|w| w[0].1 == w[1].0));
        // Uneven spans: consecutive, the last ends at the top.
        let parts = partition_bounds(99, 1_001, 3);
        assert_eq!(parts, vec![(99, 432), (432, 766), (766, 1_100)]);
        // A range smaller than a page per part: fewer parts, at least one.
        assert_eq!(partition_bounds(10, 120, 8).len(), 3);
        assert_eq!(partition_bounds(10, 0, 8), vec![(10, 10)]);
        assert_eq!(partition_bounds(0, 1_000, 0).len(), 1);
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

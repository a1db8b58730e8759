//! [`ListStream`]: the rows of one export, fetched one request ahead.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use super::chain::fetch_fast;
use super::cursor::{Cursor, Fetched, Position};
use super::offset::fetch_offset;
use super::params::Order;
use super::plan::{ExportPlan, Mode};
use super::progress::{Counting, ProgressFn, Tracker, poll_count};
use crate::entity::Entity;
use crate::error::Error;
use crate::projection::{Keyed, Projection};
use crate::transport::{BATCH_SIZE, PAGE_SIZE};

async fn fetch<P: Projection>(
    mut cur: Cursor<P>,
    tracker: Arc<Tracker>,
) -> (Cursor<P>, Fetched<Keyed<P>>) {
    let plan = cur.plan.clone();
    let refusals = &tracker.refusals;
    let fetched = match plan.mode {
        Mode::Fast { direction, start } => {
            fetch_fast(&plan, &mut cur, direction, start, refusals).await
        }
        Mode::Offset => fetch_offset(&plan, &mut cur, refusals).await,
    };
    if fetched.error.is_some() {
        cur.done = true;
    }
    (cur, fetched)
}

/// Where an export stopped: continue it with [`ListStream::resume_from`], and nothing is lost
/// or repeated.
///
/// It counts the rows the stream YIELDED (rows fetched but not yet yielded do not count), so
/// it can be taken at any time, typically after the stream ended with an error. For an
/// export by the fast method (ordered by `ID` or not at all) it is the id of the last row
/// yielded, exact whatever changes on the portal meanwhile; for offset pages (any other
/// order) it is the number of rows yielded, exact only while the matching rows do not change
/// (see [`ListQuery`](crate::ListQuery)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePoint {
    after: Option<u64>,
    rows: u64,
}

impl ResumePoint {
    /// Continue after the row with this id (in the export's direction: ascending exports
    /// continue with larger ids, descending ones with smaller ids).
    pub fn after_id(id: u64) -> Self {
        ResumePoint {
            after: Some(id),
            rows: 0,
        }
    }

    /// Continue an offset export after its first `rows` rows.
    pub fn after_rows(rows: u64) -> Self {
        ResumePoint { after: None, rows }
    }

    /// The rows yielded before the stop.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The id of the last row yielded before the stop; `None`: no row was yielded, so the
    /// export starts again from its beginning.
    pub fn last_id(&self) -> Option<u64> {
        self.after
    }
}

type FetchFuture<P> = Pin<Box<dyn Future<Output = (Cursor<P>, Fetched<Keyed<P>>)> + Send>>;

/// The rows of a [`ListQuery`](crate::ListQuery), as a [`Stream`]; see
/// [`ListQuery::stream`](crate::ListQuery::stream).
///
/// Rows are yielded in the query's order; the first error ends the stream (rows received
/// before it are yielded first). Requests are retried until the client's
/// [`read_deadline`](crate::ClientBuilder::read_deadline), however many attempts that takes;
/// an export that must stop anyway continues later from
/// [`resume_point`](ListStream::resume_point) with [`resume_from`](ListStream::resume_from),
/// with nothing lost or repeated.
pub struct ListStream<P: Projection> {
    /// Fetched pages not yet yielded (each yielded row by row, without copying the rest).
    buffer: VecDeque<std::vec::IntoIter<Keyed<P>>>,
    /// Rows in `buffer`.
    buffered: usize,
    inflight: Option<FetchFuture<P>>,
    cursor: Option<Cursor<P>>,
    /// A part of a parallel export: its upper id bound (the part ends at the first row beyond
    /// it, which a portal ignoring the `<=ID` bound would return).
    up_to: Option<u64>,
    error: Option<Error>,
    /// Where to resume: the fast method's direction (`None`: offset pages), and the point
    /// after the last row yielded.
    resume: Option<(Option<Order>, ResumePoint)>,
    /// Rows to drop before yielding (an offset export resumed inside a page).
    skip: usize,
    /// Rows of `skip` not yet subtracted from the rows received the tracker counts.
    skip_unreported: usize,
    /// Rows this stream yielded.
    yielded: u64,
    /// The export's counters (shared with the other parts of a parallel export).
    tracker: Arc<Tracker>,
    /// Whether this stream is the whole export (not a part of a parallel one): it then
    /// records the total when it ends, and owns `span`.
    whole: bool,
    /// The export's span (`bitrix.export`), entered around every poll; disabled for a part.
    span: tracing::Span,
    /// Whether the end was recorded (in the span and the tracker).
    ended: bool,
    /// The count asked for by [`ListQuery::with_total`](crate::ListQuery::with_total), while
    /// it is on its way.
    counting: Option<Counting>,
}

/// The span of one export.
pub(crate) fn export_span<E: Entity>(method: &str, partitions: usize) -> tracing::Span {
    tracing::info_span!(
        "bitrix.export",
        entity = E::NAME,
        method,
        partitions,
        rows = tracing::field::Empty,
        total = tracing::field::Empty,
        requests = tracing::field::Empty,
        refusals = tracing::field::Empty,
        failed = tracing::field::Empty,
    )
}

impl<P: Projection> ListStream<P> {
    /// A stream over the rows of `plan`; no plan: a query that matches nothing.
    pub(crate) fn from_plan(plan: Option<ExportPlan>) -> Self {
        let resume = plan.as_ref().map(|p| match p.mode {
            Mode::Fast { direction, start } => (
                Some(direction),
                ResumePoint {
                    after: start,
                    rows: 0,
                },
            ),
            Mode::Offset => (None, ResumePoint::after_rows(0)),
        });
        ListStream {
            resume,
            skip: 0,
            skip_unreported: 0,
            yielded: 0,
            tracker: Tracker::new(None),
            whole: true,
            span: tracing::Span::none(),
            ended: false,
            counting: None,
            buffer: VecDeque::new(),
            buffered: 0,
            up_to: None,
            inflight: None,
            cursor: plan.map(|plan| Cursor {
                plan: Arc::new(plan),
                position: Position::First,
                stalls: 0,
                done: false,
                recent_ids: Default::default(),
                _entity: PhantomData,
            }),
            error: None,
        }
    }
}

impl<P: Projection> ListStream<P> {
    /// This stream as a whole export: in its own span, reporting to `callback` (see
    /// [`Progress`](crate::Progress)).
    pub(crate) fn whole(mut self, callback: Option<ProgressFn>) -> Self {
        self.tracker = Tracker::new(callback);
        self.whole = true;
        if let Some(cursor) = &self.cursor {
            self.span = export_span::<P::Entity>(&cursor.plan.method, 1);
        }
        self
    }

    /// This stream also waiting for the export's count (see
    /// [`ListQuery::with_total`](crate::ListQuery::with_total)).
    pub(crate) fn counting(mut self, counting: Option<Counting>) -> Self {
        if self.cursor.is_some() {
            self.counting = counting;
        }
        self
    }

    /// This stream as a part of a parallel export: counted by `tracker`, without a span or
    /// a total of its own.
    pub(crate) fn part_of(mut self, tracker: Arc<Tracker>) -> Self {
        self.tracker = tracker;
        self.whole = false;
        self.span = tracing::Span::none();
        self
    }

    /// This part of a parallel export, ended at its first row beyond `up_to`.
    pub(crate) fn up_to(mut self, up_to: u64) -> Self {
        self.up_to = Some(up_to);
        self
    }

    /// The REST method of this export; `None` for a query that matches nothing.
    pub(crate) fn method(&self) -> Option<&str> {
        self.cursor.as_ref().map(|c| c.plan.method.as_str())
    }

    /// The counters of this export.
    pub(crate) fn tracker(&self) -> Arc<Tracker> {
        self.tracker.clone()
    }

    /// The rows the export holds in all, once known: the portal's `total` for an offset
    /// export (any order other than by `ID`) from its first page; for an export by the fast
    /// method, which the portal does not count, once the count of
    /// [`ListQuery::with_total`](crate::ListQuery::with_total) is in, otherwise only once the
    /// stream has ended (the rows it yielded). After [`resume_from`](Self::resume_from), the portal's total includes the
    /// rows before the resume point.
    pub fn total(&self) -> Option<u64> {
        self.tracker.total()
    }

    /// The rows this stream has yielded so far.
    pub fn rows_yielded(&self) -> u64 {
        self.yielded
    }

    /// Records the end of the export (in its span, and its total when it completed).
    fn end(&mut self, failed: bool) {
        if self.ended || !self.whole {
            return;
        }
        self.ended = true;
        self.tracker.ended(&self.span, self.yielded, failed);
    }

    /// A stream that yields `error` and ends (an export that cannot start).
    pub(crate) fn failed(error: Error) -> Self {
        ListStream {
            error: Some(error),
            ..Self::from_plan(None)
        }
    }

    /// Where to continue this export if it stops now (see [`ResumePoint`]); `None` for a
    /// query that matches nothing.
    ///
    /// ```no_run
    /// # use bitrix_runtime::{Client, Entity};
    /// # async fn demo<D: Entity>(client: Client) -> Result<(), bitrix_runtime::Error> {
    /// use futures::StreamExt;
    /// let mut rows = client.list::<D>().stream();
    /// loop {
    ///     match rows.next().await {
    ///         Some(Ok(row)) => { /* store it */ }
    ///         Some(Err(e)) => {
    ///             let point = rows.resume_point().expect("an export");
    ///             // later, or after fixing the cause:
    ///             rows = client.list::<D>().stream().resume_from(point);
    /// #           let _ = e;
    ///         }
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn resume_point(&self) -> Option<ResumePoint> {
        self.resume.map(|(_, point)| point)
    }

    /// This export, continued after `point` (from [`resume_point`](Self::resume_point) of an
    /// earlier stream of the same query): the rows after it, each once. Call it before
    /// reading the stream.
    pub fn resume_from(mut self, point: ResumePoint) -> Self {
        let (Some(cursor), Some((direction, _))) = (self.cursor.as_mut(), self.resume) else {
            return self;
        };
        let Some(direction) = direction else {
            // Offset pages: from the page holding the next row, dropping the rows before it.
            if point.rows > 0 {
                let page = PAGE_SIZE as u64;
                cursor.position = Position::Offset {
                    next: point.rows / page * page,
                    total: None,
                };
                self.skip = (point.rows % page) as usize;
                self.skip_unreported = self.skip;
                self.resume = Some((None, ResumePoint::after_rows(point.rows)));
            }
            return self;
        };
        let Some(after) = point.after else {
            return self;
        };
        let Mode::Fast { start, .. } = cursor.plan.mode else {
            return self;
        };
        let start = Some(match (direction, start) {
            (Order::Asc, Some(s)) => s.max(after),
            (Order::Desc, Some(s)) => s.min(after),
            (_, None) => after,
        });
        cursor.plan = Arc::new(ExportPlan {
            engine: cursor.plan.engine.clone(),
            method: cursor.plan.method.clone(),
            mode: Mode::Fast { direction, start },
            params: cursor.plan.params.clone(),
        });
        cursor.position = Position::First;
        self.resume = Some((
            Some(direction),
            ResumePoint {
                after: start,
                rows: point.rows,
            },
        ));
        self
    }
}

impl<P: Projection> std::fmt::Debug for ListStream<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListStream")
            .field("buffered", &self.buffered)
            .field("fetching", &self.inflight.is_some())
            .field("rows_yielded", &self.yielded)
            .field("total", &self.total())
            .finish_non_exhaustive()
    }
}

// No field is structurally pinned (the in-flight future is boxed), so the stream can move.
impl<P: Projection> Unpin for ListStream<P> {}

impl<P: Projection> Stream for ListStream<P> {
    type Item = Result<P, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let span = this.span.clone();
        let _entered = span.enter();
        poll_count(&mut this.counting, &this.tracker, cx);
        loop {
            if let Some(fut) = this.inflight.as_mut() {
                if let Poll::Ready((cursor, fetched)) = fut.as_mut().poll(cx) {
                    this.inflight = None;
                    if let Position::Offset {
                        total: Some(total), ..
                    } = cursor.position
                    {
                        this.tracker.set_total(total);
                    }
                    let received = super::cursor::row_count(&fetched.rows);
                    let dropped = received.min(this.skip_unreported);
                    this.skip_unreported -= dropped;
                    this.tracker.fetched((received - dropped) as u64);
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
                        this.inflight = Some(Box::pin(fetch(cursor, this.tracker.clone())));
                        continue;
                    }
                }
            }
            break;
        }
        while let Some(page) = this.buffer.front_mut() {
            if let Some(row) = page.next() {
                this.buffered -= 1;
                if this.skip > 0 {
                    this.skip -= 1;
                    continue;
                }
                if let (Some(up_to), Some(id)) = (this.up_to, row.id()) {
                    if id > up_to {
                        tracing::warn!(
                            up_to,
                            "the portal ignored a partition's <=ID bound; its rows beyond it are left to the next partition"
                        );
                        this.buffer.clear();
                        this.buffered = 0;
                        this.inflight = None;
                        this.cursor = None;
                        this.error = None;
                        this.counting = None;
                        return Poll::Ready(None);
                    }
                }
                if let Some((direction, point)) = this.resume.as_mut() {
                    point.rows += 1;
                    if let (Some(_), Some(id)) = (direction, row.id()) {
                        point.after = Some(id);
                    }
                }
                this.yielded += 1;
                return Poll::Ready(Some(Ok(row.row)));
            }
            this.buffer.pop_front();
        }
        if let Some(e) = this.error.take() {
            this.cursor = None;
            this.counting = None;
            this.end(true);
            return Poll::Ready(Some(Err(e)));
        }
        if this.inflight.is_some() {
            Poll::Pending
        } else {
            this.counting = None;
            this.end(false);
            Poll::Ready(None)
        }
    }

    /// At least the rows received and not yet yielded; an upper bound only once no request
    /// is left to send (the portal's `total` is not trusted as a bound: rows can be created
    /// while the export runs).
    fn size_hint(&self) -> (usize, Option<usize>) {
        let ready = self.buffered.saturating_sub(self.skip);
        let error = usize::from(self.error.is_some());
        let fetching = self.inflight.is_some()
            || (self.error.is_none() && self.cursor.as_ref().is_some_and(|c| !c.done));
        if fetching {
            (ready + error, None)
        } else {
            (ready + error, Some(ready + error))
        }
    }
}

//! Parallel partitions: [`ListQuery::stream_parallel`](super::ListQuery::stream_parallel)
//! finds the id range in one request, splits it, and runs one chained scan per part.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde_json::Value;

use super::cursor::{is_refusal, stall};
use super::params::{ListParams, NO_COUNT, Order};
use super::plan::{ExportPlan, Mode};
use super::progress::{Counting, Tracker, poll_count};
pub(crate) use super::stream::export_span;
use super::stream::{ListStream, ResumePoint};
use crate::engine::RawCommand;
use crate::error::Error;
use crate::projection::{Keyed, Projection};
use crate::transport::{PAGE_SIZE, PhpMap, Rows};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// The ids one part of a parallel export has still to read: those after `after`, up to
/// `up_to` (`None`: the last part, without an upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartRange {
    after: u64,
    up_to: Option<u64>,
}

/// The parts of an ascending fast plan: the id range found in one request, split.
async fn probe<P: Projection>(
    plan: Arc<ExportPlan>,
    start: Option<u64>,
    partitions: usize,
    tracker: Arc<Tracker>,
) -> Result<Vec<PartRange>, Error> {
    let Some((low, high)) = id_range::<P>(&plan, start, &tracker.refusals).await? else {
        tracker.fetched(0);
        return Ok(Vec::new());
    };
    tracker.fetched(0);
    // Parts of the id range (low, high]; each holds at least a page's worth of ids.
    let low = low.saturating_sub(1);
    let span = high.saturating_sub(low);
    let parts = partition_bounds(low, span, partitions);
    let last = parts.len() - 1;
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(i, (after, up_to))| PartRange {
            after,
            up_to: (i < last).then_some(up_to),
        })
        .collect())
}

/// One part's chained scan: the ids of `range`, ascending.
fn part_stream<P: Projection>(
    plan: &ExportPlan,
    range: PartRange,
    tracker: Arc<Tracker>,
) -> ListStream<P> {
    let mut filter = plan.params.filter.clone();
    if let Some(up_to) = range.up_to {
        // Tighter than any upper bound of the user's own filter: the probe's largest id
        // satisfies it, and `up_to` is at most that.
        filter.insert("<=ID".into(), Value::from(up_to));
    }
    let part = ListStream::from_plan(Some(ExportPlan {
        engine: plan.engine.clone(),
        method: plan.method.clone(),
        mode: Mode::Fast {
            direction: Order::Asc,
            start: Some(range.after),
        },
        params: ListParams {
            filter,
            ..plan.params.clone()
        },
    }))
    .part_of(tracker);
    match range.up_to {
        Some(up_to) => part.up_to(up_to),
        None => part,
    }
}

/// What one part yields: a row (with the id of the last row the part has yielded), or its
/// end (`item: None`).
struct PartEvent<P> {
    index: usize,
    item: Option<Result<P, Error>>,
    after: Option<u64>,
}

/// One part's rows, tagged with the part's index, and its end as an event of its own.
struct Part<P: Projection> {
    index: usize,
    rows: ListStream<P>,
    ended: bool,
}

impl<P: Projection> Stream for Part<P> {
    type Item = PartEvent<P>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        let item = match Pin::new(&mut this.rows).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        this.ended = item.is_none();
        Poll::Ready(Some(PartEvent {
            index: this.index,
            item,
            after: this.rows.resume_point().and_then(|p| p.last_id()),
        }))
    }
}

type Parts<P> = futures::stream::SelectAll<Part<P>>;
type Probe = Pin<Box<dyn Future<Output = Result<Vec<PartRange>, Error>> + Send>>;

/// Splits the ids `(low, low + span]` into at most `partitions` consecutive ranges
/// `(after, up_to]`, none narrower than a page (at least one range).
fn partition_bounds(low: u64, span: u64, partitions: usize) -> Vec<(u64, u64)> {
    let parts = (span.div_ceil(PAGE_SIZE as u64) as usize).clamp(1, partitions.max(1));
    let at = |i: usize| low + ((u128::from(span) * i as u128) / parts as u128) as u64;
    (0..parts).map(|i| (at(i), at(i + 1))).collect()
}

/// The smallest and largest matching id (`None` when nothing matches), in one request.
async fn id_range<P: Projection>(
    plan: &ExportPlan,
    start: Option<u64>,
    refusals: &AtomicU64,
) -> Result<Option<(u64, u64)>, Error> {
    let method = plan.method.as_str();
    let mut commands = Vec::with_capacity(2);
    for (key, order) in [("min", Order::Asc), ("max", Order::Desc)] {
        let ids = plan.params.ids(start.map(|s| (Order::Asc, s)), order);
        commands.push(RawCommand {
            key: key.into(),
            method: method.to_owned(),
            query: ids.query(method, NO_COUNT)?,
        });
    }
    let mut stalls = 0;
    let batch = loop {
        let batch = plan
            .engine
            .send_batch::<PhpMap<Rows<Keyed<P>>>>(&commands, false, true, Some(refusals))
            .await?;
        let mut refusal = None;
        for c in &commands {
            if let Some(raw) = batch.result_error.0.get(&c.key) {
                let e = plan.engine.command_error(method, raw);
                if !is_refusal(&e) {
                    return Err(e);
                }
                refusal = Some(e);
            }
        }
        match refusal {
            None => break batch,
            // Refused by a limit (not executed): repeated after the backoff, as stream() does.
            Some(e) => {
                stalls += 1;
                if let Some(e) = stall(plan, stalls, Some(e)).await {
                    return Err(e);
                }
            }
        }
    };
    // Both pages are read whole (not as a chain, which stops after a short page: a short
    // `min` page would hide `max`).
    let first_id = |key: &str| {
        batch
            .result
            .0
            .get(key)
            .and_then(|rows| rows.0.first())
            .and_then(|r| r.id())
    };
    Ok(match (first_id("min"), first_id("max")) {
        (Some(low), Some(high)) if low <= high => Some((low, high)),
        _ => None,
    })
}

/// Where a parallel export stopped: continue it with [`ParallelStream::resume_from`], and
/// nothing is lost or repeated.
///
/// It holds, for every part not finished, the ids that part has still to read (after the
/// last row it YIELDED, up to its upper bound), so it can be taken at any time, typically
/// after the stream ended with an error; it is exact whatever changes on the portal
/// meanwhile, as [`ResumePoint`] is for the fast method. The last part has no upper bound:
/// resumed after it finished, it reads the rows created since. A point taken before the
/// id range was known starts the export again; a point of an export that was not split
/// (see [`stream_parallel`](crate::ListQuery::stream_parallel)) holds that export's
/// [`ResumePoint`].
///
/// To keep it across a restart, store [`ranges`](Self::ranges) (or [`whole`](Self::whole))
/// and [`rows`](Self::rows), and make it again with [`from_ranges`](Self::from_ranges) (or
/// `From<ResumePoint>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParallelResumePoint {
    state: ResumeState,
    rows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ResumeState {
    /// Before the parts were known: the export starts again.
    Start,
    /// An export that was not split.
    Whole(ResumePoint),
    /// The parts still to read.
    Parts(Vec<PartRange>),
}

impl ParallelResumePoint {
    /// A point that continues the parts `ranges`: each `(after, up_to)` reads the ids
    /// greater than `after` and at most `up_to` (`None`: without an upper bound), after
    /// `rows` rows were yielded. No range means nothing is left to read.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u64, Option<u64>)>, rows: u64) -> Self {
        ParallelResumePoint {
            state: ResumeState::Parts(
                ranges
                    .into_iter()
                    .map(|(after, up_to)| PartRange { after, up_to })
                    .collect(),
            ),
            rows,
        }
    }

    /// The id ranges still to read, `(after, up_to)` (see [`from_ranges`](Self::from_ranges));
    /// `None` when this point starts the export again or is a [`whole`](Self::whole) one.
    pub fn ranges(&self) -> Option<Vec<(u64, Option<u64>)>> {
        match &self.state {
            ResumeState::Parts(parts) => Some(parts.iter().map(|p| (p.after, p.up_to)).collect()),
            _ => None,
        }
    }

    /// The point of an export that was not split.
    pub fn whole(&self) -> Option<ResumePoint> {
        match self.state {
            ResumeState::Whole(point) => Some(point),
            _ => None,
        }
    }

    /// The rows yielded before the stop (by every stream this export was resumed in).
    pub fn rows(&self) -> u64 {
        match self.state {
            ResumeState::Whole(point) => point.rows(),
            _ => self.rows,
        }
    }
}

impl From<ResumePoint> for ParallelResumePoint {
    fn from(point: ResumePoint) -> Self {
        ParallelResumePoint {
            state: ResumeState::Whole(point),
            rows: point.rows(),
        }
    }
}

/// The rows of [`ListQuery::stream_parallel`](crate::ListQuery::stream_parallel), as a
/// [`Stream`].
///
/// Rows are yielded as they arrive from the parts (not in id order); the first error ends the
/// stream (rows received before it are yielded first, the other parts' requests are dropped).
/// Each part's requests are retried until the client's
/// [`read_deadline`](crate::ClientBuilder::read_deadline), like [`stream`](crate::ListQuery::stream)'s,
/// and a part ends at its upper id bound even when the portal ignores it. An export that must
/// stop anyway continues later from [`resume_point`](Self::resume_point) with
/// [`resume_from`](Self::resume_from), every part where it stopped.
pub struct ParallelStream<P: Projection> {
    body: Body<P>,
    failed: bool,
    /// Rows this stream yielded.
    yielded: u64,
    /// Rows yielded before the point this stream resumed from.
    resumed_rows: u64,
    /// The counters every part reports to.
    tracker: Arc<Tracker>,
    /// The export's span (`bitrix.export`), entered around every poll; disabled when the
    /// export is a [`ListStream`] with its own.
    span: tracing::Span,
    /// Whether the end was recorded.
    ended: bool,
    /// The count asked for by [`ListQuery::with_total`](crate::ListQuery::with_total), while
    /// it is on its way.
    counting: Option<Counting>,
}

/// How far a parallel export has come.
enum Body<P: Projection> {
    /// An export that is not split (boxed: it is much larger than the other states).
    Whole(Box<ListStream<P>>),
    /// Not started: the parts are found first (`ranges: None`), or known from a resume point.
    Pending {
        plan: Arc<ExportPlan>,
        start: Option<u64>,
        partitions: usize,
        ranges: Option<Vec<PartRange>>,
    },
    /// Finding the id range.
    Probing {
        plan: Arc<ExportPlan>,
        start: Option<u64>,
        partitions: usize,
        probe: Probe,
    },
    /// The parts running; `ranges[i]` is what part `i` has still to read, `None` once a
    /// bounded part has ended.
    Running {
        parts: Parts<P>,
        ranges: Vec<Option<PartRange>>,
    },
    /// A resume point that does not fit this export.
    Refused(Option<Error>),
    /// Nothing more to read.
    Empty,
}

impl<P: Projection> ParallelStream<P> {
    fn with_body(
        body: Body<P>,
        tracker: Arc<Tracker>,
        span: tracing::Span,
        counting: Option<Counting>,
    ) -> Self {
        ParallelStream {
            body,
            failed: false,
            yielded: 0,
            resumed_rows: 0,
            tracker,
            span,
            ended: false,
            counting,
        }
    }

    /// An export that is not split: `stream` with its own span and tracker.
    pub(crate) fn whole(stream: ListStream<P>) -> Self {
        let tracker = stream.tracker();
        Self::with_body(
            Body::Whole(Box::new(stream)),
            tracker,
            tracing::Span::none(),
            None,
        )
    }

    /// An export that matches nothing.
    pub(crate) fn empty(
        tracker: Arc<Tracker>,
        span: tracing::Span,
        counting: Option<Counting>,
    ) -> Self {
        Self::with_body(Body::Empty, tracker, span, counting)
    }

    /// An export of the ascending fast `plan` (starting after `start`), in `partitions`
    /// parts found by one probe on the first poll.
    pub(crate) fn split(
        plan: ExportPlan,
        start: Option<u64>,
        partitions: usize,
        tracker: Arc<Tracker>,
        span: tracing::Span,
        counting: Option<Counting>,
    ) -> Self {
        let body = Body::Pending {
            plan: Arc::new(plan),
            start,
            partitions,
            ranges: None,
        };
        Self::with_body(body, tracker, span, counting)
    }

    /// The rows the export holds in all, once known: the portal's `total` when this is an
    /// offset export (see [`stream_parallel`](crate::ListQuery::stream_parallel)), otherwise
    /// (the fast method, which the portal does not count) once the count of
    /// [`ListQuery::with_total`](crate::ListQuery::with_total) is in, or once the stream has
    /// ended.
    pub fn total(&self) -> Option<u64> {
        self.tracker.total()
    }

    /// The rows this stream has yielded so far.
    pub fn rows_yielded(&self) -> u64 {
        self.yielded
    }

    /// Where to continue this export if it stops now (see [`ParallelResumePoint`]); `None`
    /// for a query that matches nothing or a resume point this export refused.
    ///
    /// ```no_run
    /// # use bitrix_runtime::{Client, Entity};
    /// # async fn demo<D: Entity>(client: Client) -> Result<(), bitrix_runtime::Error> {
    /// use futures::StreamExt;
    /// let mut rows = client.list::<D>().stream_parallel(8);
    /// loop {
    ///     match rows.next().await {
    ///         Some(Ok(row)) => { /* store it */ }
    ///         Some(Err(e)) => {
    ///             let point = rows.resume_point().expect("an export");
    ///             // later, or after fixing the cause:
    ///             rows = client.list::<D>().stream_parallel(8).resume_from(point);
    /// #           let _ = e;
    ///         }
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn resume_point(&self) -> Option<ParallelResumePoint> {
        let rows = self.resumed_rows + self.yielded;
        let state = match &self.body {
            Body::Whole(stream) => return stream.resume_point().map(ParallelResumePoint::from),
            Body::Pending { ranges: None, .. } | Body::Probing { .. } => ResumeState::Start,
            Body::Pending {
                ranges: Some(ranges),
                ..
            } => ResumeState::Parts(ranges.clone()),
            Body::Running { ranges, .. } => {
                ResumeState::Parts(ranges.iter().flatten().copied().collect())
            }
            Body::Refused(_) | Body::Empty => return None,
        };
        Some(ParallelResumePoint { state, rows })
    }

    /// This export, continued from `point` (from [`resume_point`](Self::resume_point) of an
    /// earlier stream of the same query): the rows after it, each once. The parts are those
    /// of the point, whatever `partitions` this stream was made with; a point of an export
    /// that was not split resumes only an export that is not split either (and the reverse):
    /// otherwise the stream yields one [`Error::InvalidRequest`] saying so. Call it before
    /// reading the stream.
    pub fn resume_from(mut self, point: ParallelResumePoint) -> Self {
        let rows = point.rows();
        self.body = match (self.body, point.state) {
            (body, ResumeState::Start) => body,
            (Body::Whole(stream), ResumeState::Whole(point)) => {
                Body::Whole(Box::new(stream.resume_from(point)))
            }
            (
                Body::Pending {
                    plan,
                    start,
                    partitions,
                    ..
                },
                ResumeState::Parts(ranges),
            ) => Body::Pending {
                plan,
                start,
                partitions,
                ranges: Some(ranges),
            },
            (Body::Whole(stream), ResumeState::Parts(_)) => {
                Body::Refused(Some(mismatch(stream.method(), SPLIT_POINT)))
            }
            (Body::Pending { plan, .. }, ResumeState::Whole(_)) => {
                Body::Refused(Some(mismatch(Some(&plan.method), WHOLE_POINT)))
            }
            (body, _) => body,
        };
        self.resumed_rows = rows;
        self
    }

    fn end(&mut self, failed: bool) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.tracker.ended(&self.span, self.yielded, failed);
    }

    /// Ends the stream with `error`.
    fn fail(&mut self, error: Error) -> Poll<Option<Result<P, Error>>> {
        self.failed = true;
        self.counting = None;
        self.end(true);
        Poll::Ready(Some(Err(error)))
    }
}

const SPLIT_POINT: &str = "a split export (stream_parallel with 2 or more partitions and no order other than by ID), but this export is not split";
const WHOLE_POINT: &str = "an export that was not split (stream(), or stream_parallel with an order other than by ID or fewer than 2 partitions), but this export is split";

/// The error of a resume point of the other kind of export.
fn mismatch(method: Option<&str>, point: &str) -> Error {
    Error::InvalidRequest {
        method: method.unwrap_or_default().to_owned(),
        message: format!(
            "the resume point is of {point}: resume it with the query and partitions it was taken from"
        ),
        source: None,
    }
}

impl<P: Projection> std::fmt::Debug for ParallelStream<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelStream")
            .field("failed", &self.failed)
            .field("rows_yielded", &self.yielded)
            .field("total", &self.total())
            .finish_non_exhaustive()
    }
}

impl<P: Projection> Stream for ParallelStream<P> {
    type Item = Result<P, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let span = self.span.clone();
        let _entered = span.enter();
        let this = &mut *self;
        poll_count(&mut this.counting, &this.tracker, cx);
        loop {
            match &mut this.body {
                Body::Whole(stream) => {
                    let next = Pin::new(&mut **stream).poll_next(cx);
                    match &next {
                        Poll::Ready(Some(Err(_))) => {
                            this.failed = true;
                            this.end(true);
                        }
                        Poll::Ready(Some(Ok(_))) => this.yielded += 1,
                        Poll::Ready(None) => this.end(false),
                        Poll::Pending => {}
                    }
                    return next;
                }
                Body::Pending {
                    plan,
                    start,
                    partitions,
                    ranges,
                } => {
                    let plan = plan.clone();
                    this.body = match ranges.take() {
                        Some(ranges) => running(&plan, ranges, &this.tracker),
                        None => Body::Probing {
                            probe: Box::pin(probe::<P>(
                                plan.clone(),
                                *start,
                                *partitions,
                                this.tracker.clone(),
                            )),
                            plan,
                            start: *start,
                            partitions: *partitions,
                        },
                    };
                }
                Body::Probing {
                    plan,
                    start,
                    partitions,
                    probe,
                } => match probe.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        // Its resume point starts again, with a new probe.
                        this.body = Body::Pending {
                            plan: plan.clone(),
                            start: *start,
                            partitions: *partitions,
                            ranges: None,
                        };
                        return this.fail(e);
                    }
                    Poll::Ready(Ok(ranges)) => {
                        let plan = plan.clone();
                        this.body = running(&plan, ranges, &this.tracker);
                    }
                },
                Body::Running { parts, ranges } => match Pin::new(&mut *parts).poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => {
                        this.counting = None;
                        this.end(false);
                        return Poll::Ready(None);
                    }
                    Poll::Ready(Some(PartEvent { index, item, after })) => {
                        let range = &mut ranges[index];
                        match item {
                            Some(Ok(row)) => {
                                if let (Some(range), Some(after)) = (range.as_mut(), after) {
                                    range.after = after;
                                }
                                this.yielded += 1;
                                return Poll::Ready(Some(Ok(row)));
                            }
                            Some(Err(e)) => {
                                // The other parts' requests are dropped; the ranges stay for
                                // the resume point.
                                *parts = Parts::new();
                                return this.fail(e);
                            }
                            None => {
                                // A bounded part has nothing left; the last one keeps its
                                // place, to read the rows created after it.
                                if range.is_some_and(|r| r.up_to.is_some()) {
                                    *range = None;
                                }
                            }
                        }
                    }
                },
                Body::Refused(error) => {
                    return match error.take() {
                        Some(e) => this.fail(e),
                        None => Poll::Ready(None),
                    };
                }
                Body::Empty => {
                    this.counting = None;
                    this.end(false);
                    return Poll::Ready(None);
                }
            }
        }
    }

    /// The hint of [`stream`](crate::ListQuery::stream)'s [`ListStream`] when this export is
    /// one (no partitions); across partitions, `(0, None)` until the export has ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.failed || self.ended {
            (0, Some(0))
        } else if let Body::Whole(stream) = &self.body {
            stream.size_hint()
        } else {
            (0, None)
        }
    }
}

/// The parts of `plan` over `ranges`, started.
fn running<P: Projection>(
    plan: &ExportPlan,
    ranges: Vec<PartRange>,
    tracker: &Arc<Tracker>,
) -> Body<P> {
    if ranges.is_empty() {
        return Body::Empty;
    }
    let parts = ranges
        .iter()
        .enumerate()
        .map(|(index, range)| Part {
            index,
            rows: part_stream(plan, *range, tracker.clone()),
            ended: false,
        })
        .collect();
    Body::Running {
        parts,
        ranges: ranges.into_iter().map(Some).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

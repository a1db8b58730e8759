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
use super::stream::ListStream;
pub(crate) use super::stream::export_span;
use crate::engine::RawCommand;
use crate::error::Error;
use crate::projection::{Keyed, Projection};
use crate::transport::{PAGE_SIZE, PhpMap, Rows};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub(crate) type BoxedRows<E> = Pin<Box<dyn Stream<Item = Result<E, Error>> + Send>>;

/// Finds the id range of an ascending fast plan and starts one chained scan per part of it.
pub(crate) async fn partitioned<P: Projection>(
    plan: ExportPlan,
    partitions: usize,
    tracker: Arc<Tracker>,
) -> BoxedRows<P> {
    let Mode::Fast { start, .. } = plan.mode else {
        return Box::pin(ListStream::from_plan(Some(plan)).part_of(tracker));
    };
    let range = id_range::<P>(&plan, start, &tracker.refusals).await;
    if range.is_ok() {
        tracker.fetched(0);
    }
    let (low, high) = match range {
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
        let mut filter = plan.params.filter.clone();
        if i < last {
            // Tighter than any upper bound of the user's own filter: the probe's largest id
            // satisfies it, and `up_to` is at most that.
            filter.insert("<=ID".into(), Value::from(up_to));
        }
        let part = ListStream::from_plan(Some(ExportPlan {
            engine: plan.engine.clone(),
            method: plan.method.clone(),
            mode: Mode::Fast {
                direction: Order::Asc,
                start: Some(after),
            },
            params: ListParams {
                filter,
                ..plan.params.clone()
            },
        }))
        .part_of(tracker.clone());
        let rows: BoxedRows<P> = if i < last {
            Box::pin(part.up_to(up_to))
        } else {
            Box::pin(part)
        };
        rows
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

/// The rows of [`ListQuery::stream_parallel`](crate::ListQuery::stream_parallel), as a
/// [`Stream`].
///
/// Rows are yielded as they arrive from the parts (not in id order); the first error ends the
/// stream (rows received before it are yielded first, the other parts' requests are dropped).
/// Each part's requests are retried until the client's
/// [`read_deadline`](crate::ClientBuilder::read_deadline), like [`stream`](crate::ListQuery::stream)'s,
/// and a part ends at its upper id bound even when the portal ignores it. A parallel export
/// has no single [`ResumePoint`](crate::ResumePoint): when resuming after an error matters,
/// export with [`stream`](crate::ListQuery::stream).
pub struct ParallelStream<P: Projection> {
    inner: BoxedRows<P>,
    failed: bool,
    /// Rows this stream yielded.
    yielded: u64,
    /// The counters every part reports to.
    tracker: Arc<Tracker>,
    /// The export's span (`bitrix.export`), entered around every poll; disabled when the
    /// inner stream is a [`ListStream`] with its own.
    span: tracing::Span,
    /// Whether the end was recorded.
    ended: bool,
    /// The count asked for by [`ListQuery::with_total`](crate::ListQuery::with_total), while
    /// it is on its way.
    counting: Option<Counting>,
}

impl<P: Projection> ParallelStream<P> {
    pub(crate) fn new(
        inner: BoxedRows<P>,
        tracker: Arc<Tracker>,
        span: tracing::Span,
        counting: Option<Counting>,
    ) -> Self {
        ParallelStream {
            inner,
            failed: false,
            yielded: 0,
            tracker,
            span,
            ended: false,
            counting,
        }
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

    fn end(&mut self, failed: bool) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.tracker.ended(&self.span, self.yielded, failed);
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
        let next = self.inner.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(Err(_))) => {
                self.failed = true;
                self.inner = Box::pin(futures::stream::empty());
                self.counting = None;
                self.end(true);
            }
            Poll::Ready(Some(Ok(_))) => self.yielded += 1,
            Poll::Ready(None) => {
                self.counting = None;
                self.end(false);
            }
            Poll::Pending => {}
        }
        next
    }

    /// The hint of [`stream`](crate::ListQuery::stream)'s [`ListStream`] when this export is
    /// one (no partitions); across partitions, `(0, None)` until the export has ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.failed || self.ended {
            (0, Some(0))
        } else {
            self.inner.size_hint()
        }
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

//! [`Progress`]: how far an export has come, shared by the parts of a parallel export.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::Error;

/// How far an export has come, handed to the callback of
/// [`ListQuery::on_progress`](crate::ListQuery::on_progress) after every request that
/// brought rows; also how far a batch has come, handed to the callback of
/// [`Batch::on_progress`](crate::Batch::on_progress) after every request (there, `rows`
/// counts commands sent and `total` is every command of the batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Rows received so far (by every part of a parallel export); a resumed export counts
    /// from its resume point.
    pub rows: u64,
    /// The rows the export holds in all, when known: the portal's `total` of an offset
    /// export (any order other than by `ID`) from its first page; for an export by the fast
    /// method (which the portal does not count), once the count of
    /// [`with_total`](crate::ListQuery::with_total) is in, otherwise only once it has ended.
    pub total: Option<u64>,
    /// Requests (single calls or batches, each counted once however often it was retried)
    /// the export has completed, including a parallel export's id-range probe and the count
    /// of [`with_total`](crate::ListQuery::with_total).
    pub requests: u64,
    /// Time since the export started (its first request was prepared).
    pub elapsed: Duration,
}

impl Progress {
    /// Rows received per second so far; `None` before any time has passed.
    pub fn rate(&self) -> Option<f64> {
        let seconds = self.elapsed.as_secs_f64();
        (seconds > 0.0).then(|| self.rows as f64 / seconds)
    }

    /// The time left at the rate so far, when the total is known and rows have arrived
    /// (zero once every row is in).
    pub fn eta(&self) -> Option<Duration> {
        let total = self.total?;
        let left = total.saturating_sub(self.rows);
        if left == 0 {
            return Some(Duration::ZERO);
        }
        let rate = self.rate().filter(|r| *r > 0.0)?;
        Duration::try_from_secs_f64(left as f64 / rate).ok()
    }

    /// The share of the total received, from 0.0 to 1.0, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        let total = self.total?;
        Some(if total == 0 {
            1.0
        } else {
            (self.rows as f64 / total as f64).min(1.0)
        })
    }
}

/// A progress callback.
pub(crate) type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// The count of an export asked for by [`ListQuery::with_total`](crate::ListQuery::with_total).
pub(crate) type Counting = Pin<Box<dyn Future<Output = Result<u64, Error>> + Send>>;

/// Polls the count of an export, if one is pending: once it is in, the total is known (a
/// failed count only leaves it unknown; the export itself goes on).
pub(crate) fn poll_count(counting: &mut Option<Counting>, tracker: &Tracker, cx: &mut Context<'_>) {
    if let Some(count) = counting.as_mut() {
        if let Poll::Ready(result) = count.as_mut().poll(cx) {
            *counting = None;
            match result {
                Ok(total) => {
                    tracker.requests.fetch_add(1, Ordering::Relaxed);
                    if tracker.total().is_none() {
                        tracker.set_total(total);
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "the export's count failed; its total stays unknown")
                }
            }
        }
    }
}

/// `total` not known yet.
const UNKNOWN: u64 = u64::MAX;

/// The counters of one export (shared by the parts of a parallel one).
pub(crate) struct Tracker {
    rows: AtomicU64,
    requests: AtomicU64,
    /// Requests and batch commands the portal refused for a limit (and the export repeated).
    pub(crate) refusals: AtomicU64,
    total: AtomicU64,
    started: Instant,
    callback: Option<ProgressFn>,
}

impl Tracker {
    pub(crate) fn new(callback: Option<ProgressFn>) -> Arc<Self> {
        Arc::new(Tracker {
            rows: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            total: AtomicU64::new(UNKNOWN),
            started: Instant::now(),
            callback,
        })
    }

    /// The export's total, when known.
    pub(crate) fn total(&self) -> Option<u64> {
        match self.total.load(Ordering::Relaxed) {
            UNKNOWN => None,
            t => Some(t),
        }
    }

    pub(crate) fn set_total(&self, total: u64) {
        self.total.store(total.min(UNKNOWN - 1), Ordering::Relaxed);
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A request completed with `rows` new rows: counts it, and calls the callback when it
    /// brought rows.
    pub(crate) fn fetched(&self, rows: u64) {
        let requests = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let rows = self.rows.fetch_add(rows, Ordering::Relaxed) + rows;
        if rows > 0 {
            self.report(rows, requests);
        }
    }

    /// The export ended with `rows` rows in all: its total is known; the callback hears it.
    fn finished(&self, rows: u64) {
        if self.total().is_none() {
            self.set_total(rows);
            if let Some(callback) = &self.callback {
                callback(Progress {
                    rows: self.rows.load(Ordering::Relaxed),
                    total: self.total(),
                    requests: self.requests(),
                    elapsed: self.started.elapsed(),
                });
            }
        }
    }

    /// The export ended after yielding `rows` rows (`failed`: with an error): records the
    /// total when it completed, and the counters in its `span`.
    pub(crate) fn ended(&self, span: &tracing::Span, rows: u64, failed: bool) {
        if !failed {
            self.finished(rows);
        }
        span.record("rows", rows);
        span.record("requests", self.requests());
        span.record("refusals", self.refusals.load(Ordering::Relaxed));
        span.record("failed", failed);
        if let Some(total) = self.total() {
            span.record("total", total);
        }
    }

    fn report(&self, rows: u64, requests: u64) {
        if let Some(callback) = &self.callback {
            callback(Progress {
                rows,
                total: self.total(),
                requests,
                elapsed: self.started.elapsed(),
            });
        }
    }
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("rows", &self.rows)
            .field("requests", &self.requests)
            .field("refusals", &self.refusals)
            .field("total", &self.total())
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rows: u64, total: Option<u64>, seconds: u64) -> Progress {
        Progress {
            rows,
            total,
            requests: 1,
            elapsed: Duration::from_secs(seconds),
        }
    }

    #[test]
    fn rate_eta_and_fraction_follow_the_counters() {
        let p = at(2_500, Some(10_000), 5);
        assert_eq!(p.rate(), Some(500.0));
        assert_eq!(p.eta(), Some(Duration::from_secs(15)));
        assert_eq!(p.fraction(), Some(0.25));
        // No total: a rate, but no time left or share.
        let p = at(2_500, None, 5);
        assert_eq!(p.rate(), Some(500.0));
        assert_eq!((p.eta(), p.fraction()), (None, None));
        // No time yet, or no rows yet: no rate, so no estimate.
        assert_eq!(at(10, Some(100), 0).rate(), None);
        assert_eq!(at(0, Some(100), 3).eta(), None);
        // Done (or more rows than the count said, from rows added meanwhile).
        assert_eq!(at(100, Some(100), 3).eta(), Some(Duration::ZERO));
        assert_eq!(at(120, Some(100), 3).fraction(), Some(1.0));
        assert_eq!(at(0, Some(0), 0).fraction(), Some(1.0));
    }
}

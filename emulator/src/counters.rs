//! Counters a test reads to assert what reached the portal.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Injected faults by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// 503 `QUERY_LIMIT_EXCEEDED` injected.
    pub query_limit: u64,
    /// 500 `INTERNAL_SERVER_ERROR` injected.
    pub internal_error: u64,
    /// HTML bodies injected.
    pub html: u64,
    /// Connections dropped before executing.
    pub drop_before: u64,
    /// Connections dropped after executing.
    pub drop_after: u64,
    /// 500 answers sent after executing.
    pub error_after: u64,
    /// Requests delayed by an injected latency.
    pub latency: u64,
}

/// A snapshot of the portal's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// HTTP requests to `/rest/...`, whatever their outcome (a `batch` is one).
    pub requests: u64,
    /// Executed calls per method (lower case); commands inside a batch count under their own
    /// method, the batch itself under `batch`. Refused and faulted requests are not counted
    /// here.
    pub per_method: BTreeMap<String, u64>,
    /// Requests refused with 503 `QUERY_LIMIT_EXCEEDED` by the leaky bucket (injected 503s are
    /// in `faults`).
    pub refused_query_limit: u64,
    /// Calls refused with 429 `OPERATION_TIME_LIMIT` (batch commands included).
    pub refused_operation_limit: u64,
    /// Faults injected, all kinds but latency.
    pub faults_injected: u64,
    /// Faults injected by kind.
    pub faults: FaultCounts,
    /// Successful OAuth token refreshes.
    pub oauth_refreshes: u64,
    /// Refused OAuth token requests (wrong client, stale refresh token).
    pub oauth_refused: u64,
    /// Calls refused with 401 `expired_token`.
    pub expired_token_refusals: u64,
    /// Calls refused for their credentials (401 `NO_AUTH_FOUND`, `INVALID_CREDENTIALS` or
    /// `invalid_token`).
    pub auth_failures: u64,
    /// Commands executed inside batches.
    pub batch_commands: u64,
    /// Rows examined by list filters: a `>ID` page ordered by ID with `start=-1` examines
    /// about one page, not the whole table.
    pub rows_scanned: u64,
    /// Server time used: the sum of `time.processing` of every executed call (the modeled time
    /// under a [`CostModel`](crate::CostModel), else the measured handling time). Commands
    /// inside a batch count with their own time; the batch itself adds nothing. Calls refused
    /// before executing (429, 503, faults) cost nothing.
    pub server_time: Duration,
    /// [`server_time`](Self::server_time) per method (lower case), batch commands under their
    /// own method.
    pub server_time_per_method: BTreeMap<String, Duration>,
}

impl Counters {
    /// Executed calls of one method (0 when never called).
    pub fn method(&self, name: &str) -> u64 {
        self.per_method
            .get(&name.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Server time used by one method (zero when never called).
    pub fn method_server_time(&self, name: &str) -> Duration {
        self.server_time_per_method
            .get(&name.to_ascii_lowercase())
            .copied()
            .unwrap_or_default()
    }
}

#[derive(Debug, Default)]
pub(crate) struct CounterCells {
    pub requests: AtomicU64,
    pub refused_query_limit: AtomicU64,
    pub refused_operation_limit: AtomicU64,
    pub query_limit: AtomicU64,
    pub internal_error: AtomicU64,
    pub html: AtomicU64,
    pub drop_before: AtomicU64,
    pub drop_after: AtomicU64,
    pub error_after: AtomicU64,
    pub latency: AtomicU64,
    pub oauth_refreshes: AtomicU64,
    pub oauth_refused: AtomicU64,
    pub expired_token_refusals: AtomicU64,
    pub auth_failures: AtomicU64,
    pub batch_commands: AtomicU64,
    pub rows_scanned: AtomicU64,
    /// Nanoseconds of server time, see [`Counters::server_time`].
    server_time_nanos: AtomicU64,
    per_method: Mutex<BTreeMap<String, u64>>,
    server_time_per_method: Mutex<BTreeMap<String, Duration>>,
}

impl CounterCells {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    pub(crate) fn method(&self, name: &str) {
        *self
            .per_method
            .lock()
            .expect("counters lock")
            .entry(name.to_owned())
            .or_insert(0) += 1;
    }

    /// Adds one executed call's server time (seconds, as reported in `time.processing`).
    pub(crate) fn server_time(&self, method: &str, seconds: f64) {
        let time = Duration::try_from_secs_f64(seconds).unwrap_or(if seconds > 0.0 {
            Duration::MAX
        } else {
            Duration::ZERO
        });
        let nanos = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        // Saturating: a model with absurd costs must not wrap the sum around.
        let _ = self
            .server_time_nanos
            .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_add(nanos)));
        let mut per_method = self.server_time_per_method.lock().expect("counters lock");
        let entry = per_method.entry(method.to_owned()).or_default();
        *entry = entry.saturating_add(time);
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let faults = FaultCounts {
            query_limit: self.query_limit.load(Relaxed),
            internal_error: self.internal_error.load(Relaxed),
            html: self.html.load(Relaxed),
            drop_before: self.drop_before.load(Relaxed),
            drop_after: self.drop_after.load(Relaxed),
            error_after: self.error_after.load(Relaxed),
            latency: self.latency.load(Relaxed),
        };
        Counters {
            requests: self.requests.load(Relaxed),
            per_method: self.per_method.lock().expect("counters lock").clone(),
            refused_query_limit: self.refused_query_limit.load(Relaxed),
            refused_operation_limit: self.refused_operation_limit.load(Relaxed),
            faults_injected: faults.query_limit
                + faults.internal_error
                + faults.html
                + faults.drop_before
                + faults.drop_after
                + faults.error_after,
            faults,
            oauth_refreshes: self.oauth_refreshes.load(Relaxed),
            oauth_refused: self.oauth_refused.load(Relaxed),
            expired_token_refusals: self.expired_token_refusals.load(Relaxed),
            auth_failures: self.auth_failures.load(Relaxed),
            batch_commands: self.batch_commands.load(Relaxed),
            rows_scanned: self.rows_scanned.load(Relaxed),
            server_time: Duration::from_nanos(self.server_time_nanos.load(Relaxed)),
            server_time_per_method: self
                .server_time_per_method
                .lock()
                .expect("counters lock")
                .clone(),
        }
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.requests,
            &self.refused_query_limit,
            &self.refused_operation_limit,
            &self.query_limit,
            &self.internal_error,
            &self.html,
            &self.drop_before,
            &self.drop_after,
            &self.error_after,
            &self.latency,
            &self.oauth_refreshes,
            &self.oauth_refused,
            &self.expired_token_refusals,
            &self.auth_failures,
            &self.batch_commands,
            &self.rows_scanned,
            &self.server_time_nanos,
        ] {
            c.store(0, Relaxed);
        }
        self.per_method.lock().expect("counters lock").clear();
        self.server_time_per_method
            .lock()
            .expect("counters lock")
            .clear();
    }
}

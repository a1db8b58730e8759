//! Counters a test reads to assert what reached the portal.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
    /// Calls refused with 401 `NO_AUTH_FOUND`.
    pub auth_failures: u64,
    /// Commands executed inside batches.
    pub batch_commands: u64,
    /// Rows examined by list filters: a `>ID` page ordered by ID with `start=-1` examines
    /// about one page, not the whole table.
    pub rows_scanned: u64,
}

impl Counters {
    /// Executed calls of one method (0 when never called).
    pub fn method(&self, name: &str) -> u64 {
        self.per_method
            .get(&name.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
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
    per_method: Mutex<BTreeMap<String, u64>>,
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
        ] {
            c.store(0, Relaxed);
        }
        self.per_method.lock().expect("counters lock").clear();
    }
}

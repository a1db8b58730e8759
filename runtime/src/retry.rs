//! When the client repeats a call, and how long it waits in between.
//!
//! The rule is that a retry never duplicates a write:
//!
//! | failure | was it executed? | retried |
//! |---|---|---|
//! | 503 `QUERY_LIMIT_EXCEEDED`, 429 `OPERATION_TIME_LIMIT` | no: refused before execution | always |
//! | no connection could be made | no | always |
//! | 401 `expired_token` (OAuth) | no | once, after one shared refresh |
//! | 5xx, `OVERLOAD_LIMIT`, dropped connection, timeout, HTML body | unknown | reads and calls marked idempotent only |
//! | anything else (4xx, API errors, decode errors) | - | never |
//!
//! A write whose outcome is unknown fails with
//! [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) instead of being repeated.

use std::time::Duration;

use rand::Rng;

/// Retry settings of a [`Client`](crate::Client); see the module documentation for which
/// failures are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (at least 1).
    pub max_attempts: u32,
    /// The first backoff delay; each further attempt doubles it (with jitter).
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// Retry reads and idempotent calls after failures whose outcome is unknown (5xx,
    /// dropped connections, timeouts). Writes are never retried after such failures unless
    /// marked idempotent.
    pub retry_unknown_outcome: bool,
    /// The longest the client waits for an operating-time limit to reset before giving up
    /// with [`Error::LimitWait`](crate::Error::LimitWait).
    pub max_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            retry_unknown_outcome: true,
            max_limit_wait: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// No retries at all: every failure is returned at once.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            retry_unknown_outcome: false,
            ..RetryPolicy::default()
        }
    }

    /// The default policy with another base delay (tests use a few milliseconds).
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// The default policy with another number of attempts.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// The delay before attempt `attempt + 1` (after `attempt` failures, counting from 1):
    /// exponential, capped, with "equal jitter" (half fixed, half random), so concurrent
    /// clients spread out but never retry immediately.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let half = full / 2;
        let jitter_nanos = half.as_nanos().min(u128::from(u64::MAX)) as u64;
        let jitter = if jitter_nanos == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_nanos)
        };
        half + Duration::from_nanos(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let p = RetryPolicy::default().with_base_delay(Duration::from_millis(100));
        for _ in 0..100 {
            let d1 = p.backoff(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.backoff(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let big = p.backoff(40);
            assert!(big >= Duration::from_secs(15) && big <= Duration::from_secs(30));
        }
    }

    #[test]
    fn none_makes_one_attempt() {
        let p = RetryPolicy::none();
        assert_eq!(p.max_attempts, 1);
        assert!(!p.retry_unknown_outcome);
        assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts, 1);
    }
}

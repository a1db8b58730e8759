//! Client-side pacing for the portal's two limits (documented on [`Plan`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The portal's request-rate plan: the leaky bucket's capacity and drain rate.
///
/// The client paces itself for the portal's two limits:
///
/// 1. **Request rate**: the portal keeps a leaky bucket per portal and source IP. Each HTTP
///    request adds one; a request above the capacity is refused with 503
///    `QUERY_LIMIT_EXCEEDED`; the bucket drains at a fixed rate (50 / 2 per second on regular
///    plans, 250 / 5 per second on Enterprise). A `batch` costs one request. The client keeps
///    its own bucket, shared by every clone of a [`Client`](crate::Client), and waits for a free
///    slot before sending, so the portal never has to refuse.
/// 2. **Operating time**: the portal sums each method's execution time over the last 10
///    minutes and refuses the next call with 429 `OPERATION_TIME_LIMIT` once the sum crosses the
///    limit (480 s). Every answer reports the running sum (`time.operating`) and when the oldest
///    minute drops out (`time.operating_reset_at`); inside a batch each command reports its own
///    (`result_time`). The client tracks this per method and pauses a method's calls before the
///    portal would refuse them, until `operating_reset_at`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Plan {
    /// Regular plans: 50 requests, draining 2 per second.
    #[default]
    Regular,
    /// Enterprise plans: 250 requests, draining 5 per second.
    Enterprise,
    /// Any other bucket.
    Custom {
        /// Requests the bucket holds before the portal refuses.
        capacity: u32,
        /// Requests drained per second.
        drain_per_sec: f64,
    },
    /// No client-side pacing (for portals without limits, or when something else paces).
    Unlimited,
}

impl Plan {
    /// `(capacity, drain per second)`, or `None` for [`Plan::Unlimited`].
    pub fn bucket(&self) -> Option<(f64, f64)> {
        match *self {
            Plan::Regular => Some((50.0, 2.0)),
            Plan::Enterprise => Some((250.0, 5.0)),
            Plan::Custom {
                capacity,
                drain_per_sec,
            } if drain_per_sec > 0.0 && capacity > 0 => Some((f64::from(capacity), drain_per_sec)),
            Plan::Custom { .. } | Plan::Unlimited => None,
        }
    }
}

/// The client's copy of the portal's leaky bucket.
///
/// It uses a slightly smaller capacity than the portal's (5% plus two requests), because the
/// portal counts arrivals while the client counts departures, and network jitter can bunch
/// requests up.
#[derive(Debug)]
pub(crate) struct LeakyBucket {
    capacity: f64,
    drain_per_sec: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// Requests in the bucket at `at`, including reserved future slots.
    level: f64,
    at: Instant,
}

impl LeakyBucket {
    pub(crate) fn new(plan: Plan) -> Option<Self> {
        let (capacity, drain_per_sec) = plan.bucket()?;
        let margin = (capacity * 0.05).floor() + 2.0;
        let capacity = (capacity - margin).max(1.0);
        Some(LeakyBucket {
            capacity,
            drain_per_sec,
            state: Mutex::new(BucketState {
                level: 0.0,
                at: Instant::now(),
            }),
        })
    }

    /// Reserves a slot for one request; returns how long to wait before sending it.
    pub(crate) fn reserve(&self) -> Duration {
        self.reserve_at(Instant::now())
    }

    pub(crate) fn reserve_at(&self, now: Instant) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(s.at).as_secs_f64();
        s.level = (s.level - elapsed * self.drain_per_sec).max(0.0);
        s.at = now;
        let wait = if s.level + 1.0 > self.capacity {
            (s.level + 1.0 - self.capacity) / self.drain_per_sec
        } else {
            0.0
        };
        s.level += 1.0;
        secs(wait)
    }

    /// The portal refused with `QUERY_LIMIT_EXCEEDED`: its bucket is full (other clients share
    /// it), so the client's copy is filled up too. Returns the time one slot takes to drain.
    pub(crate) fn saturate(&self) -> Duration {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(s.at).as_secs_f64();
        s.level = (s.level - elapsed * self.drain_per_sec)
            .max(0.0)
            .max(self.capacity);
        s.at = now;
        secs(1.0 / self.drain_per_sec)
    }
}

/// Seconds as a [`Duration`], saturating: the times come from the portal's answers (and a
/// custom plan's drain rate), and `Duration::from_secs_f64` panics on values that do not fit.
fn secs(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(if seconds > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

/// The operating-time window: the portal sums a method's time over the last 10 minutes, so
/// no reset is ever further away than this.
const WINDOW_SECS: f64 = 600.0;

/// The longest one call can run on the portal (it stops calls after 60 s).
const MAX_CALL_SECS: f64 = 60.0;

/// The server's `time` values are sanity-bounded, so one odd block cannot disable a method
/// for the client's life: a reset beyond the 10-minute window is taken as the window's end.
fn within_window(reset_at: f64, now: f64) -> f64 {
    reset_at.min(now + WINDOW_SECS)
}

/// The portal's clock minus the client's, from `time.finish`; a difference beyond the window
/// (`finish: 0`, a broken clock) is not a skew to correct, and is ignored.
fn skew(report: &TimeReport, now: f64) -> f64 {
    report
        .finish
        .map(|f| now - f)
        .filter(|s| s.abs() <= WINDOW_SECS)
        .unwrap_or(0.0)
}

/// What the portal reported about one method's operating time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TimeReport {
    /// `time.operating`: seconds used over the last 10 minutes, including this call.
    pub operating: Option<f64>,
    /// `time.operating_reset_at`: unix time when the oldest minute drops out.
    pub operating_reset_at: Option<f64>,
    /// This call's own execution time (`time.duration` or `processing`).
    pub duration: Option<f64>,
    /// `time.finish`: the portal's clock when it answered (to correct clock skew).
    pub finish: Option<f64>,
}

#[derive(Debug, Default, Clone)]
struct MethodTime {
    /// Last reported operating time (s).
    operating: f64,
    /// When the oldest basket drops, in the client's unix clock.
    reset_at: Option<f64>,
    /// A typical call's cost (s), smoothed.
    typical_cost: f64,
    /// The portal refused the method with 429 until this client unix time.
    refused_until: Option<f64>,
}

/// Per-method operating-time tracking; see [`Plan`].
#[derive(Debug)]
pub(crate) struct OperatingTracker {
    limit: f64,
    methods: Mutex<HashMap<String, MethodTime>>,
}

/// How long a method must wait, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pause {
    pub wait: Duration,
    pub operating: f64,
}

impl OperatingTracker {
    pub(crate) fn new(limit: Duration) -> Self {
        OperatingTracker {
            limit: limit.as_secs_f64(),
            methods: Mutex::new(HashMap::new()),
        }
    }

    /// Normalized method key: lower case, without a `.json` suffix.
    pub(crate) fn key(method: &str) -> String {
        let m = method.trim().to_ascii_lowercase();
        m.strip_suffix(".json").map(str::to_owned).unwrap_or(m)
    }

    pub(crate) fn unix_now() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    /// How long to pause before calling `method` (zero when it may go now).
    pub(crate) fn before_call(&self, method: &str) -> Option<Pause> {
        self.before_call_at(method, Self::unix_now())
    }

    pub(crate) fn before_call_at(&self, method: &str, now: f64) -> Option<Pause> {
        let mut methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        let m = methods.get_mut(&Self::key(method))?;
        if let Some(until) = m.refused_until {
            if until > now {
                return Some(Pause {
                    wait: secs(until - now),
                    operating: m.operating,
                });
            }
            m.refused_until = None;
        }
        let reset_at = m.reset_at?;
        if reset_at <= now {
            // The oldest minute dropped out: how much it held is unknown until the next answer,
            // so let calls go; the next report brings the new sum.
            m.reset_at = None;
            m.operating = 0.0;
            return None;
        }
        if m.operating + m.typical_cost >= self.limit {
            return Some(Pause {
                wait: secs(reset_at - now),
                operating: m.operating,
            });
        }
        None
    }

    /// How many more calls of `method` fit under the operating limit at their typical cost
    /// (`None` when nothing is known). Batches of one method are sized with it, so the portal
    /// does not refuse commands half-way through a batch.
    pub(crate) fn affordable(&self, method: &str) -> Option<usize> {
        self.affordable_at(method, Self::unix_now())
    }

    pub(crate) fn affordable_at(&self, method: &str, now: f64) -> Option<usize> {
        let methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        let m = methods.get(&Self::key(method))?;
        if m.typical_cost <= 0.0 || m.reset_at.is_none_or(|r| r <= now) {
            return None;
        }
        let room = (self.limit - m.operating) / m.typical_cost - 1e-6;
        Some(room.max(0.0).floor() as usize)
    }

    /// Records a report from an answer (or from a batch command's `result_time`).
    pub(crate) fn record(&self, method: &str, report: &TimeReport) {
        self.record_at(method, report, Self::unix_now())
    }

    pub(crate) fn record_at(&self, method: &str, report: &TimeReport, now: f64) {
        let Some(operating) = report.operating else {
            return;
        };
        let skew = skew(report, now);
        let mut methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        let m = methods.entry(Self::key(method)).or_default();
        m.operating = operating.max(0.0);
        if let Some(reset) = report.operating_reset_at {
            m.reset_at = Some(within_window(reset + skew, now));
        }
        if let Some(cost) = report
            .duration
            .filter(|c| c.is_finite() && *c >= 0.0)
            .map(|c| c.min(MAX_CALL_SECS))
        {
            m.typical_cost = if m.typical_cost == 0.0 {
                cost
            } else {
                0.8 * m.typical_cost + 0.2 * cost
            };
        }
    }

    /// The portal refused `method` with 429: block it until the reported reset (or for
    /// `fallback` when the refusal did not say).
    pub(crate) fn refused(
        &self,
        method: &str,
        report: &TimeReport,
        fallback: Duration,
    ) -> Duration {
        self.refused_at(method, report, fallback, Self::unix_now())
    }

    pub(crate) fn refused_at(
        &self,
        method: &str,
        report: &TimeReport,
        fallback: Duration,
        now: f64,
    ) -> Duration {
        let skew = skew(report, now);
        let mut methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        let m = methods.entry(Self::key(method)).or_default();
        let until = report
            .operating_reset_at
            .map(|r| r + skew)
            .or(m.reset_at)
            .filter(|r| *r > now)
            .unwrap_or(now + fallback.as_secs_f64().min(WINDOW_SECS));
        let until = within_window(until, now);
        m.refused_until = Some(until);
        if let Some(op) = report.operating {
            m.operating = op.max(0.0);
        }
        secs(until - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_time_blocks_are_sanity_bounded() {
        let now = 1_800_000_000.0;
        let window = Duration::from_secs(600);
        let t = OperatingTracker::new(Duration::from_secs(480));
        // A reset 1e7 s away, near the limit: paused until the window's end at most.
        let far = TimeReport {
            operating: Some(479.0),
            operating_reset_at: Some(now + 1e7),
            duration: Some(1.0),
            finish: Some(now),
        };
        t.record_at("a.far", &far, now);
        let p = t.before_call_at("a.far", now).unwrap();
        assert!(p.wait <= window, "{p:?}");
        assert!(t.before_call_at("a.far", now + 601.0).is_none());
        // `finish: 0` is no clock skew of 1.8e9 s.
        let zero = TimeReport {
            operating: Some(479.0),
            operating_reset_at: Some(now + 30.0),
            duration: Some(1.0),
            finish: Some(0.0),
        };
        t.record_at("a.zero", &zero, now);
        let p = t.before_call_at("a.zero", now).unwrap();
        assert!(p.wait <= Duration::from_secs(30), "{p:?}");
        // A duration of 1e308 is at most one call's 60 s: a method at 1 s may go on.
        let huge = TimeReport {
            operating: Some(1.0),
            operating_reset_at: Some(now + 30.0),
            duration: Some(1e308),
            finish: Some(now),
        };
        t.record_at("a.huge", &huge, now);
        assert!(t.before_call_at("a.huge", now).is_none());
        assert!(t.affordable_at("a.huge", now).is_some_and(|n| n >= 7));
        // A refusal with a far reset blocks for the window at most.
        let wait = t.refused_at("a.refused", &far, Duration::from_secs(1), now);
        assert!(wait <= window, "{wait:?}");
        let wait = t.refused_at("a.refused0", &zero, Duration::from_secs(1), now);
        assert!(wait <= Duration::from_secs(30), "{wait:?}");
        // A negative operating time counts as none.
        let negative = TimeReport {
            operating: Some(-1e9),
            ..huge
        };
        t.record_at("a.neg", &negative, now);
        assert!(t.before_call_at("a.neg", now).is_none());
    }

    #[test]
    fn bucket_allows_a_burst_then_paces_at_the_drain_rate() {
        let bucket = LeakyBucket::new(Plan::Regular).unwrap();
        let t0 = Instant::now();
        // 50 - (2 + 2) = 46 immediate slots.
        for i in 0..46 {
            assert_eq!(bucket.reserve_at(t0), Duration::ZERO, "slot {i}");
        }
        // Then one slot every 0.5 s, reserved in advance by concurrent callers.
        let w1 = bucket.reserve_at(t0);
        let w2 = bucket.reserve_at(t0);
        assert!((w1.as_secs_f64() - 0.5).abs() < 1e-9, "{w1:?}");
        assert!((w2.as_secs_f64() - 1.0).abs() < 1e-9, "{w2:?}");
        // After 10 s, 20 slots drained: 48 - 20 = 28 in the bucket, so no wait.
        assert_eq!(
            bucket.reserve_at(t0 + Duration::from_secs(10)),
            Duration::ZERO
        );
    }

    #[test]
    fn unlimited_and_degenerate_plans_have_no_bucket() {
        assert!(LeakyBucket::new(Plan::Unlimited).is_none());
        assert!(
            LeakyBucket::new(Plan::Custom {
                capacity: 10,
                drain_per_sec: 0.0
            })
            .is_none()
        );
        assert_eq!(Plan::Enterprise.bucket(), Some((250.0, 5.0)));
    }

    #[test]
    fn saturate_fills_the_bucket() {
        let bucket = LeakyBucket::new(Plan::Custom {
            capacity: 12,
            drain_per_sec: 4.0,
        })
        .unwrap();
        let drain = bucket.saturate();
        assert_eq!(drain, Duration::from_millis(250));
        assert!(bucket.reserve() > Duration::ZERO);
    }

    #[test]
    fn operating_pauses_before_the_limit_until_reset() {
        let t = OperatingTracker::new(Duration::from_secs(480));
        let now = 1_000_000.0;
        assert_eq!(t.before_call_at("crm.deal.list", now), None);
        t.record_at(
            "crm.deal.list",
            &TimeReport {
                operating: Some(470.0),
                operating_reset_at: Some(now + 30.0),
                duration: Some(5.0),
                finish: Some(now),
            },
            now,
        );
        assert_eq!(t.before_call_at("CRM.DEAL.LIST.json", now), None);
        t.record_at(
            "crm.deal.list",
            &TimeReport {
                operating: Some(476.0),
                operating_reset_at: Some(now + 30.0),
                duration: Some(5.0),
                finish: Some(now),
            },
            now,
        );
        let pause = t.before_call_at("crm.deal.list", now + 1.0).unwrap();
        assert!((pause.wait.as_secs_f64() - 29.0).abs() < 1e-6, "{pause:?}");
        // Other methods are independent.
        assert_eq!(t.before_call_at("crm.deal.get", now + 1.0), None);
        // After the reset the method may go again.
        assert_eq!(t.before_call_at("crm.deal.list", now + 31.0), None);
    }

    #[test]
    fn affordable_calls_follow_the_typical_cost() {
        let t = OperatingTracker::new(Duration::from_secs(3));
        let now = 1_000.0;
        assert_eq!(t.affordable_at("m", now), None);
        let report = |operating| TimeReport {
            operating: Some(operating),
            operating_reset_at: Some(now + 60.0),
            duration: Some(0.2),
            finish: Some(now),
        };
        t.record_at("m", &report(0.4), now);
        assert_eq!(t.affordable_at("m", now), Some(12));
        t.record_at("m", &report(2.9), now);
        assert_eq!(t.affordable_at("m", now), Some(0));
        assert_eq!(t.affordable_at("m", now + 61.0), None, "after the reset");
    }

    #[test]
    fn operating_corrects_the_portal_clock_skew() {
        let t = OperatingTracker::new(Duration::from_secs(10));
        let portal_now = 500.0;
        let client_now = 600.0; // the client's clock is 100 s ahead
        t.record_at(
            "m",
            &TimeReport {
                operating: Some(10.0),
                operating_reset_at: Some(portal_now + 20.0),
                duration: Some(1.0),
                finish: Some(portal_now),
            },
            client_now,
        );
        let pause = t.before_call_at("m", client_now).unwrap();
        assert!((pause.wait.as_secs_f64() - 20.0).abs() < 1e-6, "{pause:?}");
    }

    #[test]
    fn absurd_times_from_the_portal_do_not_panic() {
        let t = OperatingTracker::new(Duration::from_secs(10));
        let now = 100.0;
        let report = TimeReport {
            operating: Some(10.0),
            operating_reset_at: Some(1e300),
            duration: Some(1.0),
            finish: None,
        };
        t.record_at("m", &report, now);
        // Bounded by the 10-minute window (issue 14: not "for the client's life").
        let window = Duration::from_secs(600);
        assert_eq!(t.before_call_at("m", now).unwrap().wait, window);
        assert_eq!(
            t.refused_at("m", &report, Duration::from_secs(1), now),
            window
        );
        let slow = LeakyBucket::new(Plan::Custom {
            capacity: 1,
            drain_per_sec: 1e-300,
        })
        .unwrap();
        assert_eq!(slow.reserve(), Duration::ZERO);
        assert_eq!(slow.reserve(), Duration::MAX);
    }

    #[test]
    fn refusal_blocks_until_reset_or_fallback() {
        let t = OperatingTracker::new(Duration::from_secs(480));
        let now = 100.0;
        let wait = t.refused_at("m", &TimeReport::default(), Duration::from_secs(2), now);
        assert_eq!(wait, Duration::from_secs(2));
        assert!(t.before_call_at("m", now + 1.0).is_some());
        assert_eq!(t.before_call_at("m", now + 2.5), None);
        let wait = t.refused_at(
            "m",
            &TimeReport {
                operating_reset_at: Some(now + 7.0),
                finish: Some(now),
                ..TimeReport::default()
            },
            Duration::from_secs(2),
            now,
        );
        assert_eq!(wait, Duration::from_secs(7));
    }
}

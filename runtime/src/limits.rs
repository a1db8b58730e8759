//! Client-side pacing for the portal's two limits (documented on [`Plan`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

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
///    (`result_time`). The client tracks this per method and admits a call only while the
///    reported sum, the estimated server time of the calls still in flight and the call's own
///    estimate stay under the limit, so calls sent at once do not overshoot it together; it
///    pauses the others until `operating_reset_at`, then lets one call find the new sum.
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

/// The client's clock minus the portal's, from `time.finish`; a difference beyond the window
/// (`finish: 0`, a broken clock) is not a skew to correct, and is ignored.
fn skew(report: &TimeReport, now: f64) -> Option<f64> {
    report
        .finish
        .map(|f| now - f)
        .filter(|s| s.abs() <= WINDOW_SECS)
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

impl TimeReport {
    /// When the portal started the call, on its clock (`finish - duration`): the order in
    /// which the portal counted calls answered in another order.
    fn started(&self) -> Option<f64> {
        let start = self.finish? - self.duration?;
        (start.is_finite() && start > 0.0).then_some(start)
    }
}

/// The share of the limit the admission keeps free: the server time of calls in flight is
/// an estimate (the method's typical cost) until their answers bring the portal's figures.
const MARGIN: f64 = 0.005;

/// How long a call waiting for the client's own calls in flight (not for the portal's reset)
/// sleeps at most before it looks again; their answers wake it earlier.
const OWN_POLL_SECS: f64 = 1.0;

/// How long one estimate of the portal's clock skew is kept before a larger one may replace
/// it (the clocks may drift).
const SKEW_KEEP_SECS: f64 = 30.0;

#[derive(Debug, Default, Clone)]
struct MethodTime {
    /// The portal's sum (s) at the latest call it reported on.
    operating: f64,
    /// When the oldest basket drops, in the client's unix clock.
    reset_at: Option<f64>,
    /// The portal's start time of the call `operating` comes from: a report on a call that
    /// the portal ran earlier (answered later) is older news and does not replace it.
    as_of: Option<f64>,
    /// A typical call's cost (s), smoothed.
    typical_cost: f64,
    /// The portal refused the method with 429 until this client unix time.
    refused_until: Option<f64>,
    /// Estimated server time (s) of the admitted calls not answered yet.
    reserved: f64,
    /// Admitted calls not answered yet.
    in_flight: usize,
    /// A call admitted after the oldest basket left is in flight: its answer tells the new
    /// sum, so the other calls wait for it instead of guessing how much the basket held.
    probing: bool,
}

/// The clock-skew estimate: the smallest `client now - portal finish` seen recently (network
/// and decoding delays only add to it).
#[derive(Debug, Clone, Copy)]
struct Skew {
    secs: f64,
    seen_at: f64,
}

#[derive(Debug, Default)]
struct TrackerState {
    methods: HashMap<String, MethodTime>,
    skew: Option<Skew>,
}

/// Per-method operating-time tracking and admission; see [`Plan`].
///
/// A call is admitted when the portal's last reported sum, plus the estimated server time of
/// the calls already in flight, plus its own estimate stays under the limit (less a small
/// margin); the estimate is reserved until the call's answer replaces it by the portal's
/// figures (or the call fails or is dropped: [`Admission`] releases it). So concurrent calls
/// (the parts of `stream_parallel`, batches sent at once) never overshoot together. When the
/// oldest basket leaves (`operating_reset_at`), how much it held is unknown: the first call
/// after it goes alone, and its answer tells the new sum to the calls waiting behind it.
#[derive(Debug)]
pub(crate) struct OperatingTracker {
    limit: f64,
    state: Mutex<TrackerState>,
    /// Woken when an answer or a release may have made room.
    changed: Notify,
}

/// How long a method must wait, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pause {
    /// The method that waits longest.
    pub method: String,
    pub wait: Duration,
    pub operating: f64,
    /// The wait is for the client's own calls in flight, not for the portal's reset: it ends
    /// when they are answered, and is no limit wait (`RetryPolicy::max_limit_wait`).
    pub own: bool,
}

/// Server time reserved for one admitted call (per method it counts against), released when
/// dropped: after its answer was recorded, or when the call failed or its future was dropped.
#[derive(Debug)]
#[must_use = "dropping an admission releases its reservation at once"]
pub(crate) struct Admission<'a> {
    tracker: &'a OperatingTracker,
    held: Vec<Held>,
}

#[derive(Debug)]
struct Held {
    key: String,
    reserved: f64,
    probe: bool,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if self.held.is_empty() {
            return;
        }
        {
            let mut state = self.tracker.lock();
            for h in &self.held {
                if let Some(m) = state.methods.get_mut(&h.key) {
                    m.in_flight = m.in_flight.saturating_sub(1);
                    m.reserved = if m.in_flight == 0 {
                        0.0
                    } else {
                        (m.reserved - h.reserved).max(0.0)
                    };
                    if h.probe {
                        m.probing = false;
                    }
                }
            }
        }
        self.tracker.changed.notify_waiters();
    }
}

impl OperatingTracker {
    pub(crate) fn new(limit: Duration) -> Self {
        OperatingTracker {
            limit: limit.as_secs_f64(),
            state: Mutex::new(TrackerState::default()),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sum the admission keeps calls under.
    fn budget(&self) -> f64 {
        self.limit * (1.0 - MARGIN)
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

    /// A future that completes when an answer or a release may have made room; create it
    /// (and [`enable`](tokio::sync::futures::Notified::enable) it) before
    /// [`admit`](Self::admit), so a change in between is not missed.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Admits a call of `commands` commands per method (`(method, count)`), reserving their
    /// estimated server time, or says how long to wait. All or nothing: a batch of several
    /// methods is admitted when each of them has room.
    pub(crate) fn admit(&self, commands: &[(&str, usize)]) -> Result<Admission<'_>, Pause> {
        self.admit_at(commands, Self::unix_now())
    }

    pub(crate) fn admit_at(
        &self,
        commands: &[(&str, usize)],
        now: f64,
    ) -> Result<Admission<'_>, Pause> {
        let budget = self.budget();
        let mut state = self.lock();
        let mut grants = Vec::with_capacity(commands.len());
        let mut longest: Option<Pause> = None;
        for &(method, count) in commands {
            let key = Self::key(method);
            let Some(m) = state.methods.get_mut(&key) else {
                // Nothing reported yet: nothing to keep under.
                continue;
            };
            match m.check(count, budget, now) {
                Ok(grant) => grants.push((key, grant)),
                Err((wait, own)) => {
                    if longest.as_ref().is_none_or(|p| wait > p.wait) {
                        longest = Some(Pause {
                            method: method.to_owned(),
                            wait,
                            operating: m.operating,
                            own,
                        });
                    }
                }
            }
        }
        if let Some(pause) = longest {
            return Err(pause);
        }
        let mut held = Vec::with_capacity(grants.len());
        for (key, (reserved, probe)) in grants {
            if let Some(m) = state.methods.get_mut(&key) {
                m.reserved += reserved;
                m.in_flight += 1;
                m.probing |= probe;
                held.push(Held {
                    key,
                    reserved,
                    probe,
                });
            }
        }
        Ok(Admission {
            tracker: self,
            held,
        })
    }

    /// Whether one call of `method` would be admitted now (`None`), without reserving.
    #[cfg(test)]
    pub(crate) fn before_call_at(&self, method: &str, now: f64) -> Option<Pause> {
        self.admit_at(&[(method, 1)], now).err()
    }

    /// How many more calls of `method` fit under the operating limit at their typical cost,
    /// counting the calls in flight (`None` when nothing is known). Batches of one method are
    /// sized with it, so the portal does not refuse commands half-way through a batch. After
    /// the oldest basket left, the last sum is an upper bound: when nothing fits under it,
    /// the answer is 0 (the caller sends one command, whose answer tells the new sum).
    pub(crate) fn affordable(&self, method: &str) -> Option<usize> {
        self.affordable_at(method, Self::unix_now())
    }

    pub(crate) fn affordable_at(&self, method: &str, now: f64) -> Option<usize> {
        let state = self.lock();
        let m = state.methods.get(&Self::key(method))?;
        if m.typical_cost <= 0.0 || m.reset_at.is_none_or(|r| r + WINDOW_SECS <= now) {
            return None;
        }
        let room = (self.budget() - m.operating - m.reserved) / m.typical_cost - 1e-6;
        Some(room.max(0.0).floor() as usize)
    }

    /// The client's clock minus the portal's: the smallest recent difference (delays only add
    /// to it), from `report` and the earlier ones.
    fn skew(&self, state: &mut TrackerState, report: &TimeReport, now: f64) -> f64 {
        if let Some(seen) = skew(report, now) {
            let replace = state
                .skew
                .is_none_or(|s| seen <= s.secs || now - s.seen_at > SKEW_KEEP_SECS);
            if replace {
                state.skew = Some(Skew {
                    secs: seen,
                    seen_at: now,
                });
            }
        }
        state.skew.map_or(0.0, |s| s.secs)
    }

    /// Learns the portal's clock from an answer that reports no operating time (the outer
    /// `time` of a `batch`, whose `finish` is when the portal really answered).
    pub(crate) fn observe_clock(&self, report: &TimeReport) {
        self.observe_clock_at(report, Self::unix_now())
    }

    pub(crate) fn observe_clock_at(&self, report: &TimeReport, now: f64) {
        let mut state = self.lock();
        self.skew(&mut state, report, now);
    }

    /// Records a report from an answer (or from a batch command's `result_time`).
    pub(crate) fn record(&self, method: &str, report: &TimeReport) {
        self.record_at(method, report, Self::unix_now())
    }

    pub(crate) fn record_at(&self, method: &str, report: &TimeReport, now: f64) {
        let Some(operating) = report.operating else {
            return;
        };
        {
            let mut state = self.lock();
            let skew = self.skew(&mut state, report, now);
            let m = state.methods.entry(Self::key(method)).or_default();
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
            let started = report.started();
            // A call the portal ran before the one the sum comes from: that sum includes it.
            let older = matches!((started, m.as_of), (Some(s), Some(a)) if s < a);
            if !older {
                m.operating = operating.max(0.0);
                m.as_of = started.or(m.as_of);
                if let Some(reset) = report.operating_reset_at {
                    m.reset_at = Some(within_window(reset + skew, now));
                }
            }
        }
        self.changed.notify_waiters();
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
        let mut state = self.lock();
        let skew = self.skew(&mut state, report, now);
        let m = state.methods.entry(Self::key(method)).or_default();
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

impl MethodTime {
    /// Whether `count` more commands fit: `Ok((reserve, probe))`, or `Err((wait, own))`.
    fn check(
        &mut self,
        count: usize,
        budget: f64,
        now: f64,
    ) -> Result<(f64, bool), (Duration, bool)> {
        if let Some(until) = self.refused_until {
            if until > now {
                return Err((secs(until - now), false));
            }
            self.refused_until = None;
        }
        let cost = self.typical_cost;
        let need = count as f64 * cost;
        let Some(reset_at) = self.reset_at else {
            return Ok((need, false));
        };
        if reset_at + WINDOW_SECS <= now {
            // A whole window since the last report: every basket it counted has left.
            self.reset_at = None;
            self.operating = 0.0;
            self.as_of = None;
            return Ok((need, false));
        }
        // Before the reset the sum is known; after it, it is at most this.
        if self.operating + self.reserved + need <= budget {
            return Ok((need, false));
        }
        // A call that cannot fit even alone goes when nothing else is in flight and one
        // command still fits (the portal then runs what it can).
        if need > budget && self.in_flight == 0 && self.operating + cost <= budget {
            return Ok((need, false));
        }
        let own = self.operating + need <= budget || (need > budget && self.in_flight > 0);
        if reset_at > now {
            let wait = if own {
                (reset_at - now).min(OWN_POLL_SECS)
            } else {
                reset_at - now
            };
            return Err((secs(wait), own));
        }
        // The oldest basket left; how much it held is unknown. Calls held back by the client's
        // own calls in flight wait for those; otherwise one call goes and its answer tells the
        // new sum, and the others wait for it.
        if own || self.probing {
            return Err((secs(OWN_POLL_SECS), true));
        }
        Ok((need, true))
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
        // After the oldest basket left, the last sum is an upper bound: nothing is sure to fit,
        // so one command goes to learn the new sum (the engine sends at least one).
        assert_eq!(t.affordable_at("m", now + 61.0), Some(0), "after the reset");
        // A whole window later every basket has left: nothing is known.
        assert_eq!(t.affordable_at("m", now + 661.0), None, "after the window");
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

    /// A tracker at `operating` of a 48 s limit whose commands cost 10 ms, the oldest basket
    /// leaving at `now + 30`.
    fn at_the_budget(operating: f64, now: f64) -> OperatingTracker {
        let t = OperatingTracker::new(Duration::from_secs(48));
        t.record_at("crm.deal.list", &report(operating, now + 30.0, now), now);
        t
    }

    fn report(operating: f64, reset_at: f64, finish: f64) -> TimeReport {
        TimeReport {
            operating: Some(operating),
            operating_reset_at: Some(reset_at),
            duration: Some(0.01),
            finish: Some(finish),
        }
    }

    const BATCH: [(&str, usize); 1] = [("crm.deal.list", 50)];

    #[test]
    fn eight_concurrent_admissions_never_reserve_more_than_the_limit() {
        let now = 1_800_000_000.0;
        // 45 s used: 48 * 0.995 - 45 = 2.76 s left, room for five batches of 50 at 0.5 s.
        let t = at_the_budget(45.0, now);
        let mut admitted = Vec::new();
        let mut paused = Vec::new();
        for _ in 0..8 {
            match t.admit_at(&BATCH, now) {
                Ok(a) => admitted.push(a),
                Err(p) => paused.push(p),
            }
        }
        assert_eq!(admitted.len(), 5);
        let reserved: f64 = admitted
            .iter()
            .flat_map(|a| &a.held)
            .map(|h| h.reserved)
            .sum();
        assert!(45.0 + reserved <= 48.0, "{reserved}");
        // The three others wait for the client's own calls, not for the portal's reset.
        assert_eq!(paused.len(), 3);
        assert!(
            paused
                .iter()
                .all(|p| p.own && p.wait <= Duration::from_secs(1)),
            "{paused:?}"
        );
        // And the batches sized next see the room taken by the calls in flight.
        assert_eq!(t.affordable_at("crm.deal.list", now), Some(25));
    }

    #[test]
    fn a_dropped_call_releases_its_reservation() {
        let now = 1_800_000_000.0;
        // Room for one batch of 50 (0.5 s) but not two.
        let t = at_the_budget(47.0, now);
        let first = t.admit_at(&BATCH, now).unwrap();
        assert!(t.admit_at(&BATCH, now).is_err());
        // The first call's future is dropped (a deadline, a dropped stream): its estimate goes,
        // and the calls waiting for it are woken.
        let mut changed = std::pin::pin!(t.changed());
        changed.as_mut().enable();
        drop(first);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            changed.as_mut().poll(&mut cx).is_ready(),
            "the waiters were not woken"
        );
        let second = t.admit_at(&BATCH, now).unwrap();
        // Answered: the portal's figure replaces the estimate when the admission is dropped.
        t.record_at(
            "crm.deal.list",
            &report(47.5, now + 30.0, now + 1.0),
            now + 1.0,
        );
        drop(second);
        // (47.76 - 47.5) / 0.01, rounded down.
        assert_eq!(t.affordable_at("crm.deal.list", now + 1.0), Some(25));
    }

    #[test]
    fn room_is_found_when_the_oldest_basket_leaves() {
        let now = 1_800_000_000.0;
        let t = at_the_budget(47.9, now);
        // Full: even one command waits, for the portal's reset (a limit wait).
        assert_eq!(t.affordable_at("crm.deal.list", now), Some(0));
        let p = t.admit_at(&[("crm.deal.list", 1)], now).unwrap_err();
        assert!(
            !p.own && (p.wait.as_secs_f64() - 30.0).abs() < 1e-6,
            "{p:?}"
        );
        // The basket leaves: one call goes to learn the new sum, the others wait for it.
        let later = now + 30.0;
        let probe = t.admit_at(&[("crm.deal.list", 1)], later).unwrap();
        let p = t.admit_at(&BATCH, later).unwrap_err();
        assert!(p.own, "{p:?}");
        // Its answer: the basket held 30 s. Room for 2,985 commands of 10 ms.
        t.record_at("crm.deal.list", &report(17.9, now + 36.0, later), later);
        drop(probe);
        assert_eq!(t.affordable_at("crm.deal.list", later), Some(2_985));
        let batches: Vec<_> = (0..8).map(|_| t.admit_at(&BATCH, later).unwrap()).collect();
        assert_eq!(batches.len(), 8);
        // A probe whose call fails lets the next call probe instead.
        let t = at_the_budget(47.9, now);
        let probe = t.admit_at(&[("crm.deal.list", 1)], later).unwrap();
        assert!(t.admit_at(&[("crm.deal.list", 1)], later).is_err());
        drop(probe);
        assert!(t.admit_at(&[("crm.deal.list", 1)], later).is_ok());
    }

    #[test]
    fn a_batch_is_admitted_only_when_each_of_its_methods_has_room() {
        let now = 1_800_000_000.0;
        let t = at_the_budget(47.9, now);
        // crm.deal.get is free, crm.deal.list full: nothing is reserved for either.
        t.record_at("crm.deal.get", &report(1.0, now + 30.0, now), now);
        let p = t
            .admit_at(&[("crm.deal.get", 10), ("crm.deal.list", 1)], now)
            .unwrap_err();
        assert_eq!(p.method, "crm.deal.list");
        assert_eq!(t.affordable_at("crm.deal.get", now), Some(4_675));
        // Methods never reported on are not held back.
        assert!(t.admit_at(&[("crm.lead.list", 50)], now).is_ok());
    }

    #[test]
    fn an_older_report_answered_late_does_not_replace_a_newer_sum() {
        let now = 1_800_000_000.0;
        let t = OperatingTracker::new(Duration::from_secs(48));
        // Ran at now + 2 (finish - duration), 40 s used then.
        t.record_at("m", &report(40.0, now + 30.0, now + 2.01), now + 2.02);
        // Ran at now + 1, answered after it: its 30 s are included in the 40 s above.
        t.record_at("m", &report(30.0, now + 30.0, now + 1.01), now + 2.03);
        assert_eq!(t.affordable_at("m", now + 2.03), Some(775));
    }

    #[test]
    fn batch_command_times_do_not_delay_the_reset() {
        let now = 1_800_000_000.0;
        let t = OperatingTracker::new(Duration::from_secs(48));
        // The batch answered at `now` (its outer time: the portal's clock equals ours) ...
        t.observe_clock_at(
            &TimeReport {
                finish: Some(now),
                ..TimeReport::default()
            },
            now,
        );
        // ... but its commands ran (and "finished") half a second before the answer was sent.
        t.record_at("m", &report(47.9, now + 10.0, now - 0.5), now);
        let p = t.admit_at(&[("m", 1)], now).unwrap_err();
        assert!((p.wait.as_secs_f64() - 10.0).abs() < 1e-6, "{p:?}");
    }
}

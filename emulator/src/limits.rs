//! The portal's two limits: the leaky bucket of requests per client IP, and the operating time
//! per method summed over ten one-minute baskets.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::Limits;

#[derive(Debug)]
struct Bucket {
    level: f64,
    at: Instant,
}

/// Leaky buckets per client IP.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    inner: Mutex<(Limits, HashMap<IpAddr, Bucket>)>,
    /// The portal's time scale: the bucket drains `1 / scale` times faster.
    scale: f64,
}

impl RateLimiter {
    pub(crate) fn new(limits: Limits, scale: f64) -> RateLimiter {
        RateLimiter {
            inner: Mutex::new((limits, HashMap::new())),
            scale,
        }
    }

    /// Changes the limits; every bucket starts empty.
    pub(crate) fn set(&self, limits: Limits) {
        let mut g = self.inner.lock().expect("rate limiter lock");
        g.0 = limits;
        g.1.clear();
    }

    /// Admits one request from `ip`, or refuses it (the refused request does not fill the
    /// bucket).
    pub(crate) fn admit(&self, ip: IpAddr) -> bool {
        let mut g = self.inner.lock().expect("rate limiter lock");
        let Some((capacity, drain)) = g.0.bucket() else {
            return true;
        };
        let now = Instant::now();
        let b = g.1.entry(ip).or_insert(Bucket {
            level: 0.0,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.level = (b.level - elapsed * drain / self.scale).max(0.0);
        b.at = now;
        if b.level + 1.0 > capacity + 1e-9 {
            return false;
        }
        b.level += 1.0;
        true
    }
}

/// Seconds since the unix epoch.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Operating time per (caller, method) in one-minute baskets over the last 10 minutes.
///
/// As documented: a basket holds the server time of the calls made in one minute, and its
/// countdown starts at the first call recorded in it; it leaves the sum 10 minutes after that
/// call (`operating_reset_at` of the oldest basket). A method is blocked while the sum
/// *exceeds* the limit.
///
/// With a time scale `s` (see [`Config::time_scale`](crate::Config::time_scale)) the minute is
/// `60 s` long, the window `600 s` and the limit `limit * s`: the same portal, faster.
#[derive(Debug)]
pub(crate) struct Operating {
    inner: Mutex<OperatingInner>,
    scale: f64,
}

#[derive(Debug)]
struct OperatingInner {
    limit: Duration,
    baskets: HashMap<(String, String), VecDeque<Basket>>,
}

/// One minute's server time of one method.
#[derive(Debug)]
struct Basket {
    /// The (scaled) minute the basket collects.
    minute: u64,
    /// Unix time of the first call recorded in it (whole seconds at scale 1, as portals
    /// report): the basket leaves at `first + window`.
    first: f64,
    secs: f64,
}

const WINDOW_SECS: f64 = 600.0;
const MINUTE_SECS: f64 = 60.0;

impl Operating {
    pub(crate) fn new(limit: Duration, scale: f64) -> Operating {
        Operating {
            inner: Mutex::new(OperatingInner {
                limit,
                baskets: HashMap::new(),
            }),
            scale,
        }
    }

    /// Changes the limit (in unscaled portal seconds).
    pub(crate) fn set_limit(&self, limit: Duration) {
        self.inner.lock().expect("operating lock").limit = limit;
    }

    /// Forgets every basket.
    pub(crate) fn reset(&self) {
        self.inner.lock().expect("operating lock").baskets.clear();
    }

    fn window(&self) -> f64 {
        WINDOW_SECS * self.scale
    }

    fn prune(&self, q: &mut VecDeque<Basket>, now: f64) {
        let window = self.window();
        while q.front().is_some_and(|b| b.first + window <= now) {
            q.pop_front();
        }
    }

    /// `(operating seconds, operating_reset_at)` of a method now.
    pub(crate) fn status(&self, caller: &str, method: &str) -> (f64, f64) {
        self.status_at(caller, method, unix_now())
    }

    fn status_at(&self, caller: &str, method: &str, now: f64) -> (f64, f64) {
        let now = self.stamp(now);
        let mut g = self.inner.lock().expect("operating lock");
        let key = (caller.to_owned(), method.to_owned());
        match g.baskets.get_mut(&key) {
            Some(q) => {
                self.prune(q, now);
                let sum: f64 = q.iter().map(|b| b.secs).sum();
                let reset = q.front().map_or(now, |b| b.first) + self.window();
                (sum, reset)
            }
            None => (0.0, now + self.window()),
        }
    }

    /// Whole seconds at scale 1 (portals report `operating_reset_at` as an integer); exact
    /// otherwise, where a second is a large part of the window.
    fn stamp(&self, now: f64) -> f64 {
        if self.scale == 1.0 { now.floor() } else { now }
    }

    /// True when the method is blocked: its sum exceeds the limit.
    pub(crate) fn blocked(&self, caller: &str, method: &str) -> bool {
        self.blocked_at(caller, method, unix_now())
    }

    fn blocked_at(&self, caller: &str, method: &str, now: f64) -> bool {
        let limit = self.inner.lock().expect("operating lock").limit;
        self.status_at(caller, method, now).0 > limit.as_secs_f64() * self.scale
    }

    /// Adds a call's server time; returns the new `(operating, operating_reset_at)`.
    pub(crate) fn add(&self, caller: &str, method: &str, secs: f64) -> (f64, f64) {
        self.add_at(caller, method, secs, unix_now())
    }

    fn add_at(&self, caller: &str, method: &str, secs: f64, now: f64) -> (f64, f64) {
        let now = self.stamp(now);
        let minute = (now / (MINUTE_SECS * self.scale)) as u64;
        {
            let mut g = self.inner.lock().expect("operating lock");
            let q = g
                .baskets
                .entry((caller.to_owned(), method.to_owned()))
                .or_default();
            self.prune(q, now);
            match q.back_mut() {
                Some(b) if b.minute == minute => b.secs += secs,
                _ => q.push_back(Basket {
                    minute,
                    first: now,
                    secs,
                }),
            }
        }
        self.status_at(caller, method, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_above_capacity() {
        let r = RateLimiter::new(
            Limits::Custom {
                capacity: 3,
                drain_per_sec: 0.0,
            },
            1.0,
        );
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(r.admit(ip));
        assert!(r.admit(ip));
        assert!(r.admit(ip));
        assert!(!r.admit(ip));
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(r.admit(other), "buckets are per IP");
        r.set(Limits::Off);
        for _ in 0..100 {
            assert!(r.admit(ip));
        }
    }

    #[test]
    fn operating_blocks_after_the_limit() {
        let o = Operating::new(Duration::from_secs(1), 1.0);
        assert!(!o.blocked("w", "crm.deal.list"));
        let (sum, reset) = o.add("w", "crm.deal.list", 0.6);
        assert!((sum - 0.6).abs() < 1e-9);
        assert!(reset > unix_now() - 1.0);
        assert!(!o.blocked("w", "crm.deal.list"));
        o.add("w", "crm.deal.list", 0.6);
        assert!(o.blocked("w", "crm.deal.list"));
        assert!(!o.blocked("w", "crm.deal.get"), "per method");
        assert!(!o.blocked("other", "crm.deal.list"), "per caller");
        o.reset();
        assert!(!o.blocked("w", "crm.deal.list"));
    }

    #[test]
    fn a_basket_leaves_ten_minutes_after_its_first_call() {
        let o = Operating::new(Duration::from_secs(480), 1.0);
        // The docs' example: the first call of a basket at 10:05:20 resets at 10:15:20.
        let t0 = 1_778_753_120.0; // 10:05:20 UTC
        let (_, reset) = o.add_at("w", "m", 40.0, t0);
        assert_eq!(reset, t0 + 600.0);
        // Later calls of the same minute join that basket and keep its reset time.
        let (sum, reset) = o.add_at("w", "m", 10.0, t0 + 30.0);
        assert_eq!((sum, reset), (50.0, t0 + 600.0));
        // The next minute opens a basket of its own.
        o.add_at("w", "m", 20.0, t0 + 45.0);
        assert_eq!(o.status_at("w", "m", t0 + 599.0), (70.0, t0 + 600.0));
        assert_eq!(o.status_at("w", "m", t0 + 600.0), (20.0, t0 + 645.0));
    }

    #[test]
    fn blocked_only_once_the_sum_exceeds_the_limit() {
        let o = Operating::new(Duration::from_secs(480), 1.0);
        let t0 = 1_778_753_100.0;
        o.add_at("w", "m", 480.0, t0);
        assert!(
            !o.blocked_at("w", "m", t0 + 1.0),
            "reaching the limit is not exceeding it"
        );
        o.add_at("w", "m", 0.5, t0 + 2.0);
        assert!(o.blocked_at("w", "m", t0 + 3.0));
        assert!(
            !o.blocked_at("w", "m", t0 + 600.0),
            "free again once the basket left"
        );
    }

    #[test]
    fn a_scaled_portal_runs_its_window_and_limit_faster() {
        // Time scale 0.01: a 6 s window, 0.6 s minutes and a limit of 4.8 s.
        let o = Operating::new(Duration::from_secs(480), 0.01);
        let t0 = 1_778_753_100.25;
        let (_, reset) = o.add_at("w", "m", 4.8, t0);
        assert!((reset - (t0 + 6.0)).abs() < 1e-9, "{reset}");
        assert!(!o.blocked_at("w", "m", t0 + 0.1));
        o.add_at("w", "m", 0.01, t0 + 0.7);
        assert!(o.blocked_at("w", "m", t0 + 0.8));
        assert!(!o.blocked_at("w", "m", t0 + 6.0), "the first basket left");
        let r = RateLimiter::new(
            Limits::Custom {
                capacity: 1,
                drain_per_sec: 1.0,
            },
            0.01,
        );
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(r.admit(ip));
        std::thread::sleep(Duration::from_millis(20));
        assert!(r.admit(ip), "drains 100 per second at scale 0.01");
    }
}

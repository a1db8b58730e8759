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
}

impl RateLimiter {
    pub(crate) fn new(limits: Limits) -> RateLimiter {
        RateLimiter {
            inner: Mutex::new((limits, HashMap::new())),
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
        b.level = (b.level - elapsed * drain).max(0.0);
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
#[derive(Debug)]
pub(crate) struct Operating {
    inner: Mutex<OperatingInner>,
}

#[derive(Debug)]
struct OperatingInner {
    limit: Duration,
    baskets: HashMap<(String, String), VecDeque<Basket>>,
}

/// One minute's server time of one method.
#[derive(Debug)]
struct Basket {
    /// The minute (unix seconds / 60) the basket collects.
    minute: u64,
    /// Unix second of the first call recorded in it: the basket leaves at `first + 600`.
    first: u64,
    secs: f64,
}

const WINDOW_SECS: u64 = 600;

impl Operating {
    pub(crate) fn new(limit: Duration) -> Operating {
        Operating {
            inner: Mutex::new(OperatingInner {
                limit,
                baskets: HashMap::new(),
            }),
        }
    }

    /// Changes the limit.
    pub(crate) fn set_limit(&self, limit: Duration) {
        self.inner.lock().expect("operating lock").limit = limit;
    }

    /// Forgets every basket.
    pub(crate) fn reset(&self) {
        self.inner.lock().expect("operating lock").baskets.clear();
    }

    fn prune(q: &mut VecDeque<Basket>, now: u64) {
        while q.front().is_some_and(|b| b.first + WINDOW_SECS <= now) {
            q.pop_front();
        }
    }

    /// `(operating seconds, operating_reset_at)` of a method now.
    pub(crate) fn status(&self, caller: &str, method: &str) -> (f64, u64) {
        self.status_at(caller, method, unix_now() as u64)
    }

    fn status_at(&self, caller: &str, method: &str, now: u64) -> (f64, u64) {
        let mut g = self.inner.lock().expect("operating lock");
        let key = (caller.to_owned(), method.to_owned());
        match g.baskets.get_mut(&key) {
            Some(q) => {
                Self::prune(q, now);
                let sum: f64 = q.iter().map(|b| b.secs).sum();
                let reset = q
                    .front()
                    .map(|b| b.first + WINDOW_SECS)
                    .unwrap_or(now + WINDOW_SECS);
                (sum, reset)
            }
            None => (0.0, now + WINDOW_SECS),
        }
    }

    /// True when the method is blocked: its sum exceeds the limit.
    pub(crate) fn blocked(&self, caller: &str, method: &str) -> bool {
        self.blocked_at(caller, method, unix_now() as u64)
    }

    fn blocked_at(&self, caller: &str, method: &str, now: u64) -> bool {
        let limit = self.inner.lock().expect("operating lock").limit;
        self.status_at(caller, method, now).0 > limit.as_secs_f64()
    }

    /// Adds a call's server time; returns the new `(operating, operating_reset_at)`.
    pub(crate) fn add(&self, caller: &str, method: &str, secs: f64) -> (f64, u64) {
        self.add_at(caller, method, secs, unix_now() as u64)
    }

    fn add_at(&self, caller: &str, method: &str, secs: f64, now: u64) -> (f64, u64) {
        let minute = now / 60;
        {
            let mut g = self.inner.lock().expect("operating lock");
            let q = g
                .baskets
                .entry((caller.to_owned(), method.to_owned()))
                .or_default();
            Self::prune(q, now);
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
        let r = RateLimiter::new(Limits::Custom {
            capacity: 3,
            drain_per_sec: 0.0,
        });
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
        let o = Operating::new(Duration::from_secs(1));
        assert!(!o.blocked("w", "crm.deal.list"));
        let (sum, reset) = o.add("w", "crm.deal.list", 0.6);
        assert!((sum - 0.6).abs() < 1e-9);
        assert!(reset as f64 > unix_now());
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
        let o = Operating::new(Duration::from_secs(480));
        // The docs' example: the first call of a basket at 10:05:20 resets at 10:15:20.
        let t0 = 1_778_753_120; // 10:05:20 UTC
        let (_, reset) = o.add_at("w", "m", 40.0, t0);
        assert_eq!(reset, t0 + 600);
        // Later calls of the same minute join that basket and keep its reset time.
        let (sum, reset) = o.add_at("w", "m", 10.0, t0 + 30);
        assert_eq!((sum, reset), (50.0, t0 + 600));
        // The next minute opens a basket of its own.
        o.add_at("w", "m", 20.0, t0 + 45);
        assert_eq!(o.status_at("w", "m", t0 + 599), (70.0, t0 + 600));
        assert_eq!(o.status_at("w", "m", t0 + 600), (20.0, t0 + 645));
    }

    #[test]
    fn blocked_only_once_the_sum_exceeds_the_limit() {
        let o = Operating::new(Duration::from_secs(480));
        let t0 = 1_778_753_100;
        o.add_at("w", "m", 480.0, t0);
        assert!(
            !o.blocked_at("w", "m", t0 + 1),
            "reaching the limit is not exceeding it"
        );
        o.add_at("w", "m", 0.5, t0 + 2);
        assert!(o.blocked_at("w", "m", t0 + 3));
        assert!(
            !o.blocked_at("w", "m", t0 + 600),
            "free again once the basket left"
        );
    }
}

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
#[derive(Debug)]
pub(crate) struct Operating {
    inner: Mutex<OperatingInner>,
}

#[derive(Debug)]
struct OperatingInner {
    limit: Duration,
    baskets: HashMap<(String, String), VecDeque<(u64, f64)>>,
}

const WINDOW_MINUTES: u64 = 10;

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

    fn prune(q: &mut VecDeque<(u64, f64)>, minute: u64) {
        while q
            .front()
            .is_some_and(|(m, _)| *m + WINDOW_MINUTES <= minute)
        {
            q.pop_front();
        }
    }

    /// `(operating seconds, operating_reset_at)` of a method now.
    pub(crate) fn status(&self, caller: &str, method: &str) -> (f64, u64) {
        let now = unix_now();
        let minute = (now / 60.0) as u64;
        let mut g = self.inner.lock().expect("operating lock");
        let key = (caller.to_owned(), method.to_owned());
        match g.baskets.get_mut(&key) {
            Some(q) => {
                Self::prune(q, minute);
                let sum: f64 = q.iter().map(|(_, s)| s).sum();
                let reset = q
                    .front()
                    .map(|(m, _)| (m + WINDOW_MINUTES) * 60)
                    .unwrap_or(now as u64 + WINDOW_MINUTES * 60);
                (sum, reset)
            }
            None => (0.0, now as u64 + WINDOW_MINUTES * 60),
        }
    }

    /// True when the method is blocked (its sum reached the limit).
    pub(crate) fn blocked(&self, caller: &str, method: &str) -> bool {
        let limit = self.inner.lock().expect("operating lock").limit;
        self.status(caller, method).0 >= limit.as_secs_f64()
    }

    /// Adds a call's server time; returns the new `(operating, operating_reset_at)`.
    pub(crate) fn add(&self, caller: &str, method: &str, secs: f64) -> (f64, u64) {
        let minute = (unix_now() / 60.0) as u64;
        {
            let mut g = self.inner.lock().expect("operating lock");
            let q = g
                .baskets
                .entry((caller.to_owned(), method.to_owned()))
                .or_default();
            Self::prune(q, minute);
            match q.back_mut() {
                Some((m, s)) if *m == minute => *s += secs,
                _ => q.push_back((minute, secs)),
            }
        }
        self.status(caller, method)
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
}

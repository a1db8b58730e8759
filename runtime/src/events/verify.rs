//! [`Verifier`]: accepts an event body only when it carries the application's token, comes
//! from the expected portal and is not a replay.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::event::{Event, Rejection, Secret, parse};

/// The default [`Verifier::max_age`]: 10 minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// The default [`Verifier::max_remembered`]: 100,000 bodies.
pub const DEFAULT_MAX_REMEMBERED: usize = 100_000;

/// Checks event bodies before anything acts on them.
///
/// [`verify`](Verifier::verify) decodes a body and refuses it ([`Rejection`]) unless
///
/// - `auth[application_token]` equals the application's token (compared in constant time:
///   every byte is compared, whatever the first difference);
/// - `auth[member_id]` and `auth[domain]` are the expected ones, when set with
///   [`member_id`](Verifier::member_id) and [`domain`](Verifier::domain);
/// - `ts` is at most [`max_age`](Verifier::max_age) away from the local clock (either way: a
///   clock skew up to `max_age` is tolerated), and the same bytes were not accepted within
///   `max_age` ([`Rejection::Replayed`]). A body without `ts` is
///   [`Rejection::Malformed`]: the portal always sends one.
///
/// Replays are found by a keyed 128-bit digest of each accepted body, kept for `max_age` and
/// at most [`max_remembered`](Verifier::max_remembered) of them: when the set is full the
/// oldest digest is forgotten first (a warning is logged), so memory stays bounded. Only
/// bodies that passed the token check are remembered, so a stranger cannot fill the set.
///
/// The token never appears in `Debug`, in a [`Rejection`] or in logs.
///
/// ```
/// use bitrix_runtime::events::{Rejection, Verifier};
/// let verifier = Verifier::new("51856fefc120afa4b628cc82d3935cce");
/// let forged = b"event=ONCRMDEALADD&ts=1&auth%5Bapplication_token%5D=guess";
/// assert_eq!(verifier.verify(forged).unwrap_err(), Rejection::WrongToken);
/// ```
pub struct Verifier {
    token: Secret,
    member_id: Option<String>,
    domain: Option<String>,
    max_age: Duration,
    max_remembered: usize,
    seen: Mutex<Seen>,
    keys: (RandomState, RandomState),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("token", &self.token)
            .field("member_id", &self.member_id)
            .field("domain", &self.domain)
            .field("max_age", &self.max_age)
            .field("max_remembered", &self.max_remembered)
            .finish_non_exhaustive()
    }
}

/// Digests of accepted bodies, oldest first.
#[derive(Default)]
struct Seen {
    order: VecDeque<(Instant, u128)>,
    digests: HashMap<u128, Instant>,
}

impl Verifier {
    /// A verifier for the application whose token is `application_token` (stored at install
    /// from `ONAPPINSTALL`'s `auth[application_token]`, or shown for an outgoing webhook).
    pub fn new(application_token: impl Into<String>) -> Verifier {
        Verifier {
            token: Secret(application_token.into()),
            member_id: None,
            domain: None,
            max_age: DEFAULT_MAX_AGE,
            max_remembered: DEFAULT_MAX_REMEMBERED,
            seen: Mutex::new(Seen::default()),
            keys: (RandomState::new(), RandomState::new()),
        }
    }

    /// Accept only events of the portal with this `member_id`.
    pub fn member_id(mut self, member_id: impl Into<String>) -> Verifier {
        self.member_id = Some(member_id.into());
        self
    }

    /// Accept only events of the portal on this host (`some-domain.bitrix24.com`; compared
    /// without case).
    pub fn domain(mut self, domain: impl Into<String>) -> Verifier {
        self.domain = Some(domain.into());
        self
    }

    /// How old (by `ts`) an event may be, and how long accepted bodies are remembered to
    /// refuse their replays ([`DEFAULT_MAX_AGE`] by default).
    pub fn max_age(mut self, max_age: Duration) -> Verifier {
        self.max_age = max_age;
        self
    }

    /// How many accepted bodies are remembered at most ([`DEFAULT_MAX_REMEMBERED`]).
    pub fn max_remembered(mut self, max: usize) -> Verifier {
        self.max_remembered = max.max(1);
        self
    }

    /// Decodes and checks one body; see the [type documentation](Verifier).
    pub fn verify(&self, body: &[u8]) -> Result<Event, Rejection> {
        let event = parse(body)?;
        let auth = event.auth();
        let Some(token) = auth.application_token() else {
            return Err(Rejection::MissingToken);
        };
        if !constant_time_eq(token.as_bytes(), self.token.0.as_bytes()) {
            return Err(Rejection::WrongToken);
        }
        if let Some(expected) = &self.member_id {
            let found = auth.member_id().unwrap_or_default();
            if found != expected {
                return Err(Rejection::ForeignPortal {
                    field: "member_id",
                    expected: expected.clone(),
                    found: found.to_owned(),
                });
            }
        }
        if let Some(expected) = &self.domain {
            let found = auth.domain().unwrap_or_default();
            if !found.eq_ignore_ascii_case(expected) {
                return Err(Rejection::ForeignPortal {
                    field: "domain",
                    expected: expected.clone(),
                    found: found.to_owned(),
                });
            }
        }
        let Some(ts) = event.timestamp() else {
            return Err(Rejection::Malformed(
                "no `ts`: the portal sends the time of every event".into(),
            ));
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if now.abs_diff(ts) > self.max_age.as_secs() {
            return Err(Rejection::Replayed);
        }
        self.remember(body)?;
        Ok(event)
    }

    /// How many bodies are remembered now.
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        debug_assert_eq!(seen.order.len(), seen.digests.len());
        seen.digests.len()
    }

    /// Records the body's digest; `Replayed` when it is already there.
    fn remember(&self, body: &[u8]) -> Result<(), Rejection> {
        let digest =
            (u128::from(self.keys.0.hash_one(body)) << 64) | u128::from(self.keys.1.hash_one(body));
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(&(at, d)) = seen.order.front() {
            if now.duration_since(at) <= self.max_age {
                break;
            }
            seen.order.pop_front();
            if seen.digests.get(&d) == Some(&at) {
                seen.digests.remove(&d);
            }
        }
        if seen.digests.contains_key(&digest) {
            return Err(Rejection::Replayed);
        }
        if seen.order.len() >= self.max_remembered {
            if let Some((at, d)) = seen.order.pop_front() {
                if seen.digests.get(&d) == Some(&at) {
                    seen.digests.remove(&d);
                }
                tracing::warn!(
                    max_remembered = self.max_remembered,
                    "the event verifier's replay set is full; forgetting the oldest body early (raise Verifier::max_remembered or lower max_age)"
                );
            }
        }
        seen.order.push_back((now, digest));
        seen.digests.insert(digest, now);
        Ok(())
    }
}

/// Compares two byte strings in time that depends only on their lengths: every byte of the
/// longer one is visited, with no exit at the first difference.
pub(crate) fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let len = given.len().max(expected.len());
    let mut diff = u8::from(given.len() != expected.len());
    for i in 0..len {
        let a = given.get(i).copied().unwrap_or(0);
        let b = expected.get(i).copied().unwrap_or(0);
        diff |= std::hint::black_box(a ^ b);
    }
    std::hint::black_box(diff) == 0
}

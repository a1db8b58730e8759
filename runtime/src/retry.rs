//! When the client repeats a call: the policy's settings and its one decision function.
//!
//! The whole policy is in this file: `classify` says what an attempt's outcome means (the
//! middle column of the table on [`RetryPolicy`]), `decide` turns it into the next step of the
//! engine's one request loop, `refresh_step` does the same for an OAuth token refresh, and
//! `stalled_too_long` ends an export whose batches make no progress. All four are pure: the
//! engine does the sleeping, sending and bookkeeping.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::error::{ApiErrorCode, Cause, Error};
use crate::transport::{Outcome, Response, TimeBlock};

/// Retry settings of a [`Client`](crate::Client): when it repeats a call, and how long it
/// waits in between.
///
/// The rule is that a retry never duplicates a write:
///
/// | failure | was it executed? | retried |
/// |---|---|---|
/// | 503 `QUERY_LIMIT_EXCEEDED`, 429 `OPERATION_TIME_LIMIT` | no: refused before execution | always |
/// | no connection could be made | no | always |
/// | 401 `expired_token` (OAuth) | no | once, after one shared refresh |
/// | 5xx, `OVERLOAD_LIMIT`, dropped connection, timeout, HTML body | unknown | reads and calls marked idempotent only |
/// | anything else (4xx, API errors, decode errors) | - | never |
///
/// A write whose outcome is unknown fails with [`Error::OutcomeUnknown`] instead of being
/// repeated.
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
    /// with [`Error::LimitWait`].
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
            random_u64() % (jitter_nanos + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

/// A random number for jitter (not for anything secret): std's randomly keyed SipHash over a
/// process-wide counter, so concurrent callers get different values without a random-number
/// crate.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// Whether a code is a refusal of a limit: the portal provably did not execute the call.
pub(crate) fn is_refusal(code: &ApiErrorCode) -> bool {
    matches!(
        code,
        ApiErrorCode::QueryLimitExceeded | ApiErrorCode::OperationTimeLimit
    )
}

/// The refusal an outcome reports, if any: its code and `time` block (for the limiters).
pub(crate) fn refusal<T>(outcome: &Outcome<T>) -> Option<(&ApiErrorCode, Option<&TimeBlock>)> {
    match outcome {
        Outcome::Api { code, time, .. } if is_refusal(code) => Some((code, time.as_ref())),
        _ => None,
    }
}

/// What an attempt's outcome means for retrying.
#[derive(Debug)]
pub(crate) enum Verdict<T> {
    /// A decoded answer.
    Done(Response<T>),
    /// Provably not executed: refused by a limit (the limiters learn of it through
    /// [`refusal`], before the decision).
    Refused {
        error: Error,
        #[cfg_attr(not(test), allow(dead_code))]
        code: ApiErrorCode,
    },
    /// No connection could be made: not executed.
    Connect {
        message: String,
        source: Option<Cause>,
    },
    /// 401 `expired_token`.
    Expired(Error),
    /// The outcome is unknown: `cause` describes it; `error` is what to report when retries
    /// end for an idempotent call.
    Unknown { cause: String, error: Error },
    /// A redirect.
    Moved { status: u16, location: String },
    /// Final: returned as is.
    Fatal(Error),
}

/// What an attempt's outcome means: the table of [`RetryPolicy`].
pub(crate) fn classify<T>(outcome: Outcome<T>) -> Verdict<T> {
    let unknown = |status: u16, what: String, error: Error| Verdict::Unknown {
        cause: format!("the portal answered HTTP {status}{what}"),
        error,
    };
    match outcome {
        Outcome::Answer(response) => Verdict::Done(response),
        Outcome::Api { code, error, .. } if is_refusal(&code) => Verdict::Refused { error, code },
        Outcome::Api {
            code: ApiErrorCode::ExpiredToken,
            error,
            ..
        } => Verdict::Expired(error),
        Outcome::Api {
            status,
            code:
                code @ (ApiErrorCode::InternalServerError
                | ApiErrorCode::UnexpectedAnswer
                | ApiErrorCode::OverloadLimit),
            error,
            ..
        } => unknown(status, format!(" {}", code.as_str()), error),
        Outcome::Api {
            status,
            code,
            error,
            ..
        } if status >= 500 && code != ApiErrorCode::PortalDeleted => {
            unknown(status, format!(" {}", code.as_str()), error)
        }
        Outcome::Api { error, .. } => Verdict::Fatal(error),
        Outcome::Status { status, error } if status >= 500 => unknown(status, String::new(), error),
        // A proxy's error page or a truncated answer: whether the portal executed the call
        // cannot be known.
        Outcome::NotJson { status, error } if status >= 500 || (200..300).contains(&status) => {
            unknown(status, " with a body that is not JSON".into(), error)
        }
        Outcome::Status { error, .. } | Outcome::NotJson { error, .. } => Verdict::Fatal(error),
        // Repeating it would read the same oversized answer again.
        Outcome::Undecodable(error) | Outcome::TooLarge(error) => Verdict::Fatal(error),
        Outcome::NoConnection { message, source } => Verdict::Connect { message, source },
        Outcome::Lost {
            message,
            timeout,
            source,
        } => Verdict::Unknown {
            cause: message.clone(),
            error: Error::Transport {
                method: String::new(),
                attempts: 0,
                message,
                timeout,
                source,
            },
        },
        Outcome::Redirect { status, location } => Verdict::Moved { status, location },
    }
}

/// Where the request loop stands when an attempt's outcome arrives.
pub(crate) struct Context<'a> {
    pub policy: &'a RetryPolicy,
    /// The REST method (for the errors).
    pub method: &'a str,
    /// Counted attempts so far, this one included (a refresh or a followed redirect repeats
    /// an attempt without counting it).
    pub attempt: u32,
    /// Repeating the call is harmless.
    pub idempotent: bool,
    /// "Not found" after an earlier attempt whose outcome is unknown means that attempt
    /// succeeded (deletes).
    pub not_found_is_success: bool,
    /// An earlier attempt's outcome is unknown (it may have executed).
    pub maybe_executed: bool,
    /// The client authenticates with OAuth (so an expired token can be refreshed).
    pub oauth: bool,
    /// The token was refreshed during this call already.
    pub refreshed: bool,
    /// A redirect was followed during this call already.
    pub followed: bool,
    /// [`ClientBuilder::follow_portal_redirects`](crate::ClientBuilder::follow_portal_redirects).
    pub follow_redirects: bool,
    /// [`ClientBuilder::allow_insecure_http`](crate::ClientBuilder::allow_insecure_http).
    pub allow_insecure: bool,
    /// The URL of this attempt (redirect targets are resolved against it).
    pub url: &'a Url,
    /// How long the limiters ask to wait after a refusal (zero otherwise).
    pub limit_wait: Duration,
    /// Removes secrets from text (a redirect target).
    pub redact: &'a dyn Fn(&str) -> String,
    /// A request of an export: retried (reads only) until the deadline however many attempts
    /// that takes, so a long export under heavy faults resumes instead of ending.
    pub persistent: bool,
    /// Time left before the read deadline (`None` for writes, which have none).
    pub time_left: Option<Duration>,
    /// The backoff the engine would sleep before the next attempt: a retry that cannot
    /// start before the deadline is not made (the call fails with this attempt's failure).
    pub backoff: Duration,
}

/// The next step of the request loop.
#[derive(Debug)]
pub(crate) enum Step<T> {
    /// Return this answer.
    Done(Response<T>),
    /// A retry found the record gone: the earlier attempt (whose outcome was unknown) did it.
    AlreadyDone(Response<T>),
    /// Sleep the backoff of this attempt, or `at_least` if longer, then send again (counted).
    Retry {
        at_least: Duration,
        /// This attempt's outcome is unknown: it may have executed.
        maybe_executed: bool,
    },
    /// Refresh the OAuth token and send again (not counted).
    Refresh,
    /// Send to the portal's new address, and use it from now on (not counted).
    Follow(Url),
    /// Give up with this error.
    Fail(Error),
}

/// The decision: an attempt's outcome in, the next step out. The one place that decides
/// whether a call is repeated.
pub(crate) fn decide<T: DeserializeOwned>(outcome: Outcome<T>, cx: &Context<'_>) -> Step<T> {
    let out_of_time = cx.time_left.is_some_and(|t| t.is_zero() || t <= cx.backoff);
    let out_of_attempts = cx.attempt >= cx.policy.max_attempts.max(1);
    // The last attempt: the deadline passed, or the attempts ran out (exports' reads are
    // bounded by the deadline alone, unless the policy says never to retry).
    let last = out_of_time
        || (out_of_attempts
            && !(cx.persistent
                && cx.idempotent
                && cx.time_left.is_some()
                && cx.policy.max_attempts > 1));
    match classify(outcome) {
        Verdict::Done(response) => Step::Done(response),
        Verdict::Expired(error) if !cx.oauth || cx.refreshed => Step::Fail(error),
        Verdict::Expired(_) => Step::Refresh,
        Verdict::Refused { error, .. } if last => Step::Fail(error),
        // The pacing step of the next attempt waits for the operating-time reset; here only
        // the backoff (or one bucket slot) is slept.
        Verdict::Refused { .. } => Step::Retry {
            at_least: cx.limit_wait.min(cx.policy.max_delay),
            maybe_executed: false,
        },
        Verdict::Connect { message, source } if last => Step::Fail(Error::Connect {
            method: cx.method.to_owned(),
            attempts: cx.attempt,
            message,
            source,
        }),
        Verdict::Connect { .. } => Step::Retry {
            at_least: Duration::ZERO,
            maybe_executed: false,
        },
        Verdict::Unknown { cause, .. } if !cx.idempotent => Step::Fail(Error::OutcomeUnknown {
            method: cx.method.to_owned(),
            cause,
        }),
        Verdict::Unknown { error, .. } if !cx.policy.retry_unknown_outcome || last => {
            Step::Fail(match error {
                Error::Transport {
                    message,
                    timeout,
                    source,
                    ..
                } => Error::Transport {
                    method: cx.method.to_owned(),
                    attempts: cx.attempt,
                    message,
                    timeout,
                    source,
                },
                other => other,
            })
        }
        Verdict::Unknown { .. } => Step::Retry {
            at_least: Duration::ZERO,
            maybe_executed: true,
        },
        Verdict::Moved { status, location } => {
            let target = cx.url.join(&location).ok();
            // Credentials go to the portal's own host only: a redirect to another host is
            // never followed (the webhook code is in the path, the token in the body), and
            // the error names the new host alone.
            let same_host = target.as_ref().is_some_and(|t| {
                matches!((t.host_str(), cx.url.host_str()), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
            });
            let follow = same_host
                && cx.follow_redirects
                && cx.idempotent
                && !cx.followed
                && target.as_ref().is_some_and(|t| {
                    t.path() == cx.url.path()
                        && (t.scheme() == "https"
                            || crate::transport::is_loopback(t)
                            || cx.allow_insecure)
                });
            match target {
                Some(target) if follow => Step::Follow(target),
                Some(target) if !same_host => Step::Fail(Error::PortalMoved {
                    method: cx.method.to_owned(),
                    status,
                    location: (cx.redact)(&crate::transport::origin(&target)),
                }),
                target => Step::Fail(Error::PortalMoved {
                    method: cx.method.to_owned(),
                    status,
                    location: (cx.redact)(
                        &target.map(|u| u.as_str().to_owned()).unwrap_or(location),
                    ),
                }),
            }
        }
        Verdict::Fatal(error)
            if cx.not_found_is_success && cx.maybe_executed && error.is_not_found() =>
        {
            match T::deserialize(Value::Bool(true)) {
                Ok(result) => Step::AlreadyDone(Response {
                    result,
                    total: None,
                    next: None,
                    time: None,
                }),
                Err(e) => Step::Fail(Error::Decode {
                    method: cx.method.to_owned(),
                    message: e.to_string(),
                    source: Some(std::sync::Arc::new(e)),
                }),
            }
        }
        Verdict::Fatal(error) => Step::Fail(error),
    }
}

/// The next step of an OAuth token refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshStep {
    /// Read this reply (a token, or the OAuth server's error).
    Accept,
    /// Sleep, then ask again.
    Retry(Duration),
    /// Give up with the transport failure.
    GiveUp,
}

/// The decision for a token refresh: attempt `attempt` (from 1) got a reply with `status`, or
/// no reply at all (`None`). A refresh tries at most 3 times (fewer if the policy allows
/// fewer), waiting `base_delay` times the attempt in between; a 5xx reply is retried, except
/// on the last attempt, where it is read.
pub(crate) fn refresh_step(policy: &RetryPolicy, attempt: u32, status: Option<u16>) -> RefreshStep {
    let max_attempts = policy.max_attempts.clamp(1, 3);
    match status {
        Some(status) if status < 500 || attempt >= max_attempts => RefreshStep::Accept,
        _ if attempt >= max_attempts => RefreshStep::GiveUp,
        _ => RefreshStep::Retry(policy.base_delay.saturating_mul(attempt)),
    }
}

/// Whether an export whose last `stalls` batches in a row made no progress (their commands
/// were refused) gives up.
pub(crate) fn stalled_too_long(policy: &RetryPolicy, stalls: u32) -> bool {
    stalls >= policy.max_attempts.max(1)
}

/// How long an export waits before repeating a batch whose commands were refused (the
/// `stalls`-th in a row): the policy's backoff, as for a refused request, so the portal's
/// limits get time to drain instead of being hit again at once.
pub(crate) fn stall_wait(policy: &RetryPolicy, stalls: u32) -> Duration {
    policy.backoff(stalls.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    /// What the answer `body` with `status` means for retrying.
    fn parse<T: DeserializeOwned>(status: u16, body: &str) -> Verdict<T> {
        classify(crate::transport::tests::parse(status, body))
    }

    #[test]
    fn errors_are_classified() {
        assert!(matches!(
            parse::<Value>(
                503,
                r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#
            ),
            Verdict::Refused {
                code: ApiErrorCode::QueryLimitExceeded,
                ..
            }
        ));
        assert!(matches!(
            parse::<Value>(
                429,
                r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#
            ),
            Verdict::Refused {
                code: ApiErrorCode::OperationTimeLimit,
                ..
            }
        ));
        assert!(matches!(
            parse::<Value>(
                401,
                r#"{"error":"expired_token","error_description":"The access token provided has expired."}"#
            ),
            Verdict::Expired(_)
        ));
        assert!(matches!(
            parse::<Value>(
                500,
                r#"{"error":"INTERNAL_SERVER_ERROR","error_description":"Internal server error"}"#
            ),
            Verdict::Unknown { .. }
        ));
        let Verdict::Fatal(Error::Api(e)) =
            parse::<Value>(400, r#"{"error":"","error_description":"Not found"}"#)
        else {
            panic!("legacy 400 must be fatal")
        };
        assert_eq!(e.code, ApiErrorCode::NotFound);
        assert_eq!(e.status, Some(400));
        // An error body whose other keys do not fit the expected result type.
        let Verdict::Fatal(Error::Api(e)) = parse::<Vec<Value>>(
            400,
            r#"{"error":"","error_description":"ID is not defined or invalid.","result":"x"}"#,
        ) else {
            panic!("must be an API error")
        };
        assert_eq!(e.code, ApiErrorCode::InvalidId);
    }

    #[test]
    fn html_and_garbage_are_not_json() {
        let a = parse::<Value>(503, "<html><body>Service unavailable</body></html>");
        let Verdict::Unknown { error, .. } = a else {
            panic!("5xx HTML is unknown")
        };
        assert!(matches!(error, Error::NotJson { status: 503, .. }));
        assert!(matches!(
            parse::<Value>(404, "<html>nginx</html>"),
            Verdict::Fatal(Error::NotJson { status: 404, .. })
        ));
        assert!(matches!(
            parse::<Value>(200, "{\"result\": [1, 2"),
            Verdict::Unknown { .. }
        ));
        assert!(matches!(
            parse::<Value>(502, "{}"),
            Verdict::Unknown {
                error: Error::Http { status: 502, .. },
                ..
            }
        ));
    }

    fn api(status: u16, code: &str) -> Outcome<Value> {
        crate::transport::tests::parse(
            status,
            &format!(r#"{{"error":"{code}","error_description":"Not found"}}"#),
        )
    }

    fn lost() -> Outcome<Value> {
        Outcome::Lost {
            message: "timed out".into(),
            timeout: true,
            source: None,
        }
    }

    fn no_connection() -> Outcome<Value> {
        Outcome::NoConnection {
            message: "refused".into(),
            source: None,
        }
    }

    fn redirect(location: &str) -> Outcome<Value> {
        Outcome::Redirect {
            status: 302,
            location: location.into(),
        }
    }

    fn answer() -> Outcome<Value> {
        Outcome::Answer(Response {
            result: Value::Bool(true),
            total: None,
            next: None,
            time: None,
        })
    }

    /// The decision for `outcome` at attempt `attempt` of 3, for a read over a webhook,
    /// changed by `tweak`.
    fn step(outcome: Outcome<Value>, attempt: u32, tweak: impl FnOnce(&mut Context<'_>)) -> String {
        let policy = RetryPolicy::default().with_max_attempts(3);
        let url = Url::parse("https://old.bitrix24.ru/rest/1/secret42/crm.deal.get").unwrap();
        let redact = |t: &str| t.replace("secret42", "***");
        let mut cx = Context {
            policy: &policy,
            method: "crm.deal.get",
            attempt,
            idempotent: true,
            not_found_is_success: false,
            maybe_executed: false,
            oauth: false,
            refreshed: false,
            followed: false,
            follow_redirects: true,
            allow_insecure: false,
            url: &url,
            limit_wait: Duration::from_secs(2),
            redact: &redact,
            persistent: false,
            time_left: Some(Duration::from_secs(60)),
            backoff: Duration::from_millis(500),
        };
        tweak(&mut cx);
        match decide(outcome, &cx) {
            Step::Done(_) => "done".into(),
            Step::AlreadyDone(_) => "already done".into(),
            Step::Retry {
                at_least,
                maybe_executed,
            } => format!(
                "retry at least {}ms{}",
                at_least.as_millis(),
                if maybe_executed {
                    ", maybe executed"
                } else {
                    ""
                }
            ),
            Step::Refresh => "refresh".into(),
            Step::Follow(url) => format!(
                "follow {}{}",
                crate::transport::origin(&url),
                url.path().replace("secret42", "***")
            ),
            Step::Fail(e) => format!("fail: {e}"),
        }
    }

    #[test]
    fn the_decision_table() {
        let write = |cx: &mut Context<'_>| cx.idempotent = false;
        let oauth = |cx: &mut Context<'_>| cx.oauth = true;
        let no_unknown_retries = |cx: &mut Context<'_>| {
            cx.policy = Box::leak(Box::new(RetryPolicy {
                retry_unknown_outcome: false,
                ..RetryPolicy::default().with_max_attempts(3)
            }))
        };
        let cases: Vec<(&str, String, &str)> = vec![
            ("an answer", step(answer(), 1, |_| {}), "done"),
            // Refusals: retried after the limiters' wait (capped by max_delay), for writes too.
            (
                "a full bucket",
                step(api(503, "QUERY_LIMIT_EXCEEDED"), 1, write),
                "retry at least 2000ms",
            ),
            (
                "an operating-time refusal",
                step(api(429, "OPERATION_TIME_LIMIT"), 2, |_| {}),
                "retry at least 2000ms",
            ),
            (
                "a long limit wait is capped",
                step(api(429, "OPERATION_TIME_LIMIT"), 1, |cx| {
                    cx.limit_wait = Duration::from_secs(3600)
                }),
                "retry at least 30000ms",
            ),
            (
                "the last refusal",
                step(api(503, "QUERY_LIMIT_EXCEEDED"), 3, |_| {}),
                "fail: crm.deal.get failed with HTTP 503: QUERY_LIMIT_EXCEEDED",
            ),
            // No connection: not executed, retried for writes too.
            (
                "no connection",
                step(no_connection(), 1, write),
                "retry at least 0ms",
            ),
            (
                "no connection, last",
                step(no_connection(), 3, write),
                "fail: crm.deal.get: could not connect to the portal after 3 attempt(s): refused",
            ),
            // Expired tokens: one refresh, OAuth only.
            (
                "an expired token",
                step(api(401, "expired_token"), 1, oauth),
                "refresh",
            ),
            (
                "expired again after a refresh",
                step(api(401, "expired_token"), 1, |cx| {
                    cx.oauth = true;
                    cx.refreshed = true
                }),
                "fail: crm.deal.get failed with HTTP 401: expired_token",
            ),
            (
                "expired on a webhook",
                step(api(401, "expired_token"), 1, |_| {}),
                "fail: crm.deal.get failed with HTTP 401: expired_token",
            ),
            // Unknown outcomes: reads retry, writes report it.
            (
                "a lost answer of a read",
                step(lost(), 1, |_| {}),
                "retry at least 0ms, maybe executed",
            ),
            (
                "a lost answer of a write",
                step(lost(), 1, write),
                "fail: crm.deal.get: the outcome is unknown (timed out)",
            ),
            (
                "a 500 of a write",
                step(api(500, "INTERNAL_SERVER_ERROR"), 1, write),
                "fail: crm.deal.get: the outcome is unknown (the portal answered HTTP 500 INTERNAL_SERVER_ERROR)",
            ),
            (
                "a lost answer, last",
                step(lost(), 3, |_| {}),
                "fail: crm.deal.get: failed after 3 attempt(s): timed out",
            ),
            (
                "a 500, last",
                step(api(500, "INTERNAL_SERVER_ERROR"), 3, |_| {}),
                "fail: crm.deal.get failed with HTTP 500: INTERNAL_SERVER_ERROR",
            ),
            (
                "unknown outcomes not retried",
                step(lost(), 1, no_unknown_retries),
                "fail: crm.deal.get: failed after 1 attempt(s): timed out",
            ),
            // Redirects: reads follow once, on the same host, to the same path over https; a
            // redirect to another host is never followed (the credentials would go with it),
            // and the error names the new host without the path.
            (
                "a portal moved to another host",
                step(
                    redirect("https://new.bitrix24.ru/rest/1/secret42/crm.deal.get"),
                    1,
                    |_| {},
                ),
                "fail: crm.deal.get: the portal answered HTTP 302 redirecting to https://new.bitrix24.ru;",
            ),
            (
                "a move to https on the same host",
                step(
                    redirect("https://old.bitrix24.ru:8443/rest/1/secret42/crm.deal.get"),
                    1,
                    |_| {},
                ),
                "follow https://old.bitrix24.ru:8443/rest/1/***/crm.deal.get",
            ),
            (
                "a move to another host, redirects followed or not",
                step(
                    redirect("https://evil.example/rest/1/secret42/crm.deal.get"),
                    1,
                    |cx| cx.allow_insecure = true,
                ),
                "fail: crm.deal.get: the portal answered HTTP 302 redirecting to https://evil.example;",
            ),
            (
                "a relative redirect",
                step(redirect("/rest/1/secret42/crm.deal.get"), 1, |_| {}),
                "follow https://old.bitrix24.ru/rest/1/***/crm.deal.get",
            ),
            (
                "a second redirect",
                step(
                    redirect("https://old.bitrix24.ru:8443/rest/1/secret42/crm.deal.get"),
                    1,
                    |cx| cx.followed = true,
                ),
                "fail: crm.deal.get: the portal answered HTTP 302 redirecting to https://old.bitrix24.ru:8443/rest/1/***/crm.deal.get",
            ),
            (
                "a redirect of a write",
                step(
                    redirect("https://old.bitrix24.ru:8443/rest/1/secret42/crm.deal.get"),
                    1,
                    write,
                ),
                "fail: crm.deal.get: the portal answered HTTP 302 redirecting to https://old.bitrix24.ru:8443/rest/1/***/crm.deal.get",
            ),
            (
                "a redirect to http",
                step(
                    redirect("http://old.bitrix24.ru/rest/1/secret42/crm.deal.get"),
                    1,
                    |_| {},
                ),
                "fail: crm.deal.get: the portal answered HTTP 302 redirecting to http://old.bitrix24.ru/rest/1/***/crm.deal.get",
            ),
            (
                "a redirect elsewhere",
                step(redirect("https://old.bitrix24.ru/login"), 1, |_| {}),
                "fail: crm.deal.get: the portal answered HTTP 302 redirecting to https://old.bitrix24.ru/login",
            ),
            (
                "redirects not followed",
                step(
                    redirect("https://new.bitrix24.ru/rest/1/secret42/crm.deal.get"),
                    1,
                    |cx| cx.follow_redirects = false,
                ),
                "fail: crm.deal.get: the portal answered HTTP 302",
            ),
            // The read deadline: reads end when it passes, whatever attempts are left.
            (
                "a lost answer at the read deadline",
                step(lost(), 1, |cx| cx.time_left = Some(Duration::ZERO)),
                "fail: crm.deal.get: failed after 1 attempt(s): timed out",
            ),
            (
                "a lost answer whose backoff would end after the deadline",
                step(lost(), 1, |cx| {
                    cx.time_left = Some(Duration::from_millis(400))
                }),
                "fail: crm.deal.get: failed after 1 attempt(s): timed out",
            ),
            (
                "a refusal at the read deadline",
                step(api(503, "QUERY_LIMIT_EXCEEDED"), 1, |cx| {
                    cx.time_left = Some(Duration::ZERO)
                }),
                "fail: crm.deal.get failed with HTTP 503: QUERY_LIMIT_EXCEEDED",
            ),
            // Exports' reads (read-only batches included, a 500 too) retry until the deadline,
            // not up to an attempt count.
            (
                "an export's lost answer after the attempts",
                step(lost(), 30, |cx| cx.persistent = true),
                "retry at least 0ms, maybe executed",
            ),
            (
                "an export's 500 of a read-only batch",
                step(api(500, "INTERNAL_SERVER_ERROR"), 9, |cx| {
                    cx.persistent = true;
                    cx.method = "batch"
                }),
                "retry at least 0ms",
            ),
            (
                "an export's refusal after the attempts",
                step(api(503, "QUERY_LIMIT_EXCEEDED"), 30, |cx| {
                    cx.persistent = true
                }),
                "retry at least 2000ms",
            ),
            (
                "an export at the deadline",
                step(lost(), 30, |cx| {
                    cx.persistent = true;
                    cx.time_left = Some(Duration::ZERO)
                }),
                "fail: crm.deal.get: failed after 30 attempt(s): timed out",
            ),
            // Final errors; "Not found" after an unknown outcome of a delete is its success.
            (
                "not found",
                step(api(400, ""), 1, |_| {}),
                "fail: crm.deal.get failed with HTTP 400: not found",
            ),
            (
                "not found after an unknown outcome",
                step(api(400, ""), 2, |cx| {
                    cx.not_found_is_success = true;
                    cx.maybe_executed = true
                }),
                "already done",
            ),
            (
                "crm.item.* NOT_FOUND after an unknown outcome",
                step(api(400, "NOT_FOUND"), 2, |cx| {
                    cx.not_found_is_success = true;
                    cx.maybe_executed = true
                }),
                "already done",
            ),
            (
                "not found without an earlier attempt",
                step(api(400, ""), 2, |cx| cx.not_found_is_success = true),
                "fail: crm.deal.get failed with HTTP 400: not found",
            ),
        ];
        for (case, got, expected) in cases {
            assert!(
                got.starts_with(expected),
                "{case}: expected {expected:?}, got {got:?}"
            );
            assert!(!got.contains("secret42"), "{case}: {got}");
        }
    }

    #[test]
    fn token_refreshes_retry_5xx_and_failures_up_to_three_times() {
        let p = RetryPolicy::default().with_base_delay(Duration::from_millis(100));
        let ms = |d: u64| RefreshStep::Retry(Duration::from_millis(d));
        assert_eq!(refresh_step(&p, 1, Some(200)), RefreshStep::Accept);
        assert_eq!(refresh_step(&p, 1, Some(400)), RefreshStep::Accept);
        assert_eq!(refresh_step(&p, 1, Some(502)), ms(100));
        assert_eq!(refresh_step(&p, 2, None), ms(200));
        assert_eq!(refresh_step(&p, 3, Some(502)), RefreshStep::Accept);
        assert_eq!(refresh_step(&p, 3, None), RefreshStep::GiveUp);
        let once = RetryPolicy::none();
        assert_eq!(refresh_step(&once, 1, Some(503)), RefreshStep::Accept);
        assert_eq!(refresh_step(&once, 1, None), RefreshStep::GiveUp);
    }

    #[test]
    fn refused_export_batches_wait_the_backoff() {
        let p = RetryPolicy::default().with_base_delay(Duration::from_millis(100));
        for stalls in 0..4 {
            let w = stall_wait(&p, stalls);
            assert!(w >= p.backoff(stalls.max(1)) / 2, "{stalls}: {w:?}");
            assert!(w >= Duration::from_millis(50), "never at once: {w:?}");
        }
    }

    #[test]
    fn exports_give_up_after_max_attempts_stalls() {
        let p = RetryPolicy::default().with_max_attempts(3);
        assert!(!stalled_too_long(&p, 2));
        assert!(stalled_too_long(&p, 3));
        assert!(stalled_too_long(&RetryPolicy::none(), 1));
    }

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
        // The jitter spreads: 200 delays of the second attempt take many values, over both
        // halves of the jitter range.
        let delays: std::collections::BTreeSet<Duration> = (0..200).map(|_| p.backoff(2)).collect();
        assert!(delays.len() > 150, "{} distinct delays", delays.len());
        let middle = Duration::from_millis(150);
        assert!(delays.iter().any(|d| *d < middle) && delays.iter().any(|d| *d > middle));
    }

    #[test]
    fn none_makes_one_attempt() {
        let p = RetryPolicy::none();
        assert_eq!(p.max_attempts, 1);
        assert!(!p.retry_unknown_outcome);
        assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts, 1);
    }
}

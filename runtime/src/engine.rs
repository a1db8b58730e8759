//! The engine: the one request loop every call goes through (typed CRUD, `call`, list pages,
//! exports, batches). It owns the HTTP client, the authentication, the request-rate bucket,
//! the operating-time tracker and the retry policy. Each attempt is paced, sent and read into
//! an [`Outcome`]; [`retry::decide`] says what comes next, and the engine does it (sleep,
//! refresh the token, follow a redirect, or return).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tracing::Instrument;
use url::Url;

use crate::auth::{Auth, transport_message};
use crate::error::{ApiErrorCode, Error, http_cause};
use crate::limits::{Admission, LeakyBucket, OperatingTracker, Plan, TimeReport};
use crate::retry::{self, Context, RetryPolicy, Step};
use crate::transport::{
    BATCH_SIZE, BatchResult, BodyError, Outcome, Response, TimeBlock, parse_answer, read_body,
};

/// The settings an engine is built with (from the client builder).
pub(crate) struct Settings {
    pub http: reqwest::Client,
    pub auth: Auth,
    pub plan: Plan,
    pub retry: RetryPolicy,
    pub operating_limit: Duration,
    pub follow_redirects: bool,
    pub allow_insecure: bool,
    /// The cap on one answer's body, in bytes.
    pub max_response_size: usize,
    /// The longest a read (or an idempotent call) may take, all attempts included.
    pub read_deadline: Duration,
    /// `auth_connector` sent with every request (unless the call sets its own).
    pub auth_connector: Option<String>,
}

/// The engine; see the [module documentation](self).
pub(crate) struct Engine {
    http: reqwest::Client,
    auth: Auth,
    bucket: Option<LeakyBucket>,
    operating: OperatingTracker,
    retry: RetryPolicy,
    plan: Plan,
    follow_redirects: bool,
    allow_insecure: bool,
    max_response_size: usize,
    read_deadline: Duration,
    auth_connector: Option<String>,
}

/// How [`Engine::execute`] runs one call.
pub(crate) struct Exec<'a> {
    /// Repeating the call is harmless.
    pub idempotent: bool,
    /// Methods whose operating-time limit this call counts against (the method itself, or the
    /// commands of a batch).
    pub paced_methods: &'a [&'a str],
    /// "Not found" after an earlier attempt whose outcome is unknown means that attempt
    /// succeeded (deletes).
    pub not_found_on_retry_is_success: bool,
    /// A request of an export: retried until the read deadline, however many attempts that
    /// takes (see [`Context::persistent`]).
    pub persistent: bool,
    /// Counts the refusals of this call (rate or operating limit, whole requests and batch
    /// commands alike), for the export it belongs to.
    pub refusals: Option<&'a AtomicU64>,
}

impl<'a> Exec<'a> {
    /// A read paced on `paced` (its own method).
    pub(crate) fn read(paced: &'a [&'a str]) -> Self {
        Exec {
            idempotent: true,
            paced_methods: paced,
            not_found_on_retry_is_success: false,
            persistent: false,
            refusals: None,
        }
    }

    /// A request of an export, paced on `paced`, whose refusals count in `refusals`.
    pub(crate) fn export(paced: &'a [&'a str], refusals: &'a AtomicU64) -> Self {
        Exec {
            persistent: true,
            refusals: Some(refusals),
            ..Exec::read(paced)
        }
    }
}

/// The answer of [`Engine::run`], and whether an earlier attempt's outcome was unknown
/// (it may have executed).
pub(crate) struct Ran<T> {
    pub response: Response<T>,
    pub maybe_executed: bool,
}

/// How [`Engine::run_batch`] sends a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchExec<'a> {
    /// `halt=1`: the portal stops at the first failing command.
    pub halt: bool,
    /// Every command is a read (or marked idempotent): repeating the batch is harmless.
    pub idempotent: bool,
    /// Retried until the read deadline however many attempts it takes (exports).
    pub persistent: bool,
    /// Counts the refusals of the batch and of its commands (see [`Exec::refusals`]).
    pub refusals: Option<&'a AtomicU64>,
}

/// One command of a batch, ready to send.
pub(crate) struct RawCommand {
    pub key: String,
    pub method: String,
    /// PHP query string (without `?`).
    pub query: String,
}

/// Whether a REST method name is well-formed (it becomes part of the URL).
pub(crate) fn check_method(method: &str) -> Result<(), Error> {
    let ok = !method.is_empty()
        && !method.starts_with('.')
        && !method.contains("..")
        && method
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidRequest {
            method: method.chars().take(80).collect(),
            message: "a REST method name consists of letters, digits, dots and underscores (for example crm.deal.list)".into(),
            source: None,
        })
    }
}

impl Engine {
    pub(crate) fn new(s: Settings) -> Self {
        Engine {
            http: s.http,
            auth: s.auth,
            bucket: LeakyBucket::new(s.plan),
            operating: OperatingTracker::new(s.operating_limit),
            retry: s.retry,
            plan: s.plan,
            follow_redirects: s.follow_redirects,
            allow_insecure: s.allow_insecure,
            max_response_size: s.max_response_size,
            read_deadline: s.read_deadline,
            auth_connector: s.auth_connector,
        }
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.auth
    }

    pub(crate) fn plan(&self) -> Plan {
        self.plan
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The portal's address, without secrets.
    pub(crate) fn portal(&self) -> String {
        self.auth.portal()
    }

    /// Replaces every secret in `text` by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        self.auth.redact(text)
    }

    /// A batch command's error entry as an [`Error`], redacted.
    pub(crate) fn command_error(&self, method: &str, raw: &Value) -> Error {
        crate::transport::command_error(method, raw, &|t| self.redact(t))
    }

    /// Commands of `method` that fit in the next batch: at most 50, fewer when the method's
    /// operating time is nearly used up (at least one: the pacing step then waits for the
    /// reset).
    pub(crate) fn affordable(&self, method: &str) -> usize {
        self.operating
            .affordable(method)
            .unwrap_or(BATCH_SIZE)
            .clamp(1, BATCH_SIZE)
    }

    /// [`execute`](Engine::execute) for a call paced on its own method, returning `result`.
    pub(crate) async fn execute_one<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Map<String, Value>,
        idempotent: bool,
        not_found_on_retry_is_success: bool,
    ) -> Result<T, Error> {
        let exec = Exec {
            idempotent,
            paced_methods: &[method],
            not_found_on_retry_is_success,
            persistent: false,
            refusals: None,
        };
        Ok(self.execute(method, params, exec).await?.result)
    }

    /// Runs one call through [the request loop](Engine::run) and returns its answer.
    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Map<String, Value>,
        exec: Exec<'_>,
    ) -> Result<Response<T>, Error> {
        Ok(self.run(method, params, exec).await?.response)
    }

    /// The one request loop: runs one call with pacing, retries, token refresh, redirect
    /// handling and the read deadline, as [`retry::decide`] directs. Also tells whether an
    /// earlier attempt's outcome was unknown (it may have executed).
    pub(crate) async fn run<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Map<String, Value>,
        exec: Exec<'_>,
    ) -> Result<Ran<T>, Error> {
        Ok(self.run_admitted(method, params, exec, None).await?.0)
    }

    /// [`run`](Engine::run), with `counts[i]` commands of `exec.paced_methods[i]` in the call
    /// (one each when `None`), and the admission of the attempt that succeeded: its
    /// reservation is released when the caller drops it, after recording the answer's
    /// per-command times (a batch's `result_time`).
    async fn run_admitted<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Map<String, Value>,
        exec: Exec<'_>,
        counts: Option<&[usize]>,
    ) -> Result<(Ran<T>, Option<Admission<'_>>), Error> {
        check_method(method)?;
        let demands: Vec<(&str, usize)> = exec
            .paced_methods
            .iter()
            .enumerate()
            .map(|(i, m)| (*m, counts.and_then(|c| c.get(i).copied()).unwrap_or(1)))
            .collect();
        let with_connector;
        let params = match &self.auth_connector {
            Some(key) if !params.contains_key("auth_connector") => {
                let mut p = params.clone();
                p.insert("auth_connector".into(), Value::String(key.clone()));
                with_connector = p;
                &with_connector
            }
            _ => params,
        };
        let is_batch = method.eq_ignore_ascii_case("batch");
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        let mut followed = false;
        // Whether an earlier attempt may have executed (its outcome is unknown).
        let mut maybe_executed = false;
        // Reads end at the deadline, the attempt in flight included; writes are never cut
        // mid-flight (that would make their outcome unknown).
        // Waits for the portal's limits do not count: they are bounded by
        // `RetryPolicy::max_limit_wait`, and an export paused until an operating-time reset
        // must not find its deadline gone.
        let mut deadline = exec.idempotent.then(|| Instant::now() + self.read_deadline);
        loop {
            attempt += 1;
            let pacing = Instant::now();
            // Held for this attempt: released when it fails, or when its future is dropped.
            let admission = self.pace(method, &demands).await?;
            deadline = deadline.map(|d| d + pacing.elapsed());
            let time_left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let (url, body, seen) = self.auth.request(method, params)?;
            let span = tracing::debug_span!("bitrix_call", method = %method, attempt, portal = %self.portal());
            let started = Instant::now();
            let send = self
                .send::<T>(method, url.clone(), body)
                .instrument(span.clone());
            let outcome = match time_left() {
                Some(left) => match tokio::time::timeout(left, send).await {
                    Ok(outcome) => outcome,
                    Err(_) => Outcome::Lost {
                        message: format!(
                            "timed out at the read deadline of {} s (ClientBuilder::read_deadline)",
                            self.read_deadline.as_secs_f64()
                        ),
                        timeout: true,
                        source: None,
                    },
                },
                None => send.await,
            };
            let duration_ms = started.elapsed().as_millis() as u64;
            let limit_wait = match retry::refusal(&outcome) {
                Some((code, time)) => {
                    if let Some(count) = exec.refusals {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    self.refused(code, time, attempt, exec.paced_methods)
                }
                None => Duration::ZERO,
            };
            let description = outcome.describe();
            let redact = |t: &str| self.redact(t);
            let backoff = self.retry.backoff(attempt);
            let step = retry::decide(
                outcome,
                &Context {
                    policy: &self.retry,
                    method,
                    attempt,
                    idempotent: exec.idempotent,
                    not_found_is_success: exec.not_found_on_retry_is_success,
                    maybe_executed,
                    oauth: self.auth.oauth().is_some(),
                    refreshed,
                    followed,
                    follow_redirects: self.follow_redirects,
                    allow_insecure: self.allow_insecure,
                    url: &url,
                    limit_wait,
                    redact: &redact,
                    persistent: exec.persistent,
                    time_left: time_left(),
                    backoff,
                },
            );
            match step {
                Step::Done(response) => {
                    tracing::debug!(parent: &span, duration_ms, "call succeeded");
                    if let Some(time) = &response.time {
                        if is_batch {
                            // The outer `batch` is not counted; its `finish` is when the portal
                            // answered, which its commands' times are not.
                            self.operating.observe_clock(&time.report());
                        } else {
                            self.operating.record(method, &time.report());
                        }
                    }
                    if let Some(o) = self.auth.oauth() {
                        o.save_pending();
                    }
                    let ran = Ran {
                        response,
                        maybe_executed,
                    };
                    return Ok((ran, Some(admission)));
                }
                Step::AlreadyDone(response) => {
                    tracing::info!(parent: &span, "a retry found the record gone: the earlier attempt succeeded");
                    let ran = Ran {
                        response,
                        maybe_executed,
                    };
                    return Ok((ran, None));
                }
                Step::Retry {
                    at_least,
                    maybe_executed: unknown,
                } => {
                    tracing::warn!(parent: &span, duration_ms, failure = %description, idempotent = exec.idempotent, "the attempt failed; retrying");
                    drop(admission);
                    maybe_executed |= unknown;
                    let wait = backoff.max(at_least);
                    tokio::time::sleep(time_left().map_or(wait, |left| wait.min(left))).await;
                }
                Step::Refresh => {
                    tracing::debug!(parent: &span, duration_ms, "the access token expired; refreshing");
                    if let Some(o) = self.auth.oauth() {
                        o.refresh(&self.http, seen, &self.retry).await?;
                    }
                    refreshed = true;
                    attempt -= 1;
                }
                Step::Follow(target) => {
                    tracing::warn!(parent: &span, from = %self.portal(), to = %crate::transport::origin(&target), "the portal moved; following, and using the new address from now on");
                    self.auth.rebase(&target);
                    followed = true;
                    attempt -= 1;
                }
                Step::Fail(error) => {
                    tracing::debug!(parent: &span, duration_ms, failure = %description, error = %error, "call failed");
                    return Err(error);
                }
            }
        }
    }

    /// Tells the limiters about a refusal; returns how long they ask to wait.
    fn refused(
        &self,
        code: &ApiErrorCode,
        time: Option<&TimeBlock>,
        attempt: u32,
        paced: &[&str],
    ) -> Duration {
        if *code == ApiErrorCode::QueryLimitExceeded {
            return self
                .bucket
                .as_ref()
                .map(|b| b.saturate())
                .unwrap_or_default();
        }
        let report = time.map(|t| t.report()).unwrap_or_default();
        let fallback = self.retry.backoff(attempt);
        paced
            .iter()
            .map(|m| self.operating.refused(m, &report, fallback))
            .max()
            .unwrap_or_default()
    }

    /// Waits until the operating-time tracker admits `commands` (`(method, count)`: their
    /// estimated server time is reserved in the returned [`Admission`]) and for a slot in the
    /// rate bucket.
    async fn pace<'s>(
        &'s self,
        method: &str,
        commands: &[(&str, usize)],
    ) -> Result<Admission<'s>, Error> {
        let mut told = false;
        let admission = loop {
            // Registered before the check, so an answer arriving in between still wakes us.
            let mut changed = std::pin::pin!(self.operating.changed());
            changed.as_mut().enable();
            match self.operating.admit(commands) {
                Ok(admission) => break admission,
                Err(pause) => {
                    if pause.own {
                        tracing::trace!(method = %pause.method, operating_secs = pause.operating, "waiting for this client's calls in flight before the operating-time limit");
                    } else {
                        if pause.wait > self.retry.max_limit_wait {
                            return Err(Error::LimitWait {
                                method: pause.method,
                                wait_secs: pause.wait.as_secs(),
                            });
                        }
                        if !told {
                            told = true;
                            tracing::info!(
                                method = %pause.method,
                                operating_secs = pause.operating,
                                wait_ms = pause.wait.as_millis() as u64,
                                "pausing before the portal's operating-time limit refuses the method"
                            );
                        }
                    }
                    // Woken early when an answer or a release may have made room.
                    let _ = tokio::time::timeout(pause.wait, changed).await;
                }
            }
        };
        if let Some(bucket) = &self.bucket {
            let wait = bucket.reserve();
            if !wait.is_zero() {
                tracing::trace!(method = %method, wait_ms = wait.as_millis() as u64, "waiting for a slot in the request-rate bucket");
                tokio::time::sleep(wait).await;
            }
        }
        Ok(admission)
    }

    /// Sends one attempt and reads its answer.
    async fn send<T: DeserializeOwned>(&self, method: &str, url: Url, body: Vec<u8>) -> Outcome<T> {
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await;
        let redact = |t: &str| self.redact(t);
        let lost = |e: reqwest::Error| Outcome::Lost {
            message: self.redact(&transport_message(&e)),
            timeout: e.is_timeout(),
            source: http_cause(e, &redact),
        };
        let resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Outcome::NoConnection {
                    message: self.redact(&transport_message(&e)),
                    source: http_cause(e, &redact),
                };
            }
            Err(e) => return lost(e),
        };
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            return Outcome::Redirect { status, location };
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        match read_body(resp, self.max_response_size).await {
            Ok(bytes) => {
                parse_answer::<T>(method, status, &content_type, &bytes, &|t| self.redact(t))
            }
            Err(BodyError::TooLarge) => {
                tracing::warn!(method = %method, limit = self.max_response_size, "the answer is longer than the response-size cap; not read");
                Outcome::TooLarge(Error::ResponseTooLarge {
                    method: method.to_owned(),
                    limit: self.max_response_size,
                })
            }
            Err(BodyError::Http(e)) => lost(e),
        }
    }

    /// Sends up to 50 commands as one `batch` request and feeds `result_time` to the
    /// operating-time tracker.
    pub(crate) async fn send_batch<R: DeserializeOwned + Default>(
        &self,
        commands: &[RawCommand],
        halt: bool,
        idempotent: bool,
        refusals: Option<&AtomicU64>,
    ) -> Result<BatchResult<R>, Error> {
        let exec = BatchExec {
            halt,
            idempotent,
            persistent: idempotent,
            refusals,
        };
        Ok(self.run_batch(commands, exec).await?.0)
    }

    /// [`send_batch`](Engine::send_batch) as `exec` says; also tells whether an earlier
    /// attempt's outcome was unknown (it may have executed).
    pub(crate) async fn run_batch<R: DeserializeOwned + Default>(
        &self,
        commands: &[RawCommand],
        exec: BatchExec<'_>,
    ) -> Result<(BatchResult<R>, bool), Error> {
        let BatchExec {
            halt,
            idempotent,
            persistent,
            refusals,
        } = exec;
        debug_assert!(commands.len() <= BATCH_SIZE);
        let mut cmd = Map::new();
        for c in commands {
            let line = if c.query.is_empty() {
                c.method.clone()
            } else {
                format!("{}?{}", c.method, c.query)
            };
            cmd.insert(c.key.clone(), Value::String(line));
        }
        let mut params = Map::new();
        params.insert("halt".into(), Value::from(u8::from(halt)));
        params.insert("cmd".into(), Value::Object(cmd));
        let mut methods: Vec<&str> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for c in commands {
            let index = *seen
                .entry(OperatingTracker::key(&c.method))
                .or_insert_with(|| {
                    methods.push(&c.method);
                    counts.push(0);
                    methods.len() - 1
                });
            counts[index] += 1;
        }
        let exec = Exec {
            idempotent,
            paced_methods: &methods,
            not_found_on_retry_is_success: false,
            persistent,
            refusals,
        };
        let (ran, admission) = self
            .run_admitted::<BatchResult<R>>("batch", &params, exec, Some(&counts))
            .await?;
        let maybe_executed = ran.maybe_executed;
        let batch = ran.response.result;
        for c in commands {
            let report = batch
                .result_time
                .0
                .get(&c.key)
                .map(|t| t.report())
                .unwrap_or_default();
            let code = batch.result_error.0.get(&c.key).map(|e| {
                let code = e.get("error").and_then(Value::as_str).unwrap_or("");
                ApiErrorCode::parse(code, "")
            });
            if let (
                Some(count),
                Some(ApiErrorCode::QueryLimitExceeded | ApiErrorCode::OperationTimeLimit),
            ) = (refusals, &code)
            {
                count.fetch_add(1, Ordering::Relaxed);
            }
            if code == Some(ApiErrorCode::QueryLimitExceeded) {
                // The portal's bucket is full: the client's copy fills up too.
                if let Some(b) = &self.bucket {
                    b.saturate();
                }
            }
            if code == Some(ApiErrorCode::OperationTimeLimit) {
                let fallback = self.retry.backoff(1);
                self.operating.refused(&c.method, &report, fallback);
            } else if report != TimeReport::default() {
                self.operating.record(&c.method, &report);
            }
        }
        // The commands' own times are recorded: their estimates are released.
        drop(admission);
        Ok((batch, maybe_executed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_checked() {
        assert!(check_method("crm.deal.list").is_ok());
        assert!(check_method("crm.deal.list.json").is_ok());
        for bad in [
            "",
            "../oauth",
            "crm deal",
            "crm.deal/list",
            ".x",
            "a..b",
            "x?y=1",
        ] {
            assert!(check_method(bad).is_err(), "{bad}");
        }
    }
}

//! The [`Client`]: typed CRUD on generated entities, list queries, batch, and an untyped
//! escape hatch, all sharing one rate limiter, operating-time tracker, retry policy and
//! authentication.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bitrix_runtime::Error> {
//! use bitrix_runtime::{Client, Plan, RetryPolicy};
//!
//! let client = Client::builder()
//!     .webhook("https://portal.bitrix24.ru/rest/1/abc123/")
//!     .plan(Plan::Regular)
//!     .retry(RetryPolicy::default())
//!     .build()?;
//! let stages = client
//!     .call("crm.status.list", serde_json::json!({"filter": {"ENTITY_ID": "DEAL_STAGE"}}))
//!     .await?;
//! # let _ = stages; Ok(()) }
//! ```

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tracing::Instrument;
use url::Url;

use crate::auth::{InMemoryTokenStore, OAuth, OAuthTokens, TokenStore, Webhook, transport_message};
use crate::batch::Batch;
use crate::entity::{CreatePayload, Entity, EntityField, UpdatePayload};
use crate::error::{ApiErrorCode, Error};
use crate::limits::{LeakyBucket, OperatingTracker, Plan};
use crate::list::ListQuery;
use crate::retry::RetryPolicy;
use crate::transport::{Attempt, Response, parse_answer};

/// A connection to one portal. Cheap to clone (an `Arc`); clones share the rate limiter, the
/// operating-time tracker, the OAuth tokens and the HTTP connection pool, so one client can be
/// used from many tasks at once.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    auth: Auth,
    bucket: Option<LeakyBucket>,
    operating: OperatingTracker,
    pub(crate) retry: RetryPolicy,
    plan: Plan,
    follow_redirects: bool,
    allow_insecure: bool,
}

enum Auth {
    Webhook(RwLock<Webhook>),
    OAuth(Box<OAuth>),
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.inner.auth {
            Auth::Webhook(_) => "incoming webhook",
            Auth::OAuth(_) => "OAuth application",
        };
        f.debug_struct("Client")
            .field("portal", &self.portal())
            .field("auth", &auth)
            .field("plan", &self.inner.plan)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Per-call options of [`Client::call_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Whether repeating the call is harmless. `None` decides by the method name: `*.get`,
    /// `*.list`, `*.fields` and other `get*`/`list*` methods are reads, everything else a
    /// write, never retried after a failure whose outcome is unknown.
    pub idempotent: Option<bool>,
}

/// Parameters of [`Client::add_with`] and [`Batch::add_with`](crate::Batch::add_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddParams {
    /// `REGISTER_SONET_EVENT`: announce the new record in the activity stream (the portal's
    /// default is yes). `None` sends nothing.
    pub register_sonet_event: Option<bool>,
    /// The caller guarantees that creating the record twice is harmless (for example the
    /// portal deduplicates by a unique field), so an add whose outcome is unknown may be
    /// retried. Off by default: such an add fails with
    /// [`Error::OutcomeUnknown`].
    pub idempotent: bool,
}

/// Parameters of [`Client::update_with`] and
/// [`Batch::update_with`](crate::Batch::update_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateParams {
    /// `REGISTER_SONET_EVENT`: announce the change in the activity stream. `None` sends
    /// nothing.
    pub register_sonet_event: Option<bool>,
    /// `REGISTER_HISTORY_EVENT`: record the change in the record's history. `None` sends
    /// nothing.
    pub register_history_event: Option<bool>,
    /// The caller guarantees that applying the update twice is harmless (the same values, no
    /// automation that reacts to each change), so an update whose outcome is unknown may be
    /// retried. Off by default.
    pub idempotent: bool,
}

fn yes_no(v: bool) -> Value {
    Value::String(if v { "Y" } else { "N" }.to_owned())
}

impl AddParams {
    pub(crate) fn to_params(self) -> Option<Map<String, Value>> {
        let mut m = Map::new();
        if let Some(v) = self.register_sonet_event {
            m.insert("REGISTER_SONET_EVENT".into(), yes_no(v));
        }
        (!m.is_empty()).then_some(m)
    }
}

impl UpdateParams {
    pub(crate) fn to_params(self) -> Option<Map<String, Value>> {
        let mut m = Map::new();
        if let Some(v) = self.register_sonet_event {
            m.insert("REGISTER_SONET_EVENT".into(), yes_no(v));
        }
        if let Some(v) = self.register_history_event {
            m.insert("REGISTER_HISTORY_EVENT".into(), yes_no(v));
        }
        (!m.is_empty()).then_some(m)
    }
}

/// Builds a [`Client`]; see [`Client::builder`].
pub struct ClientBuilder {
    webhook: Option<String>,
    oauth: Option<OAuthTokens>,
    token_store: Option<Arc<dyn TokenStore>>,
    plan: Plan,
    retry: RetryPolicy,
    timeout: Duration,
    connect_timeout: Duration,
    allow_insecure: bool,
    operating_limit: Duration,
    follow_redirects: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("webhook", &self.webhook.as_ref().map(|_| "***"))
            .field("oauth", &self.oauth)
            .field("plan", &self.plan)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            webhook: None,
            oauth: None,
            token_store: None,
            plan: Plan::Regular,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(90),
            connect_timeout: Duration::from_secs(15),
            allow_insecure: false,
            operating_limit: Duration::from_secs(480),
            follow_redirects: true,
        }
    }
}

impl ClientBuilder {
    /// Authenticate with an incoming webhook URL (`https://{portal}/rest/{user_id}/{code}/`).
    pub fn webhook(mut self, url: impl Into<String>) -> Self {
        self.webhook = Some(url.into());
        self
    }

    /// Authenticate as an OAuth application.
    pub fn oauth(mut self, tokens: OAuthTokens) -> Self {
        self.oauth = Some(tokens);
        self
    }

    /// Where rotated OAuth tokens go (an [`InMemoryTokenStore`] by default).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_store = Some(store);
        self
    }

    /// The portal's request-rate plan ([`Plan::Regular`] by default).
    pub fn plan(mut self, plan: Plan) -> Self {
        self.plan = plan;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The timeout of one HTTP request (90 s by default: the portal stops a call after 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The timeout for establishing a connection (15 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Allow `http://` for hosts other than loopback. The webhook code or tokens then travel
    /// unencrypted: use it only on a trusted test network.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure = true;
        self
    }

    /// The operating-time limit per method over 10 minutes (480 s by default, as documented).
    pub fn operating_limit(mut self, limit: Duration) -> Self {
        self.operating_limit = limit;
        self
    }

    /// Follow a redirect of a renamed portal for reads, and use the new address from then on
    /// (on by default). Writes that meet a redirect fail with
    /// [`Error::PortalMoved`] (they were not executed).
    pub fn follow_portal_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Builds the client, validating the webhook URL or OAuth endpoints.
    pub fn build(self) -> Result<Client, Error> {
        let auth = match (self.webhook, self.oauth) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "both a webhook and OAuth tokens were given; choose one".into(),
                ));
            }
            (None, None) => {
                return Err(Error::Config(
                    "no authentication: call .webhook(url) or .oauth(tokens) on the builder".into(),
                ));
            }
            (Some(url), None) => {
                if self.token_store.is_some() {
                    return Err(Error::Config(
                        "a token store was given for a webhook client; token stores are for OAuth"
                            .into(),
                    ));
                }
                Auth::Webhook(RwLock::new(Webhook::parse(&url, self.allow_insecure)?))
            }
            (None, Some(tokens)) => {
                let store = self
                    .token_store
                    .unwrap_or_else(|| Arc::new(InMemoryTokenStore::new()));
                Auth::OAuth(Box::new(OAuth::new(tokens, store, self.allow_insecure)?))
            }
        };
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bitrix-runtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::Config(format!(
                    "cannot build the HTTP client: {}",
                    transport_message(&e)
                ))
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                auth,
                bucket: LeakyBucket::new(self.plan),
                operating: OperatingTracker::new(self.operating_limit),
                retry: self.retry,
                plan: self.plan,
                follow_redirects: self.follow_redirects,
                allow_insecure: self.allow_insecure,
            }),
        })
    }
}

/// Whether a method only reads (decides [`CallOptions::idempotent`] when it is `None`).
pub(crate) fn is_read_method(method: &str) -> bool {
    let m = method.trim().to_ascii_lowercase();
    let m = m.strip_suffix(".json").unwrap_or(&m);
    let last = m.rsplit('.').next().unwrap_or("");
    matches!(last, "fields" | "current")
        || last.starts_with("get")
        || last.starts_with("list")
        || matches!(
            m,
            "profile" | "methods" | "scope" | "server.time" | "app.info"
        )
}

fn check_method(method: &str) -> Result<(), Error> {
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
        })
    }
}

/// How [`Client::execute`] runs one call.
pub(crate) struct Exec<'a> {
    /// Repeating the call is harmless.
    pub idempotent: bool,
    /// Methods whose operating-time limit this call counts against (the method itself, or the
    /// commands of a batch).
    pub paced_methods: &'a [&'a str],
    /// "Not found" after an earlier attempt whose outcome is unknown means that attempt
    /// succeeded (deletes).
    pub not_found_on_retry_is_success: bool,
}

impl Client {
    /// A client for an incoming webhook URL, with the default settings (regular plan, default
    /// retries). Use [`Client::builder`] for more.
    pub fn from_webhook(url: &str) -> Result<Client, Error> {
        Client::builder().webhook(url).build()
    }

    /// A builder for webhook or OAuth clients.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The portal's address (`https://portal.bitrix24.ru`), without secrets.
    pub fn portal(&self) -> String {
        match &self.inner.auth {
            Auth::Webhook(w) => w.read().unwrap_or_else(|e| e.into_inner()).portal(),
            Auth::OAuth(o) => o.portal(),
        }
    }

    /// The current OAuth tokens (after any refresh), or `None` for a webhook client.
    pub fn oauth_tokens(&self) -> Option<OAuthTokens> {
        match &self.inner.auth {
            Auth::OAuth(o) => Some(o.tokens()),
            Auth::Webhook(_) => None,
        }
    }

    /// Replaces every secret in `text` by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.inner.auth {
            Auth::Webhook(w) => {
                let code = w
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .code()
                    .to_owned();
                crate::auth::redact_all(text, &[code])
            }
            Auth::OAuth(o) => o.redact(text),
        }
    }

    pub(crate) fn operating(&self) -> &OperatingTracker {
        &self.inner.operating
    }

    /// Calls any REST method with JSON parameters and returns its `result`; the same limits,
    /// retries and authentication apply. Reads (`*.get`, `*.list`, ...) are retried after
    /// transport failures, other methods are not (see [`CallOptions`]).
    pub async fn call(&self, method: &str, params: impl Serialize) -> Result<Value, Error> {
        Ok(self
            .call_with(method, params, CallOptions::default())
            .await?
            .result)
    }

    /// Like [`call`](Client::call), with options, returning the whole answer (`total`,
    /// `next`, `time`).
    pub async fn call_with(
        &self,
        method: &str,
        params: impl Serialize,
        options: CallOptions,
    ) -> Result<Response<Value>, Error> {
        check_method(method)?;
        if method
            .trim_end_matches(".json")
            .eq_ignore_ascii_case("batch")
        {
            return Err(Error::InvalidRequest {
                method: method.to_owned(),
                message:
                    "use client.batch() to send a batch: it chunks, paces and decodes the commands"
                        .into(),
            });
        }
        let params = to_params(method, params)?;
        let idempotent = options.idempotent.unwrap_or_else(|| is_read_method(method));
        self.execute(
            method,
            &params,
            Exec {
                idempotent,
                paced_methods: &[method],
                not_found_on_retry_is_success: false,
            },
        )
        .await
    }

    /// Creates a record (`crm.deal.add` for a `NewDeal`) and returns its typed id.
    pub async fn add<N: CreatePayload>(&self, new: &N) -> Result<<N::Entity as Entity>::Id, Error> {
        self.add_with(new, AddParams::default()).await
    }

    /// Creates a record with [`AddParams`].
    pub async fn add_with<N: CreatePayload>(
        &self,
        new: &N,
        params: AddParams,
    ) -> Result<<N::Entity as Entity>::Id, Error> {
        let method = format!("{}.add", <N::Entity as Entity>::METHOD_PREFIX);
        let body = add_params(&method, new, params)?;
        let result: Value = self
            .execute_one(&method, &body, params.idempotent, false)
            .await?;
        decode_new_id::<N::Entity>(&method, &result)
    }

    /// Reads one record (`crm.deal.get`) with every field the portal returns.
    pub async fn get<E: Entity>(&self, id: E::Id) -> Result<E, Error> {
        let method = format!("{}.get", E::METHOD_PREFIX);
        self.execute_one(&method, &id_body(id.into()), true, false)
            .await
    }

    /// Updates a record with the touched fields of a patch (`crm.deal.update` for a
    /// `DealPatch`). A patch that touches nothing sends nothing.
    pub async fn update<P: UpdatePayload>(
        &self,
        id: <P::Entity as Entity>::Id,
        patch: &P,
    ) -> Result<(), Error> {
        self.update_with(id, patch, UpdateParams::default()).await
    }

    /// Updates a record with [`UpdateParams`].
    pub async fn update_with<P: UpdatePayload>(
        &self,
        id: <P::Entity as Entity>::Id,
        patch: &P,
        params: UpdateParams,
    ) -> Result<(), Error> {
        let method = format!("{}.update", <P::Entity as Entity>::METHOD_PREFIX);
        if patch.is_empty() {
            tracing::debug!(method = %method, "the patch touches no field; nothing sent");
            return Ok(());
        }
        let body = update_params(&method, id.into(), patch, params)?;
        let result: Value = self
            .execute_one(&method, &body, params.idempotent, false)
            .await?;
        expect_true(&method, &result)
    }

    /// Deletes a record (`crm.deal.delete`). Deleting is retried after failures whose outcome
    /// is unknown: if a retry finds the record gone ("Not found"), the earlier attempt deleted
    /// it, and the call succeeds. Without such an earlier attempt (a record that never
    /// existed, or a retry after a refusal that provably did not execute), "Not found" is an
    /// error ([`Error::is_not_found`]).
    pub async fn delete<E: Entity>(&self, id: E::Id) -> Result<(), Error> {
        let method = format!("{}.delete", E::METHOD_PREFIX);
        let result: Value = self
            .execute_one(&method, &id_body(id.into()), true, true)
            .await?;
        expect_true(&method, &result)
    }

    /// The portal's live field descriptors (`crm.deal.fields`), keyed by field code.
    pub async fn fields<E: Entity>(&self) -> Result<Map<String, Value>, Error> {
        let method = format!("{}.fields", E::METHOD_PREFIX);
        self.execute_one(&method, &Map::new(), true, false).await
    }

    /// A typed list query (`crm.deal.list`); see [`ListQuery`].
    pub fn list<E: Entity>(&self) -> ListQuery<E> {
        ListQuery::new(self.clone())
    }

    /// A typed batch; see [`Batch`].
    pub fn batch(&self) -> Batch {
        Batch::new(self.clone())
    }

    /// Waits for the operating-time limits of `methods` and for a slot in the rate bucket.
    async fn pace(&self, method: &str, methods: &[&str]) -> Result<(), Error> {
        let mut longest: Option<(Duration, f64, &str)> = None;
        for m in methods {
            if let Some(p) = self.inner.operating.before_call(m) {
                if longest.is_none_or(|(w, _, _)| p.wait > w) {
                    longest = Some((p.wait, p.operating, m));
                }
            }
        }
        if let Some((wait, operating, m)) = longest {
            if wait > self.inner.retry.max_limit_wait {
                return Err(Error::LimitWait {
                    method: m.to_owned(),
                    wait_secs: wait.as_secs(),
                });
            }
            tracing::info!(
                method = %m,
                operating_secs = operating,
                wait_ms = wait.as_millis() as u64,
                "pausing before the portal's operating-time limit refuses the method"
            );
            tokio::time::sleep(wait).await;
        }
        if let Some(bucket) = &self.inner.bucket {
            let wait = bucket.reserve();
            if !wait.is_zero() {
                tracing::trace!(method = %method, wait_ms = wait.as_millis() as u64, "waiting for a slot in the request-rate bucket");
                tokio::time::sleep(wait).await;
            }
        }
        Ok(())
    }

    /// The URL and JSON body of one attempt, and the token generation it used.
    fn prepare(
        &self,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<(Url, Vec<u8>, u64), Error> {
        let encode = |v: &Map<String, Value>| {
            serde_json::to_vec(v).map_err(|e| Error::InvalidRequest {
                method: method.to_owned(),
                message: format!("the parameters do not serialize to JSON: {e}"),
            })
        };
        match &self.inner.auth {
            Auth::Webhook(w) => {
                let url = w
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .method_url(method)?;
                Ok((url, encode(params)?, 0))
            }
            Auth::OAuth(o) => {
                let snap = o.snapshot();
                let url = snap
                    .endpoint
                    .join(method)
                    .map_err(|e| Error::InvalidRequest {
                        method: method.to_owned(),
                        message: format!("the method name does not form a URL: {e}"),
                    })?;
                let mut with_auth = params.clone();
                with_auth.insert("auth".into(), Value::String(snap.access_token));
                Ok((url, encode(&with_auth)?, snap.generation))
            }
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &str,
        url: Url,
        body: Vec<u8>,
    ) -> Attempt<T> {
        let sent = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let message = self.redact(&transport_message(&e));
                return if e.is_connect() {
                    Attempt::Connect(message)
                } else {
                    Attempt::Unknown {
                        error: Error::Transport {
                            method: method.to_owned(),
                            attempts: 0,
                            message: message.clone(),
                            timeout: e.is_timeout(),
                        },
                        cause: message,
                        timeout: e.is_timeout(),
                    }
                };
            }
        };
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            return Attempt::Moved { status, location };
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let message = self.redact(&transport_message(&e));
                return Attempt::Unknown {
                    error: Error::Transport {
                        method: method.to_owned(),
                        attempts: 0,
                        message: message.clone(),
                        timeout: e.is_timeout(),
                    },
                    cause: message,
                    timeout: e.is_timeout(),
                };
            }
        };
        parse_answer::<T>(method, status, &content_type, &bytes, &|t| self.redact(t))
    }

    /// [`execute`](Client::execute) for a call paced on its own method, returning `result`.
    async fn execute_one<T: DeserializeOwned>(
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
        };
        Ok(self.execute(method, params, exec).await?.result)
    }

    /// Runs one call with pacing, retries, token refresh and redirect handling.
    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Map<String, Value>,
        exec: Exec<'_>,
    ) -> Result<Response<T>, Error> {
        check_method(method)?;
        let policy = &self.inner.retry;
        let max_attempts = policy.max_attempts.max(1);
        let is_batch = method.eq_ignore_ascii_case("batch");
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        let mut followed = false;
        // Whether an earlier attempt may have executed (its outcome is unknown).
        let mut maybe_executed = false;
        loop {
            attempt += 1;
            self.pace(method, exec.paced_methods).await?;
            let (url, body, generation) = self.prepare(method, params)?;
            let request_path = url.path().to_owned();
            let span = tracing::debug_span!("bitrix_call", method = %method, attempt, portal = %self.portal());
            let started = Instant::now();
            let outcome = self
                .attempt::<T>(method, url.clone(), body)
                .instrument(span.clone())
                .await;
            let duration_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Attempt::Done(response) => {
                    tracing::debug!(parent: &span, duration_ms, "call succeeded");
                    if !is_batch {
                        if let Some(time) = &response.time {
                            self.inner.operating.record(method, &time.report());
                        }
                    }
                    if let Auth::OAuth(o) = &self.inner.auth {
                        o.save_pending();
                    }
                    return Ok(response);
                }
                Attempt::Expired(error) => {
                    let Auth::OAuth(o) = &self.inner.auth else {
                        return Err(error);
                    };
                    if refreshed {
                        return Err(error);
                    }
                    tracing::debug!(parent: &span, duration_ms, "the access token expired; refreshing");
                    o.refresh(
                        &self.inner.http,
                        generation,
                        max_attempts.min(3),
                        policy.base_delay,
                    )
                    .await?;
                    refreshed = true;
                    attempt -= 1;
                }
                Attempt::Refused { error, code, time } => {
                    let report = time.as_ref().map(|t| t.report()).unwrap_or_default();
                    let hint = match code {
                        ApiErrorCode::QueryLimitExceeded => self
                            .inner
                            .bucket
                            .as_ref()
                            .map(|b| b.saturate())
                            .unwrap_or_default(),
                        _ => {
                            let fallback = policy.backoff(attempt);
                            let mut longest = Duration::ZERO;
                            for m in exec.paced_methods {
                                longest =
                                    longest.max(self.inner.operating.refused(m, &report, fallback));
                            }
                            longest
                        }
                    };
                    tracing::warn!(parent: &span, duration_ms, code = %code, "the portal refused the call without executing it");
                    if attempt >= max_attempts {
                        return Err(error);
                    }
                    // The pacing step of the next attempt waits for the operating-time reset;
                    // here only the backoff (or one bucket slot) is slept.
                    let delay = policy.backoff(attempt).max(hint.min(policy.max_delay));
                    tokio::time::sleep(delay).await;
                }
                Attempt::Connect(message) => {
                    tracing::warn!(parent: &span, duration_ms, failure = %message, "could not connect");
                    if attempt >= max_attempts {
                        return Err(Error::Connect {
                            method: method.to_owned(),
                            attempts: attempt,
                            message,
                        });
                    }
                    tokio::time::sleep(policy.backoff(attempt)).await;
                }
                Attempt::Unknown {
                    cause,
                    error,
                    timeout,
                } => {
                    tracing::warn!(parent: &span, duration_ms, failure = %cause, idempotent = exec.idempotent, "the call's outcome is unknown");
                    if !exec.idempotent {
                        return Err(Error::OutcomeUnknown {
                            method: method.to_owned(),
                            cause,
                        });
                    }
                    maybe_executed = true;
                    if !policy.retry_unknown_outcome || attempt >= max_attempts {
                        return Err(match error {
                            Error::Transport { message, .. } => Error::Transport {
                                method: method.to_owned(),
                                attempts: attempt,
                                message,
                                timeout,
                            },
                            other => other,
                        });
                    }
                    tokio::time::sleep(policy.backoff(attempt)).await;
                }
                Attempt::Moved { status, location } => {
                    let target = url.join(&location).ok();
                    let shown = self.redact(
                        &target
                            .as_ref()
                            .map(|u| u.as_str().to_owned())
                            .unwrap_or_else(|| location.clone()),
                    );
                    let follow = self.inner.follow_redirects
                        && exec.idempotent
                        && !followed
                        && target.as_ref().is_some_and(|t| {
                            t.path() == request_path
                                && (t.scheme() == "https"
                                    || crate::auth::is_loopback(t)
                                    || self.inner.allow_insecure)
                        });
                    match (follow, target) {
                        (true, Some(target)) => {
                            tracing::warn!(parent: &span, from = %self.portal(), to = %crate::auth::origin(&target), "the portal answered {status}: it moved; following, and using the new address from now on");
                            match &self.inner.auth {
                                Auth::Webhook(w) => {
                                    w.write().unwrap_or_else(|e| e.into_inner()).rebase(&target)
                                }
                                Auth::OAuth(o) => o.rebase(&target),
                            }
                            followed = true;
                            attempt -= 1;
                        }
                        _ => {
                            return Err(Error::PortalMoved {
                                method: method.to_owned(),
                                status,
                                location: shown,
                            });
                        }
                    }
                }
                Attempt::Fatal(error) => {
                    if exec.not_found_on_retry_is_success && maybe_executed && error.is_not_found()
                    {
                        tracing::info!(parent: &span, "a retry found the record gone: the earlier attempt succeeded");
                        let result =
                            T::deserialize(Value::Bool(true)).map_err(|e| Error::Decode {
                                method: method.to_owned(),
                                message: e.to_string(),
                            })?;
                        return Ok(Response {
                            result,
                            total: None,
                            next: None,
                            time: None,
                        });
                    }
                    tracing::debug!(parent: &span, duration_ms, error = %error, "call failed");
                    return Err(error);
                }
            }
        }
    }
}

/// `{"id": id}` of a get or delete.
pub(crate) fn id_body(id: u64) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("id".into(), Value::from(id));
    body
}

/// Serializes user parameters into a JSON object.
fn to_params(method: &str, params: impl Serialize) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(params) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!(
                "parameters must be a JSON object such as {{\"id\": 5}}, not {}",
                kind(&other)
            ),
        }),
        Err(e) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!("the parameters do not serialize to JSON: {e}"),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `{"fields": {...}, "params": {...}}` of an add.
pub(crate) fn add_params<N: CreatePayload>(
    method: &str,
    new: &N,
    params: AddParams,
) -> Result<Map<String, Value>, Error> {
    write_body(method, None, new, params.to_params())
}

/// `{"id": .., "fields": {...}, "params": {...}}` of an update.
pub(crate) fn update_params<P: UpdatePayload>(
    method: &str,
    id: u64,
    patch: &P,
    params: UpdateParams,
) -> Result<Map<String, Value>, Error> {
    write_body(method, Some(id), patch, params.to_params())
}

/// The body of a write: the record's id (updates), its `fields` and the optional `params`.
fn write_body(
    method: &str,
    id: Option<u64>,
    payload: &impl Serialize,
    params: Option<Map<String, Value>>,
) -> Result<Map<String, Value>, Error> {
    let fields = payload_object(method, payload)?;
    let mut body = Map::new();
    if let Some(id) = id {
        body.insert("id".into(), Value::from(id));
    }
    body.insert("fields".into(), Value::Object(fields));
    if let Some(p) = params {
        body.insert("params".into(), Value::Object(p));
    }
    Ok(body)
}

fn payload_object(method: &str, payload: &impl Serialize) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(payload) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!(
                "the payload must serialize to a JSON object of fields, not {}; this is a bug in the generated type",
                kind(&other)
            ),
        }),
        Err(e) => Err(Error::InvalidRequest {
            method: method.to_owned(),
            message: format!("the payload does not serialize: {e}"),
        }),
    }
}

/// The id an add returned (`394` or `"394"`).
pub(crate) fn decode_new_id<E: Entity>(method: &str, v: &Value) -> Result<E::Id, Error> {
    let id = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match id {
        Some(id) if id > 0 => Ok(E::Id::from(id)),
        _ => Err(Error::Decode {
            method: method.to_owned(),
            message: format!(
                "expected the new record's id (a positive integer), got {v}; the record may have been created, so look for it on the portal before adding it again"
            ),
        }),
    }
}

/// Update and delete answer `true`.
pub(crate) fn expect_true(method: &str, v: &Value) -> Result<(), Error> {
    match v {
        Value::Bool(true) => Ok(()),
        Value::String(s) if s == "1" || s.eq_ignore_ascii_case("true") => Ok(()),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(()),
        other => Err(Error::Decode {
            method: method.to_owned(),
            message: format!(
                "expected `true`, got {other}; the portal did not confirm the change, so read the record to see whether it changed"
            ),
        }),
    }
}

/// `select` without an explicit list: every standard field (`*`), every user field (`UF_*`)
/// and the standard multiple fields, which `*` leaves out.
pub(crate) fn default_select<E: Entity>() -> Vec<String> {
    let mut select = vec!["*".to_owned(), "UF_*".to_owned()];
    for f in <E::Field as EntityField>::ALL {
        let meta = f.meta();
        if meta.multiple && !meta.dynamic {
            select.push(meta.code.to_owned());
        }
    }
    select
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_methods_are_recognized() {
        for m in [
            "crm.deal.get",
            "crm.deal.list",
            "crm.deal.fields",
            "CRM.DEAL.LIST.json",
            "crm.status.list",
            "user.current",
            "crm.item.getList",
            "profile",
        ] {
            assert!(is_read_method(m), "{m}");
        }
        for m in [
            "crm.deal.add",
            "crm.deal.update",
            "crm.deal.delete",
            "crm.deal.userfield.add",
        ] {
            assert!(!is_read_method(m), "{m}");
        }
    }

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

    #[test]
    fn params_encode_yes_no() {
        let p = UpdateParams {
            register_sonet_event: Some(false),
            register_history_event: Some(true),
            idempotent: false,
        };
        assert_eq!(
            Value::Object(p.to_params().unwrap()),
            serde_json::json!({"REGISTER_SONET_EVENT": "N", "REGISTER_HISTORY_EVENT": "Y"})
        );
        assert!(AddParams::default().to_params().is_none());
    }

    #[test]
    fn results_are_checked() {
        assert!(expect_true("m", &Value::Bool(true)).is_ok());
        let e = expect_true("m", &Value::Bool(false))
            .unwrap_err()
            .to_string();
        assert!(e.contains("read the record"), "{e}");
        assert!(
            !e.contains("snapshot"),
            "only decode failures of entities suggest one: {e}"
        );
        assert!(to_params("m", serde_json::json!([1])).is_err());
        assert!(to_params("m", Value::Null).unwrap().is_empty());
    }

    #[tokio::test]
    async fn builder_validates_and_debug_hides_secrets() {
        let c = Client::from_webhook("https://portal.bitrix24.ru/rest/1/topsecret42/").unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("topsecret42"), "{d}");
        assert!(d.contains("portal.bitrix24.ru"), "{d}");
        let b = Client::builder().webhook("https://portal.bitrix24.ru/rest/1/topsecret42/");
        assert!(!format!("{b:?}").contains("topsecret42"));
        assert!(Client::builder().build().is_err());
        assert!(
            Client::builder()
                .webhook("https://p/rest/1/abc/")
                .oauth(OAuthTokens::default())
                .build()
                .is_err()
        );
        assert_eq!(c.redact("x topsecret42 y"), "x *** y");
    }
}

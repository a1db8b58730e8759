//! The client: a facade over the engine (typed CRUD, list queries, batch, the untyped escape hatch).

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::Route;
use crate::auth::{
    Auth, DEFAULT_REFRESH_TIMEOUT, InMemoryTokenStore, OAuth, OAuthTokens, TokenStore, Webhook,
    transport_message,
};
use crate::batch::Batch;
use crate::calls::{AddParams, CallOptions, UpdateParams, is_read_method, to_params};
use crate::engine::{Engine, Exec, Settings, check_method};
use crate::entity::{Api, CreatePayload, Entity, UpdatePayload};
use crate::error::Error;
use crate::guard::GuardCheck;
use crate::limits::Plan;
use crate::list::ListQuery;
use crate::projection::Projection;
use crate::retry::RetryPolicy;
use crate::transport::{DEFAULT_MAX_RESPONSE_SIZE, Response};

/// The default [`ClientBuilder::read_deadline`]: 5 minutes.
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(300);

/// A connection to one portal. Cheap to clone (an `Arc`); clones share the rate limiter, the
/// operating-time tracker, the OAuth tokens and the HTTP connection pool, so one client can be
/// used from many tasks at once.
///
/// It offers typed CRUD on generated entities, list queries, batch, and an untyped escape
/// hatch, all sharing one rate limiter, operating-time tracker, retry policy and
/// authentication.
///
/// ```no_run
/// # async fn demo() -> Result<(), bitrix_runtime::Error> {
/// use bitrix_runtime::{Client, Plan, RetryPolicy};
///
/// let client = Client::builder()
///     .webhook("https://portal.bitrix24.ru/rest/1/abc123/")
///     .plan(Plan::Regular)
///     .retry(RetryPolicy::default())
///     .build()?;
/// let stages = client
///     .call("crm.status.list", serde_json::json!({"filter": {"ENTITY_ID": "DEAL_STAGE"}}))
///     .await?;
/// # let _ = stages; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) engine: Arc<Engine>,
    /// The API typed calls use instead of each entity's own ([`Entity::API`]).
    pub(crate) api: Option<Api>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("portal", &self.portal())
            .field("auth", &self.engine.auth().kind())
            .field("plan", &self.engine.plan())
            .field("retry", self.engine.policy())
            .field("api", &self.api)
            .finish_non_exhaustive()
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
    http: Option<reqwest::ClientBuilder>,
    max_response_size: usize,
    refresh_timeout: Duration,
    read_deadline: Duration,
    api: Option<Api>,
    auth_connector: Option<String>,
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
            http: None,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            refresh_timeout: DEFAULT_REFRESH_TIMEOUT,
            read_deadline: DEFAULT_READ_DEADLINE,
            api: None,
            auth_connector: None,
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
    /// Reads also have an overall deadline, all attempts included: see
    /// [`read_deadline`](ClientBuilder::read_deadline).
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

    /// Follow a redirect for reads when it stays on the portal's own host (another port or
    /// `https://`), and use that address from then on (on by default). A redirect to ANOTHER
    /// host is never followed, whatever this says: the webhook code or token would go with the
    /// request. It fails with [`Error::PortalMoved`] naming the new host (the call was not
    /// executed); rebuild the client with the portal's new address if you trust it. Writes
    /// that meet a redirect fail the same way.
    pub fn follow_portal_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Build the HTTP client from your own `reqwest` builder (a proxy, extra root
    /// certificates, a local address, a DNS resolver, default headers, your user agent, ...),
    /// re-exported as [`crate::reqwest`] so the versions match. The client then sets on top
    /// what its guarantees rest on: [`timeout`](ClientBuilder::timeout),
    /// [`connect_timeout`](ClientBuilder::connect_timeout) and no automatic redirects (a
    /// redirect to another host would carry the webhook code or token there; see
    /// [`follow_portal_redirects`](ClientBuilder::follow_portal_redirects)). That is why it
    /// takes a builder, not a built `reqwest::Client`, whose redirect policy cannot be checked.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), bitrix_runtime::Error> {
    /// use bitrix_runtime::{Client, reqwest};
    ///
    /// let client = Client::builder()
    ///     .webhook("https://portal.bitrix24.ru/rest/1/abc123/")
    ///     .http(reqwest::Client::builder().user_agent("acme-sync/2.1"))
    ///     .build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn http(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.http = Some(builder);
        self
    }

    /// The longest answer body the client reads, in bytes
    /// ([`DEFAULT_MAX_RESPONSE_SIZE`], 256 MiB, by default: room above the largest legitimate
    /// answer, a 50-command batch of full rows with hundreds of user fields). Bodies are read
    /// chunk by chunk and cut at the cap, so a hostile or broken server (an endless chunked
    /// body) cannot exhaust memory; a longer answer fails with [`Error::ResponseTooLarge`].
    /// OAuth token replies are capped at 1 MiB (or this, if smaller).
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes.max(1);
        self
    }

    /// The longest one read (or call marked idempotent) may take, all its attempts and waits
    /// included (5 minutes by default: three full attempts of the default timeout and the
    /// backoffs between them; pauses for the portal's limits do not count, they are bounded by
    /// [`RetryPolicy::max_limit_wait`]). The attempt in flight at the deadline is cut, and the call fails
    /// with the last failure. Requests of exports ([`ListQuery::stream`](crate::ListQuery::stream))
    /// are retried until this deadline however many attempts it takes, so an export under
    /// heavy faults goes on instead of ending after [`RetryPolicy::max_attempts`]. Writes have
    /// no such deadline: cutting one in flight would leave its outcome unknown.
    pub fn read_deadline(mut self, deadline: Duration) -> Self {
        self.read_deadline = deadline;
        self
    }

    /// The longest one OAuth token refresh may take, all its attempts included (30 s by
    /// default). Concurrent callers share one refresh; when it fails or times out, every one
    /// of them gets its error (a later call tries a new refresh).
    pub fn refresh_timeout(mut self, timeout: Duration) -> Self {
        self.refresh_timeout = timeout;
        self
    }

    /// The API every typed call of the client uses ([`Api::Legacy`]: `crm.<entity>.*`,
    /// [`Api::Item`]: `crm.item.*`), instead of each entity's default ([`Entity::API`]).
    /// Entities without legacy methods ([`Entity::HAS_LEGACY`] false: smart processes, smart
    /// invoices) always use [`Api::Item`]. See also [`Client::with_api`].
    pub fn api(mut self, api: Api) -> Self {
        self.api = Some(api);
        self
    }

    /// Send `auth_connector=key` with every request of this client (batches included), so
    /// its own writes are not recorded in the offline queue of the binding made with the same
    /// key ([`EventBinding::auth_connector`](crate::events::EventBinding::auth_connector)):
    /// an application that syncs changes both ways does not get its own changes back. They
    /// still reach other queues and online handlers.
    pub fn auth_connector(mut self, key: impl Into<String>) -> Self {
        self.auth_connector = Some(key.into());
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
                Auth::OAuth(Box::new(
                    OAuth::new(tokens, store, self.allow_insecure)?
                        .with_limits(self.refresh_timeout, self.max_response_size),
                ))
            }
        };
        let http = self
            .http
            .unwrap_or_else(|| {
                reqwest::Client::builder()
                    .user_agent(concat!("bitrix-runtime/", env!("CARGO_PKG_VERSION")))
            })
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::Config(format!(
                    "cannot build the HTTP client: {}",
                    transport_message(&e)
                ))
            })?;
        Ok(Client {
            engine: Arc::new(Engine::new(Settings {
                http,
                auth,
                plan: self.plan,
                retry: self.retry,
                operating_limit: self.operating_limit,
                follow_redirects: self.follow_redirects,
                allow_insecure: self.allow_insecure,
                max_response_size: self.max_response_size,
                read_deadline: self.read_deadline,
                auth_connector: self.auth_connector,
            })),
            api: self.api,
        })
    }
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

    /// This client with every typed call on `api` (see [`ClientBuilder::api`]). Cheap: the
    /// copy shares the engine (rate limiter, operating-time tracker, tokens, connections)
    /// with this client.
    ///
    /// ```no_run
    /// # async fn demo<D: bitrix_runtime::Entity>(client: bitrix_runtime::Client, id: D::Id) -> Result<(), bitrix_runtime::Error> {
    /// use bitrix_runtime::Api;
    /// let record: D = client.with_api(Api::Item).get(id).await?; // crm.item.get
    /// # let _ = record; Ok(()) }
    /// ```
    pub fn with_api(&self, api: Api) -> Client {
        Client {
            engine: self.engine.clone(),
            api: Some(api),
        }
    }

    /// The API override of this client's typed calls (`None`: each entity's own).
    pub fn api(&self) -> Option<Api> {
        self.api
    }

    /// The portal's address (`https://portal.bitrix24.ru`), without secrets.
    pub fn portal(&self) -> String {
        self.engine.portal()
    }

    /// The current OAuth tokens (after any refresh), or `None` for a webhook client.
    pub fn oauth_tokens(&self) -> Option<OAuthTokens> {
        self.engine.auth().oauth().map(OAuth::tokens)
    }

    /// Replaces every secret in `text` by `***`.
    #[cfg(test)]
    fn redact(&self, text: &str) -> String {
        self.engine.redact(text)
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
                source: None,
            });
        }
        let params = to_params(method, params)?;
        let idempotent = options.idempotent.unwrap_or_else(|| is_read_method(method));
        self.engine
            .execute(
                method,
                &params,
                Exec {
                    idempotent,
                    paced_methods: &[method],
                    not_found_on_retry_is_success: false,
                    persistent: false,
                    refusals: None,
                },
            )
            .await
    }

    /// Creates a record (`crm.deal.add` for a `NewDeal`, or `crm.item.add` on the item API)
    /// and returns its typed id.
    pub async fn add<N: CreatePayload>(&self, new: &N) -> Result<<N::Entity as Entity>::Id, Error> {
        self.add_with(new, AddParams::default()).await
    }

    /// Creates a record with [`AddParams`] (the item API has no such parameters: setting one
    /// there is an [`Error::InvalidRequest`]).
    pub async fn add_with<N: CreatePayload>(
        &self,
        new: &N,
        params: AddParams,
    ) -> Result<<N::Entity as Entity>::Id, Error> {
        let route = Route::of::<N::Entity>(self.api);
        let method = route.method("add");
        let body = route.add_body(&method, new, params)?;
        let result: Value = self
            .engine
            .execute_one(&method, &body, params.idempotent, false)
            .await?;
        route
            .new_id(&method, &result)
            .map(Into::into)
            .map_err(|e| e.redacted(&|t| self.engine.redact(t)))
    }

    /// Reads one record (`crm.deal.get` or `crm.item.get`) with every field the portal
    /// returns, or a [`Projection`] of it (`client.get::<Row>(id)`: the get methods take no
    /// `select`, so only the projection's fields are decoded and the rest skipped).
    pub async fn get<P: Projection>(&self, id: <P::Entity as Entity>::Id) -> Result<P, Error> {
        Route::of::<P::Entity>(self.api)
            .get::<P>(&self.engine, id.into())
            .await
    }

    /// Updates a record with the touched fields of a patch (`crm.deal.update` for a
    /// `DealPatch`, or `crm.item.update`). A patch that touches nothing sends nothing.
    ///
    /// A patch that sets a stage ([`UpdatePayload::stage_guard`]) first reads the record's
    /// pipeline (one small list request) and fails with [`Error::WrongPipeline`], sending
    /// nothing, when the stage belongs to another pipeline: the portal would silently ignore
    /// it. Move a record to another pipeline with [`Client::move_to_stage`].
    pub async fn update<P: UpdatePayload>(
        &self,
        id: <P::Entity as Entity>::Id,
        patch: &P,
    ) -> Result<(), Error> {
        self.update_with(id, patch, UpdateParams::default()).await
    }

    /// Updates a record with [`UpdateParams`] (the item API has no such parameters: setting
    /// one there is an [`Error::InvalidRequest`]).
    pub async fn update_with<P: UpdatePayload>(
        &self,
        id: <P::Entity as Entity>::Id,
        patch: &P,
        params: UpdateParams,
    ) -> Result<(), Error> {
        let route = Route::of::<P::Entity>(self.api);
        let method = route.method("update");
        if patch.is_empty() {
            tracing::debug!(method = %method, "the patch touches no field; nothing sent");
            return Ok(());
        }
        let body = route.update_body(&method, id.into(), patch, params)?;
        if let Some(guard) = patch.stage_guard() {
            let check = GuardCheck::new::<P::Entity>(route, id.into(), guard);
            crate::guard::check_stage(&self.engine, &check).await?;
        }
        let result: Value = self
            .engine
            .execute_one(&method, &body, params.idempotent, false)
            .await?;
        route
            .confirm_update(&method, &result)
            .map_err(|e| e.redacted(&|t| self.engine.redact(t)))
    }

    /// Deletes a record (`crm.deal.delete` or `crm.item.delete`). Deleting is retried after
    /// failures whose outcome is unknown: if a retry finds the record gone ("Not found"), the
    /// earlier attempt deleted it, and the call succeeds. Without such an earlier attempt (a
    /// record that never existed, or a retry after a refusal that provably did not execute),
    /// "Not found" is an error ([`Error::is_not_found`]).
    pub async fn delete<E: Entity>(&self, id: E::Id) -> Result<(), Error> {
        let route = Route::of::<E>(self.api);
        let method = route.method("delete");
        route.check(&method)?;
        let result: Value = self
            .engine
            .execute_one(&method, &route.id_body(Some(id.into())), true, true)
            .await?;
        route
            .confirm_delete(&method, &result)
            .map_err(|e| e.redacted(&|t| self.engine.redact(t)))
    }

    /// The portal's live field descriptors (`crm.deal.fields`, or `crm.item.fields` whose
    /// answer's `fields` object this returns), keyed by field code (item name on the item
    /// API).
    pub async fn fields<E: Entity>(&self) -> Result<Map<String, Value>, Error> {
        let route = Route::of::<E>(self.api);
        let method = route.method("fields");
        route.check(&method)?;
        let result: Value = self
            .engine
            .execute_one(&method, &route.id_body(None), true, false)
            .await?;
        match route.descriptors(result) {
            Value::Object(m) => Ok(m),
            other => Err(Error::Decode {
                method,
                message: format!(
                    "expected an object of field descriptors, got {}",
                    crate::error::snippet(other.to_string().as_bytes(), &|t| self.engine.redact(t))
                ),
                source: None,
            }),
        }
    }

    /// A typed list query (`crm.deal.list` or `crm.item.list`) of whole records
    /// (`client.list::<Deal>()`) or of a [`Projection`] (`client.list::<Row>()`, which
    /// selects exactly its fields); see [`ListQuery`].
    pub fn list<P: Projection>(&self) -> ListQuery<P> {
        ListQuery::new(self.engine.clone(), self.api)
    }

    /// A typed batch; see [`Batch`].
    pub fn batch(&self) -> Batch {
        Batch::new(self.engine.clone(), self.api)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn errors_keep_their_cause_without_secrets() {
        use std::error::Error as _;
        // Nothing listens on port 1: the connection is refused.
        let c = Client::builder()
            .webhook("http://127.0.0.1:1/rest/1/topsecret42/")
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let err = c.call("crm.deal.list", ()).await.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
        let copy = err.clone();
        let cause = copy.source().expect("the reqwest error is kept");
        assert!(
            cause.downcast_ref::<reqwest::Error>().is_some(),
            "{cause:?}"
        );
        for text in [format!("{err} {err:?}"), format!("{cause} {cause:?}")] {
            assert!(!text.contains("topsecret42"), "{text}");
        }

        let json = serde_json::from_str::<u64>("\"x\"").unwrap_err();
        let err = crate::error::json_decode_error("crm.deal.get", json, &str::to_owned);
        let cause = err.source().expect("the serde_json error is kept");
        assert!(cause.downcast_ref::<serde_json::Error>().is_some());
        // A cause whose text holds a secret is left out.
        let json = serde_json::from_str::<u64>("\"topsecret42\"").unwrap_err();
        let err = crate::error::json_decode_error("crm.deal.get", json, &|t: &str| {
            t.replace("topsecret42", "***")
        });
        assert!(err.source().is_none());
        assert!(!format!("{err} {err:?}").contains("topsecret42"));
    }
}

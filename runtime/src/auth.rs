//! Authentication: incoming webhooks and OAuth applications (documented on [`OAuthTokens`]).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use crate::error::{ApiError, ApiErrorCode, Error, http_cause, snippet};
use crate::retry::{RefreshStep, RetryPolicy, refresh_step};
use crate::transport::{BodyError, is_loopback, origin, read_body};

const REDACTED: &str = "***";

fn check_scheme(url: &Url, what: &str, allow_insecure: bool) -> Result<(), Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) || allow_insecure => Ok(()),
        "http" => Err(Error::Config(format!(
            "the {what} uses http:// on {}, so the secret would travel unencrypted; use the https:// address (call allow_insecure_http() on the builder only for a trusted test network)",
            url.host_str().unwrap_or("?")
        ))),
        other => Err(Error::Config(format!(
            "the {what} has the scheme {other:?}; expected https://"
        ))),
    }
}

/// A validated incoming-webhook endpoint.
#[derive(Clone)]
pub(crate) struct Webhook {
    /// `https://{portal}/rest/{user_id}/{code}/`.
    base: Url,
    user_id: u64,
    code: String,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("portal", &self.portal())
            .field("user_id", &self.user_id)
            .field("code", &REDACTED)
            .finish()
    }
}

impl Webhook {
    /// Parses and validates a webhook URL. Anything after the code (a method name copied along
    /// with the URL, such as `profile.json`) is ignored.
    pub(crate) fn parse(url: &str, allow_insecure: bool) -> Result<Self, Error> {
        const EXPECTED: &str = "expected https://{portal}/rest/{user_id}/{code}/ as shown on the portal under Developer resources > Other > Inbound webhook";
        let parsed = Url::parse(url.trim()).map_err(|e| {
            Error::Config(format!(
                "the webhook URL is not a valid URL ({e}); {EXPECTED} (the URL is not shown because it contains the secret code)"
            ))
        })?;
        check_scheme(&parsed, "webhook URL", allow_insecure)?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(Error::Config(format!(
                "the webhook URL has no host; {EXPECTED}"
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::Config(format!(
                "the webhook URL has a query string or fragment; {EXPECTED}"
            )));
        }
        let segments: Vec<&str> = parsed
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let (user_id, code) = match segments.as_slice() {
            ["rest", user, code, ..] => (*user, *code),
            _ => {
                return Err(Error::Config(format!(
                    "the webhook URL for {} does not have the path /rest/{{user_id}}/{{code}}/; {EXPECTED}",
                    parsed.host_str().unwrap_or("?")
                )));
            }
        };
        let user_id: u64 = user_id.parse().map_err(|_| {
            Error::Config(format!(
                "the webhook URL's user id {user_id:?} is not a number; {EXPECTED}"
            ))
        })?;
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::Config(format!(
                "the webhook URL's code is not the alphanumeric secret the portal issues; {EXPECTED}"
            )));
        }
        let mut base = parsed.clone();
        base.set_path(&format!("/rest/{user_id}/{code}/"));
        Ok(Webhook {
            base,
            user_id,
            code: code.to_owned(),
        })
    }

    /// `scheme://host[:port]`, without secrets.
    pub(crate) fn portal(&self) -> String {
        origin(&self.base)
    }

    /// The URL of a method (contains the secret: never log it).
    pub(crate) fn method_url(&self, method: &str) -> Result<Url, Error> {
        self.base.join(method).map_err(|e| Error::InvalidRequest {
            method: method.to_owned(),
            message: format!("the method name does not form a URL: {e}"),
            source: None,
        })
    }

    pub(crate) fn rebase(&mut self, portal: &Url) {
        let _ = self.base.set_scheme(portal.scheme());
        let _ = self.base.set_host(portal.host_str());
        let _ = self.base.set_port(portal.port());
    }

    pub(crate) fn code(&self) -> &str {
        &self.code
    }
}

/// The tokens and settings of an OAuth application installed on a portal.
///
/// `Debug` shows no secrets.
///
/// A client authenticates with an incoming webhook or as an OAuth application:
///
/// - An **incoming webhook** URL (`https://{portal}/rest/{user_id}/{code}/`) carries its secret
///   code in the path. It is validated when the client is built: HTTPS is required, except for
///   loopback hosts (an emulator on `127.0.0.1`) or after an explicit
///   [`allow_insecure_http`](crate::ClientBuilder::allow_insecure_http).
/// - An **OAuth application** sends its access token in the `auth` parameter. When the portal
///   answers 401 `expired_token`, the client refreshes the token once (concurrent callers share
///   one refresh) and repeats the call. Each refresh returns a new refresh token, and the old one
///   stops working, so the new pair is handed to a [`TokenStore`] at once: store it durably, or
///   the application loses access on restart.
///
/// Secrets never appear in `Debug` or `Display` output, errors or traces.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OAuthTokens {
    /// The access token (lives one hour).
    pub access_token: String,
    /// The refresh token (lives 180 days; each refresh replaces it).
    pub refresh_token: String,
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// The portal's REST address, such as `https://portal.bitrix24.ru/rest/`.
    pub client_endpoint: String,
    /// The OAuth server's REST address, such as `https://oauth.bitrix.info/rest/`; tokens are
    /// refreshed at `{server}/oauth/token/`.
    pub server_endpoint: String,
    /// When the access token expires (unix seconds), if known.
    pub expires_at: Option<i64>,
    /// The portal's domain, if known.
    pub domain: Option<String>,
    /// The portal's member id, if known.
    pub member_id: Option<String>,
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("access_token", &REDACTED)
            .field("refresh_token", &REDACTED)
            .field("client_id", &self.client_id)
            .field("client_secret", &REDACTED)
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .field("expires_at", &self.expires_at)
            .field("domain", &self.domain)
            .field("member_id", &self.member_id)
            .finish()
    }
}

/// Receives every rotated token pair, so it survives restarts.
///
/// `save` is called right after a successful refresh, from the task that refreshed. If it
/// fails, the client logs the failure (without secrets), keeps using the new tokens, and calls
/// `save` again after the next successful call until it succeeds.
pub trait TokenStore: Send + Sync + 'static {
    /// Stores the new tokens (persist at least `access_token`, `refresh_token` and the
    /// endpoints).
    fn save(&self, tokens: &OAuthTokens) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// A [`TokenStore`] that keeps the latest tokens in memory (the default).
#[derive(Default)]
pub struct InMemoryTokenStore {
    latest: Mutex<Option<OAuthTokens>>,
    saves: AtomicU64,
}

impl fmt::Debug for InMemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryTokenStore")
            .field("saves", &self.saves())
            .finish_non_exhaustive()
    }
}

impl InMemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tokens saved last, if any.
    pub fn latest(&self) -> Option<OAuthTokens> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many times tokens were saved (one per refresh).
    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::SeqCst)
    }
}

impl TokenStore for InMemoryTokenStore {
    fn save(&self, tokens: &OAuthTokens) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
        self.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The token state shared by every clone of an OAuth client.
pub(crate) struct OAuth {
    current: RwLock<Current>,
    /// Serializes refreshes: concurrent callers share one.
    refresh_lock: tokio::sync::Mutex<()>,
    store: Arc<dyn TokenStore>,
    token_url: Url,
    /// Earlier tokens, still redacted from any text (bounded).
    retired: Mutex<Vec<String>>,
    allow_insecure: bool,
    /// Refreshes started so far (successful or not).
    started: AtomicU64,
    /// The last failed refresh: the number it had among the started ones, and its error. A
    /// caller whose request was built before that refresh started shares its error instead of
    /// trying again.
    last_failure: Mutex<Option<(u64, Error)>>,
    /// The longest one refresh (all its attempts) may take.
    refresh_timeout: std::time::Duration,
    /// The cap on a token reply's body.
    reply_cap: usize,
}

/// The default [`ClientBuilder::refresh_timeout`](crate::ClientBuilder::refresh_timeout): 30 s.
pub(crate) const DEFAULT_REFRESH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The cap on a token reply (a real one is under 2 KB).
const TOKEN_REPLY_CAP: usize = 1024 * 1024;

/// What a request saw of the token state: the token generation it used and how many
/// refreshes had started (so a refresh that started later, failed or not, covers it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub generation: u64,
    pub started: u64,
}

struct Current {
    tokens: OAuthTokens,
    endpoint: Url,
    generation: u64,
    unsaved: bool,
}

/// What a call needs from the token state.
pub(crate) struct TokenSnapshot {
    pub access_token: String,
    pub endpoint: Url,
    pub seen: Seen,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    client_endpoint: Option<String>,
    server_endpoint: Option<String>,
    domain: Option<String>,
    member_id: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn as_i64(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl fmt::Debug for OAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.current.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("OAuth")
            .field("portal", &origin(&c.endpoint))
            .field("generation", &c.generation)
            .finish_non_exhaustive()
    }
}

/// `{server}/oauth/token/` from a server endpoint such as `https://oauth.bitrix.info/rest/`.
fn token_url(server_endpoint: &Url) -> Url {
    let mut url = server_endpoint.clone();
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/rest").unwrap_or(path);
    url.set_path(&format!("{path}/oauth/token/"));
    url.set_query(None);
    url
}

fn parse_endpoint(text: &str, what: &str, allow_insecure: bool) -> Result<Url, Error> {
    let mut url = Url::parse(text.trim()).map_err(|e| {
        Error::Config(format!(
            "the OAuth {what} {text:?} is not a valid URL ({e}); expected for example https://portal.bitrix24.ru/rest/"
        ))
    })?;
    check_scheme(&url, &format!("OAuth {what}"), allow_insecure)?;
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

impl OAuth {
    pub(crate) fn new(
        tokens: OAuthTokens,
        store: Arc<dyn TokenStore>,
        allow_insecure: bool,
    ) -> Result<Self, Error> {
        for (value, name) in [
            (&tokens.access_token, "access_token"),
            (&tokens.refresh_token, "refresh_token"),
            (&tokens.client_id, "client_id"),
            (&tokens.client_secret, "client_secret"),
        ] {
            if value.trim().is_empty() {
                return Err(Error::Config(format!(
                    "OAuthTokens::{name} is empty; pass the values the portal gave when the application was installed"
                )));
            }
        }
        let endpoint = parse_endpoint(&tokens.client_endpoint, "client_endpoint", allow_insecure)?;
        let server = parse_endpoint(&tokens.server_endpoint, "server_endpoint", allow_insecure)?;
        Ok(OAuth {
            current: RwLock::new(Current {
                tokens,
                endpoint,
                generation: 0,
                unsaved: false,
            }),
            refresh_lock: tokio::sync::Mutex::new(()),
            store,
            token_url: token_url(&server),
            retired: Mutex::new(Vec::new()),
            allow_insecure,
            started: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            refresh_timeout: DEFAULT_REFRESH_TIMEOUT,
            reply_cap: TOKEN_REPLY_CAP,
        })
    }

    /// Sets the refresh timeout and caps token replies at `max_response_size` (at most 1 MiB).
    pub(crate) fn with_limits(
        mut self,
        refresh_timeout: std::time::Duration,
        max_response_size: usize,
    ) -> Self {
        self.refresh_timeout = refresh_timeout;
        self.reply_cap = max_response_size.min(TOKEN_REPLY_CAP);
        self
    }

    pub(crate) fn snapshot(&self) -> TokenSnapshot {
        let c = self.current.read().unwrap_or_else(|e| e.into_inner());
        TokenSnapshot {
            access_token: c.tokens.access_token.clone(),
            endpoint: c.endpoint.clone(),
            seen: Seen {
                generation: c.generation,
                started: self.started.load(Ordering::SeqCst),
            },
        }
    }

    pub(crate) fn portal(&self) -> String {
        origin(
            &self
                .current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .endpoint,
        )
    }

    pub(crate) fn tokens(&self) -> OAuthTokens {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .tokens
            .clone()
    }

    pub(crate) fn rebase(&self, portal: &Url) {
        let mut c = self.current.write().unwrap_or_else(|e| e.into_inner());
        let _ = c.endpoint.set_scheme(portal.scheme());
        let _ = c.endpoint.set_host(portal.host_str());
        let _ = c.endpoint.set_port(portal.port());
    }

    /// Every secret string this state knows (current and retired tokens, the client secret).
    pub(crate) fn secrets(&self) -> Vec<String> {
        let c = self.current.read().unwrap_or_else(|e| e.into_inner());
        let mut out = vec![
            c.tokens.access_token.clone(),
            c.tokens.refresh_token.clone(),
            c.tokens.client_secret.clone(),
        ];
        out.extend(
            self.retired
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        out
    }

    /// Retries saving tokens whose earlier save failed.
    pub(crate) fn save_pending(&self) {
        let tokens = {
            let c = self.current.read().unwrap_or_else(|e| e.into_inner());
            if !c.unsaved {
                return;
            }
            c.tokens.clone()
        };
        match self.store.save(&tokens) {
            Ok(()) => {
                let mut c = self.current.write().unwrap_or_else(|e| e.into_inner());
                if c.tokens.refresh_token == tokens.refresh_token {
                    c.unsaved = false;
                }
                tracing::info!("saved the rotated OAuth tokens after an earlier failure");
            }
            Err(e) => {
                tracing::error!(error = %self.redact(&e.to_string()), "the token store still fails to save the rotated OAuth tokens");
            }
        }
    }

    /// Replaces secrets in `text` by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        redact_all(text, &self.secrets())
    }

    /// Refreshes the tokens for a request that saw `seen`, unless a refresh started since
    /// then: concurrent callers share ONE refresh, and its outcome, success or error. A
    /// refresh (all its attempts, as the policy's [`refresh_step`] decides) ends after the
    /// refresh timeout.
    pub(crate) async fn refresh(
        &self,
        http: &reqwest::Client,
        seen: Seen,
        policy: &RetryPolicy,
    ) -> Result<(), Error> {
        let _guard = self.refresh_lock.lock().await;
        let (refresh_token, client_id, client_secret) = {
            let c = self.current.read().unwrap_or_else(|e| e.into_inner());
            if c.generation != seen.generation {
                // Another caller refreshed while this one waited: use its tokens.
                return Ok(());
            }
            (
                c.tokens.refresh_token.clone(),
                c.tokens.client_id.clone(),
                c.tokens.client_secret.clone(),
            )
        };
        if let Some((number, error)) = &*self.last_failure.lock().unwrap_or_else(|e| e.into_inner())
        {
            if *number > seen.started {
                // A refresh started after this request was sent, and failed: its error.
                return Err(error.clone());
            }
        }
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let secrets = (refresh_token, client_id, client_secret);
        let outcome = match tokio::time::timeout(
            self.refresh_timeout,
            self.refresh_now(http, secrets, policy),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Transport {
                method: "oauth/token".into(),
                attempts: 1,
                message: format!(
                    "the token refresh did not finish within {} s (ClientBuilder::refresh_timeout)",
                    self.refresh_timeout.as_secs_f64()
                ),
                timeout: true,
                source: None,
            }),
        };
        if let Err(e) = &outcome {
            *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((number, e.clone()));
        }
        outcome
    }

    /// One refresh: asks the OAuth server (with the policy's retries) and takes the new tokens.
    async fn refresh_now(
        &self,
        http: &reqwest::Client,
        (refresh_token, client_id, client_secret): (String, String, String),
        policy: &RetryPolicy,
    ) -> Result<(), Error> {
        let mut url = self.token_url.clone();
        url.query_pairs_mut()
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", &client_id)
            .append_pair("client_secret", &client_secret)
            .append_pair("refresh_token", &refresh_token);

        let span = tracing::info_span!("bitrix_oauth_refresh");
        let mut attempt = 0;
        let reply = loop {
            attempt += 1;
            let redact = |t: &str| self.redact(t);
            let failed = |e: reqwest::Error| (transport_message(&e), http_cause(e, &redact));
            let reply = match http.get(url.clone()).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match read_body(resp, self.reply_cap).await {
                        Ok(body) => Ok((status, body)),
                        Err(BodyError::Http(e)) => Err(failed(e)),
                        Err(BodyError::TooLarge) => {
                            return Err(Error::ResponseTooLarge {
                                method: "oauth/token".into(),
                                limit: self.reply_cap,
                            });
                        }
                    }
                }
                Err(e) => Err(failed(e)),
            };
            let (step, failure, source) = match reply {
                Ok((status, body)) => match refresh_step(policy, attempt, Some(status)) {
                    RefreshStep::Accept => break (status, body),
                    step => (step, format!("HTTP {status}"), None),
                },
                Err((message, source)) => (refresh_step(policy, attempt, None), message, source),
            };
            let failure = self.redact(&failure);
            let RefreshStep::Retry(delay) = step else {
                return Err(Error::Transport {
                    method: "oauth/token".into(),
                    attempts: attempt,
                    message: failure,
                    timeout: false,
                    source,
                });
            };
            tracing::warn!(parent: &span, attempt, failure = %failure, "token refresh failed; retrying");
            tokio::time::sleep(delay).await;
        };
        let (status, body) = reply;
        let parsed: Option<TokenReply> = serde_json::from_slice(&body).ok();
        let Some(reply) = parsed else {
            return Err(Error::NotJson {
                method: "oauth/token".into(),
                status,
                content_type: String::new(),
                snippet: snippet(&body, &|t: &str| self.redact(t)),
            });
        };
        if let Some(code) = reply.error.as_deref().filter(|c| !c.is_empty()) {
            let description = reply.error_description.clone().unwrap_or_default();
            return Err(Error::Api(ApiError {
                method: "oauth/token".into(),
                status: Some(status),
                code: ApiErrorCode::parse(code, &description),
                description: self.redact(&description),
            }));
        }
        let (Some(access), Some(refresh)) = (
            reply.access_token.filter(|t| !t.is_empty()),
            reply.refresh_token.filter(|t| !t.is_empty()),
        ) else {
            return Err(Error::Decode {
                method: "oauth/token".into(),
                message: format!(
                    "the token reply (HTTP {status}) lacks access_token or refresh_token; check that OAuthTokens::server_endpoint is the Bitrix24 OAuth server (https://oauth.bitrix.info/rest/)"
                ),
                source: None,
            });
        };

        let tokens = {
            let mut c = self.current.write().unwrap_or_else(|e| e.into_inner());
            {
                let mut retired = self.retired.lock().unwrap_or_else(|e| e.into_inner());
                retired.push(std::mem::replace(&mut c.tokens.access_token, access));
                retired.push(std::mem::replace(&mut c.tokens.refresh_token, refresh));
                let excess = retired.len().saturating_sub(16);
                retired.drain(..excess);
            }
            if let Some(endpoint) = reply.client_endpoint.filter(|e| !e.is_empty()) {
                match parse_endpoint(&endpoint, "client_endpoint", self.allow_insecure) {
                    Ok(url) => {
                        c.endpoint = url;
                        c.tokens.client_endpoint = endpoint;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring the client_endpoint of the token reply")
                    }
                }
            }
            if let Some(server) = reply.server_endpoint.filter(|e| !e.is_empty()) {
                c.tokens.server_endpoint = server;
            }
            let expires =
                reply.expires.as_ref().and_then(as_i64).or_else(|| {
                    reply.expires_in.as_ref().and_then(as_i64).map(|s| {
                        (crate::limits::OperatingTracker::unix_now() as i64).saturating_add(s)
                    })
                });
            c.tokens.expires_at = expires;
            if reply.domain.is_some() {
                c.tokens.domain = reply.domain;
            }
            if reply.member_id.is_some() {
                c.tokens.member_id = reply.member_id;
            }
            c.generation += 1;
            c.unsaved = true;
            c.tokens.clone()
        };
        tracing::info!(parent: &span, "refreshed the OAuth access token");
        match self.store.save(&tokens) {
            Ok(()) => {
                let mut c = self.current.write().unwrap_or_else(|e| e.into_inner());
                if c.tokens.refresh_token == tokens.refresh_token {
                    c.unsaved = false;
                }
                Ok(())
            }
            Err(e) => {
                let message = self.redact(&e.to_string());
                tracing::error!(parent: &span, error = %message, "the token store failed to save the rotated OAuth tokens; will retry after the next call");
                Ok(())
            }
        }
    }
}

/// How a client authenticates: the credentials every request carries.
pub(crate) enum Auth {
    Webhook(RwLock<Webhook>),
    OAuth(Box<OAuth>),
}

impl Auth {
    /// What `Debug` shows of it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Auth::Webhook(_) => "incoming webhook",
            Auth::OAuth(_) => "OAuth application",
        }
    }

    /// The OAuth state, or `None` for a webhook.
    pub(crate) fn oauth(&self) -> Option<&OAuth> {
        match self {
            Auth::OAuth(o) => Some(o),
            Auth::Webhook(_) => None,
        }
    }

    /// The portal's address (`https://portal.bitrix24.ru`), without secrets.
    pub(crate) fn portal(&self) -> String {
        match self {
            Auth::Webhook(w) => w.read().unwrap_or_else(|e| e.into_inner()).portal(),
            Auth::OAuth(o) => o.portal(),
        }
    }

    /// Replaces every secret in `text` by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        match self {
            Auth::Webhook(w) => {
                let code = w
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .code()
                    .to_owned();
                redact_all(text, &[code])
            }
            Auth::OAuth(o) => o.redact(text),
        }
    }

    /// Uses the portal's new address (after a redirect) from now on.
    pub(crate) fn rebase(&self, portal: &Url) {
        match self {
            Auth::Webhook(w) => w.write().unwrap_or_else(|e| e.into_inner()).rebase(portal),
            Auth::OAuth(o) => o.rebase(portal),
        }
    }

    /// The URL and JSON body of one attempt, and what it saw of the token state.
    pub(crate) fn request(
        &self,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<(Url, Vec<u8>, Seen), Error> {
        let encode = |v: &Map<String, Value>| {
            serde_json::to_vec(v).map_err(|e| Error::InvalidRequest {
                method: method.to_owned(),
                message: format!("the parameters do not serialize to JSON: {e}"),
                source: Some(Arc::new(e)),
            })
        };
        match self {
            Auth::Webhook(w) => {
                let url = w
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .method_url(method)?;
                Ok((url, encode(params)?, Seen::default()))
            }
            Auth::OAuth(o) => {
                let snap = o.snapshot();
                let url = snap
                    .endpoint
                    .join(method)
                    .map_err(|e| Error::InvalidRequest {
                        method: method.to_owned(),
                        message: format!("the method name does not form a URL: {e}"),
                        source: None,
                    })?;
                let mut with_auth = params.clone();
                with_auth.insert("auth".into(), Value::String(snap.access_token));
                Ok((url, encode(&with_auth)?, snap.seen))
            }
        }
    }
}

/// A transport error's text without the URL (which may hold secrets) but with its causes.
pub(crate) fn transport_message(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_body() || e.is_decode() {
        "the connection dropped while reading the answer".to_owned()
    } else if e.is_request() {
        "the request could not be completed".to_owned()
    } else {
        "transport error".to_owned()
    };
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Replaces every secret in `text` by `***`, also in URL-encoded form. Secrets of any
/// length are replaced (a short one would otherwise leak); only empty strings are skipped.
pub(crate) fn redact_all(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.is_empty() {
            continue;
        }
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        if encoded != *secret && out.contains(encoded.as_str()) {
            out = out.replace(encoded.as_str(), REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_validated() {
        let w = Webhook::parse("https://portal.bitrix24.ru/rest/1/abc123def/", false).unwrap();
        assert_eq!(w.portal(), "https://portal.bitrix24.ru");
        assert_eq!(
            w.method_url("crm.deal.get").unwrap().as_str(),
            "https://portal.bitrix24.ru/rest/1/abc123def/crm.deal.get"
        );
        // A method copied along with the URL is ignored; a missing slash is fine.
        let w = Webhook::parse(
            "https://portal.bitrix24.ru/rest/7/abc123/profile.json",
            false,
        )
        .unwrap();
        assert_eq!(
            w.method_url("batch").unwrap().as_str(),
            "https://portal.bitrix24.ru/rest/7/abc123/batch"
        );
        assert!(Webhook::parse("https://portal.bitrix24.ru/rest/1/abc123", false).is_ok());
        // A portal on a non-ASCII domain is reached through its IDNA (punycode) name.
        let w = Webhook::parse("https://Портал.рф/rest/1/abc123/", false).unwrap();
        assert_eq!(w.portal(), "https://xn--80awhdgm.xn--p1ai");
        // Loopback may use http; other hosts need the opt-out.
        assert!(Webhook::parse("http://127.0.0.1:8080/rest/1/abc/", false).is_ok());
        assert!(Webhook::parse("http://localhost/rest/1/abc/", false).is_ok());
        assert!(Webhook::parse("http://[::1]:80/rest/1/abc/", false).is_ok());
        let e = Webhook::parse("http://portal.bitrix24.ru/rest/1/secretcode/", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("https://"), "{e}");
        assert!(!e.contains("secretcode"), "{e}");
        assert!(Webhook::parse("http://portal.bitrix24.ru/rest/1/abc/", true).is_ok());
    }

    #[test]
    fn bad_webhook_urls_explain_and_hide_the_code() {
        for url in [
            "portal.bitrix24.ru/rest/1/secretcode/",
            "https://portal.bitrix24.ru/api/1/secretcode/",
            "https://portal.bitrix24.ru/rest/admin/secretcode/",
            "https://portal.bitrix24.ru/rest/1/",
            "https://portal.bitrix24.ru/rest/1/secret-code!/",
            "https://portal.bitrix24.ru/rest/1/secretcode/?x=1",
            "ftp://portal.bitrix24.ru/rest/1/secretcode/",
        ] {
            let e = Webhook::parse(url, false).unwrap_err().to_string();
            assert!(e.starts_with("invalid client configuration"), "{e}");
            assert!(!e.contains("secretcode"), "{url}: {e}");
        }
    }

    #[test]
    fn webhook_debug_hides_the_code() {
        let w = Webhook::parse("https://portal.bitrix24.ru/rest/1/abc123def/", false).unwrap();
        let d = format!("{w:?}");
        assert!(!d.contains("abc123def"), "{d}");
        assert!(d.contains("portal.bitrix24.ru"), "{d}");
        assert_eq!(w.code(), "abc123def");
    }

    #[test]
    fn token_url_comes_from_the_server_endpoint() {
        let u = Url::parse("https://oauth.bitrix.info/rest/").unwrap();
        assert_eq!(
            token_url(&u).as_str(),
            "https://oauth.bitrix.info/oauth/token/"
        );
        let u = Url::parse("http://127.0.0.1:9000/rest/").unwrap();
        assert_eq!(token_url(&u).as_str(), "http://127.0.0.1:9000/oauth/token/");
        let u = Url::parse("https://auth.example.com/").unwrap();
        assert_eq!(
            token_url(&u).as_str(),
            "https://auth.example.com/oauth/token/"
        );
    }

    #[test]
    fn oauth_tokens_debug_hides_secrets() {
        let t = OAuthTokens {
            access_token: "ACCESS-SECRET".into(),
            refresh_token: "REFRESH-SECRET".into(),
            client_id: "local.app".into(),
            client_secret: "CLIENT-SECRET".into(),
            ..OAuthTokens::default()
        };
        let d = format!("{t:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("local.app"), "{d}");
    }

    #[test]
    fn redaction_covers_plain_and_encoded_forms() {
        let secrets = vec!["a+b/c=".to_owned(), "xyz".to_owned(), String::new()];
        assert_eq!(
            redact_all("token a+b/c= and a%2Bb%2Fc%3D, xyz", &secrets),
            "token *** and ***, ***"
        );
    }

    #[test]
    fn oauth_needs_every_secret_and_https() {
        let ok = OAuthTokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            client_endpoint: "https://portal.bitrix24.ru/rest/".into(),
            server_endpoint: "https://oauth.bitrix.info/rest/".into(),
            ..OAuthTokens::default()
        };
        let store: Arc<dyn TokenStore> = Arc::new(InMemoryTokenStore::new());
        assert!(OAuth::new(ok.clone(), store.clone(), false).is_ok());
        let e = OAuth::new(
            OAuthTokens {
                refresh_token: String::new(),
                ..ok.clone()
            },
            store.clone(),
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("refresh_token"), "{e}");
        let e = OAuth::new(
            OAuthTokens {
                client_endpoint: "http://portal.bitrix24.ru/rest/".into(),
                ..ok
            },
            store,
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
    }
}

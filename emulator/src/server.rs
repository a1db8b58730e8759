//! The HTTP side: routing, body parsing, auth, limits, faults, `batch`, the `time` block, the
//! OAuth token endpoint and file downloads.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::FixedOffset;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::config::{Config, CostModel, Work};
use crate::counters::CounterCells;
use crate::error::ApiError;
use crate::events::hub::{AppAuth, Context, Hub};
use crate::events::triggers;
use crate::faults::{After, Faults, Outcome};
use crate::limits::{Operating, RateLimiter, unix_now};
use crate::methods;
use crate::oauth::{OAuthState, RefreshError, TokenCheck};
use crate::php::parse_str;
use crate::portal::{Caller, Portal};
use crate::rest::{Body, METHODS, Output, navigate, param, write_json};
use crate::values::{php_intval, php_string, render_datetime};

/// Maximum commands in one batch.
pub(crate) const BATCH_MAX: usize = 50;

/// State shared by every connection.
pub(crate) struct Shared {
    pub portal: RwLock<Portal>,
    pub limiter: RateLimiter,
    pub operating: Operating,
    pub counters: CounterCells,
    pub faults: Mutex<Faults>,
    pub cost_model: Mutex<Option<CostModel>>,
    pub rng: Mutex<SmallRng>,
    pub oauth: Mutex<OAuthState>,
    pub webhook_user_id: u64,
    pub webhook_code: String,
    pub latency: Duration,
    pub tz: FixedOffset,
    pub escape_slashes: bool,
    pub max_body_bytes: usize,
    /// The portal's time scale (see `Config::time_scale`).
    pub time_scale: f64,
    pub addr: SocketAddr,
    /// The host name advertised over HTTPS, when HTTPS is served.
    pub https_host: Option<String>,
    /// When set, the portal was "renamed": REST requests answer 302 to this base URL.
    pub renamed_to: Mutex<Option<String>>,
    /// Event handlers, queues and deliveries.
    pub events: Hub,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(config: &Config, mut portal: Portal, addr: SocketAddr) -> Shared {
        let oauth = OAuthState::new(config.seed, config.access_token_ttl);
        portal.app_code = oauth.client_id.clone();
        Shared {
            portal: RwLock::new(portal),
            limiter: RateLimiter::new(config.limits, config.time_scale),
            operating: Operating::new(config.operating_limit, config.time_scale),
            time_scale: config.time_scale,
            counters: CounterCells::default(),
            faults: Mutex::new(config.faults.clone()),
            cost_model: Mutex::new(config.cost_model),
            rng: Mutex::new(SmallRng::seed_from_u64(config.seed ^ 0xfa17_5eed)),
            oauth: Mutex::new(oauth),
            webhook_user_id: config.webhook_user_id,
            webhook_code: config.webhook_code.clone(),
            latency: config.latency,
            tz: config.utc_offset,
            escape_slashes: config.escape_slashes,
            max_body_bytes: config.max_body_bytes,
            addr,
            https_host: config
                .tls
                .then(|| config.hosts.first().cloned().unwrap_or("localhost".into())),
            renamed_to: Mutex::new(None),
            events: Hub::new(config.seed, crate::events::hub::DELIVERY_TIMEOUT),
        }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `https://HOST:PORT`, when HTTPS is served.
    pub(crate) fn https_base_url(&self) -> Option<String> {
        let host = self.https_host.as_ref()?;
        Some(format!("https://{host}:{}", self.addr.port()))
    }

    /// The address the portal advertises (OAuth `client_endpoint`, `domain`): HTTPS when served.
    pub(crate) fn public_base_url(&self) -> String {
        self.https_base_url().unwrap_or_else(|| self.base_url())
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
pub(crate) struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

type Resp = Response<Full<Bytes>>;

const JSON_TYPE: &str = "application/json; charset=utf-8";

fn respond(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

impl Shared {
    fn json(&self, status: u16, body: &Value) -> Resp {
        let mut text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
        if self.escape_slashes {
            // PHP's json_encode escapes '/'; in JSON text '/' only occurs inside strings.
            text = text.replace('/', "\\/");
        }
        respond(status, JSON_TYPE, text)
    }

    fn error(&self, e: &ApiError) -> Resp {
        self.json(e.status, &e.body())
    }

    fn time_block(
        &self,
        start: f64,
        duration: f64,
        processing: f64,
        operating: f64,
        reset_at: f64,
    ) -> Value {
        let round = |x: f64| (x * 1e6).round() / 1e6;
        json!({
            "start": round(start),
            "finish": round(start + duration),
            "duration": round(duration),
            "processing": round(processing),
            "date_start": render_datetime(start.floor() as i64, self.tz),
            "date_finish": render_datetime((start + duration).floor() as i64, self.tz),
            // Whole unix seconds as portals send them; fractional only on a scaled portal.
            "operating_reset_at": if reset_at.fract() == 0.0 {
                json!(reset_at as u64)
            } else {
                json!((reset_at * 1e3).round() / 1e3)
            },
            "operating": round(operating),
        })
    }
}

/// Entry point of every HTTP request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Resp, Dropped> {
    let path = merge_slashes(req.uri().path());
    let query = req.uri().query().unwrap_or("").to_owned();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.max_body_bytes as u64) {
        return Ok(too_large());
    }
    // Chunked bodies carry no length: count while reading and stop at the limit.
    let body = match Limited::new(req.into_body(), shared.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Ok(too_large()),
        Err(_) => return Err(Dropped),
    };
    if path.starts_with("/rest/") {
        let renamed = shared.renamed_to.lock().expect("rename lock").clone();
        if let Some(base) = renamed {
            CounterCells::bump(&shared.counters.requests);
            let location = if query.is_empty() {
                format!("{}{path}", base.trim_end_matches('/'))
            } else {
                format!("{}{path}?{query}", base.trim_end_matches('/'))
            };
            let mut r = respond(302, "text/html; charset=utf-8", "");
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(hyper::header::LOCATION, v);
            }
            return Ok(r);
        }
    }
    let params = request_params(&query, &content_type, &body);
    if let Some(rest) = path.strip_prefix("/rest/") {
        return rest_call(&shared, peer, rest, params).await;
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed == "/oauth/token" {
        return Ok(token_endpoint(&shared, &params));
    }
    if trimmed == "/bitrix/components/bitrix/crm.deal.show/show_file.php" {
        return Ok(download(&shared, &params));
    }
    Ok(respond(
        404,
        "text/html; charset=utf-8",
        "<html><body><h1>404 Not Found</h1><p>This emulated portal serves /rest/..., /oauth/token/ and file downloads.</p></body></html>",
    ))
}

/// `/rest//crm.deal.get` -> `/rest/crm.deal.get`, as nginx's default `merge_slashes on` does
/// in front of every portal (SDKs build such paths from a documented endpoint ending in `/`).
fn merge_slashes(path: &str) -> String {
    let mut merged = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && merged.ends_with('/')) {
            merged.push(c);
        }
    }
    merged
}

/// nginx's answer to a body above `client_max_body_size`; the connection is closed after it,
/// since the rest of the body was not read.
fn too_large() -> Resp {
    let mut r = respond(
        413,
        "text/html; charset=utf-8",
        "<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>",
    );
    r.headers_mut()
        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Query string and body merged (the body wins), as PHP's `$_REQUEST` / REST input.
fn request_params(query: &str, content_type: &str, body: &[u8]) -> Map<String, Value> {
    let mut params = parse_str(query);
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    let json = content_type.contains("json")
        || (!content_type.contains("form")
            && (trimmed.starts_with('{') || trimmed.starts_with('[')));
    if trimmed.is_empty() {
        return params;
    }
    if json {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(o)) => params.extend(o),
            Ok(_) => {}
            Err(e) => tracing::debug!("ignoring a body that is not valid JSON: {e}"),
        }
    } else if !content_type.contains("multipart") {
        params.extend(parse_str(&text));
    }
    params
}

fn fault_outcome(shared: &Shared, method: &str) -> (Outcome, Duration, After) {
    let faults = shared.faults.lock().expect("faults lock");
    let rates = *faults.rates_for(method);
    drop(faults);
    if rates.is_none() {
        return (Outcome::Pass, Duration::ZERO, After::Answer);
    }
    let mut rng = shared.rng.lock().expect("rng lock");
    let latency = if !rates.latency.is_zero() && rng.random::<f64>() < rates.latency_share {
        rates.latency
    } else {
        Duration::ZERO
    };
    let r: f64 = rng.random();
    let mut edge = rates.query_limit;
    let outcome = if r < edge {
        Outcome::QueryLimit
    } else if r < {
        edge += rates.internal_error;
        edge
    } {
        Outcome::InternalError
    } else if r < {
        edge += rates.html;
        edge
    } {
        Outcome::Html
    } else if r < {
        edge += rates.drop_before;
        edge
    } {
        Outcome::DropBefore
    } else {
        Outcome::Pass
    };
    let r: f64 = rng.random();
    let after = if r < rates.drop_after {
        After::Drop
    } else if r < rates.drop_after + rates.error_after {
        After::Error
    } else {
        After::Answer
    };
    (outcome, latency, after)
}

const HTML_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

async fn rest_call(
    shared: &Shared,
    peer: SocketAddr,
    rest: &str,
    mut params: Map<String, Value>,
) -> Result<Resp, Dropped> {
    let c = &shared.counters;
    CounterCells::bump(&c.requests);
    let started = Instant::now();
    let start_unix = unix_now();
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let (auth, raw_method) = match segments.as_slice() {
        [user, code, method] => (Auth::Webhook(user, code), *method),
        [user, code] if user.bytes().all(|b| b.is_ascii_digit()) => (Auth::Webhook(user, code), ""),
        [method] => (Auth::OAuth, *method),
        _ => return Ok(shared.error(&ApiError::method_not_found())),
    };
    let method = canonical_method(raw_method);

    if !shared.limiter.admit(peer.ip()) {
        CounterCells::bump(&c.refused_query_limit);
        return Ok(shared.error(&ApiError::query_limit()));
    }
    let (outcome, latency, after) = fault_outcome(shared, &method);
    if !latency.is_zero() {
        CounterCells::bump(&c.latency);
        tokio::time::sleep(latency).await;
    }
    match outcome {
        Outcome::Pass => {}
        Outcome::QueryLimit => {
            CounterCells::bump(&c.query_limit);
            return Ok(shared.error(&ApiError::query_limit()));
        }
        Outcome::InternalError => {
            CounterCells::bump(&c.internal_error);
            return Ok(shared.error(&ApiError::internal()));
        }
        Outcome::Html => {
            CounterCells::bump(&c.html);
            return Ok(respond(503, "text/html", HTML_503));
        }
        Outcome::DropBefore => {
            CounterCells::bump(&c.drop_before);
            return Err(Dropped);
        }
    }

    let caller = match authenticate(shared, &auth, &mut params) {
        Ok(c) => c,
        Err(e) => return Ok(shared.error(&e)),
    };
    let response = if method == "batch" {
        match batch(shared, &caller, &params).await {
            Ok(out) => {
                let (_, reset_at) = shared.operating.status(&caller.key, "batch");
                let duration = started.elapsed().as_secs_f64().max(out.processing);
                let time = shared.time_block(start_unix, duration, out.processing, 0.0, reset_at);
                let slashes = shared.escape_slashes;
                let mut text = String::with_capacity(out.size_hint() + 512);
                text.push_str("{\"result\":{\"result\":");
                write_php_map(&mut text, &out.results, |t, b| b.write(t, slashes));
                for (name, map) in [
                    ("result_error", &out.errors),
                    ("result_total", &out.totals),
                    ("result_next", &out.nexts),
                    ("result_time", &out.times),
                ] {
                    text.push_str(",\"");
                    text.push_str(name);
                    text.push_str("\":");
                    write_php_map(&mut text, map, |t, v| write_json(t, v, slashes));
                }
                text.push_str("},\"time\":");
                write_json(&mut text, &time, slashes);
                text.push('}');
                respond(200, JSON_TYPE, text)
            }
            Err(e) => shared.error(&e),
        }
    } else if !METHODS.contains(&method.as_str()) {
        shared.error(&ApiError::method_not_found())
    } else {
        let ex = execute(shared, &caller, &method, &params);
        if let Some(wait) = ex.wait {
            tokio::time::sleep(wait).await;
        }
        match ex.result {
            Ok(out) => {
                let slashes = shared.escape_slashes;
                let duration = started.elapsed().as_secs_f64().max(ex.processing);
                let time = shared.time_block(
                    start_unix,
                    duration,
                    ex.processing,
                    ex.operating,
                    ex.reset_at,
                );
                let mut text = String::with_capacity(4096);
                text.push_str("{\"result\":");
                out.result.write(&mut text, slashes);
                if let Some(n) = out.next {
                    text.push_str(&format!(",\"next\":{n}"));
                }
                if let Some(t) = out.total {
                    text.push_str(&format!(",\"total\":{t}"));
                }
                text.push_str(",\"time\":");
                write_json(&mut text, &time, slashes);
                text.push('}');
                respond(200, JSON_TYPE, text)
            }
            Err(e) => shared.error(&e),
        }
    };
    match after {
        After::Answer => Ok(response),
        After::Drop => {
            CounterCells::bump(&c.drop_after);
            Err(Dropped)
        }
        After::Error => {
            CounterCells::bump(&c.error_after);
            Ok(shared.error(&ApiError::internal()))
        }
    }
}

enum Auth<'a> {
    Webhook(&'a str, &'a str),
    OAuth,
}

/// The authenticated caller: its user and its operating-limit key.
pub(crate) struct CallerInfo {
    pub caller: Caller,
    pub key: String,
    /// The request's `auth_connector` (batch commands inherit it).
    pub connector: Option<String>,
}

fn authenticate(
    shared: &Shared,
    auth: &Auth<'_>,
    params: &mut Map<String, Value>,
) -> Result<CallerInfo, ApiError> {
    let c = &shared.counters;
    match auth {
        Auth::Webhook(user, code) => {
            let user_ok = user.parse::<u64>().ok() == Some(shared.webhook_user_id);
            if !user_ok || *code != shared.webhook_code {
                CounterCells::bump(&c.auth_failures);
                return Err(ApiError::invalid_credentials());
            }
            Ok(CallerInfo {
                caller: Caller {
                    user_id: shared.webhook_user_id as i64,
                    app: false,
                },
                key: format!("webhook:{}", shared.webhook_user_id),
                connector: triggers::connector(params),
            })
        }
        Auth::OAuth => {
            let token = params
                .keys()
                .find(|k| k.eq_ignore_ascii_case("auth"))
                .cloned()
                .and_then(|k| params.remove(&k))
                .and_then(|v| php_string(&v))
                .unwrap_or_default();
            let oauth = shared.oauth.lock().expect("oauth lock");
            match oauth.check(&token) {
                TokenCheck::Valid => Ok(CallerInfo {
                    caller: Caller {
                        user_id: shared.webhook_user_id as i64,
                        app: true,
                    },
                    key: format!("app:{}", oauth.client_id),
                    connector: triggers::connector(params),
                }),
                TokenCheck::Expired => {
                    CounterCells::bump(&c.expired_token_refusals);
                    Err(ApiError::expired_token())
                }
                TokenCheck::Unknown if token.is_empty() => {
                    CounterCells::bump(&c.auth_failures);
                    Err(ApiError::no_auth())
                }
                TokenCheck::Unknown => {
                    CounterCells::bump(&c.auth_failures);
                    Err(ApiError::invalid_token())
                }
            }
        }
    }
}

/// `crm.deal.list.json` / `CRM.Deal.List` -> `crm.deal.list`.
fn canonical_method(raw: &str) -> String {
    let decoded = url::form_urlencoded::parse(format!("m={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let lower = decoded.trim().trim_start_matches('/').to_ascii_lowercase();
    lower
        .strip_suffix(".json")
        .map(str::to_owned)
        .unwrap_or(lower)
}

/// One executed call.
struct Executed {
    result: Result<Output, ApiError>,
    /// Server time of the call (modeled, or measured without a model).
    processing: f64,
    operating: f64,
    reset_at: f64,
    /// How long to really wait before answering (the scaled model time not yet spent).
    wait: Option<Duration>,
}

fn execute(
    shared: &Shared,
    caller: &CallerInfo,
    method: &str,
    params: &Map<String, Value>,
) -> Executed {
    let c = &shared.counters;
    if shared.operating.blocked(&caller.key, method) {
        CounterCells::bump(&c.refused_operation_limit);
        let (operating, reset_at) = shared.operating.status(&caller.key, method);
        return Executed {
            result: Err(ApiError::operation_time_limit()),
            processing: 0.0,
            operating,
            reset_at,
            wait: None,
        };
    }
    c.method(method);
    let t0 = Instant::now();
    let result = call_firing_events(shared, caller, method, params);
    let actual = t0.elapsed();
    if let Ok(out) = &result {
        c.rows_scanned
            .fetch_add(out.scanned, std::sync::atomic::Ordering::Relaxed);
    }
    let model = *shared.cost_model.lock().expect("cost model lock");
    let (processing, wait) = match model {
        Some(m) => {
            let work = match &result {
                Ok(o) => o.work,
                Err(_) => Work::default(),
            };
            // The portal's time scale shortens every modeled duration; the model's own scale
            // says how much of that is really waited.
            let modeled = m.cost(&work).as_secs_f64() * shared.time_scale;
            // Saturating: `Duration::mul_f64` panics on a huge or infinite scale.
            let secs = modeled * m.time_scale.max(0.0);
            let scaled = Duration::try_from_secs_f64(secs).unwrap_or(if secs > 0.0 {
                Duration::MAX
            } else {
                Duration::ZERO
            });
            (modeled, scaled.checked_sub(actual).filter(|d| !d.is_zero()))
        }
        None => (actual.as_secs_f64(), None),
    };
    c.server_time(method, processing);
    let (operating, reset_at) = shared.operating.add(&caller.key, method, processing);
    Executed {
        result,
        processing,
        operating,
        reset_at,
        wait,
    }
}

/// Writes a PHP array as JSON: empty -> `[]`, keys 0..n-1 in order -> a list, otherwise an
/// object.
/// Runs one method; `event.*` on the event hub, and after a successful CRM write, sends the
/// events it fired.
fn call_firing_events(
    shared: &Shared,
    caller: &CallerInfo,
    method: &str,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    let connector = triggers::connector(params).or_else(|| caller.connector.clone());
    if Hub::serves(method) {
        let tz = shared.tz;
        let time = move |secs: i64| render_datetime(secs, tz);
        let ctx = Context {
            app: caller.caller.app,
            connector: connector.as_deref(),
            time: &time,
        };
        return shared.events.call(method, params, &ctx);
    }
    if !(shared.events.watching() && triggers::may_fire(method)) {
        return methods::call(&shared.portal, method, params, caller.caller);
    }
    let before = triggers::before(&shared.portal.read().expect("portal lock"), method, params);
    let result = methods::call(&shared.portal, method, params, caller.caller);
    if let Ok(out) = &result {
        let fired = triggers::after(
            &shared.portal.read().expect("portal lock"),
            method,
            params,
            &out.result,
            before,
        );
        shared
            .events
            .fire(&fired, connector.as_deref(), || app_auth(shared));
    }
    result
}

/// The OAuth application's current tokens and endpoints, for a delivery's `auth` block.
fn app_auth(shared: &Shared) -> AppAuth {
    let base = shared.public_base_url();
    let endpoint = format!("{base}/rest/");
    let domain = base
        .split_once("://")
        .map_or(base.as_str(), |(_, d)| d)
        .to_owned();
    let o = shared.oauth.lock().expect("oauth lock");
    AppAuth {
        access_token: o.access_token.clone(),
        refresh_token: o.refresh_token.clone(),
        expires_in: o.ttl().as_secs(),
        scope: crate::system::SCOPES.join(","),
        domain,
        client_endpoint: endpoint.clone(),
        server_endpoint: endpoint,
        member_id: o.member_id.clone(),
    }
}

fn write_php_map<T>(
    out: &mut String,
    entries: &[(String, T)],
    mut item: impl FnMut(&mut String, &T),
) {
    let is_list = entries
        .iter()
        .enumerate()
        .all(|(i, (k, _))| *k == i.to_string());
    out.push(if is_list { '[' } else { '{' });
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if !is_list {
            crate::values::push_json_str(out, k, false);
            out.push(':');
        }
        item(out, v);
    }
    out.push(if is_list { ']' } else { '}' });
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            matches!(s.trim(), "Y" | "y" | "true") || php_intval(&Value::from(s.as_str())) > 0
        }
        Some(other) => php_intval(other) > 0,
    }
}

/// What a batch produced.
struct BatchOut {
    results: Vec<(String, Body)>,
    errors: Vec<(String, Value)>,
    totals: Vec<(String, Value)>,
    nexts: Vec<(String, Value)>,
    times: Vec<(String, Value)>,
    processing: f64,
}

impl BatchOut {
    fn size_hint(&self) -> usize {
        self.results
            .iter()
            .map(|(_, b)| match b {
                Body::Rows(r) => r.iter().map(|x| x.len() + 1).sum(),
                Body::Json(_) => 256,
            })
            .sum::<usize>()
            + self.times.len() * 256
    }
}

/// `batch`: up to 50 commands in order, `$result[...]` references, `halt`.
async fn batch(
    shared: &Shared,
    caller: &CallerInfo,
    params: &Map<String, Value>,
) -> Result<BatchOut, ApiError> {
    let c = &shared.counters;
    c.method("batch");
    let halt = truthy(param(params, "halt"));
    let commands: Vec<(String, Value)> = match param(params, "cmd") {
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.clone()))
            .collect(),
        _ => Vec::new(),
    };
    if commands.len() > BATCH_MAX {
        return Err(ApiError::new(
            400,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            "Max batch length exceeded",
        ));
    }
    let mut out = BatchOut {
        results: Vec::new(),
        errors: Vec::new(),
        totals: Vec::new(),
        nexts: Vec::new(),
        times: Vec::new(),
        processing: 0.0,
    };
    let mut wait_sum = Duration::ZERO;
    for (key, command) in commands {
        let text = php_string(&command).unwrap_or_default();
        let (raw_method, query) = text.split_once('?').unwrap_or((text.as_str(), ""));
        let method = canonical_method(raw_method);
        let mut cmd_params = Value::Object(parse_str(query));
        let refs = Refs {
            result: &out.results,
            error: &out.errors,
            total: &out.totals,
            next: &out.nexts,
            time: &out.times,
        };
        substitute(&mut cmd_params, &refs);
        let Value::Object(mut cmd_params) = cmd_params else {
            unreachable!("an object stays an object")
        };
        cmd_params.retain(|k, _| !k.eq_ignore_ascii_case("auth"));
        let cmd_start = unix_now();
        let outcome = if method == "batch" {
            Err(ApiError::new(
                405,
                "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "Method is not allowed for batch usage",
            ))
        } else if !METHODS.contains(&method.as_str()) {
            Err(ApiError::method_not_found())
        } else {
            CounterCells::bump(&c.batch_commands);
            let ex = execute(shared, caller, &method, &cmd_params);
            out.processing += ex.processing;
            if let Some(w) = ex.wait {
                wait_sum += w;
            }
            let time = shared.time_block(
                cmd_start,
                ex.processing,
                ex.processing,
                ex.operating,
                ex.reset_at,
            );
            match ex.result {
                Ok(o) => Ok((o, time)),
                Err(e) => Err(e),
            }
        };
        match outcome {
            Ok((o, time)) => {
                if let Some(t) = o.total {
                    out.totals.push((key.clone(), json!(t)));
                }
                if let Some(n) = o.next {
                    out.nexts.push((key.clone(), json!(n)));
                }
                out.results.push((key.clone(), o.result));
                out.times.push((key, time));
            }
            // As the docs' examples show, a failed command has no `result_time` entry.
            Err(e) => {
                out.errors.push((key.clone(), e.body()));
                if halt {
                    break;
                }
            }
        }
    }
    if !wait_sum.is_zero() {
        tokio::time::sleep(wait_sum).await;
    }
    Ok(out)
}

struct Refs<'a> {
    result: &'a [(String, Body)],
    error: &'a [(String, Value)],
    total: &'a [(String, Value)],
    next: &'a [(String, Value)],
    time: &'a [(String, Value)],
}

impl Refs<'_> {
    /// The value of `$name[key][path...]`.
    fn resolve(&self, name: &str, key: &str, path: &[&str]) -> Option<Value> {
        let find = |m: &[(String, Value)]| {
            m.iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| navigate(v, path).cloned())
        };
        match name {
            "result" => self
                .result
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, b)| b.at(path)),
            "result_error" => find(self.error),
            "result_total" => find(self.total),
            "result_next" => find(self.next),
            "result_time" => find(self.time),
            _ => None,
        }
    }
}

/// Replaces `$result[cmd][path...]` references in every string; a reference that does not
/// resolve (for example to a failed command) stays literal text.
fn substitute(v: &mut Value, refs: &Refs<'_>) {
    match v {
        Value::String(s) if s.contains('$') => *v = substitute_str(s, refs),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, refs)),
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, refs)),
        _ => {}
    }
}

fn substitute_str(s: &str, refs: &Refs<'_>) -> Value {
    if let Some((Some(value), end)) = parse_ref(s, 0, refs) {
        if end == s.len() {
            return value;
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(pos) = s[i..].find('$') {
        let at = i + pos;
        out.push_str(&s[i..at]);
        match parse_ref(s, at, refs) {
            Some((Some(value), end)) if !value.is_array() && !value.is_object() => {
                out.push_str(&php_string(&value).unwrap_or_default());
                i = end;
            }
            _ => {
                out.push('$');
                i = at + 1;
            }
        }
    }
    out.push_str(&s[i..]);
    Value::String(out)
}

/// Parses a reference starting at `s[at] == '$'`: its resolved value (None when it does not
/// resolve) and where it ends.
fn parse_ref(s: &str, at: usize, refs: &Refs<'_>) -> Option<(Option<Value>, usize)> {
    let rest = s.get(at + 1..)?;
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
        .count();
    let name = &rest[..name_len];
    if !matches!(
        name,
        "result" | "result_error" | "result_total" | "result_next" | "result_time"
    ) {
        return None;
    }
    let mut pos = at + 1 + name_len;
    let mut segments = Vec::new();
    while s[pos..].starts_with('[') {
        let close = s[pos..].find(']')?;
        segments.push(&s[pos + 1..pos + close]);
        pos += close + 1;
    }
    let (first, path) = segments.split_first()?;
    Some((refs.resolve(name, first, path), pos))
}

/// `/oauth/token/`: `grant_type=refresh_token&client_id&client_secret&refresh_token`.
fn token_endpoint(shared: &Shared, params: &Map<String, Value>) -> Resp {
    let get = |k: &str| param(params, k).and_then(php_string).unwrap_or_default();
    let mut oauth = shared.oauth.lock().expect("oauth lock");
    let outcome = oauth.refresh(
        &get("grant_type"),
        &get("client_id"),
        &get("client_secret"),
        &get("refresh_token"),
    );
    let c = &shared.counters;
    match outcome {
        Ok(()) => {
            CounterCells::bump(&c.oauth_refreshes);
            let ttl = oauth.ttl().as_secs();
            let base = shared.public_base_url();
            let endpoint = format!("{base}/rest/");
            let domain = base.split_once("://").map_or(base.as_str(), |(_, d)| d);
            let body = json!({
                "access_token": oauth.access_token,
                "expires": unix_now() as u64 + ttl,
                "expires_in": ttl,
                "scope": crate::system::SCOPES.join(","),
                "domain": domain,
                "server_endpoint": endpoint,
                "status": "L",
                "client_endpoint": endpoint,
                "member_id": oauth.member_id,
                "user_id": shared.webhook_user_id,
                "refresh_token": oauth.refresh_token,
            });
            drop(oauth);
            shared.json(200, &body)
        }
        Err(e) => {
            CounterCells::bump(&c.oauth_refused);
            let (status, code, text) = match e {
                RefreshError::UnsupportedGrant => (
                    400,
                    "unsupported_grant_type",
                    "Only grant_type=refresh_token is supported by this portal",
                ),
                RefreshError::InvalidClient => {
                    (401, "invalid_client", "Invalid client credentials")
                }
                RefreshError::InvalidGrant => (400, "invalid_grant", "Invalid refresh token"),
            };
            drop(oauth);
            shared.json(status, &json!({"error": code, "error_description": text}))
        }
    }
}

/// The file behind a file field's `showUrl` / `downloadUrl`.
fn download(shared: &Shared, params: &Map<String, Value>) -> Resp {
    let id = param(params, "fileId").map(php_intval).unwrap_or(0);
    let portal = shared.portal.read().expect("portal lock");
    match u32::try_from(id).ok().and_then(|id| portal.files.get(id)) {
        Some(f) => {
            let mut r = respond(
                200,
                "application/octet-stream",
                Bytes::from(f.data.to_vec()),
            );
            let name: String = f
                .name
                .chars()
                .map(|c| if c == '"' || c.is_control() { '_' } else { c })
                .collect();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename*=UTF-8''{}",
                url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
            )) {
                r.headers_mut().insert(CONTENT_DISPOSITION, v);
            }
            r
        }
        None => respond(404, "text/plain; charset=utf-8", "File not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names() {
        assert_eq!(canonical_method("CRM.Deal.List.json"), "crm.deal.list");
        assert_eq!(canonical_method("crm.deal.get"), "crm.deal.get");
        assert_eq!(canonical_method("batch.JSON"), "batch");
    }

    #[test]
    fn php_maps() {
        let w = |e: Vec<(String, Value)>| {
            let mut out = String::new();
            write_php_map(&mut out, &e, |t, v| write_json(t, v, true));
            out
        };
        assert_eq!(w(vec![]), "[]");
        assert_eq!(
            w(vec![("0".into(), json!(1)), ("1".into(), json!(2))]),
            "[1,2]"
        );
        assert_eq!(w(vec![("1".into(), json!(2))]), r#"{"1":2}"#);
        assert_eq!(w(vec![("a".into(), json!("x/y"))]), r#"{"a":"x\/y"}"#);
    }

    #[test]
    fn references() {
        let results = vec![
            (
                "a".to_owned(),
                Body::Rows(vec![r#"{"ID":"7"}"#.to_owned(), r#"{"ID":"9"}"#.to_owned()]),
            ),
            ("b".to_owned(), Body::Json(json!(42))),
        ];
        let refs = Refs {
            result: &results,
            error: &[],
            total: &[("a".to_owned(), json!(120))],
            next: &[],
            time: &[],
        };
        assert_eq!(substitute_str("$result[a][1][ID]", &refs), json!("9"));
        assert_eq!(substitute_str("$result[b]", &refs), json!(42));
        assert_eq!(substitute_str("x-$result[b]-y", &refs), json!("x-42-y"));
        assert_eq!(substitute_str("$result_total[a]", &refs), json!(120));
        assert_eq!(
            substitute_str("$result[a][49][ID]", &refs),
            json!("$result[a][49][ID]")
        );
        assert_eq!(
            substitute_str("$result[failed][ID]", &refs),
            json!("$result[failed][ID]")
        );
        assert_eq!(
            substitute_str("$5 and $result", &refs),
            json!("$5 and $result")
        );
        assert_eq!(
            substitute_str("$result[a]", &refs),
            json!([{"ID": "7"}, {"ID": "9"}])
        );
        let mut v = json!({"filter": {">ID": "$result[a][0][ID]"}});
        substitute(&mut v, &refs);
        assert_eq!(v["filter"][">ID"], "7");
    }

    #[test]
    fn body_parsing() {
        let p = request_params("a=1&b=2", "application/json", br#"{"b": 3, "c": [1]}"#);
        assert_eq!(Value::Object(p), json!({"a": "1", "b": 3, "c": [1]}));
        let p = request_params("", "application/x-www-form-urlencoded", b"fields[TITLE]=x");
        assert_eq!(Value::Object(p), json!({"fields": {"TITLE": "x"}}));
        let p = request_params("", "", br#"{"ID": 1}"#);
        assert_eq!(Value::Object(p), json!({"ID": 1}));
        let p = request_params("", "application/json", b"{broken");
        assert!(p.is_empty());
    }
}

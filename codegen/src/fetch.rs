//! Fetching a snapshot from a portal (`crm.*.fields` over an incoming webhook).
//!
//! This is the only HTTP the generator does, so it uses a small blocking client of its own:
//! the runtime crate depends on the macro, which depends on this crate, and Cargo does not
//! allow the cycle a dependency on the runtime would make.
//!
//! The webhook code is a secret: it never appears in errors or `Debug` output.

use std::fmt;
use std::io::Read as _;
use std::time::Duration;

use serde_json::Value;

use crate::catalog::{Catalog, Pipeline};
use crate::snapshot::{Api, EntityInfo, Snapshot};

/// An incoming-webhook URL (`https://portal.bitrix24.ru/rest/1/<code>/`), validated; its code
/// is redacted in `Debug` and `Display`.
#[derive(Clone)]
pub struct Webhook {
    base: url::Url,
}

impl Webhook {
    /// Validates a webhook URL. HTTPS is required except for loopback hosts (the emulator).
    pub fn parse(text: &str) -> Result<Self, FetchError> {
        let invalid = |why: &str| {
            FetchError::InvalidWebhook(format!(
                "{why}; expected https://<portal>/rest/<user id>/<webhook code>/ (copy it from Developer resources -> Incoming webhook)"
            ))
        };
        let mut base = url::Url::parse(text.trim()).map_err(|_| invalid("not a URL"))?;
        let host = base.host_str().unwrap_or("").to_owned();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
            || host == "[::1]";
        match base.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(invalid("the portal must be reached over https")),
            _ => return Err(invalid("not an http(s) URL")),
        }
        let segments: Vec<String> = base
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        // .../rest/{user}/{code}[/{method}]
        let Some(rest) = segments.iter().position(|s| s == "rest") else {
            return Err(invalid("the path has no /rest/ part"));
        };
        let tail = &segments[rest + 1..];
        if tail.len() < 2 || tail[0].parse::<u64>().is_err() || tail[1].is_empty() {
            return Err(invalid(
                "the path must continue /rest/<user id>/<webhook code>/",
            ));
        }
        let path = format!("/{}/{}/{}/", segments[..=rest].join("/"), tail[0], tail[1]);
        base.set_path(&path);
        base.set_query(None);
        base.set_fragment(None);
        Ok(Webhook { base })
    }

    /// The portal host, for messages.
    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or("")
    }

    fn method_url(&self, method: &str) -> Result<url::Url, FetchError> {
        self.base
            .join(method)
            .map_err(|_| FetchError::InvalidWebhook(format!("cannot build the URL of {method}")))
    }

    /// The webhook's secret code.
    fn code(&self) -> Option<&str> {
        let mut segments = self.base.path_segments()?;
        segments.position(|s| s == "rest")?;
        segments.nth(1).filter(|c| !c.is_empty())
    }

    /// `text` with the webhook code, in every form a server could echo it (as sent,
    /// percent-encoded, JSON-escaped), replaced by `***`. Server text goes through here before
    /// any message shows it, and before it is cut, so no part of the code survives a cut.
    fn redact(&self, text: &str) -> String {
        let Some(code) = self.code() else {
            return text.to_owned();
        };
        let mut out = text.to_owned();
        let decoded = url::form_urlencoded::parse(format!("c={code}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let encoded: String = url::form_urlencoded::byte_serialize(decoded.as_bytes()).collect();
        for form in [code.to_owned(), decoded, encoded] {
            if !form.is_empty() {
                out = out.replace(&form, "***");
            }
        }
        out
    }

    fn redacted(&self) -> String {
        let mut segments: Vec<&str> = self
            .base
            .path_segments()
            .map(|s| s.collect())
            .unwrap_or_default();
        if let Some(rest) = segments.iter().position(|s| *s == "rest") {
            if let Some(code) = segments.get_mut(rest + 2) {
                *code = "***";
            }
        }
        format!(
            "{}://{}{}/{}",
            self.base.scheme(),
            self.host(),
            self.base
                .port()
                .map(|p| format!(":{p}"))
                .unwrap_or_default(),
            segments.join("/")
        )
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Webhook").field(&self.redacted()).finish()
    }
}

impl fmt::Display for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Why a snapshot could not be fetched. Messages say what to do and never contain the
/// webhook code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The webhook URL is malformed.
    InvalidWebhook(String),
    /// No HTTP answer (DNS, connection refused, TLS, timeout).
    Unreachable {
        /// The portal host.
        host: String,
        /// What failed.
        reason: String,
    },
    /// The portal refused the webhook (wrong code, user or scope).
    Auth {
        /// The portal's error code.
        code: String,
        /// Its description.
        description: String,
    },
    /// The portal answered with an API error.
    Api {
        /// HTTP status.
        status: u16,
        /// The portal's error code (may be empty on legacy CRM errors).
        code: String,
        /// Its description.
        description: String,
    },
    /// What was asked for does not exist on the portal (a smart process title).
    NotFound(String),
    /// The answer is not a `crm.*.fields` result.
    NotFields {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::InvalidWebhook(why) => write!(f, "invalid webhook URL: {why}"),
            FetchError::Unreachable { host, reason } => write!(
                f,
                "cannot reach the portal {host}: {reason}; check the address and your network"
            ),
            FetchError::Auth { code, description } => write!(
                f,
                "the portal refused the webhook ({code}: {description}); check the webhook code and user id, and that the webhook has the `crm` scope"
            ),
            FetchError::Api {
                status,
                code,
                description,
            } => write!(
                f,
                "the portal answered HTTP {status} with error {}: {description}",
                if code.is_empty() { "(no code)" } else { code }
            ),
            FetchError::NotFound(what) => f.write_str(what),
            FetchError::NotFields { status, reason } => write!(
                f,
                "the portal's answer (HTTP {status}) is not a crm.*.fields result: {reason}"
            ),
        }
    }
}

impl std::error::Error for FetchError {}

/// Reads the entity's field descriptors and returns the snapshot: `{method_prefix}.fields`
/// for the legacy API, `crm.item.fields {entityTypeId}` for the item API (`entity.api`).
pub fn fetch_snapshot(webhook: &Webhook, entity: &EntityInfo) -> Result<Snapshot, FetchError> {
    let params = match entity.api {
        Api::Legacy => serde_json::json!({}),
        Api::Item => serde_json::json!({ "entityTypeId": entity.entity_type_id }),
    };
    let (status, value) = call(webhook, &entity.fields_method(), &params)?;
    let mut snapshot = Snapshot::from_value(value, entity).map_err(|e| FetchError::NotFields {
        status,
        reason: cut(&e.to_string(), 500),
    })?;
    snapshot.catalog = fetch_catalog(webhook, &snapshot)?;
    Ok(snapshot)
}

/// Whether an API error says the method does not exist on the portal (older portals, and
/// `crm.currency.list` on portals without the currency module).
fn method_missing(e: &FetchError) -> bool {
    match e {
        FetchError::Api {
            status,
            code,
            description,
        } => {
            *status == 404
                || code.eq_ignore_ascii_case("ERROR_METHOD_NOT_FOUND")
                || description
                    .to_ascii_lowercase()
                    .starts_with("method not found")
        }
        _ => false,
    }
}

/// The most pages of one `crm.status.list` directory read (50 rows a page).
const MAX_STATUS_PAGES: usize = 200;

/// The rows of `page` that belong to the directory `entity_id` (a portal that ignores the
/// filter must not mix directories into the snapshot).
fn rows_of(page: &[Value], entity_id: &str) -> Vec<Value> {
    page.iter()
        .filter(|r| r.get("ENTITY_ID").and_then(Value::as_str) == Some(entity_id))
        .cloned()
        .collect()
}

/// The further pages of the directory `entity_id` from `start` on, in the portal's order.
fn more_status_rows(
    webhook: &Webhook,
    entity_id: &str,
    mut start: u64,
    rows: &mut Vec<Value>,
) -> Result<(), FetchError> {
    for _ in 0..MAX_STATUS_PAGES {
        let params = serde_json::json!({
            "filter": { "ENTITY_ID": entity_id },
            "order": { "SORT": "ASC", "ID": "ASC" },
            "start": start,
        });
        let (status, value) = call(webhook, "crm.status.list", &params)?;
        let page = value
            .get("result")
            .and_then(Value::as_array)
            .ok_or_else(|| FetchError::NotFields {
                status,
                reason: "crm.status.list did not answer a list".into(),
            })?;
        rows.extend(rows_of(page, entity_id));
        match value.get("next").and_then(number) {
            Some(next) if next > start && !page.is_empty() => start = next,
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// The answer of one command of a `batch`: its result, else its error.
enum Answer {
    Rows(Vec<Value>, Option<u64>),
    Error(FetchError),
}

/// Runs `commands` (`(key, method, query)`) as `batch` requests of at most 50 commands; the
/// answers by key. A command's error is its answer, not the batch's.
fn batch(
    webhook: &Webhook,
    commands: &[(String, &str, String)],
) -> Result<std::collections::BTreeMap<String, Answer>, FetchError> {
    let mut answers = std::collections::BTreeMap::new();
    for chunk in commands.chunks(50) {
        let cmd: serde_json::Map<String, Value> = chunk
            .iter()
            .map(|(key, method, query)| {
                let text = if query.is_empty() {
                    (*method).to_owned()
                } else {
                    format!("{method}?{query}")
                };
                (key.clone(), Value::String(text))
            })
            .collect();
        let (status, value) = call(
            webhook,
            "batch",
            &serde_json::json!({ "halt": 0, "cmd": cmd }),
        )?;
        let inner = value.get("result");
        let section = |name: &str| inner.and_then(|r| r.get(name));
        for (key, method, _) in chunk {
            let error = section("result_error").and_then(|e| e.get(key));
            if let Some(error) = error {
                let code = error
                    .get("error")
                    .and_then(Value::as_str)
                    .map(|c| cut(c, 100))
                    .unwrap_or_default();
                let description = error
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(|d| cut(d, 500))
                    .unwrap_or_default();
                answers.insert(
                    key.clone(),
                    Answer::Error(FetchError::Api {
                        status,
                        code,
                        description,
                    }),
                );
                continue;
            }
            let Some(rows) = section("result")
                .and_then(|r| r.get(key))
                .and_then(Value::as_array)
            else {
                return Err(FetchError::NotFields {
                    status,
                    reason: format!("the batch answered no list for {method}"),
                });
            };
            let next = section("result_next")
                .and_then(|n| n.get(key))
                .and_then(number);
            answers.insert(key.clone(), Answer::Rows(rows.clone(), next));
        }
    }
    Ok(answers)
}

/// `crm.status.list` filtered by one directory, as a batch command's query.
fn status_query(entity_id: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("filter[ENTITY_ID]", entity_id)
        .append_pair("order[SORT]", "ASC")
        .append_pair("order[ID]", "ASC")
        .finish()
}

/// Whether the entity has pipelines (`crm.category.list` answers for it).
fn has_pipelines(entity: &EntityInfo) -> bool {
    matches!(entity.name.as_str(), "deal" | "smart_invoice")
        || crate::entities::by_type_id(entity.entity_type_id).is_none()
}

/// The pipelines, stages, dictionaries and currencies of the snapshot's entity
/// ([`crate::catalog`]), in two requests besides the fields (`crm.category.list`, then one
/// `batch` of every directory's `crm.status.list` and `crm.currency.list`; a directory of more
/// than 50 rows reads its further pages). A portal without `crm.category.list` and
/// `crm.status.list` gives an empty catalog (the snapshot is then the fields alone, format
/// version 2).
pub fn fetch_catalog(webhook: &Webhook, snapshot: &Snapshot) -> Result<Catalog, FetchError> {
    let entity = &snapshot.entity;
    let mut catalog = Catalog::default();
    let mut categories: Vec<(serde_json::Map<String, Value>, String)> = Vec::new();
    if has_pipelines(entity) {
        let params = serde_json::json!({ "entityTypeId": entity.entity_type_id });
        match call(webhook, "crm.category.list", &params) {
            Ok((status, value)) => {
                let list = value
                    .get("result")
                    .and_then(|r| r.get("categories"))
                    .and_then(Value::as_array)
                    .ok_or_else(|| FetchError::NotFields {
                        status,
                        reason: "crm.category.list did not answer `result.categories`".into(),
                    })?;
                for c in list {
                    let Value::Object(category) = c else { continue };
                    let Some(view) = crate::catalog::category_view(category) else {
                        continue;
                    };
                    let directory = crate::catalog::stage_entity_id(
                        &entity.name,
                        entity.entity_type_id,
                        view.id,
                    );
                    categories.push((category.clone(), directory));
                }
                catalog.pipelines = Some(Vec::new());
            }
            Err(FetchError::Api { code, .. }) if code == "ENTITY_TYPE_NOT_SUPPORTED" => {}
            Err(e) if method_missing(&e) => {}
            Err(e) => return Err(e),
        }
    }
    let dictionaries: std::collections::BTreeSet<String> = snapshot
        .descriptors()
        .filter(|d| d.field_type() == "crm_status")
        .filter_map(|d| d.status_type().map(str::to_owned))
        .filter(|t| !crate::catalog::is_stage_directory(t))
        .collect();
    let wants_currencies = snapshot
        .descriptors()
        .any(|d| d.field_type() == "crm_currency");
    let mut commands: Vec<(String, &str, String)> = Vec::new();
    for (i, (_, directory)) in categories.iter().enumerate() {
        commands.push((format!("p{i}"), "crm.status.list", status_query(directory)));
    }
    for (i, directory) in dictionaries.iter().enumerate() {
        commands.push((format!("d{i}"), "crm.status.list", status_query(directory)));
    }
    if wants_currencies {
        commands.push(("currencies".into(), "crm.currency.list", String::new()));
    }
    if commands.is_empty() {
        return Ok(catalog);
    }
    let mut answers = match batch(webhook, &commands) {
        Ok(answers) => answers,
        Err(e) if method_missing(&e) => return Ok(catalog),
        Err(e) => return Err(e),
    };
    // The rows of one directory's command, with its further pages.
    let mut directory_rows =
        |key: &str, directory: &str| -> Result<Option<Vec<Value>>, FetchError> {
            match answers.remove(key) {
                Some(Answer::Rows(page, next)) => {
                    let mut rows = rows_of(&page, directory);
                    if let Some(next) = next.filter(|&n| n > 0) {
                        more_status_rows(webhook, directory, next, &mut rows)?;
                    }
                    Ok(Some(rows))
                }
                Some(Answer::Error(e)) if method_missing(&e) => Ok(None),
                Some(Answer::Error(e)) => Err(e),
                None => Ok(None),
            }
        };
    let mut pipelines = Vec::with_capacity(categories.len());
    for (i, (category, directory)) in categories.iter().enumerate() {
        let stages = directory_rows(&format!("p{i}"), directory)?.unwrap_or_default();
        pipelines.push(Pipeline {
            category: category.clone(),
            stages,
        });
    }
    if catalog.pipelines.is_some() {
        catalog.pipelines = Some(pipelines);
    }
    for (i, directory) in dictionaries.iter().enumerate() {
        if let Some(rows) = directory_rows(&format!("d{i}"), directory)? {
            catalog.dictionaries.insert(directory.clone(), rows);
        }
    }
    let supported = catalog.pipelines.is_some() || !catalog.dictionaries.is_empty();
    match answers.remove("currencies") {
        Some(Answer::Rows(rows, _)) if supported => {
            let mut rows: Vec<Value> = rows.iter().map(crate::catalog::stable_currency).collect();
            // Portals list a currency once per language (`LID`): keep one row per code.
            let mut seen = std::collections::BTreeSet::new();
            rows.retain(|r| {
                crate::catalog::currency_view(r).is_some_and(|c| seen.insert(c.code.to_owned()))
            });
            catalog.currencies = Some(rows);
        }
        Some(Answer::Error(e)) if method_missing(&e) && supported => catalog.notes.push(
            "crm.currency.list is not available on this portal: currencies are not recorded, CURRENCY_ID stays a CurrencyId".into(),
        ),
        Some(Answer::Error(e)) if supported => return Err(e),
        _ => {}
    }
    Ok(catalog)
}

/// A smart process as `crm.type.list` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartProcessType {
    /// The `crm.type` id (`id`).
    pub id: u64,
    /// Its entity type id (`entityTypeId`, 128+ or 1030+).
    pub entity_type_id: u32,
    /// Its title (`title`).
    pub title: String,
}

impl SmartProcessType {
    /// The entity of its snapshot.
    pub fn entity(&self) -> EntityInfo {
        EntityInfo::smart_process(self.entity_type_id, Some(self.title.clone()), Some(self.id))
    }
}

/// The most pages of `crm.type.list` read (50 types a page): far more smart processes than a
/// portal allows, so an answer that never ends cannot loop forever.
const MAX_TYPE_PAGES: usize = 200;

/// Every smart process of the portal, from `crm.type.list` (paged by 50, `start` = the
/// previous answer's `next`), in the portal's order. Types with a fixed entity type id (a
/// smart invoice listed there) are left out: they are not smart processes.
pub fn list_smart_processes(webhook: &Webhook) -> Result<Vec<SmartProcessType>, FetchError> {
    let mut types = Vec::new();
    let mut start: u64 = 0;
    for _ in 0..MAX_TYPE_PAGES {
        let params = serde_json::json!({ "order": { "id": "ASC" }, "start": start });
        let (status, value) = call(webhook, "crm.type.list", &params)?;
        let not_types = |reason: String| FetchError::NotFields { status, reason };
        let page = value
            .get("result")
            .and_then(|r| r.get("types"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                not_types("crm.type.list did not answer `result.types` (a list of types)".into())
            })?;
        for t in page {
            let id = t.get("id").and_then(number);
            let entity_type_id = t
                .get("entityTypeId")
                .and_then(number)
                .and_then(|n| u32::try_from(n).ok());
            let (Some(id), Some(entity_type_id)) = (id, entity_type_id) else {
                return Err(not_types(
                    "a type of crm.type.list has no numeric `id` and `entityTypeId`".into(),
                ));
            };
            if crate::entities::by_type_id(entity_type_id).is_some() {
                continue;
            }
            let title = t
                .get("title")
                .and_then(Value::as_str)
                .map(|s| cut(s, 200))
                .unwrap_or_default();
            types.push(SmartProcessType {
                id,
                entity_type_id,
                title,
            });
        }
        match value.get("next").and_then(number) {
            Some(next) if next > start && !page.is_empty() => start = next,
            _ => return Ok(types),
        }
    }
    Ok(types)
}

/// The smart process titled `title` (exactly, else ignoring case and surrounding spaces).
pub fn find_smart_process(webhook: &Webhook, title: &str) -> Result<SmartProcessType, FetchError> {
    let types = list_smart_processes(webhook)?;
    let wanted = title.trim().to_lowercase();
    let found = types.iter().find(|t| t.title == title).or_else(|| {
        types
            .iter()
            .find(|t| t.title.trim().to_lowercase() == wanted)
    });
    match found {
        Some(t) => Ok(t.clone()),
        None => {
            let titles: Vec<String> = types
                .iter()
                .take(30)
                .map(|t| format!("{:?} ({})", t.title, t.entity_type_id))
                .collect();
            Err(FetchError::NotFound(format!(
                "the portal has no smart process titled {:?}; its smart processes: {}",
                cut(title, 100),
                if titles.is_empty() {
                    "none".to_owned()
                } else {
                    titles.join(", ")
                }
            )))
        }
    }
}

/// A JSON number or a string of digits (portals send ids both ways).
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Calls `method` with the JSON `params`; returns the HTTP status and the answer, which has a
/// `result`. Every error is a [`FetchError`] without the webhook code.
/// Calls `method` (every call here only reads), waiting and asking again while the portal
/// refuses it for its request rate (`QUERY_LIMIT_EXCEEDED`): the bucket drains two requests
/// a second, so a refusal is gone within a second or two (an export that just emptied the
/// bucket, a CI job beside other integrations). Other errors return at once.
fn call(webhook: &Webhook, method: &str, params: &Value) -> Result<(u16, Value), FetchError> {
    let mut wait = Duration::from_millis(500);
    let mut waited = Duration::ZERO;
    loop {
        match call_once(webhook, method, params) {
            Err(FetchError::Api { code, .. })
                if code.eq_ignore_ascii_case("QUERY_LIMIT_EXCEEDED")
                    && waited < RATE_LIMIT_WAIT =>
            {
                std::thread::sleep(wait);
                waited += wait;
                wait = (wait * 2).min(Duration::from_secs(4));
            }
            other => return other,
        }
    }
}

/// How long [`call`] waits in all for the rate limit before it reports the refusal.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);

fn call_once(webhook: &Webhook, method: &str, params: &Value) -> Result<(u16, Value), FetchError> {
    let url = webhook.method_url(method)?;
    let unreachable = |e: reqwest::Error| FetchError::Unreachable {
        host: webhook.host().to_owned(),
        // reqwest puts the URL (and so the webhook code) into its messages: drop it.
        reason: error_chain(&e.without_url()),
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(unreachable)?;
    let response = client
        .post(url)
        .header("Accept", "application/json")
        .json(params)
        .send()
        .map_err(unreachable)?;
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url::Url::parse(l).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "another address".into());
        return Err(FetchError::NotFields {
            status: status.as_u16(),
            reason: format!(
                "the portal redirects to {to} (was it renamed?); use the webhook URL of the new address"
            ),
        });
    }
    let too_large = || FetchError::NotFields {
        status: status.as_u16(),
        reason: format!(
            "the answer is larger than {} MiB, far more than any portal's field list; is the webhook URL that of a portal?",
            MAX_ANSWER_BYTES >> 20
        ),
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES)
    {
        return Err(too_large());
    }
    // Read at most one byte past the cap: an endless answer is cut there, not buffered.
    let mut body = Vec::new();
    response
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| FetchError::Unreachable {
            host: webhook.host().to_owned(),
            reason: format!("the answer broke off: {}", webhook.redact(&e.to_string())),
        })?;
    if body.len() as u64 > MAX_ANSWER_BYTES {
        return Err(too_large());
    }
    // Whatever the server echoes back - into an error, a field title, anything that reaches a
    // message or the snapshot file - loses the webhook code here, before anything is cut.
    let text = webhook.redact(&String::from_utf8_lossy(&body));
    let value: Value = serde_json::from_str(&text).map_err(|_| FetchError::NotFields {
        status: status.as_u16(),
        reason: format!("not JSON (starts with {:?})", cut(&text, 60)),
    })?;
    if let Some(code) = value.get("error").and_then(Value::as_str) {
        let code = cut(code, 100);
        let description = value
            .get("error_description")
            .and_then(Value::as_str)
            .map(|d| cut(d, 500))
            .unwrap_or_default();
        let auth = matches!(
            code.to_ascii_uppercase().as_str(),
            "NO_AUTH_FOUND"
                | "INVALID_CREDENTIALS"
                | "EXPIRED_TOKEN"
                | "INSUFFICIENT_SCOPE"
                | "ACCESS_DENIED"
                | "USER_ACCESS_ERROR"
        );
        return Err(if auth {
            FetchError::Auth { code, description }
        } else {
            FetchError::Api {
                status: status.as_u16(),
                code,
                description,
            }
        });
    }
    if !status.is_success() {
        return Err(FetchError::NotFields {
            status: status.as_u16(),
            reason: "an HTTP error without an error body".into(),
        });
    }
    if value.get("result").is_none() {
        return Err(FetchError::NotFields {
            status: status.as_u16(),
            reason: "it has no `result`".into(),
        });
    }
    Ok((status.as_u16(), value))
}

/// The largest answer read: a `crm.*.fields` answer of a 2,000-field portal is about 4 MB.
const MAX_ANSWER_BYTES: u64 = 64 << 20;

/// The first `max` characters of `text`, with `...` when it was longer.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_validated_and_normalised() {
        let w = Webhook::parse("https://acme.bitrix24.ru/rest/1/s3cr3tc0de/").unwrap();
        assert_eq!(
            w.method_url("crm.deal.fields").unwrap().as_str(),
            "https://acme.bitrix24.ru/rest/1/s3cr3tc0de/crm.deal.fields"
        );
        let w =
            Webhook::parse("https://acme.bitrix24.ru/rest/1/s3cr3tc0de/profile.json?x=1").unwrap();
        assert_eq!(
            w.method_url("crm.deal.fields").unwrap().as_str(),
            "https://acme.bitrix24.ru/rest/1/s3cr3tc0de/crm.deal.fields"
        );
        assert!(Webhook::parse("http://127.0.0.1:8080/rest/1/abc/").is_ok());
        assert!(Webhook::parse("http://localhost:8080/rest/1/abc").is_ok());
        for bad in [
            "http://acme.bitrix24.ru/rest/1/abc/",
            "https://acme.bitrix24.ru/1/abc/",
            "https://acme.bitrix24.ru/rest/abc/",
            "ftp://acme/rest/1/abc/",
            "not a url",
        ] {
            assert!(Webhook::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_webhook_code_never_shows() {
        let w = Webhook::parse("https://acme.bitrix24.ru/rest/1/s3cr3tc0de/").unwrap();
        assert_eq!(w.to_string(), "https://acme.bitrix24.ru/rest/1/***/");
        assert!(!format!("{w:?}").contains("s3cr3tc0de"));
        let err = Webhook::parse("http://acme.bitrix24.ru/rest/1/s3cr3tc0de/").unwrap_err();
        assert!(!err.to_string().contains("s3cr3tc0de"));
    }

    #[test]
    fn an_unreachable_portal_is_reported_without_the_code() {
        // Port 9 on loopback: nothing listens there, the connection is refused at once.
        let w = Webhook::parse("http://127.0.0.1:9/rest/1/s3cr3tc0de/").unwrap();
        let err = fetch_snapshot(&w, &EntityInfo::deal()).unwrap_err();
        assert!(matches!(err, FetchError::Unreachable { .. }), "{err:?}");
        assert!(!err.to_string().contains("s3cr3tc0de"), "{err}");
        assert!(
            err.to_string()
                .contains("cannot reach the portal 127.0.0.1"),
            "{err}"
        );
    }

    /// A one-connection HTTP server on loopback that answers `head` then `body` (and, with
    /// `endless`, keeps sending chunks until the client hangs up).
    fn serve_once(head: &'static str, body: String, endless: bool) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, "x".repeat(1 << 20));
            while endless && stream.write_all(chunk.as_bytes()).is_ok() {}
        });
        format!("http://{addr}/rest/1/s3cr3tc0de/")
    }

    #[test]
    fn server_text_is_redacted_before_it_is_cut() {
        // The code echoed into an error description and straddling the 60-character cut of a
        // body that is not JSON.
        let json = r#"{"error":"ERROR_X","error_description":"bad key s3cr3tc0de in /rest/1/s3cr3tc0de/"}"#;
        let url = serve_once(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
            json.to_owned(),
            false,
        );
        let err = fetch_snapshot(&Webhook::parse(&url).unwrap(), &EntityInfo::deal()).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s3cr3tc0de"), "{err}");
        assert!(err.to_string().contains("bad key ***"), "{err}");
        {
            let html = format!("{}s3cr3tc0de and more", "<".repeat(55));
            let url = serve_once(
                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n",
                html,
                false,
            );
            let err =
                fetch_snapshot(&Webhook::parse(&url).unwrap(), &EntityInfo::deal()).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("s3cr3") && !text.contains("c0de"), "{text}");
        }
    }

    #[test]
    fn an_endless_answer_is_cut_at_the_cap() {
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            String::new(),
            true,
        );
        let err = fetch_snapshot(&Webhook::parse(&url).unwrap(), &EntityInfo::deal()).unwrap_err();
        assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
        // A declared length above the cap is refused before reading.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 900000000\r\n\r\n",
            String::new(),
            false,
        );
        let err = fetch_snapshot(&Webhook::parse(&url).unwrap(), &EntityInfo::deal()).unwrap_err();
        assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
    }
}

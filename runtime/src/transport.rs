//! The wire: the portal's answers as facts (the envelope, the `time` block, error bodies,
//! batch maps), the portal's fixed sizes and addresses. What a failure means for retrying is
//! decided in `retry::decide`, not here.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::error::{ApiError, ApiErrorCode, Cause, Error, json_decode_error, snippet};
use crate::limits::TimeReport;

/// The portal's fixed page size.
pub(crate) const PAGE_SIZE: usize = 50;
/// Commands per batch (the portal refuses more).
pub(crate) const BATCH_SIZE: usize = 50;

/// The default cap on one answer's body: 256 MiB.
///
/// The largest legitimate answer is a batch of 50 list pages of full rows (2,500 rows) on a
/// portal with hundreds of user fields: about 20 KB per row (400 fields of key and value) gives
/// 50 MB, and long texts (comments, addresses) can double that; the cap leaves room above.
/// Change it with [`ClientBuilder::max_response_size`](crate::ClientBuilder::max_response_size).
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 256 * 1024 * 1024;

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// The body is longer than the cap (the rest was not read).
    TooLarge,
    /// The transport failed while reading.
    Http(reqwest::Error),
}

/// Reads a body chunk by chunk, up to `limit` bytes: a longer body (announced or not, an
/// endless chunked one included) is cut at the cap, so memory stays bounded.
pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(
        resp.content_length()
            .map_or(16 * 1024, |n| n as usize)
            .min(limit),
    );
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `host` is a loopback host (`localhost`, `127.0.0.0/8`, `::1`).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A `u64` sent as a number or a numeric string (`394`, `"394"`, ` 394 `); a whole
/// non-negative float (`120.0`) counts too. Anything else is `None`.
pub(crate) fn u64_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `time` block of an answer. Every field is optional (older portals lack
/// `operating`/`operating_reset_at`; `start` comes as an integer or a float, sometimes a string).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TimeBlock {
    /// Unix time the portal started the call.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub start: Option<f64>,
    /// Unix time the portal finished the call.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub finish: Option<f64>,
    /// Seconds the call took.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub duration: Option<f64>,
    /// Seconds of processing.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub processing: Option<f64>,
    /// Seconds this method used over the last 10 minutes.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub operating: Option<f64>,
    /// Unix time when the oldest minute of `operating` drops out.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub operating_reset_at: Option<f64>,
}

impl TimeBlock {
    pub(crate) fn report(&self) -> TimeReport {
        TimeReport {
            operating: self.operating,
            operating_reset_at: self.operating_reset_at,
            duration: self.duration.or(self.processing),
            finish: self.finish,
        }
    }
}

/// A number or a numeric string; `"NaN"`, `"inf"` and the like count as absent.
fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite()))
}

/// A count (`total`, `next`) through [`u64_of`].
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(u64_of(&Value::deserialize(d)?))
}

/// One decoded answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    /// `result`.
    pub result: T,
    /// `total` of a list call (absent with `start=-1`).
    pub total: Option<u64>,
    /// `next` of a list call: the `start` of the next page, when more rows exist.
    pub next: Option<u64>,
    /// The `time` block.
    pub time: Option<TimeBlock>,
}

#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct Envelope<T> {
    #[serde(default = "none")]
    result: Option<T>,
    #[serde(default, deserialize_with = "lenient_u64")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    next: Option<u64>,
    #[serde(default)]
    time: Option<TimeBlock>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    error_description: Option<Value>,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    error_description: Option<Value>,
    #[serde(default)]
    time: Option<TimeBlock>,
}

fn text_of(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// What one HTTP attempt came to, as facts; [`retry::decide`](crate::retry) turns it into the
/// next step. Every text in it is already redacted of secrets, except a redirect's `location`.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    /// A decoded answer.
    Answer(Response<T>),
    /// An error body (`{"error": .., "error_description": ..}`); `error` is [`Error::Api`].
    Api {
        status: u16,
        code: ApiErrorCode,
        error: Error,
        time: Option<TimeBlock>,
    },
    /// A JSON answer with an HTTP error status and no Bitrix error body ([`Error::Http`]).
    Status { status: u16, error: Error },
    /// A body that is not JSON ([`Error::NotJson`]).
    NotJson { status: u16, error: Error },
    /// A successful answer whose `result` does not decode ([`Error::Decode`]).
    Undecodable(Error),
    /// No connection could be made, so nothing was sent.
    NoConnection {
        message: String,
        source: Option<Cause>,
    },
    /// The request went out, but its answer was lost (dropped connection, timeout).
    Lost {
        message: String,
        timeout: bool,
        source: Option<Cause>,
    },
    /// A redirect (3xx) to `location`, as sent.
    Redirect { status: u16, location: String },
    /// The body was longer than the response-size cap; `error` is
    /// [`Error::ResponseTooLarge`].
    TooLarge(Error),
}

impl<T> Outcome<T> {
    /// A short description for traces (no secrets: the redirect target is left out).
    pub(crate) fn describe(&self) -> String {
        match self {
            Outcome::Answer(_) => "answered".into(),
            Outcome::Api { status, code, .. } => format!("HTTP {status} {}", code.as_str()),
            Outcome::Status { status, .. } => format!("HTTP {status} without a Bitrix body"),
            Outcome::NotJson { status, .. } => {
                format!("HTTP {status} with a body that is not JSON")
            }
            Outcome::Undecodable(e) => e.to_string(),
            Outcome::NoConnection { message, .. } => format!("could not connect: {message}"),
            Outcome::Lost { message, .. } => format!("the answer was lost: {message}"),
            Outcome::Redirect { status, .. } => format!("HTTP {status} redirect"),
            Outcome::TooLarge(e) => e.to_string(),
        }
    }
}

/// Reads an answer body into its envelope.
///
/// One UTF-8 check of the whole body, then the `&str` reader: `from_slice` would validate every
/// string token on its own (a call per field value and key, ~15% of a page's decoding). A body
/// that is not UTF-8 takes the byte reader, whose errors say where.
fn read_envelope<T: DeserializeOwned>(body: &[u8]) -> serde_json::Result<Envelope<T>> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

/// Decodes a successful answer body exactly as the client does (the decode benchmark measures
/// this route). Not a stable API: the client's calls return typed results and errors.
#[cfg(feature = "bench-internals")]
pub fn decode_ok_answer<T: DeserializeOwned>(body: &[u8]) -> serde_json::Result<Response<T>> {
    use serde::de::Error as _;
    let env = read_envelope::<T>(body)?;
    if env.error.as_ref().is_some_and(|e| !e.is_null()) {
        return Err(serde_json::Error::custom(format!(
            "the answer is an error: {}",
            text_of(&env.error)
        )));
    }
    Ok(Response {
        result: env
            .result
            .ok_or_else(|| serde_json::Error::custom("the answer has no `result`"))?,
        total: env.total,
        next: env.next,
        time: env.time,
    })
}

/// Reads one HTTP answer. `redact` removes secrets from server-sourced text.
pub(crate) fn parse_answer<T: DeserializeOwned>(
    method: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    redact: &dyn Fn(&str) -> String,
) -> Outcome<T> {
    let api = |code_text: String, description: String, time: Option<TimeBlock>| {
        let code = ApiErrorCode::parse(&code_text, &description);
        let error = Error::Api(ApiError {
            method: method.to_owned(),
            status: Some(status),
            code: code.clone(),
            description: redact(&description),
        });
        Outcome::Api {
            status,
            code,
            error,
            time,
        }
    };
    match read_envelope::<T>(body) {
        Ok(env) => {
            if env.error.as_ref().is_some_and(|e| !e.is_null()) {
                return api(
                    text_of(&env.error),
                    text_of(&env.error_description),
                    env.time,
                );
            }
            if !(200..300).contains(&status) {
                return by_status(method, status, content_type, body, redact);
            }
            let result = match env.result {
                Some(r) => r,
                None => match T::deserialize(Value::Null) {
                    Ok(r) => r,
                    Err(_) => {
                        return Outcome::Undecodable(Error::Decode {
                            method: method.to_owned(),
                            message: format!(
                                "the answer (HTTP {status}) has no `result`: {:?}; check that the address is the portal's REST endpoint",
                                snippet(body, redact)
                            ),
                            source: None,
                        });
                    }
                },
            };
            Outcome::Answer(Response {
                result,
                total: env.total,
                next: env.next,
                time: env.time,
            })
        }
        Err(error) => {
            if serde_json::from_slice::<IgnoredAny>(body).is_err() {
                return not_json(method, status, content_type, body, redact);
            }
            if let Ok(err) = serde_json::from_slice::<ErrorBody>(body) {
                if err.error.as_ref().is_some_and(|e| !e.is_null()) {
                    return api(
                        text_of(&err.error),
                        text_of(&err.error_description),
                        err.time,
                    );
                }
            }
            if (200..300).contains(&status) {
                Outcome::Undecodable(json_decode_error(method, error, redact))
            } else {
                by_status(method, status, content_type, body, redact)
            }
        }
    }
}

fn by_status<T>(
    method: &str,
    status: u16,
    _content_type: &str,
    body: &[u8],
    redact: &dyn Fn(&str) -> String,
) -> Outcome<T> {
    Outcome::Status {
        status,
        error: Error::Http {
            method: method.to_owned(),
            status,
            snippet: snippet(body, redact),
        },
    }
}

fn not_json<T>(
    method: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    redact: &dyn Fn(&str) -> String,
) -> Outcome<T> {
    Outcome::NotJson {
        status,
        error: Error::NotJson {
            method: method.to_owned(),
            status,
            content_type: content_type.to_owned(),
            snippet: snippet(body, redact),
        },
    }
}

/// A map the way PHP's `json_encode` writes it: an object, or an array when the keys are
/// `0, 1, 2, ...` (keys become `"0"`, `"1"`, ...), or `[]` when empty.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PhpMap<T>(pub HashMap<String, T>);

impl<T> Default for PhpMap<T> {
    fn default() -> Self {
        PhpMap(HashMap::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PhpMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = PhpMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object, an array or null (a PHP map)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = HashMap::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    out.insert(k, v);
                }
                Ok(PhpMap(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = HashMap::new();
                let mut i = 0usize;
                while let Some(v) = seq.next_element::<T>()? {
                    out.insert(i.to_string(), v);
                    i += 1;
                }
                Ok(PhpMap(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(PhpMap::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                // `false` is another "empty" marker seen in the wild.
                Ok(PhpMap::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The `result` of a `batch` call; `R` holds the commands' results (a [`PhpMap`] of values,
/// or typed pages).
#[derive(Deserialize)]
#[serde(bound = "R: Deserialize<'de> + Default")]
pub(crate) struct BatchResult<R> {
    #[serde(default)]
    pub result: R,
    #[serde(default)]
    pub result_error: PhpMap<Value>,
    #[serde(default)]
    pub result_total: PhpMap<Value>,
    #[serde(default)]
    pub result_next: PhpMap<Value>,
    #[serde(default)]
    pub result_time: PhpMap<TimeBlock>,
}

/// The pages of a chained fast export, in command order. Decoding stops at the first page
/// shorter than 50 rows: the later commands' chain references could not resolve, so their
/// rows are skipped without being decoded.
pub(crate) struct ChainPages<E>(pub Vec<(String, Vec<E>)>);

impl<E> Default for ChainPages<E> {
    fn default() -> Self {
        ChainPages(Vec::new())
    }
}

impl<'de, E: Deserialize<'de>> Deserialize<'de> for ChainPages<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<E>(PhantomData<E>);
        impl<'de, E: Deserialize<'de>> Visitor<'de> for V<E> {
            type Value = ChainPages<E>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of list pages")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                let mut stopped = false;
                while let Some(key) = map.next_key::<String>()? {
                    if stopped {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    let page = map.next_value_seed(Page(PhantomData))?;
                    stopped = page.len() < PAGE_SIZE;
                    out.push((key, page));
                }
                Ok(ChainPages(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                let mut stopped = false;
                let mut i = 0usize;
                loop {
                    if stopped {
                        if seq.next_element::<IgnoredAny>()?.is_none() {
                            break;
                        }
                    } else {
                        let Some(page) = seq.next_element_seed(Page(PhantomData))? else {
                            break;
                        };
                        stopped = page.len() < PAGE_SIZE;
                        out.push((i.to_string(), page));
                    }
                    i += 1;
                }
                Ok(ChainPages(out))
            }
            fn visit_unit<Er: de::Error>(self) -> Result<Self::Value, Er> {
                Ok(ChainPages::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// One list page as a `Vec` sized for a full page up front (serde's `Vec` starts empty and
/// grows four times on the way to 50 rows, copying every decoded row each time).
struct Page<E>(PhantomData<fn() -> E>);

impl<'de, E: Deserialize<'de>> de::DeserializeSeed<'de> for Page<E> {
    type Value = Vec<E>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<E>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E: Deserialize<'de>> Visitor<'de> for Page<E> {
    type Value = Vec<E>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list page (an array of rows, or {\"items\": [..]})")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<E>, A::Error> {
        let mut rows = Vec::with_capacity(PAGE_SIZE);
        while let Some(row) = seq.next_element()? {
            rows.push(row);
        }
        Ok(rows)
    }

    /// `crm.item.list`'s page: `{"items": [..]}` (other keys ignored). An object without
    /// `items` is not a page.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<E>, A::Error> {
        let mut rows = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "items" && rows.is_none() {
                rows = Some(map.next_value_seed(Page(PhantomData))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        rows.ok_or_else(|| de::Error::invalid_type(de::Unexpected::Map, &self))
    }

    /// An empty page as PHP may write it.
    fn visit_unit<Er: de::Error>(self) -> Result<Vec<E>, Er> {
        Ok(Vec::new())
    }
}

/// The rows of one list page: a legacy list's `[..]` or `crm.item.list`'s `{"items": [..]}`
/// (the two shapes cannot be confused, so either route's answer reads without knowing it).
pub(crate) struct Rows<E>(pub Vec<E>);

impl<E> Default for Rows<E> {
    fn default() -> Self {
        Rows(Vec::new())
    }
}

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Rows<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Page(PhantomData)).map(Rows)
    }
}

/// A batch command's error entry as an [`Error`].
pub(crate) fn command_error(method: &str, raw: &Value, redact: &dyn Fn(&str) -> String) -> Error {
    let (code, description) = match raw {
        Value::Object(m) => (
            text_of(&m.get("error").cloned()),
            text_of(&m.get("error_description").cloned()),
        ),
        Value::String(s) => (String::new(), s.clone()),
        other => (String::new(), other.to_string()),
    };
    Error::Api(ApiError {
        method: method.to_owned(),
        status: None,
        code: ApiErrorCode::parse(&code, &description),
        description: redact(&description),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn id(s: &str) -> String {
        s.to_owned()
    }

    /// The outcome of a `crm.deal.get` answered `body` with `status`.
    pub(crate) fn parse<T: DeserializeOwned>(status: u16, body: &str) -> Outcome<T> {
        parse_answer::<T>(
            "crm.deal.get",
            status,
            "application/json",
            body.as_bytes(),
            &id,
        )
    }

    #[test]
    fn ok_answers_decode_with_counts_and_time() {
        let a = parse::<Vec<Value>>(
            200,
            r#"{"result":[{"ID":"1"}],"total":"120","next":50,"time":{"start":1724068028.33,"finish":"1724068028.4","duration":0.07,"operating":"1.5","operating_reset_at":1724068628}}"#,
        );
        let Outcome::Answer(r) = a else {
            panic!("not done")
        };
        assert_eq!(r.total, Some(120));
        assert_eq!(r.next, Some(50));
        let t = r.time.unwrap();
        assert_eq!(t.operating, Some(1.5));
        assert_eq!(t.finish, Some(1724068028.4));
        assert_eq!(t.operating_reset_at, Some(1724068628.0));

        let t: TimeBlock =
            serde_json::from_str(r#"{"operating":"NaN","operating_reset_at":"inf","start":"x"}"#)
                .unwrap();
        assert_eq!(t, TimeBlock::default());
    }

    #[test]
    fn decode_errors_are_fatal_and_name_the_problem() {
        let Outcome::Undecodable(Error::Decode { message, .. }) =
            parse::<Vec<u64>>(200, r#"{"result":["abc"]}"#)
        else {
            panic!("decode error")
        };
        assert!(message.contains("abc"), "{message}");
        assert!(message.contains("bitrix-codegen snapshot"), "{message}");
    }

    #[test]
    fn missing_result_is_null_for_values() {
        let Outcome::Answer(r) = parse::<Value>(200, r#"{"time":{}}"#) else {
            panic!("done")
        };
        assert_eq!(r.result, Value::Null);
        assert!(matches!(
            parse::<u64>(200, r#"{"time":{}}"#),
            Outcome::Undecodable(Error::Decode { .. })
        ));
    }

    #[test]
    fn php_maps_accept_objects_arrays_and_empties() {
        let m: PhpMap<u32> = serde_json::from_str(r#"{"a":1,"b":2}"#).unwrap();
        assert_eq!(m.0.get("b"), Some(&2));
        let m: PhpMap<u32> = serde_json::from_str("[5,6]").unwrap();
        assert_eq!(m.0.get("1"), Some(&6));
        let m: PhpMap<u32> = serde_json::from_str("[]").unwrap();
        assert!(m.0.is_empty());
        let m: PhpMap<u32> = serde_json::from_str("null").unwrap();
        assert!(m.0.is_empty());
        let b: BatchResult<PhpMap<Value>> = serde_json::from_str(
            r#"{"result":{"c0":[{"ID":"1"}]},"result_error":[],"result_total":[],"result_next":[],"result_time":{"c0":{"start":1,"operating":0.2}}}"#,
        )
        .unwrap();
        assert_eq!(b.result_time.0["c0"].operating, Some(0.2));
        assert!(b.result_error.0.is_empty());
    }

    #[test]
    fn command_errors_become_api_errors() {
        let e = command_error(
            "crm.deal.get",
            &serde_json::json!({"error": "", "error_description": "Not found"}),
            &id,
        );
        assert!(e.is_not_found());
        assert!(e.to_string().contains("inside a batch"), "{e}");
    }
}

//! Reading the portal's answers: the envelope, the `time` block, and what each failure means
//! for retrying.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiErrorCode, Error, decode_error, snippet};
use crate::limits::TimeReport;

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

/// A count (`total`, `next`) sent as a number or a numeric string.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
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

/// What one HTTP attempt came to, for the retry loop.
pub(crate) enum Attempt<T> {
    /// A decoded answer.
    Done(Response<T>),
    /// Provably not executed: refused by a limit.
    Refused {
        error: Error,
        code: ApiErrorCode,
        time: Option<TimeBlock>,
    },
    /// No connection could be made: not executed.
    Connect(String),
    /// 401 `expired_token`.
    Expired(Error),
    /// The outcome is unknown: `cause` describes it; `error` is what to report when retries
    /// end for an idempotent call.
    Unknown {
        cause: String,
        error: Error,
        timeout: bool,
    },
    /// A redirect.
    Moved { status: u16, location: String },
    /// Final: returned as is.
    Fatal(Error),
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
#[doc(hidden)]
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

/// Interprets one HTTP answer. `redact` removes secrets from server-sourced text.
pub(crate) fn parse_answer<T: DeserializeOwned>(
    method: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    redact: &dyn Fn(&str) -> String,
) -> Attempt<T> {
    let api = |code_text: String, description: String, time: Option<TimeBlock>| {
        let code = ApiErrorCode::parse(&code_text, &description);
        let error = Error::Api(ApiError {
            method: method.to_owned(),
            status: Some(status),
            code: code.clone(),
            description: redact(&description),
        });
        classify_api(status, code, error, time)
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
                        return Attempt::Fatal(Error::Decode {
                            method: method.to_owned(),
                            message: format!(
                                "the answer (HTTP {status}) has no `result`: {:?}; check that the address is the portal's REST endpoint",
                                redact(&snippet(body))
                            ),
                        });
                    }
                },
            };
            Attempt::Done(Response {
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
                Attempt::Fatal(decode_error(method, redact(&error.to_string())))
            } else {
                by_status(method, status, content_type, body, redact)
            }
        }
    }
}

fn classify_api<T>(
    status: u16,
    code: ApiErrorCode,
    error: Error,
    time: Option<TimeBlock>,
) -> Attempt<T> {
    match code {
        ApiErrorCode::QueryLimitExceeded | ApiErrorCode::OperationTimeLimit => {
            Attempt::Refused { error, code, time }
        }
        ApiErrorCode::ExpiredToken => Attempt::Expired(error),
        ApiErrorCode::InternalServerError
        | ApiErrorCode::UnexpectedAnswer
        | ApiErrorCode::OverloadLimit => Attempt::Unknown {
            cause: format!("the portal answered HTTP {status} {}", code.as_str()),
            error,
            timeout: false,
        },
        _ if status >= 500 && code != ApiErrorCode::PortalDeleted => Attempt::Unknown {
            cause: format!("the portal answered HTTP {status} {}", code.as_str()),
            error,
            timeout: false,
        },
        _ => Attempt::Fatal(error),
    }
}

fn by_status<T>(
    method: &str,
    status: u16,
    _content_type: &str,
    body: &[u8],
    redact: &dyn Fn(&str) -> String,
) -> Attempt<T> {
    let error = Error::Http {
        method: method.to_owned(),
        status,
        snippet: redact(&snippet(body)),
    };
    if status >= 500 {
        Attempt::Unknown {
            cause: format!("the portal answered HTTP {status}"),
            error,
            timeout: false,
        }
    } else {
        Attempt::Fatal(error)
    }
}

fn not_json<T>(
    method: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    redact: &dyn Fn(&str) -> String,
) -> Attempt<T> {
    let error = Error::NotJson {
        method: method.to_owned(),
        status,
        content_type: content_type.to_owned(),
        snippet: redact(&snippet(body)),
    };
    if status >= 500 || (200..300).contains(&status) {
        // A proxy's error page or a truncated answer: whether the portal executed the call
        // cannot be known.
        Attempt::Unknown {
            cause: format!("the portal answered HTTP {status} with a body that is not JSON"),
            error,
            timeout: false,
        }
    } else {
        Attempt::Fatal(error)
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
                    stopped = page.len() < crate::list::PAGE_SIZE;
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
                        stopped = page.len() < crate::list::PAGE_SIZE;
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
        d.deserialize_seq(self)
    }
}

impl<'de, E: Deserialize<'de>> Visitor<'de> for Page<E> {
    type Value = Vec<E>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list page (an array of rows)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<E>, A::Error> {
        let mut rows = Vec::with_capacity(crate::list::PAGE_SIZE);
        while let Some(row) = seq.next_element()? {
            rows.push(row);
        }
        Ok(rows)
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

/// A count in `result_total` / `result_next`.
pub(crate) fn count_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> String {
        s.to_owned()
    }

    fn parse<T: DeserializeOwned>(status: u16, body: &str) -> Attempt<T> {
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
        let Attempt::Done(r) = a else {
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
    fn errors_are_classified() {
        assert!(matches!(
            parse::<Value>(
                503,
                r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#
            ),
            Attempt::Refused {
                code: ApiErrorCode::QueryLimitExceeded,
                ..
            }
        ));
        assert!(matches!(
            parse::<Value>(
                429,
                r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#
            ),
            Attempt::Refused {
                code: ApiErrorCode::OperationTimeLimit,
                ..
            }
        ));
        assert!(matches!(
            parse::<Value>(
                401,
                r#"{"error":"expired_token","error_description":"The access token provided has expired."}"#
            ),
            Attempt::Expired(_)
        ));
        assert!(matches!(
            parse::<Value>(
                500,
                r#"{"error":"INTERNAL_SERVER_ERROR","error_description":"Internal server error"}"#
            ),
            Attempt::Unknown { .. }
        ));
        let Attempt::Fatal(Error::Api(e)) =
            parse::<Value>(400, r#"{"error":"","error_description":"Not found"}"#)
        else {
            panic!("legacy 400 must be fatal")
        };
        assert_eq!(e.code, ApiErrorCode::NotFound);
        assert_eq!(e.status, Some(400));
        // An error body whose other keys do not fit the expected result type.
        let Attempt::Fatal(Error::Api(e)) = parse::<Vec<Value>>(
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
        let Attempt::Unknown { error, .. } = a else {
            panic!("5xx HTML is unknown")
        };
        assert!(matches!(error, Error::NotJson { status: 503, .. }));
        assert!(matches!(
            parse::<Value>(404, "<html>nginx</html>"),
            Attempt::Fatal(Error::NotJson { status: 404, .. })
        ));
        assert!(matches!(
            parse::<Value>(200, "{\"result\": [1, 2"),
            Attempt::Unknown { .. }
        ));
        assert!(matches!(
            parse::<Value>(502, "{}"),
            Attempt::Unknown {
                error: Error::Http { status: 502, .. },
                ..
            }
        ));
    }

    #[test]
    fn decode_errors_are_fatal_and_name_the_problem() {
        let Attempt::Fatal(Error::Decode { message, .. }) =
            parse::<Vec<u64>>(200, r#"{"result":["abc"]}"#)
        else {
            panic!("decode error")
        };
        assert!(message.contains("abc"), "{message}");
        assert!(message.contains("bitrix-codegen snapshot"), "{message}");
    }

    #[test]
    fn missing_result_is_null_for_values() {
        let Attempt::Done(r) = parse::<Value>(200, r#"{"time":{}}"#) else {
            panic!("done")
        };
        assert_eq!(r.result, Value::Null);
        assert!(matches!(
            parse::<u64>(200, r#"{"time":{}}"#),
            Attempt::Fatal(Error::Decode { .. })
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

//! The client's one error type.

use std::fmt;
use std::sync::Arc;

/// A documented Bitrix24 REST error code, compared case-insensitively.
///
/// Legacy CRM methods answer HTTP 400 with an EMPTY code and put the reason in the
/// description; those are mapped by description ([`NotFound`](ApiErrorCode::NotFound),
/// [`InvalidId`](ApiErrorCode::InvalidId), ...), and an unknown description becomes
/// [`Legacy`](ApiErrorCode::Legacy).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorCode {
    /// Legacy 400 "Not found": the record does not exist (or was deleted).
    NotFound,
    /// `NOT_FOUND` of `crm.item.*` (400 "Item not found"): the item does not exist; with
    /// "SPA not found" the `entityTypeId` names no smart process.
    ItemNotFound,
    /// Legacy 400 "ID is not defined or invalid.".
    InvalidId,
    /// Legacy 400 "Access denied." (the user behind the webhook or token lacks CRM rights).
    LegacyAccessDenied,
    /// Legacy 400 "Parameter 'fields' must be array.".
    FieldsMustBeArray,
    /// Legacy 400 "Parameter 'filter' must be array.".
    FilterMustBeArray,
    /// Legacy 400 "Parameter 'order' must be array.".
    OrderMustBeArray,
    /// Legacy 400 "Failed to get list. General error.".
    ListFailed,
    /// Legacy 400 with an empty code and a description not listed above.
    Legacy,
    /// `ERROR_BATCH_LENGTH_EXCEEDED`: more than 50 commands in one batch.
    BatchLengthExceeded,
    /// `INVALID_REQUEST` (for example "Https required").
    InvalidRequest,
    /// `ERROR_CORE`.
    Core,
    /// `NO_AUTH_FOUND`: wrong webhook code or token.
    NoAuthFound,
    /// `expired_token`: the OAuth access token expired (the client refreshes it itself).
    ExpiredToken,
    /// `invalid_token`: the OAuth access token is not valid.
    InvalidToken,
    /// `invalid_grant`: the refresh token was rejected (expired, or already used).
    InvalidGrant,
    /// `invalid_client`: wrong OAuth client id or secret.
    InvalidClient,
    /// `ACCESS_DENIED`.
    AccessDenied,
    /// `INVALID_CREDENTIALS`.
    InvalidCredentials,
    /// `insufficient_scope`: the webhook or application lacks the scope (for example `crm`).
    InsufficientScope,
    /// `user_access_error`.
    UserAccessError,
    /// `ERROR_METHOD_NOT_FOUND`.
    MethodNotFound,
    /// `ERROR_MANIFEST_IS_NOT_AVAILABLE`.
    ManifestNotAvailable,
    /// `ERROR_BATCH_METHOD_NOT_ALLOWED`: a `batch` inside a batch.
    BatchMethodNotAllowed,
    /// `OPERATION_TIME_LIMIT` (HTTP 429): the method's operating time over the last 10 minutes
    /// is exhausted; the call was refused without being executed.
    OperationTimeLimit,
    /// `INTERNAL_SERVER_ERROR`.
    InternalServerError,
    /// `ERROR_UNEXPECTED_ANSWER`.
    UnexpectedAnswer,
    /// `PORTAL_DELETED`.
    PortalDeleted,
    /// `QUERY_LIMIT_EXCEEDED` (HTTP 503): the request-rate bucket is full; the call was refused
    /// without being executed.
    QueryLimitExceeded,
    /// `OVERLOAD_LIMIT` (HTTP 503).
    OverloadLimit,
    /// Any other code, as sent.
    Other(String),
}

impl ApiErrorCode {
    /// Maps a wire code (case-insensitively) and, for the empty legacy code, the description.
    pub fn parse(code: &str, description: &str) -> Self {
        let code = code.trim();
        if code.is_empty() {
            return Self::from_legacy_description(description);
        }
        match code.to_ascii_uppercase().as_str() {
            "ERROR_BATCH_LENGTH_EXCEEDED" => Self::BatchLengthExceeded,
            "INVALID_REQUEST" => Self::InvalidRequest,
            "ERROR_CORE" => Self::Core,
            "NO_AUTH_FOUND" => Self::NoAuthFound,
            "EXPIRED_TOKEN" => Self::ExpiredToken,
            "INVALID_TOKEN" => Self::InvalidToken,
            "INVALID_GRANT" => Self::InvalidGrant,
            "INVALID_CLIENT" => Self::InvalidClient,
            "ACCESS_DENIED" => Self::AccessDenied,
            "INVALID_CREDENTIALS" => Self::InvalidCredentials,
            "INSUFFICIENT_SCOPE" => Self::InsufficientScope,
            "USER_ACCESS_ERROR" => Self::UserAccessError,
            "ERROR_METHOD_NOT_FOUND" => Self::MethodNotFound,
            "NOT_FOUND" => Self::ItemNotFound,
            "ERROR_MANIFEST_IS_NOT_AVAILABLE" => Self::ManifestNotAvailable,
            "ERROR_BATCH_METHOD_NOT_ALLOWED" => Self::BatchMethodNotAllowed,
            "OPERATION_TIME_LIMIT" => Self::OperationTimeLimit,
            "INTERNAL_SERVER_ERROR" => Self::InternalServerError,
            "ERROR_UNEXPECTED_ANSWER" => Self::UnexpectedAnswer,
            "PORTAL_DELETED" => Self::PortalDeleted,
            "QUERY_LIMIT_EXCEEDED" => Self::QueryLimitExceeded,
            "OVERLOAD_LIMIT" => Self::OverloadLimit,
            _ => Self::Other(code.to_owned()),
        }
    }

    fn from_legacy_description(description: &str) -> Self {
        let d = description
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        match d.as_str() {
            "not found" => Self::NotFound,
            "id is not defined or invalid" => Self::InvalidId,
            "access denied" => Self::LegacyAccessDenied,
            "parameter 'fields' must be array" => Self::FieldsMustBeArray,
            "parameter 'filter' must be array" => Self::FilterMustBeArray,
            "parameter 'order' must be array" => Self::OrderMustBeArray,
            "failed to get list. general error" => Self::ListFailed,
            _ if d.ends_with("not found") => Self::NotFound,
            _ => Self::Legacy,
        }
    }

    /// The code as the portal spells it (empty for the legacy codes).
    pub fn as_str(&self) -> &str {
        match self {
            Self::NotFound
            | Self::InvalidId
            | Self::LegacyAccessDenied
            | Self::FieldsMustBeArray
            | Self::FilterMustBeArray
            | Self::OrderMustBeArray
            | Self::ListFailed
            | Self::Legacy => "",
            Self::BatchLengthExceeded => "ERROR_BATCH_LENGTH_EXCEEDED",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::Core => "ERROR_CORE",
            Self::NoAuthFound => "NO_AUTH_FOUND",
            Self::ExpiredToken => "expired_token",
            Self::InvalidToken => "invalid_token",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidClient => "invalid_client",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::InsufficientScope => "insufficient_scope",
            Self::UserAccessError => "user_access_error",
            Self::MethodNotFound => "ERROR_METHOD_NOT_FOUND",
            Self::ItemNotFound => "NOT_FOUND",
            Self::ManifestNotAvailable => "ERROR_MANIFEST_IS_NOT_AVAILABLE",
            Self::BatchMethodNotAllowed => "ERROR_BATCH_METHOD_NOT_ALLOWED",
            Self::OperationTimeLimit => "OPERATION_TIME_LIMIT",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::UnexpectedAnswer => "ERROR_UNEXPECTED_ANSWER",
            Self::PortalDeleted => "PORTAL_DELETED",
            Self::QueryLimitExceeded => "QUERY_LIMIT_EXCEEDED",
            Self::OverloadLimit => "OVERLOAD_LIMIT",
            Self::Other(code) => code,
        }
    }

    /// What to do about this error, in one sentence.
    pub fn advice(&self) -> &'static str {
        match self {
            Self::NotFound => "the record does not exist or was deleted; check the id",
            Self::InvalidId => "pass a positive numeric id",
            Self::ItemNotFound => {
                "the item does not exist or was deleted (check the id), or the entityTypeId names no smart process (check crm.type.list)"
            }
            Self::LegacyAccessDenied | Self::AccessDenied | Self::UserAccessError => {
                "the user behind the webhook or token lacks the CRM permission for this record or method; grant it on the portal or use another user"
            }
            Self::FieldsMustBeArray | Self::FilterMustBeArray | Self::OrderMustBeArray => {
                "the parameter was sent in a form the portal does not read as an array; this is a client bug, please report it"
            }
            Self::ListFailed => {
                "the portal could not run the list query; check the filter values and the select"
            }
            Self::Legacy | Self::Other(_) | Self::Core | Self::UnexpectedAnswer => {
                "see the description; retrying will not help unless the portal's state changes"
            }
            Self::BatchLengthExceeded => {
                "send at most 50 commands per batch (Batch chunks automatically; this is a client bug if you used it)"
            }
            Self::InvalidRequest => {
                "the portal rejected the request form; use the https:// address of the portal"
            }
            Self::NoAuthFound => {
                "the webhook code or access token is wrong or was revoked; create a new inbound webhook (or re-authorize the application) and rebuild the client"
            }
            Self::ExpiredToken => {
                "the access token expired and could not be refreshed; re-authorize the application"
            }
            Self::InvalidToken => {
                "the access token is not valid for this portal; re-authorize the application"
            }
            Self::InvalidGrant => {
                "the refresh token expired (180 days) or was already used; re-authorize the application and store the new tokens with a TokenStore"
            }
            Self::InvalidClient => {
                "the OAuth client id or client secret is wrong; copy them from the application's settings"
            }
            Self::InvalidCredentials => {
                "the credentials were refused; check the webhook or the application's rights"
            }
            Self::InsufficientScope => {
                "add the needed scope (for example `crm`) to the webhook or application"
            }
            Self::MethodNotFound => {
                "the method does not exist on this portal or the webhook lacks its scope"
            }
            Self::ManifestNotAvailable => "the method's module is not available on this portal",
            Self::BatchMethodNotAllowed => "a batch cannot contain another batch",
            Self::OperationTimeLimit => {
                "the method used up its operating time for the last 10 minutes; wait until operating_reset_at or spread the load"
            }
            Self::InternalServerError => {
                "the portal failed internally; the call may or may not have taken effect"
            }
            Self::PortalDeleted => "the portal was deleted; nothing can be done from the client",
            Self::QueryLimitExceeded => {
                "the request-rate limit was hit; choose the plan that matches the portal (Plan::Regular or Plan::Enterprise) so the client paces itself"
            }
            Self::OverloadLimit => "the portal is overloaded; retry later",
        }
    }
}

impl fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found (legacy empty code)"),
            Self::InvalidId => f.write_str("invalid id (legacy empty code)"),
            Self::LegacyAccessDenied => f.write_str("access denied (legacy empty code)"),
            Self::FieldsMustBeArray => f.write_str("'fields' must be array (legacy empty code)"),
            Self::FilterMustBeArray => f.write_str("'filter' must be array (legacy empty code)"),
            Self::OrderMustBeArray => f.write_str("'order' must be array (legacy empty code)"),
            Self::ListFailed => f.write_str("list failed (legacy empty code)"),
            Self::Legacy => f.write_str("legacy error with an empty code"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// An error answer of the portal (`{"error": ..., "error_description": ...}`), for a whole
/// request or for one command of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The REST method, such as `crm.deal.get`.
    pub method: String,
    /// The HTTP status; `None` for a command inside a batch (the batch itself answers 200).
    pub status: Option<u16>,
    /// The typed code.
    pub code: ApiErrorCode,
    /// The description as sent by the portal (redacted of secrets).
    pub description: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.method)?;
        if let Some(status) = self.status {
            write!(f, " with HTTP {status}")?;
        } else {
            f.write_str(" inside a batch")?;
        }
        write!(f, ": {}", self.code)?;
        if !self.description.is_empty() {
            write!(f, " \"{}\"", self.description)?;
        }
        write!(f, "; {}", self.code.advice())
    }
}

/// Everything that can go wrong when calling a portal.
///
/// `Display` says what happened and what to do; [`source`](std::error::Error::source) gives
/// the underlying `reqwest` or `serde_json` error where there is one (it never holds a URL or
/// a secret).
///
/// Every failure of a call is an [`Error`]: configuration mistakes, transport failures, HTTP
/// statuses without a Bitrix body, API errors with a typed [`ApiErrorCode`], bodies that are not
/// JSON, and values the generated types cannot decode. Messages say what happened and what to
/// do; they never contain the webhook code, tokens or the client secret (server-sourced text is
/// redacted before it is put into an error).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured wrongly (webhook URL, OAuth endpoints, options).
    Config(String),

    /// The request cannot be sent as asked (for example a field cleared inside a batch).
    InvalidRequest {
        /// The REST method.
        method: String,
        /// What is wrong and how to fix it.
        message: String,
        /// The underlying error (serde_json's), when there is one whose text holds no secret; see
        /// [`std::error::Error::source`].
        source: Option<Cause>,
    },

    /// The portal answered with an error.
    Api(ApiError),

    /// The portal could not be reached: no connection was made, so the call was NOT executed.
    Connect {
        /// The REST method.
        method: String,
        /// Attempts made.
        attempts: u32,
        /// The transport's description.
        message: String,
        /// The underlying error (the HTTP client's), when there is one whose text holds no secret; see
        /// [`std::error::Error::source`].
        source: Option<Cause>,
    },

    /// A write may or may not have been executed: the connection dropped after the request was
    /// sent, the portal answered 5xx, or the call timed out. It was NOT retried, because a
    /// retry could duplicate it.
    OutcomeUnknown {
        /// The REST method.
        method: String,
        /// What happened.
        cause: String,
    },

    /// A read (or a call marked idempotent) kept failing in transport or with 5xx answers.
    Transport {
        /// The REST method.
        method: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
        /// Whether the last failure was a timeout.
        timeout: bool,
        /// The underlying error (the HTTP client's), when there is one whose text holds no secret; see
        /// [`std::error::Error::source`].
        source: Option<Cause>,
    },

    /// The portal answered an HTTP error status without a Bitrix error body.
    Http {
        /// The REST method.
        method: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body (redacted).
        snippet: String,
    },

    /// The portal answered something that is not JSON (an HTML page of a proxy, a maintenance
    /// page, a login form).
    NotJson {
        /// The REST method.
        method: String,
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header.
        content_type: String,
        /// The start of the body (redacted).
        snippet: String,
    },

    /// A response did not decode into the expected type, or broke a rule the client relies on.
    /// For generated entities the message names the field code, shows the raw value and
    /// suggests a new snapshot; other messages say what to do in their case.
    Decode {
        /// The REST method.
        method: String,
        /// What did not decode (from the codec: field code, expectation, raw value).
        message: String,
        /// The underlying error (serde_json's), when there is one whose text holds no secret; see
        /// [`std::error::Error::source`].
        source: Option<Cause>,
    },

    /// The portal answered with a redirect: it was renamed or moved.
    PortalMoved {
        /// The REST method.
        method: String,
        /// The HTTP status (301, 302, 307, 308).
        status: u16,
        /// The redirect target, with secrets removed.
        location: String,
    },

    /// A command of a batch was not executed: an earlier command failed and the batch was sent
    /// with `halt`, or the request of an earlier chunk of the batch failed.
    NotExecuted {
        /// The REST method of the skipped command.
        method: String,
    },

    /// An answer was longer than the response-size cap
    /// ([`ClientBuilder::max_response_size`](crate::ClientBuilder::max_response_size)); the
    /// rest of it was not read. The portal did execute the call.
    ResponseTooLarge {
        /// The REST method.
        method: String,
        /// The cap, in bytes.
        limit: usize,
    },

    /// An update sets a stage of another pipeline than the record's: the portal would
    /// silently ignore the stage, so the update was NOT sent. A record changes pipeline only
    /// through [`Client::move_to_stage`](crate::Client::move_to_stage).
    WrongPipeline {
        /// The entity (`deal`).
        entity: &'static str,
        /// The record's id.
        id: u64,
        /// The stage the update sets (`C5:NEW`).
        stage: String,
        /// The pipeline that stage belongs to.
        stage_category: crate::types::CategoryId,
        /// The pipeline the record is in.
        record_category: crate::types::CategoryId,
    },

    /// The client gave up waiting for a limit to reset.
    LimitWait {
        /// The REST method.
        method: String,
        /// Seconds until the limit resets.
        wait_secs: u64,
    },
}

/// The underlying error of an [`Error`]: shared, so the error stays `Clone`.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(v0) => write!(f, "invalid client configuration: {v0}"),
            Error::InvalidRequest {
                method, message, ..
            } => write!(f, "{method}: cannot send this request: {message}"),
            Error::Api(v0) => write!(f, "{v0}"),
            Error::Connect {
                method,
                attempts,
                message,
                ..
            } => write!(
                f,
                "{method}: could not connect to the portal after {attempts} attempt(s): {message}; the call was not executed. Check the portal address and the network"
            ),
            Error::OutcomeUnknown { method, cause } => write!(
                f,
                "{method}: the outcome is unknown ({cause}); the portal may or may not have executed it, so it was not retried. Check the portal (for example list by a unique field such as ORIGIN_ID) before sending it again, or mark the call idempotent if repeating it is harmless"
            ),
            Error::Transport {
                method,
                attempts,
                message,
                ..
            } => write!(
                f,
                "{method}: failed after {attempts} attempt(s): {message}. The portal is unreachable or failing; try again later, or raise RetryPolicy::max_attempts or ClientBuilder::read_deadline (an export resumes from ListStream::resume_point)"
            ),
            Error::Http {
                method,
                status,
                snippet,
            } => write!(
                f,
                "{method}: the portal answered HTTP {status} without a Bitrix error body: {snippet:?}; check the portal address"
            ),
            Error::NotJson {
                method,
                status,
                content_type,
                snippet,
            } => write!(
                f,
                "{method}: the portal answered HTTP {status} with a body that is not JSON (content type {content_type:?}): {snippet:?}; the portal or a proxy in front of it is failing, or the address does not point to a Bitrix24 REST endpoint"
            ),
            Error::Decode {
                method, message, ..
            } => write!(f, "{method}: cannot decode the portal's answer: {message}"),
            Error::PortalMoved {
                method,
                status,
                location,
            } => write!(
                f,
                "{method}: the portal answered HTTP {status} redirecting to {location}; it was probably renamed. The call was not executed: rebuild the client with the new address"
            ),
            Error::NotExecuted { method } => write!(
                f,
                "{method}: not executed, because an earlier command of the batch failed with halt set or the request of an earlier chunk failed; it is safe to send it again"
            ),
            Error::ResponseTooLarge { method, limit } => write!(
                f,
                "{method}: the answer is longer than the response-size cap of {limit} bytes, so it was not read (the portal executed the call); ask for less (fewer fields in select, smaller batches) or raise ClientBuilder::max_response_size"
            ),
            Error::WrongPipeline {
                entity,
                id,
                stage,
                stage_category,
                record_category,
            } => write!(
                f,
                "{entity} {id}: not updated: the stage {stage} belongs to pipeline {stage_category}, but the record is in pipeline {record_category}, and the portal would silently ignore the stage; move the record with Client::move_to_stage, or set a stage of pipeline {record_category}"
            ),
            Error::LimitWait { method, wait_secs } => write!(
                f,
                "{method}: the operating-time limit is exhausted until {wait_secs} s from now, longer than RetryPolicy::max_limit_wait allows; retry later or raise max_limit_wait"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. }
            | Error::Transport { source, .. }
            | Error::Decode { source, .. }
            | Error::InvalidRequest { source, .. } => source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

/// `error` as a [`Cause`], unless its text (or its `Debug`) holds something `redact` removes.
pub(crate) fn cause_of<E: std::error::Error + Send + Sync + 'static>(
    error: E,
    redact: &dyn Fn(&str) -> String,
) -> Option<Cause> {
    let shown = format!("{error} {error:?}");
    (redact(&shown) == shown).then(|| Arc::new(error) as Cause)
}

/// A reqwest error as a [`Cause`], without its URL (which holds the webhook code, or the
/// OAuth secrets of a token refresh).
pub(crate) fn http_cause(error: reqwest::Error, redact: &dyn Fn(&str) -> String) -> Option<Cause> {
    cause_of(error.without_url(), redact)
}

impl Error {
    /// The API error, if the portal answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The API error code, if the portal answered with one.
    pub fn api_code(&self) -> Option<&ApiErrorCode> {
        self.api().map(|e| &e.code)
    }

    /// Whether the portal said the record does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.api_code(),
            Some(ApiErrorCode::NotFound | ApiErrorCode::ItemNotFound)
        )
    }

    /// Whether the call may or may not have been executed ([`Error::OutcomeUnknown`]).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }
}

impl Error {
    /// This error with `redact` applied to its server-sourced texts (decode messages quote
    /// values of the answer); a source whose text holds a secret is dropped.
    pub(crate) fn redacted(self, redact: &dyn Fn(&str) -> String) -> Error {
        match self {
            Error::Decode {
                method,
                message,
                source,
            } => {
                let clean = redact(&message);
                let source = source.filter(|s| {
                    let shown = format!("{s} {s:?}");
                    clean == message && redact(&shown) == shown
                });
                Error::Decode {
                    method,
                    message: clean,
                    source,
                }
            }
            other => other,
        }
    }
}

/// A value of the answer did not fit the generated type: the message (from the codec: field
/// code, expectation, raw value) and what usually fixes it.
pub(crate) fn decode_error(method: &str, message: impl fmt::Display) -> Error {
    Error::Decode {
        method: method.to_owned(),
        message: format!(
            "{message}. If the portal's fields changed, take a new snapshot (`bitrix-codegen snapshot`) and rebuild"
        ),
        source: None,
    }
}

/// [`decode_error`] for a serde_json error, kept as the source when it holds no secret.
pub(crate) fn json_decode_error(
    method: &str,
    error: serde_json::Error,
    redact: &dyn Fn(&str) -> String,
) -> Error {
    let mut e = decode_error(method, redact(&error.to_string()));
    if let Error::Decode { source, .. } = &mut e {
        *source = cause_of(error, redact);
    }
    e
}

/// Cuts a body to a short, printable snippet, with secrets removed by `redact` BEFORE the
/// cut (a secret straddling the cut would otherwise survive in part).
///
/// Only the start of the body is redacted (a few kilobytes, far more than the snippet and
/// any secret), so an error page of many megabytes costs no more than a short one.
pub(crate) fn snippet(body: &[u8], redact: &dyn Fn(&str) -> String) -> String {
    const MAX: usize = 200;
    const HEAD: usize = 8 * 1024;
    let head = &body[..body.len().min(HEAD)];
    let text = redact(&String::from_utf8_lossy(head));
    let text = text.trim();
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX || body.len() > HEAD {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_case_insensitive() {
        assert_eq!(
            ApiErrorCode::parse("expired_token", ""),
            ApiErrorCode::ExpiredToken
        );
        assert_eq!(
            ApiErrorCode::parse("EXPIRED_TOKEN", ""),
            ApiErrorCode::ExpiredToken
        );
        assert_eq!(
            ApiErrorCode::parse("Query_Limit_Exceeded", "Too many requests"),
            ApiErrorCode::QueryLimitExceeded
        );
        assert_eq!(
            ApiErrorCode::parse("NOT_FOUND", "Item not found"),
            ApiErrorCode::ItemNotFound
        );
        assert_eq!(ApiErrorCode::ItemNotFound.as_str(), "NOT_FOUND");
        assert_eq!(
            ApiErrorCode::parse("SOMETHING_NEW", ""),
            ApiErrorCode::Other("SOMETHING_NEW".into())
        );
    }

    #[test]
    fn legacy_codes_map_by_description() {
        let cases = [
            ("Not found", ApiErrorCode::NotFound),
            ("ID is not defined or invalid.", ApiErrorCode::InvalidId),
            ("Access denied.", ApiErrorCode::LegacyAccessDenied),
            (
                "Parameter 'fields' must be array.",
                ApiErrorCode::FieldsMustBeArray,
            ),
            (
                "Parameter 'filter' must be array.",
                ApiErrorCode::FilterMustBeArray,
            ),
            (
                "Parameter 'order' must be array.",
                ApiErrorCode::OrderMustBeArray,
            ),
            (
                "Failed to get list. General error.",
                ApiErrorCode::ListFailed,
            ),
            ("Deal is not found", ApiErrorCode::NotFound),
            ("Something else", ApiErrorCode::Legacy),
        ];
        for (description, expected) in cases {
            assert_eq!(
                ApiErrorCode::parse("", description),
                expected,
                "{description}"
            );
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = Error::Api(ApiError {
            method: "crm.deal.get".into(),
            status: Some(400),
            code: ApiErrorCode::parse("", "Not found"),
            description: "Not found".into(),
        });
        let text = e.to_string();
        assert!(text.contains("crm.deal.get failed with HTTP 400"), "{text}");
        assert!(text.contains("check the id"), "{text}");
        assert!(e.is_not_found());
    }

    #[test]
    fn snippets_are_short() {
        let long = "x".repeat(1000);
        let s = snippet(long.as_bytes(), &str::to_owned);
        assert_eq!(s.len(), 203);
    }

    #[test]
    fn snippets_are_redacted_before_the_cut() {
        // A secret straddling the 200th character: cutting first would leave "secr".
        let body = format!("{}secretcode42 and more", "x".repeat(196));
        let s = snippet(body.as_bytes(), &|t: &str| t.replace("secretcode42", "***"));
        assert!(!s.contains("secr"), "{s}");
        assert!(s.starts_with(&"x".repeat(196)), "{s}");
    }
}

//! Errors as the portal reports them: `{"error": "<code>", "error_description": "<text>"}`.

use std::fmt;

use serde_json::{Value, json};

/// An error answer of the REST API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub description: String,
}

impl ApiError {
    /// Any error.
    pub(crate) fn new(status: u16, code: &str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            description: description.into(),
        }
    }

    /// A legacy CRM error: HTTP 400 with an EMPTY code ("Not found", "ID is not defined or
    /// invalid.", ...).
    pub(crate) fn legacy(description: impl Into<String>) -> ApiError {
        ApiError::new(400, "", description)
    }

    /// 400 "Not found".
    pub(crate) fn not_found() -> ApiError {
        ApiError::legacy("Not found")
    }

    /// 400 "ID is not defined or invalid.".
    pub(crate) fn invalid_id() -> ApiError {
        ApiError::legacy("ID is not defined or invalid.")
    }

    /// 400 `"Parameter '<name>' must be array."`.
    pub(crate) fn must_be_array(name: &str) -> ApiError {
        ApiError::legacy(format!("Parameter '{name}' must be array."))
    }

    /// 404 `ERROR_METHOD_NOT_FOUND`.
    pub(crate) fn method_not_found() -> ApiError {
        ApiError::new(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
    }

    /// 401 `NO_AUTH_FOUND`: a call without any authorization (no webhook path, no `auth`).
    pub(crate) fn no_auth() -> ApiError {
        ApiError::new(401, "NO_AUTH_FOUND", "Wrong authorization data")
    }

    /// 401 `INVALID_CREDENTIALS`: a webhook whose user or code is wrong.
    pub(crate) fn invalid_credentials() -> ApiError {
        ApiError::new(401, "INVALID_CREDENTIALS", "Invalid request credentials")
    }

    /// 401 `invalid_token`: an OAuth access token the portal never issued (or revoked).
    pub(crate) fn invalid_token() -> ApiError {
        ApiError::new(401, "invalid_token", "Unable to get application by token")
    }

    /// 401 `expired_token`.
    pub(crate) fn expired_token() -> ApiError {
        ApiError::new(
            401,
            "expired_token",
            "The access token provided has expired",
        )
    }

    /// 503 `QUERY_LIMIT_EXCEEDED`.
    pub(crate) fn query_limit() -> ApiError {
        ApiError::new(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
    }

    /// 429 `OPERATION_TIME_LIMIT`.
    pub(crate) fn operation_time_limit() -> ApiError {
        ApiError::new(
            429,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        )
    }

    /// 500 `INTERNAL_SERVER_ERROR`.
    pub(crate) fn internal() -> ApiError {
        ApiError::new(500, "INTERNAL_SERVER_ERROR", "Internal server error")
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        json!({"error": self.code, "error_description": self.description})
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.description)
    }
}

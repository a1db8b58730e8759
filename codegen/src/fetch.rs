//! Fetching a snapshot from a portal (`crm.*.fields` over an incoming webhook).
//!
//! This is the only HTTP the generator does, so it uses a small blocking client of its own:
//! the runtime crate depends on the macro, which depends on this crate, and Cargo does not
//! allow the cycle a dependency on the runtime would make.
//!
//! The webhook code is a secret: it never appears in errors or `Debug` output.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::snapshot::{EntityInfo, Snapshot};

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
            FetchError::NotFields { status, reason } => write!(
                f,
                "the portal's answer (HTTP {status}) is not a crm.*.fields result: {reason}"
            ),
        }
    }
}

impl std::error::Error for FetchError {}

/// Calls `{method_prefix}.fields` on the portal and returns the snapshot.
pub fn fetch_snapshot(webhook: &Webhook, entity: &EntityInfo) -> Result<Snapshot, FetchError> {
    let method = format!("{}.fields", entity.method_prefix);
    let url = webhook.method_url(&method)?;
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
        .json(&serde_json::json!({}))
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
    let text = response.text().map_err(unreachable)?;
    let value: Value = serde_json::from_str(&text).map_err(|_| FetchError::NotFields {
        status: status.as_u16(),
        reason: format!(
            "not JSON (starts with {:?})",
            text.chars().take(60).collect::<String>()
        ),
    })?;
    if let Some(code) = value.get("error").and_then(Value::as_str) {
        let description = value
            .get("error_description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
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
            FetchError::Auth {
                code: code.to_owned(),
                description,
            }
        } else {
            FetchError::Api {
                status: status.as_u16(),
                code: code.to_owned(),
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
    Snapshot::from_value(value, entity).map_err(|e| FetchError::NotFields {
        status: status.as_u16(),
        reason: e.to_string(),
    })
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
}

//! Injected failures: the portal misbehaving the way real portals and their proxies do.
//!
//! # Text form (`--faults SPEC`)
//!
//! ```text
//! SPEC    = RULE *( ";" RULE )
//! RULE    = [ METHOD ":" ] SETTING *( "," SETTING )
//! METHOD  = a REST method such as crm.deal.add or batch; "*" or nothing = every method
//! SETTING = "503=" P          503 QUERY_LIMIT_EXCEEDED, not executed
//!         | "500=" P          500 INTERNAL_SERVER_ERROR, not executed
//!         | "html=" P         503 with an nginx HTML page instead of JSON, not executed
//!         | "drop-before=" P  connection closed without an answer, not executed
//!         | "drop-after=" P   executed (the write happened), then the connection is closed
//!                             without an answer
//!         | "500-after=" P    executed (the write happened), then 500 INTERNAL_SERVER_ERROR
//!                             is answered
//!         | "latency=" TIME [ "@" P ]   TIME added to a share P of the requests (default all)
//! P       = a probability between 0 and 1 (0.05) or a percentage (5%)
//! TIME    = milliseconds: 250, 250ms or 0.25s
//! ```
//!
//! Example: `503=5%,drop-after=1%;crm.deal.add:drop-after=0.2,latency=100ms@0.5`.
//!
//! A method rule replaces the `*` rule for that method (it does not add to it). The 503, 500,
//! HTML and drop-before shares are exclusive outcomes of one draw per request, so their sum must
//! not exceed 1; drop-after and 500-after are exclusive outcomes of a second draw (their sum
//! must not exceed 1) and latency of a third. Faults apply to the HTTP request:
//! a `batch` is one request under the method name `batch`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Shares of requests that fail in each way.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct FaultRates {
    /// 503 `QUERY_LIMIT_EXCEEDED` without executing.
    pub query_limit: f64,
    /// 500 `INTERNAL_SERVER_ERROR` without executing.
    pub internal_error: f64,
    /// 503 with an HTML body (a proxy page) without executing.
    pub html: f64,
    /// Connection closed before executing: no answer.
    pub drop_before: f64,
    /// Connection closed after executing: the write happened, the client never hears.
    pub drop_after: f64,
    /// 500 `INTERNAL_SERVER_ERROR` after executing: the write happened, the client hears an
    /// error (a PHP fatal while rendering the answer, a proxy timeout).
    pub error_after: f64,
    /// Added latency.
    pub latency: Duration,
    /// Share of requests that get the added latency.
    pub latency_share: f64,
}

impl FaultRates {
    /// Sets the share of 503 `QUERY_LIMIT_EXCEEDED`.
    pub fn query_limit(mut self, p: f64) -> Self {
        self.query_limit = p;
        self
    }
    /// Sets the share of 500 `INTERNAL_SERVER_ERROR`.
    pub fn internal_error(mut self, p: f64) -> Self {
        self.internal_error = p;
        self
    }
    /// Sets the share of HTML answers.
    pub fn html(mut self, p: f64) -> Self {
        self.html = p;
        self
    }
    /// Sets the share of connections dropped before executing.
    pub fn drop_before(mut self, p: f64) -> Self {
        self.drop_before = p;
        self
    }
    /// Sets the share of connections dropped after executing.
    pub fn drop_after(mut self, p: f64) -> Self {
        self.drop_after = p;
        self
    }
    /// Sets the share of 500 answers after executing.
    pub fn error_after(mut self, p: f64) -> Self {
        self.error_after = p;
        self
    }
    /// Adds `latency` to a share `p` of the requests.
    pub fn latency(mut self, latency: Duration, p: f64) -> Self {
        self.latency = latency;
        self.latency_share = p;
        self
    }

    /// True when nothing is injected.
    pub fn is_none(&self) -> bool {
        self.query_limit == 0.0
            && self.internal_error == 0.0
            && self.html == 0.0
            && self.drop_before == 0.0
            && self.drop_after == 0.0
            && self.error_after == 0.0
            && (self.latency.is_zero() || self.latency_share == 0.0)
    }

    fn validate(&self, whom: &str) -> Result<(), FaultSpecError> {
        for (name, p) in [
            ("503", self.query_limit),
            ("500", self.internal_error),
            ("html", self.html),
            ("drop-before", self.drop_before),
            ("drop-after", self.drop_after),
            ("500-after", self.error_after),
            ("latency share", self.latency_share),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(FaultSpecError(format!(
                    "{name} share {p} for {whom} is outside 0..1: write a probability such as 0.05 or a percentage such as 5%"
                )));
            }
        }
        let exclusive = self.query_limit + self.internal_error + self.html + self.drop_before;
        if exclusive > 1.0 + 1e-9 {
            return Err(FaultSpecError(format!(
                "the 503, 500, html and drop-before shares for {whom} add up to {exclusive}, more than 1: lower them"
            )));
        }
        let after = self.drop_after + self.error_after;
        if after > 1.0 + 1e-9 {
            return Err(FaultSpecError(format!(
                "the drop-after and 500-after shares for {whom} add up to {after}, more than 1: lower them"
            )));
        }
        Ok(())
    }
}

/// Fault injection per method, with a default for every other method.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Faults {
    /// Rates of every method without its own rule.
    pub default: FaultRates,
    /// Rates of specific methods (lower-case names such as `crm.deal.add` or `batch`); a rule
    /// here replaces the default for that method.
    pub methods: BTreeMap<String, FaultRates>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults::default()
    }

    /// The same rates for every method.
    pub fn all(rates: FaultRates) -> Faults {
        Faults {
            default: rates,
            methods: BTreeMap::new(),
        }
    }

    /// Gives `method` its own rates.
    pub fn method(mut self, method: &str, rates: FaultRates) -> Faults {
        self.methods.insert(method.to_ascii_lowercase(), rates);
        self
    }

    /// The rates that apply to `method` (lower case).
    pub fn rates_for(&self, method: &str) -> &FaultRates {
        self.methods.get(method).unwrap_or(&self.default)
    }

    /// True when nothing is injected anywhere.
    pub fn is_none(&self) -> bool {
        self.default.is_none() && self.methods.values().all(FaultRates::is_none)
    }

    /// Checks that every share is a probability and the exclusive shares add up to at most 1.
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        self.default.validate("every method")?;
        for (m, r) in &self.methods {
            r.validate(m)?;
        }
        Ok(())
    }

    /// Parses the text form described in the [module documentation](self).
    pub fn parse(spec: &str) -> Result<Faults, FaultSpecError> {
        let mut faults = Faults::none();
        for rule in spec.split(';').map(str::trim).filter(|r| !r.is_empty()) {
            let (method, settings) = match rule.split_once(':') {
                Some((m, rest)) if !m.contains('=') => (m.trim().to_ascii_lowercase(), rest),
                _ => ("*".to_owned(), rule),
            };
            let mut rates = FaultRates::default();
            for setting in settings.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let Some((key, value)) = setting.split_once('=') else {
                    return Err(FaultSpecError(format!(
                        "setting `{setting}` has no `=`: write e.g. 503=0.05 or latency=100ms@0.5"
                    )));
                };
                let value = value.trim();
                match key.trim().to_ascii_lowercase().as_str() {
                    "503" | "query_limit" | "query-limit" => {
                        rates.query_limit = parse_share(value, setting)?
                    }
                    "500" | "internal_error" | "internal-error" => {
                        rates.internal_error = parse_share(value, setting)?
                    }
                    "html" => rates.html = parse_share(value, setting)?,
                    "drop-before" | "drop_before" => {
                        rates.drop_before = parse_share(value, setting)?
                    }
                    "drop-after" | "drop_after" => rates.drop_after = parse_share(value, setting)?,
                    "500-after" | "error-after" | "error_after" => {
                        rates.error_after = parse_share(value, setting)?
                    }
                    "latency" => {
                        let (time, share) = match value.split_once('@') {
                            Some((t, p)) => (t, parse_share(p.trim(), setting)?),
                            None => (value, 1.0),
                        };
                        rates.latency = parse_time(time.trim(), setting)?;
                        rates.latency_share = share;
                    }
                    other => {
                        return Err(FaultSpecError(format!(
                            "unknown fault `{other}` in `{setting}`: use 503, 500, html, drop-before, drop-after, 500-after or latency"
                        )));
                    }
                }
            }
            if method == "*" || method.is_empty() {
                faults.default = rates;
            } else {
                faults.methods.insert(method, rates);
            }
        }
        faults.validate()?;
        Ok(faults)
    }
}

fn parse_share(value: &str, setting: &str) -> Result<f64, FaultSpecError> {
    let (number, scale) = match value.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (value, 1.0),
    };
    let p: f64 = number.parse().map_err(|_| {
        FaultSpecError(format!(
            "`{value}` in `{setting}` is not a share: write a probability such as 0.05 or a percentage such as 5%"
        ))
    })?;
    Ok(p / scale)
}

fn parse_time(value: &str, setting: &str) -> Result<Duration, FaultSpecError> {
    let bad = || {
        FaultSpecError(format!(
            "`{value}` in `{setting}` is not a duration: write milliseconds such as 250, 250ms or 0.25s"
        ))
    };
    let secs = if let Some(ms) = value.strip_suffix("ms") {
        ms.trim().parse::<f64>().map_err(|_| bad())? / 1000.0
    } else if let Some(s) = value.strip_suffix('s') {
        s.trim().parse::<f64>().map_err(|_| bad())?
    } else {
        value.parse::<f64>().map_err(|_| bad())? / 1000.0
    };
    // Negative, NaN, infinite or too large for a Duration: refused, not a panic.
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// A `--faults` specification that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpecError(pub String);

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid fault specification: {}", self.0)
    }
}

impl std::error::Error for FaultSpecError {}

/// What the injector decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    QueryLimit,
    InternalError,
    Html,
    DropBefore,
}

/// What happens after a request executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum After {
    /// The answer is sent.
    Answer,
    /// The connection is closed without an answer.
    Drop,
    /// A 500 `INTERNAL_SERVER_ERROR` is sent instead of the answer.
    Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let f = Faults::parse("503=5%,drop-after=1%;crm.deal.add:drop-after=0.2,latency=100ms@0.5")
            .unwrap();
        assert_eq!(f.default.query_limit, 0.05);
        assert_eq!(f.default.drop_after, 0.01);
        let add = f.rates_for("crm.deal.add");
        assert_eq!(add.drop_after, 0.2);
        assert_eq!(add.query_limit, 0.0);
        assert_eq!(add.latency, Duration::from_millis(100));
        assert_eq!(add.latency_share, 0.5);
        assert_eq!(f.rates_for("crm.deal.list"), &f.default);
    }

    #[test]
    fn rejects_bad_specs_with_a_hint() {
        assert!(Faults::parse("404=0.1").unwrap_err().0.contains("use 503"));
        assert!(
            Faults::parse("503=2")
                .unwrap_err()
                .0
                .contains("outside 0..1")
        );
        assert!(
            Faults::parse("503=0.6,500=0.6")
                .unwrap_err()
                .0
                .contains("more than 1")
        );
        assert!(
            Faults::parse("latency=fast")
                .unwrap_err()
                .0
                .contains("250ms")
        );
        assert!(Faults::parse("503").unwrap_err().0.contains("no `=`"));
        assert!(
            Faults::parse("drop-after=0.6,500-after=0.5")
                .unwrap_err()
                .0
                .contains("drop-after and 500-after shares")
        );
        assert_eq!(
            Faults::parse("500-after=3%").unwrap().default.error_after,
            0.03
        );
    }

    #[test]
    fn latency_units() {
        let f = Faults::parse("latency=0.5s").unwrap();
        assert_eq!(f.default.latency, Duration::from_millis(500));
        assert_eq!(f.default.latency_share, 1.0);
        assert!(Faults::parse("latency=1e300s").is_err());
        assert!(Faults::parse("latency=-5ms").is_err());
        let f = Faults::parse("latency=20").unwrap();
        assert_eq!(f.default.latency, Duration::from_millis(20));
        assert!(Faults::parse("").unwrap().is_none());
    }
}

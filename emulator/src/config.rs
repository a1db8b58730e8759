//! Configuration of an emulated portal: fields, seed data, limits, server time and faults.

use std::fmt;
use std::time::Duration;

use chrono::FixedOffset;

use crate::faults::Faults;
use crate::lang::Lang;

/// Everything that shapes an emulated portal.
///
/// `Config::default()` is a quiet portal for tests: the demo portal's fields, no deals, no rate
/// limit, no server-time model, no faults, UTC offset +03:00.
#[derive(Clone)]
pub struct Config {
    /// The portal's deal fields: a snapshot (`{"format_version": 1, "entity": ..., "fields":
    /// {...}}`), a raw `crm.deal.fields` response (`{"result": {...}}`) or the bare `result`
    /// object. `None` is the demo portal of `schemas/demo/deal.json`.
    pub fields: Option<serde_json::Value>,
    /// Number of deals seeded at start, with realistic values for every field.
    pub deals: usize,
    /// Records of the other entity types seeded at start, by `entityTypeId` (1 leads, 3
    /// contacts, 4 companies, 7 quotes, 31 smart invoices, 153 / 1220 the demo smart
    /// processes), linked to each other and to the deals.
    pub records: std::collections::BTreeMap<u32, usize>,
    /// Field lists of the other entity types by `entityTypeId`, replacing the demo portal's
    /// (`portals/demo-*.json`) or adding a smart process: a snapshot or a raw
    /// `crm.<entity>.fields` / `crm.item.fields` answer (`{"fields": {...}}` keyed by item
    /// names with `upperName`s for item-only types).
    pub entity_fields: std::collections::BTreeMap<u32, serde_json::Value>,
    /// The leaky bucket that refuses requests with 503 `QUERY_LIMIT_EXCEEDED`.
    pub limits: Limits,
    /// Latency added to every REST request before it is handled.
    pub latency: Duration,
    /// Injected failures (503, 500, HTML bodies, dropped connections, latency).
    pub faults: Faults,
    /// Seed of every random choice (seed data, faults, tokens).
    pub seed: u64,
    /// Server-time model. `None`: the reported server time is the real (tiny) handling time.
    pub cost_model: Option<CostModel>,
    /// Operating limit: server time allowed per method over a sliding 10-minute window before
    /// the portal answers 429 `OPERATION_TIME_LIMIT` (480 s on real portals).
    pub operating_limit: Duration,
    /// User id of the incoming webhook (the `1` of `/rest/1/<code>/`), also the OAuth user.
    pub webhook_user_id: u64,
    /// Secret code of the incoming webhook.
    pub webhook_code: String,
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The portal's time zone offset: dates and datetimes are shown in it.
    pub utc_offset: FixedOffset,
    /// Lifetime of OAuth access tokens (1 hour on real portals).
    pub access_token_ttl: Duration,
    /// Escape `/` as `\/` in JSON output, as PHP's `json_encode` does (on by default).
    pub escape_slashes: bool,
    /// The largest request body accepted (64 MiB by default, room for a batch of 50 commands
    /// that each upload a file as base64); a larger one is answered `413 Request Entity Too
    /// Large` without being read, as nginx's `client_max_body_size` does.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may stay idle (60 s by default, nginx's `client_header_timeout`); a connection
    /// that has not sent them by then is closed, so half-open connections cannot pile up.
    pub header_timeout: Duration,
    /// Serve HTTPS as well as HTTP on the port, with a certificate made at start for
    /// `localhost`, `127.0.0.1`, `::1` and [`hosts`](Self::hosts) (needs the `tls` feature).
    pub tls: bool,
    /// Host names the portal answers to over HTTPS (the first is the one it advertises in
    /// webhook URLs and OAuth answers; `localhost` when empty). Point them at 127.0.0.1 in
    /// `/etc/hosts` for SDKs that refuse `localhost` or hard-code a host.
    pub hosts: Vec<String>,
    /// The language of the portal's own texts: default deal titles, error messages and the
    /// standard fields' titles (`Lang::Ru` by default, like the seed documentation's portal).
    pub lang: Lang,
    /// The portal's time scale: 0.01 runs its limits and costs 100 times faster together - the
    /// bucket drains 100x faster, the operating window is 6 s of 0.6 s minutes, the operating
    /// limit is `operating_limit * 0.01`, and modeled server time (reported, counted and
    /// waited) is a hundredth. Every reported time stays in real seconds, so a client paces
    /// itself unchanged once told the scaled limits (drain `2 / scale` per second, operating
    /// limit `480 s * scale`). 1.0 (the default) is a real portal's speed.
    pub time_scale: f64,
    /// A state file (a journal of the portal's changes, see [`Config::with_state`]): when set,
    /// every change is appended to it, and a portal started with an existing file first makes
    /// its changes again, so the data survives restarts. `None` (the default): the portal
    /// lives in memory only.
    pub state: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            fields: None,
            deals: 0,
            records: std::collections::BTreeMap::new(),
            entity_fields: std::collections::BTreeMap::new(),
            limits: Limits::Off,
            latency: Duration::ZERO,
            faults: Faults::none(),
            seed: 0,
            cost_model: None,
            operating_limit: Duration::from_secs(480),
            webhook_user_id: 1,
            webhook_code: "k3m9x2p7q4w8z1v5".to_owned(),
            port: 0,
            utc_offset: FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset"),
            access_token_ttl: Duration::from_secs(3600),
            escape_slashes: true,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_timeout: Duration::from_secs(60),
            tls: false,
            hosts: Vec::new(),
            lang: Lang::Ru,
            time_scale: 1.0,
            state: None,
        }
    }
}

/// The default [`Config::max_body_bytes`]: 64 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 20;

impl Config {
    /// Keeps the portal's changes in the journal `path` and makes them again at the next start
    /// with the same file: records, user fields, pipelines, smart processes, event bindings and
    /// OAuth tokens survive restarts, with their ids and dates. The file starts with the options
    /// that shaped the seed data; a portal started with other `deals`, `records`, fields or
    /// `seed` refuses it (say `with_state` with a new path instead). It holds what the portal
    /// stores, so keep it as private as a database dump.
    pub fn with_state(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.state = Some(path.into());
        self
    }

    /// Seeds `n` deals.
    pub fn with_deals(mut self, n: usize) -> Self {
        self.deals = n;
        self
    }

    /// Seeds `n` records of the entity type `entity_type_id` (not deals: see
    /// [`Config::with_deals`]); the start fails for a type the portal does not have.
    pub fn with_records(mut self, entity_type_id: u32, n: usize) -> Self {
        self.records.insert(entity_type_id, n);
        self
    }

    /// Uses these fields for the entity type `entity_type_id` (not deals: see
    /// [`Config::with_fields`]); a type the demo portal lacks (128 and up) becomes a smart
    /// process served on `crm.item.*`.
    pub fn with_entity_fields(mut self, entity_type_id: u32, fields: serde_json::Value) -> Self {
        self.entity_fields.insert(entity_type_id, fields);
        self
    }

    /// Seeds `n` leads (phones and e-mails filled, some linked to companies).
    pub fn with_leads(self, n: usize) -> Self {
        self.with_records(crate::entities::LEAD, n)
    }

    /// Seeds `n` contacts (linked to companies, phones and e-mails filled).
    pub fn with_contacts(self, n: usize) -> Self {
        self.with_records(crate::entities::CONTACT, n)
    }

    /// Seeds `n` companies (phones and e-mails filled); seeded deals get them as `COMPANY_ID`.
    pub fn with_companies(self, n: usize) -> Self {
        self.with_records(crate::entities::COMPANY, n)
    }

    /// Seeds `n` quotes (linked to companies and contacts).
    pub fn with_quotes(self, n: usize) -> Self {
        self.with_records(crate::entities::QUOTE, n)
    }

    /// Uses these deal fields (snapshot, raw `crm.deal.fields` response or bare `result`).
    pub fn with_fields(mut self, fields: serde_json::Value) -> Self {
        self.fields = Some(fields);
        self
    }

    /// Uses the seed documentation's portal (`schemas/seed/deal.json`): the standard fields of
    /// the docs plus `PARENT_ID_1220` and `UF_CRM_1721244482250`, no required user field.
    pub fn with_seed_portal(self) -> Self {
        self.with_fields(crate::schema::seed_portal_fields())
    }

    /// Sets the rate limit.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the injected faults.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the random seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Enables a server-time model.
    pub fn with_cost_model(mut self, model: CostModel) -> Self {
        self.cost_model = Some(model);
        self
    }

    /// Sets the operating limit per method and 10 minutes.
    pub fn with_operating_limit(mut self, limit: Duration) -> Self {
        self.operating_limit = limit;
        self
    }

    /// Adds a fixed latency to every request.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the largest request body accepted.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets how long a client may take to send a request's headers.
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Serves HTTPS too (see [`Config::tls`]), answering to these extra host names.
    pub fn with_tls(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tls = true;
        self.hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the portal's time scale (see [`Config::time_scale`]).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Sets the portal's language.
    pub fn with_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// Binds this port on 127.0.0.1 (0 = any free port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field(
                "fields",
                &self
                    .fields
                    .as_ref()
                    .map(|_| "<custom>")
                    .unwrap_or("<demo portal>"),
            )
            .field("deals", &self.deals)
            .field("records", &self.records)
            .field(
                "entity_fields",
                &self.entity_fields.keys().collect::<Vec<_>>(),
            )
            .field("limits", &self.limits)
            .field("latency", &self.latency)
            .field("faults", &self.faults)
            .field("seed", &self.seed)
            .field("cost_model", &self.cost_model)
            .field("operating_limit", &self.operating_limit)
            .field("webhook_user_id", &self.webhook_user_id)
            .field("webhook_code", &"<redacted>")
            .field("port", &self.port)
            .field("utc_offset", &self.utc_offset)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("escape_slashes", &self.escape_slashes)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("header_timeout", &self.header_timeout)
            .field("state", &self.state)
            .field("tls", &self.tls)
            .field("hosts", &self.hosts)
            .field("lang", &self.lang)
            .field("time_scale", &self.time_scale)
            .finish()
    }
}

/// The portal's leaky bucket per client IP: every REST request (a whole `batch` included) adds
/// one; above the capacity the request is refused with 503 `QUERY_LIMIT_EXCEEDED`; the level
/// drains continuously.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Limits {
    /// No rate limit.
    #[default]
    Off,
    /// Regular plans: capacity 50, drains 2 per second.
    Regular,
    /// Enterprise plans: capacity 250, drains 5 per second.
    Enterprise,
    /// Any capacity and drain rate.
    Custom {
        /// Requests that fit into the bucket.
        capacity: u32,
        /// Requests drained per second.
        drain_per_sec: f64,
    },
}

impl Limits {
    /// `(capacity, drain per second)`, or `None` when off.
    pub fn bucket(&self) -> Option<(f64, f64)> {
        match *self {
            Limits::Off => None,
            Limits::Regular => Some((50.0, 2.0)),
            Limits::Enterprise => Some((250.0, 5.0)),
            Limits::Custom {
                capacity,
                drain_per_sec,
            } => Some((f64::from(capacity), drain_per_sec)),
        }
    }

    /// Parses the CLI form: `off`, `regular`, `enterprise` or `CAPACITY/DRAIN_PER_SEC`
    /// (e.g. `10/1`).
    pub fn parse(text: &str) -> Result<Limits, String> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "off" | "none" => Ok(Limits::Off),
            "regular" => Ok(Limits::Regular),
            "enterprise" => Ok(Limits::Enterprise),
            other => {
                let Some((cap, rate)) = other.split_once('/') else {
                    return Err(format!(
                        "unknown limits `{text}`: use off, regular, enterprise or CAPACITY/DRAIN_PER_SEC such as 10/1"
                    ));
                };
                let capacity: u32 = cap.trim().parse().map_err(|_| {
                    format!("bad capacity `{cap}` in limits `{text}`: expected a whole number such as 50")
                })?;
                let drain_per_sec: f64 = rate.trim().parse().map_err(|_| {
                    format!("bad drain rate `{rate}` in limits `{text}`: expected a number such as 2 or 0.5")
                })?;
                if capacity == 0 || !(drain_per_sec >= 0.0 && drain_per_sec.is_finite()) {
                    return Err(format!(
                        "limits `{text}` must have a capacity of at least 1 and a finite, non-negative drain rate"
                    ));
                }
                Ok(Limits::Custom {
                    capacity,
                    drain_per_sec,
                })
            }
        }
    }
}

/// A model of the server time a real portal spends on a call.
///
/// The modeled time of a call is
///
/// ```text
/// base
/// + write                       (crm.deal.add / update / delete, userfield writes)
/// + per_returned_row * rows returned
/// + per_counted_row  * rows matched by the filter   (list calls, unless start = -1)
/// + per_skipped_row  * rows skipped by the offset   (list calls with start > 0)
/// ```
///
/// It is reported in `time.processing` / `time.duration`, added to the method's operating time
/// (`time.operating`, the 429 `OPERATION_TIME_LIMIT` limit) and, times this model's
/// `time_scale`, really waited before the response is sent (concurrent requests wait in
/// parallel). A portal's [`Config::time_scale`] shortens all of it first.
///
/// [`CostModel::documented`] is calibrated on the measurement quoted by the docs for a portal of
/// 2.4 million rows: a counted page took 49.9 s and a page with `start=-1` 0.097 s.
/// So `per_counted_row` = (49.9 - 0.097) s / 2.4 M = 20.75 us, and base + 50 returned rows =
/// 0.097 s. The offset cost per skipped row has no published measurement: it is set to half the
/// counting cost (skipping rows reads them without the permission joins of the count).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Every call.
    pub base: Duration,
    /// Extra for writes (add, update, delete).
    pub write: Duration,
    /// Per row in the response.
    pub per_returned_row: Duration,
    /// Per row matched by a list filter when the total is counted (`start` >= 0).
    pub per_counted_row: Duration,
    /// Per row skipped by the offset (`start` > 0).
    pub per_skipped_row: Duration,
    /// Share of the modeled time really waited before answering: 1.0 = real time, 0.0 = do not
    /// wait (the time is still reported and counted).
    pub time_scale: f64,
}

impl CostModel {
    /// The model calibrated on the docs' measurement (see the type's documentation), in real
    /// time.
    pub fn documented() -> CostModel {
        CostModel {
            base: Duration::from_millis(47),
            write: Duration::from_millis(200),
            per_returned_row: Duration::from_millis(1),
            per_counted_row: Duration::from_nanos(20_750),
            per_skipped_row: Duration::from_nanos(10_375),
            time_scale: 1.0,
        }
    }

    /// The same model, really waiting `scale` times the modeled time.
    pub fn scaled(mut self, scale: f64) -> CostModel {
        self.time_scale = scale;
        self
    }

    /// The modeled time of one call.
    pub fn cost(&self, work: &Work) -> Duration {
        let mut t = self.base;
        if work.write {
            t += self.write;
        }
        t += mul(self.per_returned_row, work.returned);
        t += mul(self.per_counted_row, work.counted);
        t += mul(self.per_skipped_row, work.skipped);
        t
    }
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel::documented()
    }
}

fn mul(d: Duration, n: u64) -> Duration {
    Duration::from_nanos((d.as_nanos() as u64).saturating_mul(n))
}

/// What one call did, the input of the [`CostModel`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// The call wrote data.
    pub write: bool,
    /// Rows in the response.
    pub returned: u64,
    /// Rows counted for `total`.
    pub counted: u64,
    /// Rows skipped by the offset.
    pub skipped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_model_matches_the_docs_measurement() {
        let m = CostModel::documented();
        let fast = m.cost(&Work {
            returned: 50,
            ..Work::default()
        });
        assert!((fast.as_secs_f64() - 0.097).abs() < 0.0005, "{fast:?}");
        let counted = m.cost(&Work {
            returned: 50,
            counted: 2_400_000,
            ..Work::default()
        });
        assert!((counted.as_secs_f64() - 49.9).abs() < 0.05, "{counted:?}");
    }

    #[test]
    fn limits_parse() {
        assert_eq!(Limits::parse("Regular").unwrap(), Limits::Regular);
        assert_eq!(Limits::parse("off").unwrap(), Limits::Off);
        assert_eq!(
            Limits::parse("10/0.5").unwrap(),
            Limits::Custom {
                capacity: 10,
                drain_per_sec: 0.5
            }
        );
        assert!(Limits::parse("fast").unwrap_err().contains("regular"));
        assert!(Limits::parse("0/1").is_err());
    }

    #[test]
    fn debug_redacts_the_webhook_code() {
        let c = Config::default();
        let text = format!("{c:?}");
        assert!(!text.contains(&c.webhook_code), "{text}");
    }
}

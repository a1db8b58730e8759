//! A loopback Bitrix24 portal that speaks the documented REST protocol, for tests, benchmarks,
//! examples and demos: no account, no network.
//!
//! It is an independent implementation of the server side (it shares no code with
//! `bitrix-runtime`), written from the seed documentation and `bitrix-facts.md`, quirks
//! included, so that a client bug is caught rather than mirrored.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use bitrix_emulator::{Config, Emulator, Limits};
//!
//! let emu = Emulator::start(Config::default().with_deals(1_000).with_limits(Limits::Regular)).await?;
//! let url = emu.webhook_url(); // http://127.0.0.1:PORT/rest/1/<code>/
//! // ... call `{url}crm.deal.list` with any HTTP client ...
//! assert!(emu.counters().requests <= 1);
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # What it implements
//!
//! | area | behaviour |
//! |---|---|
//! | methods | `crm.deal.fields/add/get/list/update/delete`, `crm.deal.userfield.add/get/list/update/delete`, `crm.status.fields/add/get/list/update/delete/entity.types/entity.items` (`DEAL_STAGE`, `DEAL_STAGE_{n}`, `DEAL_TYPE`, `SOURCE`, `INDUSTRY`), `crm.category.fields/add/get/list/update/delete` (deals, smart processes, the smart invoice), `crm.currency.list/get/fields`, `crm.currency.base.get`, `crm.{deal,lead,quote}.contact.fields/add/delete/items.get/items.set/items.delete`, `crm.item.productrow.fields/add/update/get/list/delete/set`, `crm.{deal,lead}.productrows.get/set`, `server.time`, `profile`, `user.current`, `user.admin`, `app.info`, `scope`, `methods`, `method.get`, `batch`; anything else is 404 `ERROR_METHOD_NOT_FOUND` "Method not found!" |
//! | entities | one table per CRM entity type (`entities` module: the definitions and the legacy <-> item name table): leads (1), deals (2), contacts (3), companies (4), quotes (7) on their legacy methods `crm.{lead,deal,contact,company,quote}.fields/add/get/update/delete/list` and `.userfield.add/get/list/update/delete` (user fields `UF_CRM_...`, `ENTITY_ID` `CRM_LEAD`, ...) with the deals' envelopes, filters, order, select, paging, `>ID` export and errors; field lists from the documentation's `crm.<entity>.fields` examples (`portals/demo-*.json`, written by `scripts/demo_entities.py`); missing records as each page documents ("Contact is not found", `ERROR_CORE` "Element not found", ...); default titles `Лид #n` / `Предложение #n` / `{type title} #n`; the smart invoice (31) and smart processes (demo: 1220 "Проекты" with two pipelines, 5 "Общая" and 10 "Внутренние", 153 "Договоры" without; user fields `UF_CRM_{type id}_...`) only on `crm.item.*`, so `crm.<name>.*` answers 404 `ERROR_METHOD_NOT_FOUND` |
//! | multifields | `PHONE`, `EMAIL`, `WEB`, `IM`, `LINK` of leads, contacts and companies: values with their own ids, read as `[{"ID","VALUE_TYPE","VALUE","TYPE_ID"}]` (absent when empty, never in `select: ["*"]`, last in `get`); writes as documented: a list or `n0`, `n1`, ... keys add, an `ID` of the record changes, an `ID` with an empty or no `VALUE` or `DELETE: "Y"` deletes; a missing `VALUE_TYPE` is `WORK` (`IM` `OTHER`, `LINK` `USER`), an unknown one is kept; `HAS_PHONE`, `HAS_EMAIL`, `HAS_IMOL` follow; filters on them match values exactly (case-insensitive) |
//! | `crm.item.*` | `fields` (camelCase names, each with `upperName`; `useOriginalUfNames=Y`), `add`/`get`/`update` answering `{"item": ...}`, `delete` `[]`, `list` `{"items": [...]}` with `total`/`next`; the same records as the legacy methods; ids and amounts as JSON numbers, booleans `Y`/`N`, empty dates `null`, files with `urlMachine`, `contactIds`, `entityTypeId` and `fm` (`{"id","valueType","value","typeId"}`, written as a list or keyed by `nN` / id) with the full select only; camelCase `select`/`filter` (prefixes, `logic` groups)/`order`; 400 `NOT_FOUND` "Smart process not found" for an unknown `entityTypeId`, "Item not found", `INVALID_ARG_VALUE` for an unknown filter or order field or direction; a deal changes pipeline only through `crm.item.update` with `categoryId` |
//! | smart processes | `crm.type.list/get/add/fields` (`{"types"}`, `{"type"}`, `entityTypeId` 1030+ by default), `crm.type.update` (`title`; other settings are kept) and `crm.type.delete` (`[]`; 400 `BX_ERROR` "You cannot delete an entity type that has elements", code `0` "Smart process not found"); a new type's `crm.item.*` work at once; pipelines and stages `DT{type}_{category}:NEW` ... in `DYNAMIC_{type}_STAGE_{category}` (smart invoice: `SMART_INVOICE_STAGE_{category}`), shown by `crm.category.list/get {entityTypeId}` and `crm.status.list {filter: {ENTITY_ID}}`; default pipeline and first stage on add, `previousStageId`/`movedTime`/`movedBy` on a stage change |
//! | seed | `Config::deals` plus `Config::with_records` (`with_leads`, `with_contacts`, `with_companies`, `with_quotes`): deterministic from the seed, linked (contacts and deals to the seeded companies, deals to contacts, smart-process items to deals), phones and e-mails filled |
//! | portal methods | `server.time`: now in the portal offset (`Config::utc_offset`); `profile`, `user.current`: the webhook user (`Config::webhook_user_id`), an administrator, `ID` a string, `ADMIN`/`ACTIVE` booleans; `user.admin`: `true`; `app.info`: for the webhook only `SCOPE` and `LICENSE`, for the OAuth app its local-app record (`ID`, `CODE` = client id, `VERSION`, `STATUS` "L", `INSTALLED`, `PAYMENT_EXPIRED`, `DAYS`, `LANGUAGE_ID`, `LICENSE*`; the language and the `LICENSE` prefix follow [`Config::lang`]); `scope`: `["crm","user"]` (`full`: every scope of the portal; PHP truthiness, so the form string `"false"` is true); `methods` (`scope`, `full`) and `method.get` (`{isExisting, isAvailable}`; the `name` key and the name itself lower case only) answer from the list of served methods |
//! | pipelines | `crm.category.*` answer `{"category": {...}}` (numbers for `id`, `sort`, `entityTypeId`; `isDefault` "Y"/"N", not settable on deals; `originId`/`originatorId` "" except on the default pipeline); a new pipeline gets the default pipeline's eight stages `C{id}:NEW`..., and deals accept its id at once; `sort` defaults to 500, a negative one is 0; delete answers `null`, refused for pipeline 0 and while deals are in it; errors `NOT_FOUND` "Element not found", `ENTITY_TYPE_NOT_SUPPORTED`, `INVALID_ARG_VALUE` for a missing `entityTypeId`/`id`, code `0` "Field 'NAME' is required" |
//! | directories | `crm.status.add` answers the integer `ID`, adds `C{n}:` on `DEAL_STAGE_{n}`, `SORT` 10 by default, `SEMANTICS` S/F on stages; refuses (legacy 400) missing `ENTITY_ID`/`STATUS_ID` (both messages at once), an unknown directory, a missing `NAME` ("The field Title is required."), a stage in progress sorted after the success stage, and a duplicate (`ERROR_CORE`); each directory stays in `SORT` order, so a new stage is where `crm.status.list`, `entity.items`, the first-stage default and `STAGE_ID` checks see it; `update` changes `NAME`/`SORT`/`COLOR`; `delete` needs `params[FORCED]=Y` for a system item and refuses a stage holding deals; "Invalid identifier.", "Status is not found."; `entity.types` as the docs' example (`CATEGORY_ID` "1" for a pipeline, `0` for the default one; names in the portal's language); in `list`/`get` the default pipeline's stages have `CATEGORY_ID` null, others "n"; ids are never reused |
//! | smart pipelines | `crm.category.add/update/delete/fields {entityTypeId}` for smart processes and the smart invoice: a new pipeline gets the type's default stages `DT{type}_{id}:...` in `DYNAMIC_{type}_STAGE_{id}` (`SMART_INVOICE_STAGE_{id}`), usable at once; `name` defaults to `-`, `sort` to 500; `isDefault: "Y"` moves the default (new items without `categoryId` go there); delete refused for the default pipeline (`BX_ERROR` "This funnel is the default funnel") and while items are in it (`BX_ERROR` "Elements related to the funnel found"); `NOT_FOUND` "Smart process not found" for an unknown type; the stage directories in `crm.status.list/get/add/update/delete/entity.items` (prefix `DT{type}_{id}:` on add) and in `entity.types` (`SEMANTIC_INFO` `[]`, `PREFIX`, numeric `CATEGORY_ID`, `CATEGORY_NAME`/`CATEGORY_SORT`/`IS_DEFAULT_CATEGORY`); `crm.item.update` with `categoryId` moves an item to a stage of that pipeline (its first stage when the stage is missing or foreign), a foreign stage without `categoryId` is ignored |
//! | lead and quote statuses | `STATUS` and `QUOTE_STATUS` carry semantics (`CONVERTED`/`APPROVED` success, `JUNK`/`DECLAINED` failure) with `SEMANTICS`, `COLOR` and `EXTRA` in `crm.status.list`, `SEMANTIC_INFO` and `ENTITY_TYPE_ID` in `entity.types`; the plain lists have no `EXTRA` |
//! | currencies | `crm.currency.list` (RUB base, USD, EUR, KZT, BYN, UAH, CNY; `order` by `sort`/`currency`/`amount`; `total` 0 as documented), `get {id}` with `LANG` (`ru`, `en`), `fields`, `base.get`; every value a string as in the docs' `crm_currency` |
//! | contact bindings | `crm.{deal,lead,quote}.contact.items.get` (`[{CONTACT_ID, SORT, ROLE_ID, IS_PRIMARY}]` by `SORT`), `items.set` (replaces all; the first `IS_PRIMARY=Y` wins, else the first item; `SORT` defaults to `(i + 1) * 10`), `items.delete`, `contact.add` (`false` when already bound; primary when asked or when none is), `contact.delete` (`false` when not bound; the next one becomes primary), `contact.fields`; `CONTACT_IDS` stays the one list (primary first), so `CONTACT_ID`, `contactIds` and legacy writes agree; the documented legacy errors |
//! | product rows | one store for `crm.item.productrow.*` (`{"productRow"}`, `{"productRows"}`, list `total`/`next` with `=ownerType`/`=ownerId` required, prefixes and `order`; owner types `D`, `L`, `Q`, `SI`, `T{hex}`) and `crm.{deal,lead}.productrows.get/set` (legacy keys, `set` replaces every row); `price` is the final unit price, `priceExclusive`/`priceNetto`/`priceBrutto`/`discountSum` (or `discountRate` for a monetary discount) derived and rounded as in the docs' examples; the owner's `OPPORTUNITY` = Σ price × quantity and `TAX_VALUE` follow every change unless `IS_MANUAL_OPPORTUNITY` is `Y`; `OWNER_NOT_FOUND`, `ENTITY_TYPE_NOT_SUPPORTED`, `NOT_FOUND` "Item not found", the core's discount errors (`ERROR_CORE`); rows and bindings go with their owner |
//! | user fields | `crm.deal.userfield.get` shows labels and messages per language (the one stored text in each of the 21 languages); `list` shows them as text only with `filter[LANG]`; `update` also sets `ERROR_MESSAGE`/`HELP_MESSAGE` and ignores `SORT` <= 0; a missing field is 400 `ERROR_NOT_FOUND` `The entity with ID '<id>' is not found` |
//! | transport | `/rest/{user}/{code}/{method}` (webhook) and `/rest/{method}` with `auth` (OAuth); GET or POST; JSON, form-encoded and query-string parameters with PHP nested keys (`fields[TITLE]=x`), merged (the body wins); `.json` suffix; method names in any case; top-level parameter names in any case (`fields` / `FIELDS`) |
//! | output | PHP-style JSON: `/` escaped as `\/`, Unicode unescaped; numbers as strings (`"OPPORTUNITY":"1000000.00"`), `"Y"`/`"N"`, money `"300|RUB"`, crm links, file objects with relative URLs, dates at UTC midnight shown in the portal offset (+03:00 by default) |
//! | auth | wrong webhook code or user: 401 `INVALID_CREDENTIALS`; no credentials at all: 401 `NO_AUTH_FOUND`; an OAuth token never issued: 401 `invalid_token`; repeated slashes in the path are merged (nginx); OAuth tokens live 1 h (`expire_access_tokens` ends them now) then 401 `expired_token`; `/oauth/token/?grant_type=refresh_token&...` rotates the refresh token and rejects the old one |
//! | errors | `{"error","error_description"}` without `time`; legacy CRM errors are 400 with an EMPTY code: "Not found", "ID is not defined or invalid.", "Parameter 'fields' must be array.", "Parameter 'filter' must be array.", "Parameter 'order' must be array.", "Parameter 'params' must be array."; a required field missing on add: 400 `Поле "<label>" обязательно для заполнения.` (the portal speaks Russian) |
//! | add | defaults: TITLE "Сделка #{id}", pipeline 0, first stage of the pipeline, first deal type and source, base currency RUB, OPPORTUNITY 0.00, OPENED Y, other Y/N fields N, COMPANY_ID 0, BEGINDATE today, CLOSEDATE today + 7, ASSIGNED_BY_ID / CREATED_BY_ID = caller, DATE_CREATE now; user field `DEFAULT_VALUE`s and enumeration `DEF` items; returns an integer id |
//! | add / update | unknown, read-only and (on update) immutable (`CATEGORY_ID`) keys are dropped silently; on update a `STAGE_ID` outside the deal's pipeline is ignored; a stage change sets `PREVIOUS_STAGE_ID`, `MOVED_TIME`, `MOVED_BY_ID`, `STAGE_SEMANTIC_ID`, `IS_NEW`, `CLOSED`; `CONTACT_IDS` is stored, `CONTACT_ID` shows its first element, `CONTACT_IDS` itself is never returned; an unknown currency is 400 `Неверное значение поля «Валюта»` |
//! | input values | numbers or strings (PHP casts), `"Y"` for Y/N fields (anything else is N), booleans as 1/0/"Y"/"N"/true/false, dates as `YYYY-MM-DD`, `DD.MM.YYYY` or ISO datetimes, money `"300|RUB"` (a bare amount gets RUB), files as `{"fileData": [name, base64]}` or `[name, base64]`, `{"id": N}` keeps a file, `{"id": N, "remove": "Y"}` or `""` removes it; enumeration item ids; unparsable dates and unknown enumeration ids are ignored |
//! | empties | standard fields: `null` (strings, ids), `""` (dates); user fields: `null`, but `""` for money, address, date and datetime; an empty single file field is ABSENT; multiple fields `[]` |
//! | list | `select` (`*` standard single fields, `UF_*` user fields, explicit codes in their order; no select = `*`; `ID` always), filters (see [`filter`](#filters)), `order` (several keys, ASC/DESC; ties by ID), 50 rows per page, `start` rounds down to a page (legacy navigation), `total`, `next`; `start=-1` skips counting (`total: 0`, no `next`); `>ID` + `order ID` pages cost O(page) |
//! | batch | at most 50 commands (else 400 `ERROR_BATCH_LENGTH_EXCEEDED`), run in order, `$result[cmd][path]`, `$result_total[...]`, `$result_next[...]`, `$result_error[...]`, `$result_time[...]` references (one that does not resolve stays literal text, so `filter[>ID]=$result[prev][49][ID]` after a short page is 0 and starts over), `halt`, nested `batch` refused with `ERROR_BATCH_METHOD_NOT_ALLOWED`; always 200 with `result`, `result_error`, `result_total`, `result_next`, `result_time` where an empty map is `[]` and keys `0..n-1` make a list |
//! | events | `event.bind/unbind/get`, `event.offline.get/clear/error/list`, `events` for the OAuth application only (the webhook: 403 `WRONG_AUTH_TYPE`); every successful CRM write (legacy, `crm.item.*`, `batch` commands, deal pipeline moves, user fields, `crm.type.add/update/delete`) delivers its documented event (`ONCRMDEALADD`, `ONCRMDYNAMICITEMUPDATE`, `ONCRMDEALMOVETOCATEGORY`, `ONCRMDEALUSERFIELDSETENUMVALUES`, `ONCRMTYPEADD`, ...) as a form-encoded POST with `event_handler_id`, `data[FIELDS]`, `ts` and the `auth` block ([`Emulator::application_token`]) to each bound `http://` handler, in order per handler, off the request path, 10 s timeout, no retry ([`Emulator::events_idle`], [`Emulator::events_delivered`]); offline queues per `auth_connector` keeping the latest state per object, reserve/clear/error by `process_id`, the request's own `auth_connector` kept out of its queue; `ONOFFLINEEVENT` notices |
//! | time | every successful answer has `time` with `start, finish, duration, processing, date_start, date_finish, operating_reset_at, operating` |
//!
//! ## Filters
//!
//! See the `filter` module: prefixes `>=`, `>`, `<=`, `<`, `@`, `!@`, `%`, `=%`, `%=`, `!%`,
//! `><`, `!><`, `=`, `!=`, `!`; case-insensitive text; LIKE on `crm_status`, `crm_contact` and
//! `crm_company` is `=`; `""` means empty; Y/N fields match only `"Y"` / `"N"`; boolean user
//! fields compare as integers (so `"Y"` is 0); `CONTACT_IDS` and unknown fields are ignored;
//! `{"0": {"LOGIC": "OR", ...}}` groups.
//!
//! # Limits and server time
//!
//! [`Limits`]: a leaky bucket per client IP (regular 50 / 2 per s, enterprise 250 / 5 per s,
//! custom or off) refusing with 503 `QUERY_LIMIT_EXCEEDED`; a batch is one request.
//!
//! [`CostModel`]: the server time of each call, reported in `time`, summed per caller and
//! method over ten one-minute baskets into `time.operating`; once the sum reaches
//! [`Config::operating_limit`] (480 s by default) the next call of that method is refused with
//! 429 `OPERATION_TIME_LIMIT` until old baskets expire (`operating_reset_at`). Inside a batch
//! each command costs its own time against its own method (`result_time`), the batch itself
//! nothing. Without a cost model the measured handling time is used (tiny). Requests are
//! served concurrently.
//!
//! # Faults
//!
//! [`Faults`] (text form in the [`faults`] module docs, `--faults` on the command line): shares
//! of 503, 500, HTML bodies, connections dropped before or after executing, 500 after
//! executing, added latency, per
//! method, from a seeded random generator. Counted in [`Counters`].
//!
//! # Not emulated
//!
//! Access rights (every caller is an administrator), `crm.item.productrow.*`,
//! `crm.deal.contact.*` and product rows, `crm.item.batchImport`, the 60-second request
//! timeout, nondeterministic order of offset pages without `order`; `crm.category.add/update/delete` for smart processes; lead (`STATUS`) and quote
//! (`QUOTE_STATUS`) stages are plain lists (no semantics, `STATUS_SEMANTIC_ID` not derived;
//! `CONTACT_TYPE`, `COMPANY_TYPE`, `EMPLOYEES`, `HONORIFIC` are lists too; `STATUS_ID`,
//! `TYPE_ID`, `SOURCE_ID`, `COMPANY_TYPE` default to their first item); smart-process stages only in
//! `crm.status.list` filtered by their `ENTITY_ID`; the lead/quote status semantics; e-mail
//! validation; `COMPANY_IDS` kept apart from `COMPANY_ID` on contacts; `crm.item.update`
//! deleting files not passed again; a user field label in several languages (one text per
//! label). A renamed portal's 302 is available on demand ([`Emulator::set_renamed`]).

#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`): badges naming the feature each item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attached;
mod catalog;
mod categories;
mod clock;
mod config;
mod contacts;
mod counters;
mod currency;
mod entities;
mod error;
mod events;
pub mod faults;
mod filter;
mod items;
mod lang;
mod limits;
mod methods;
mod multifields;
mod names;
mod oauth;
mod php;
mod pipelines;
mod portal;
mod product_rows;
mod reference;
mod rest;
mod schema;
mod seed;
mod seed_entities;
mod server;
mod state;
mod store;
mod system;
#[cfg(feature = "tls")]
mod tls;
mod values;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, CostModel, Limits, Work};
pub use counters::{Counters, FaultCounts};
pub use faults::{FaultRates, FaultSpecError, Faults};
pub use lang::Lang;
pub use oauth::OAuthApp;

use server::Shared;

/// Why the emulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The fields given in [`Config::fields`] are not a snapshot or a `crm.deal.fields` answer.
    #[error("cannot use these deal fields: {0}")]
    Fields(String),
    /// The fault configuration is invalid.
    #[error(transparent)]
    Faults(#[from] FaultSpecError),
    /// Another setting of [`Config`] is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The port could not be bound.
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source} (choose another --port, or 0 for any free port)"
    )]
    Bind {
        /// The requested port.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A running emulated portal on 127.0.0.1. Dropping it stops accepting connections.
pub struct Emulator {
    shared: Arc<Shared>,
    /// The certificate authority clients must trust for HTTPS, PEM.
    ca_pem: Option<String>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url())
            .field("deals", &self.deal_count())
            .finish_non_exhaustive()
    }
}

/// Makes the changes of a state journal again, in order, each at its own time, without
/// counting them or applying limits (they were counted when first made).
/// `created` is when the portal was first built (its first token pair was issued then).
fn replay(shared: &Shared, changes: Vec<state::Change>, created: i64) {
    let total = changes.len();
    let mut failed = 0usize;
    let now = clock::now();
    let age = |t: i64| std::time::Duration::from_secs(now.saturating_sub(t).max(0) as u64);
    shared
        .oauth
        .lock()
        .expect("oauth lock")
        .age_current(age(created));
    // Events fired again feed the offline queues; online handlers got them the first time.
    shared.events.set_replaying(true);
    for change in changes {
        match change {
            state::Change::Call {
                t,
                method,
                params,
                user,
                app,
                connector,
            } => {
                let caller = portal::Caller { user_id: user, app };
                let result = clock::at(t, || {
                    server::replay_call(shared, &method, &params, caller, connector)
                });
                if let Err(e) = result {
                    failed += 1;
                    tracing::warn!(%method, error = %e.description, "a change of the state file failed when made again");
                }
            }
            state::Change::Refresh { t } => {
                let mut oauth = shared.oauth.lock().expect("oauth lock");
                oauth.rotate();
                oauth.age_current(age(t));
            }
        }
    }
    shared.events.set_replaying(false);
    if total > 0 {
        tracing::info!(changes = total, failed, "state file replayed");
    }
}

impl Emulator {
    /// Builds the portal (fields, seed deals), binds 127.0.0.1 and returns once it accepts
    /// connections. Must run inside a tokio runtime.
    pub async fn start(config: Config) -> Result<Emulator, StartError> {
        config.faults.validate()?;
        if !(config.time_scale.is_finite() && config.time_scale > 0.0) {
            return Err(StartError::Config(format!(
                "time_scale must be a positive number (0.01 runs limits and costs 100x faster), not {}",
                config.time_scale
            )));
        }
        if config.webhook_code.is_empty()
            || !config
                .webhook_code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
        {
            return Err(StartError::Config(
                "webhook_code must be non-empty Latin letters and digits (it is a URL path segment)"
                    .into(),
            ));
        }
        let fields = match &config.fields {
            Some(v) => v.clone(),
            None => serde_json::from_str(schema::DEMO_SNAPSHOT)
                .map_err(|e| StartError::Fields(e.to_string()))?,
        };
        let mut layout = schema::Layout::from_value(&fields).map_err(StartError::Fields)?;
        config.lang.localize(&mut layout);
        // A state file: its changes are made again below, over seed data made at the time the
        // portal was first built.
        let (journal, changes, created) = match &config.state {
            Some(path) => {
                let (journal, changes, created) =
                    state::open(path, &config).map_err(StartError::Config)?;
                (Some(journal), changes, Some(created))
            }
            None => (None, Vec::new(), None),
        };
        let mut portal = portal::Portal::new(layout, config.utc_offset);
        let mut definitions: std::collections::BTreeMap<u32, serde_json::Value> =
            std::collections::BTreeMap::new();
        for (type_id, text) in entities::DEMO_ENTITIES {
            let snapshot =
                serde_json::from_str(text).map_err(|e| StartError::Fields(e.to_string()))?;
            definitions.insert(*type_id, snapshot);
        }
        for (type_id, fields) in &config.entity_fields {
            if !matches!(*type_id, 1 | 3 | 4 | 7 | 31) && *type_id < 128 {
                return Err(StartError::Config(format!(
                    "entity type {type_id} cannot get its own fields (deals: Config::with_fields; other types: 1, 3, 4, 7, 31, 128 and up)"
                )));
            }
            definitions.insert(*type_id, fields.clone());
        }
        for (type_id, snapshot) in &definitions {
            let layout = schema::Layout::from_value(snapshot)
                .map_err(|e| StartError::Fields(format!("entity type {type_id}: {e}")))?;
            portal.install(
                entities::Entity::of_snapshot(*type_id, snapshot, config.lang),
                layout,
            );
        }
        if !config.entity_fields.contains_key(&pipelines::DEMO_PROJECTS) {
            pipelines::seed_demo(&mut portal, config.lang);
        }
        portal.slashes = config.escape_slashes;
        portal.lang = config.lang;
        let seed_deals = |portal: &mut portal::Portal| {
            seed::seed(
                portal,
                config.deals,
                config.seed,
                config.webhook_user_id as i64,
            )
        };
        match created {
            Some(t) => clock::at(t, || seed_deals(&mut portal)),
            None => seed_deals(&mut portal),
        }
        for type_id in config.records.keys() {
            if !portal.tables.contains_key(type_id) || *type_id == entities::DEAL {
                return Err(StartError::Config(format!(
                    "cannot seed entity type {type_id}: the portal has {} (deals: Config::deals)",
                    portal
                        .tables
                        .keys()
                        .filter(|&&t| t != entities::DEAL)
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let seed_records = |portal: &mut portal::Portal| {
            seed_entities::seed(
                portal,
                &config.records,
                config.seed,
                config.webhook_user_id as i64,
            )
        };
        match created {
            Some(t) => clock::at(t, || seed_records(&mut portal)),
            None => seed_records(&mut portal),
        }
        .map_err(|e| StartError::Config(format!("seeding failed: {}", e.description)))?;
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| StartError::Bind {
                port: config.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            port: config.port,
            source,
        })?;
        let (acceptor, ca_pem) = tls_acceptor(&config)?;
        let mut shared = Shared::new(&config, portal, addr);
        if let Some(created) = created {
            replay(&shared, changes, created);
        }
        shared.journal = journal;
        let shared = Arc::new(shared);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            Serving {
                shared: shared.clone(),
                header_timeout: config.header_timeout,
                acceptor,
            },
            stopped,
        ));
        Ok(Emulator {
            shared,
            ca_pem,
            stop,
            task: Some(task),
        })
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    /// The incoming webhook: `http://127.0.0.1:PORT/rest/1/<code>/` (with the trailing slash).
    pub fn webhook_url(&self) -> String {
        format!(
            "{}/rest/{}/{}/",
            self.base_url(),
            self.shared.webhook_user_id,
            self.shared.webhook_code
        )
    }

    /// `https://HOST:PORT` when HTTPS is served ([`Config::tls`]): the same portal as
    /// [`base_url`](Self::base_url), over TLS with a certificate signed by [`ca_pem`](Self::ca_pem).
    pub fn https_base_url(&self) -> Option<String> {
        self.shared.https_base_url()
    }

    /// The incoming webhook over HTTPS, when HTTPS is served.
    pub fn https_webhook_url(&self) -> Option<String> {
        let base = self.https_base_url()?;
        Some(format!(
            "{base}/rest/{}/{}/",
            self.shared.webhook_user_id, self.shared.webhook_code
        ))
    }

    /// The certificate authority (PEM) that signed the HTTPS certificate, when HTTPS is served:
    /// what clients must trust (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`, ...).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The OAuth application with its CURRENT token pair (after refreshes, the newest); its
    /// endpoints are the HTTPS ones when HTTPS is served.
    pub fn oauth(&self) -> OAuthApp {
        let o = self.shared.oauth.lock().expect("oauth lock");
        let base = self.shared.public_base_url();
        let endpoint = format!("{base}/rest/");
        let domain = base
            .split_once("://")
            .map_or(base.as_str(), |(_, d)| d)
            .to_owned();
        OAuthApp {
            client_id: o.client_id.clone(),
            client_secret: o.client_secret.clone(),
            access_token: o.access_token.clone(),
            refresh_token: o.refresh_token.clone(),
            client_endpoint: endpoint.clone(),
            server_endpoint: endpoint,
            domain,
            member_id: o.member_id.clone(),
        }
    }

    /// The OAuth application's application token: sent in `auth[application_token]` of
    /// every event delivered to its handlers, constant for the portal's life (derived from
    /// [`Config::seed`]). Event receivers verify it.
    pub fn application_token(&self) -> String {
        self.shared.events.application_token().to_owned()
    }

    /// Resolves once every online event delivery queued so far has finished (answered,
    /// failed or timed out after 10 s). Deliveries are queued before the write's answer is
    /// sent, so after `write().await; emu.events_idle().await` the handlers got the events.
    pub async fn events_idle(&self) {
        self.shared.events.tracker().idle().await;
    }

    /// Online event deliveries attempted so far (one per event and bound handler; failed
    /// and timed-out ones included, none retried).
    pub fn events_delivered(&self) -> u64 {
        self.shared.events.tracker().attempted()
    }

    /// Online event deliveries a handler answered with a 2xx status.
    pub fn events_accepted(&self) -> u64 {
        self.shared.events.tracker().succeeded()
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }

    /// Sets every counter to zero.
    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// Every access token issued so far now answers 401 `expired_token`.
    pub fn expire_access_tokens(&self) {
        self.shared.oauth.lock().expect("oauth lock").expire_all();
    }

    /// Changes fault injection for the next requests.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().expect("faults lock") = faults;
    }

    /// Changes the rate limit; buckets start empty.
    pub fn set_limits(&self, limits: Limits) {
        self.shared.limiter.set(limits);
    }

    /// Changes the server-time model.
    pub fn set_cost_model(&self, model: Option<CostModel>) {
        *self.shared.cost_model.lock().expect("cost model lock") = model;
    }

    /// Changes the operating limit per method and 10 minutes.
    pub fn set_operating_limit(&self, limit: Duration) {
        self.shared.operating.set_limit(limit);
    }

    /// Forgets the operating time spent so far (as if 10 minutes had passed).
    pub fn reset_operating(&self) {
        self.shared.operating.reset();
    }

    /// Simulates a renamed portal: every REST request answers 302 with `Location` on
    /// `new_base` (e.g. another emulator's [`base_url`](Self::base_url)) plus the same path and
    /// query. `None` serves normally again.
    pub fn set_renamed(&self, new_base: Option<String>) {
        *self.shared.renamed_to.lock().expect("rename lock") = new_base;
    }

    /// Number of deals stored.
    pub fn deal_count(&self) -> usize {
        self.shared
            .portal
            .read()
            .expect("portal lock")
            .deals()
            .store
            .rows
            .len()
    }

    /// One deal as `crm.deal.get` shows it, without going through HTTP (for assertions).
    pub fn deal(&self, id: u64) -> Option<serde_json::Value> {
        let id = u32::try_from(id).ok()?;
        self.shared
            .portal
            .read()
            .expect("portal lock")
            .get(entities::DEAL, id)
            .ok()
    }

    /// Number of records of an entity type (`entityTypeId`: 1 leads, 2 deals, 3 contacts, 4
    /// companies, 7 quotes, 31 smart invoices, smart processes); 0 for a type the portal does
    /// not have.
    pub fn record_count(&self, entity_type_id: u32) -> usize {
        let p = self.shared.portal.read().expect("portal lock");
        p.table(entity_type_id).map_or(0, |t| t.store.rows.len())
    }

    /// One record in its legacy form (as `crm.lead.get` shows it; smart-process items under
    /// their upper names), without going through HTTP (for assertions).
    pub fn record(&self, entity_type_id: u32, id: u64) -> Option<serde_json::Value> {
        let id = u32::try_from(id).ok()?;
        let p = self.shared.portal.read().expect("portal lock");
        p.get(entity_type_id, id).ok()
    }

    /// The current `crm.deal.fields` result.
    pub fn fields(&self) -> serde_json::Value {
        self.shared
            .portal
            .read()
            .expect("portal lock")
            .deals()
            .layout
            .fields_json()
    }

    /// Approximate heap bytes used by the stored deals (rows and interned strings).
    pub fn approx_memory_bytes(&self) -> usize {
        let p = self.shared.portal.read().expect("portal lock");
        p.tables
            .values()
            .map(|t| {
                let rows: usize = t.store.rows.values().map(|r| r.heap_bytes() + 48).sum();
                rows + t.store.strings.len() * 64
            })
            .sum()
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the server.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// What every connection needs.
#[derive(Clone)]
struct Serving {
    shared: Arc<Shared>,
    header_timeout: Duration,
    /// Set when HTTPS is served besides HTTP.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    acceptor: Option<Acceptor>,
}

#[cfg(feature = "tls")]
type Acceptor = tokio_rustls::TlsAcceptor;
#[cfg(not(feature = "tls"))]
type Acceptor = std::convert::Infallible;

/// The TLS acceptor and the CA's PEM, when [`Config::tls`] asks for HTTPS.
fn tls_acceptor(config: &Config) -> Result<(Option<Acceptor>, Option<String>), StartError> {
    if !config.tls {
        return Ok((None, None));
    }
    #[cfg(feature = "tls")]
    {
        let certs = tls::make(&config.hosts).map_err(StartError::Config)?;
        Ok((Some(certs.acceptor), Some(certs.ca_pem)))
    }
    #[cfg(not(feature = "tls"))]
    Err(StartError::Config(
        "HTTPS needs the emulator's `tls` feature (on by default; build bitrix-emulator with `--features tls`)"
            .into(),
    ))
}

async fn accept_loop(listener: TcpListener, serving: Serving, mut stopped: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                connections.spawn(connection(serving.clone(), stream, peer, stopped.clone()));
                // Reap finished connection tasks so the set does not grow without bound.
                while connections.try_join_next().is_some() {}
            }
            _ = wait_stop(&mut stopped) => break,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One connection: HTTP, or HTTPS when it opens with a TLS handshake and HTTPS is served.
async fn connection(
    serving: Serving,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    #[cfg(feature = "tls")]
    if let Some(acceptor) = serving.acceptor.clone() {
        let mut first = [0u8; 1];
        // A client that connects and sends nothing is bounded by the header timeout too.
        let peeked = tokio::time::timeout(serving.header_timeout, stream.peek(&mut first)).await;
        if !matches!(peeked, Ok(Ok(1))) {
            return;
        }
        if first[0] == tls::HANDSHAKE {
            let accepted = tokio::time::timeout(serving.header_timeout, acceptor.accept(stream));
            if let Ok(Ok(tls_stream)) = accepted.await {
                serve(&serving, TokioIo::new(tls_stream), peer, stop).await;
            }
            return;
        }
    }
    serve(&serving, TokioIo::new(stream), peer, stop).await;
}

async fn serve<I>(serving: &Serving, io: I, peer: SocketAddr, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let shared = serving.shared.clone();
    let service = service_fn(move |req| server::handle(shared.clone(), peer, req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(serving.header_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = wait_stop(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

async fn wait_stop(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    async fn post(url: &str, method: &str, body: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{url}{method}"))
            .json(&body)
            .send()
            .await
            .expect("the emulator answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    #[tokio::test]
    async fn server_time_grows_by_the_modeled_cost() {
        // Modeled but not waited (time_scale 0): the counter must follow the model exactly.
        let model = CostModel::documented().scaled(0.0);
        let emu = Emulator::start(Config::default().with_deals(120).with_cost_model(model))
            .await
            .expect("the emulator starts");
        let url = emu.webhook_url();
        assert_eq!(emu.counters().server_time, Duration::ZERO);

        // A counted page at offset 50: base + 50 returned + 120 counted + 50 skipped.
        let page = post(&url, "crm.deal.list", json!({"start": 50})).await;
        assert_eq!(page["result"].as_array().map(Vec::len), Some(50));
        let counted = model.base
            + model.per_returned_row * 50
            + model.per_counted_row * 120
            + model.per_skipped_row * 50;
        let after_list = emu.counters();
        assert_eq!(after_list.server_time, counted);
        assert_eq!(after_list.method_server_time("crm.deal.list"), counted);

        // A batch: each command costs its own time, the batch itself nothing.
        let batch = post(
            &url,
            "batch",
            json!({"cmd": {
                "a": "crm.deal.list?start=-1&filter[>ID]=100",
                "b": "crm.deal.add?fields[TITLE]=x&fields[UF_CRM_1721244590123]=3476",
            }}),
        )
        .await;
        assert!(
            batch["result"]["result_error"]
                .as_array()
                .is_some_and(Vec::is_empty),
            "{batch}"
        );
        let fast_page = model.base + model.per_returned_row * 20;
        let add = model.base + model.write;
        let c = emu.counters();
        assert_eq!(c.server_time, counted + fast_page + add);
        assert_eq!(c.method_server_time("crm.deal.list"), counted + fast_page);
        assert_eq!(c.method_server_time("crm.deal.add"), add);
        assert_eq!(c.method_server_time("batch"), Duration::ZERO);

        emu.reset_counters();
        assert_eq!(emu.counters().server_time, Duration::ZERO);
        assert!(emu.counters().server_time_per_method.is_empty());
        emu.shutdown().await;
    }
}

//! Typed `batch` calls: many commands in one HTTP request.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::Route;
use crate::calls::{AddParams, UpdateParams, is_read_method};
use crate::engine::{BatchExec, Engine, RawCommand};
use crate::entity::{Api, CreatePayload, Entity, UpdatePayload};
use crate::error::{Error, json_decode_error};
use crate::guard::GuardCheck;
use crate::list::{ListQuery, Page, Progress};
use crate::php;
use crate::projection::{Keyed, Projection};
use crate::transport::{BATCH_SIZE, PhpMap, Rows, u64_of};

/// The raw result of one command.
#[derive(Debug, Clone)]
pub struct CommandResult {
    /// `result[key]`.
    pub result: Value,
    /// `result_total[key]` of a list command.
    pub total: Option<u64>,
    /// `result_next[key]` of a list command.
    pub next: Option<u64>,
}

/// Decodes one command's result as its route reads it; the last argument removes secrets from
/// server text (a portal may echo the request, webhook code or token included, into a
/// mistyped field).
type Decoder<T> = fn(&str, &Route, &CommandResult, &dyn Fn(&str) -> String) -> Result<T, Error>;

/// A typed reference to one command's result in [`BatchResults`].
pub struct Handle<T> {
    index: usize,
    decode: Decoder<T>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}

impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({})", self.index)
    }
}

struct Command {
    method: String,
    /// The entity's route (the default for untyped calls, which decode nothing).
    route: Route,
    /// `None`: answered locally without sending (an empty patch).
    query: Option<String>,
    idempotent: bool,
    /// A delete: "Not found" after an earlier attempt of the batch whose outcome is unknown
    /// means that attempt deleted the record.
    not_found_is_done: bool,
    /// An update that sets a stage: its record's pipeline is checked before sending.
    guard: Option<GuardCheck>,
}

/// A typed batch builder (`client.batch()`): many commands in one HTTP request.
///
/// ```no_run
/// # use bitrix_runtime::{Client, Entity, CreatePayload};
/// # async fn demo<D: Entity>(client: Client, new: D::New, id: D::Id) -> Result<(), bitrix_runtime::Error> {
/// let mut batch = client.batch();
/// let created = batch.add(&new);         // Handle<D::Id>
/// let existing = batch.get::<D>(id);     // Handle<D>
/// let results = batch.halt(true).send().await?;
/// let new_id = results.get(created)?;
/// let record = results.get(existing)?;
/// # let _ = (new_id, record); Ok(()) }
/// ```
///
/// - Typed commands go to each entity's API (`crm.deal.*` or `crm.item.*`, see
///   [`Api`](crate::Api) and [`Client::with_api`](crate::Client::with_api)) and their results
///   are read in that API's envelopes.
/// - At most 50 commands go in one request; a longer batch is sent in chunks of 50, one after
///   another (commands cannot refer to results of another chunk; the typed builder has no
///   references at all).
/// - A batch costs one request of the rate limit; each command's execution time counts
///   against its own method's operating limit (`result_time`).
/// - Each command has its own result or error ([`BatchResults::get`]). With `halt`, the
///   portal stops at the first failing command, and the later ones report
///   [`Error::NotExecuted`] (later chunks are not sent).
/// - Every command reports its own outcome, also when a request fails: when a chunk's request
///   fails (for example [`Error::OutcomeUnknown`] after a dropped connection), the earlier
///   chunks have already run and their results stay available, the failed chunk's commands
///   report that request's error, and the chunks after it are not sent
///   ([`Error::NotExecuted`]). So a caller never loses track of records that were created.
///   [`Batch::send`] itself fails only for a batch that cannot be sent at all (before
///   anything is sent).
/// - **Clearing a field is not possible inside a batch**: commands travel as PHP query strings,
///   which cannot express `null` or an empty list. A payload that needs them (a cleared
///   multiple field, an empty list) makes [`Batch::send`] fail with
///   [`Error::InvalidRequest`] before anything is sent; send such updates with
///   [`Client::update`](crate::Client::update). (Clearing a single-value field sends `""`, which a query string can
///   carry.)
/// - **Values are sent exactly as given, or not at all**: the portal replaces batch references
///   (`$result[key][field]`) inside every command value and has no escape for them, so a value
///   containing one (a comment `"Price $result[c0] end"`) makes [`Batch::send`] fail with
///   [`Error::InvalidRequest`] before anything is sent; send such a call directly.
/// - A batch is retried after failures whose outcome is unknown only when every command is a
///   read (or was marked idempotent, or [`Batch::idempotent`] says so).
/// - **Stages are checked first**: when updates set a stage
///   ([`UpdatePayload::stage_guard`](crate::UpdatePayload::stage_guard)), [`Batch::send`]
///   first reads those records' pipelines in one read batch and fails with
///   [`Error::WrongPipeline`], sending nothing else, when a stage belongs to another pipeline
///   than its record's (the portal would silently ignore it).
pub struct Batch {
    engine: Arc<Engine>,
    /// The client's API override.
    api: Option<Api>,
    commands: Vec<Command>,
    halt: bool,
    idempotent: Option<bool>,
    invalid: Option<Error>,
    /// Called after every request of [`send`](Batch::send).
    progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("commands", &self.commands.len())
            .field("halt", &self.halt)
            .finish_non_exhaustive()
    }
}

fn decode_entity<P: Projection>(
    method: &str,
    route: &Route,
    r: &CommandResult,
    redact: &dyn Fn(&str) -> String,
) -> Result<P, Error> {
    Keyed::<P>::deserialize(route.record(&r.result))
        .map(|k| k.row)
        .map_err(|e| json_decode_error(method, e, redact))
}

fn decode_page<P: Projection>(
    method: &str,
    _: &Route,
    r: &CommandResult,
    redact: &dyn Fn(&str) -> String,
) -> Result<Page<P>, Error> {
    let Rows(items) = Rows::<Keyed<P>>::deserialize(&r.result)
        .map_err(|e| json_decode_error(method, e, redact))?;
    Ok(Page {
        items: items.into_iter().map(|k| k.row).collect(),
        total: r.total,
        next: r.next,
    })
}

pub(crate) fn decode_updated(
    method: &str,
    route: &Route,
    r: &CommandResult,
    _: &dyn Fn(&str) -> String,
) -> Result<(), Error> {
    route.confirm_update(method, &r.result)
}

fn decode_deleted(
    method: &str,
    route: &Route,
    r: &CommandResult,
    _: &dyn Fn(&str) -> String,
) -> Result<(), Error> {
    route.confirm_delete(method, &r.result)
}

fn decode_id<E: Entity>(
    method: &str,
    route: &Route,
    r: &CommandResult,
    _: &dyn Fn(&str) -> String,
) -> Result<E::Id, Error> {
    route.new_id(method, &r.result).map(Into::into)
}

fn decode_value(
    _: &str,
    _: &Route,
    r: &CommandResult,
    _: &dyn Fn(&str) -> String,
) -> Result<Value, Error> {
    Ok(r.result.clone())
}

use serde::Deserialize as _;

impl Batch {
    pub(crate) fn new(engine: Arc<Engine>, api: Option<Api>) -> Self {
        Batch {
            engine,
            api,
            commands: Vec::new(),
            halt: false,
            idempotent: None,
            invalid: None,
            progress: None,
        }
    }

    /// Calls `f` after every request [`send`](Batch::send) makes (one per chunk of 50
    /// commands), with [`Progress::rows`] counting the commands sent so far and
    /// [`Progress::total`] all of them, so a long bulk write can show a rate and the time left.
    ///
    /// ```no_run
    /// # async fn bulk(client: bitrix_runtime::Client) {
    /// let batch = client.batch().on_progress(|p| {
    ///     eprintln!("{} of {:?} commands, {:?} left", p.rows, p.total, p.eta());
    /// });
    /// # }
    /// ```
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Stop at the first failing command (`halt=1`).
    pub fn halt(mut self, halt: bool) -> Self {
        self.halt = halt;
        self
    }

    /// Overrides whether the whole batch may be repeated after a failure whose outcome is
    /// unknown (by default: only when every command is a read or was marked idempotent).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// The number of commands.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether no command was added.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    pub(crate) fn push<T>(
        &mut self,
        route: Route,
        method: String,
        params: Result<Option<Map<String, Value>>, Error>,
        idempotent: bool,
        decode: Decoder<T>,
    ) -> Handle<T> {
        let index = self.commands.len();
        let query = match params {
            Ok(Some(p)) => match php::build_query(&p) {
                Ok(q) => Some(q),
                Err(e) => {
                    if self.invalid.is_none() {
                        self.invalid = Some(Error::InvalidRequest {
                            method: method.clone(),
                            message: format!(
                                "command {index} sets {} to {}, which a batch command cannot express (commands are query strings: no null, no empty list, and the portal replaces $result[...] references in them); send this call directly, for example client.update(..), or leave the value out",
                                e.path, e.what
                            ),
                            source: None,
                        });
                    }
                    Some(String::new())
                }
            },
            Ok(None) => None,
            Err(e) => {
                if self.invalid.is_none() {
                    self.invalid = Some(e);
                }
                Some(String::new())
            }
        };
        self.commands.push(Command {
            method,
            route,
            query,
            idempotent,
            not_found_is_done: false,
            guard: None,
        });
        Handle {
            index,
            decode,
            _t: PhantomData,
        }
    }

    /// Adds a create command; its result is the new id.
    pub fn add<N: CreatePayload>(&mut self, new: &N) -> Handle<<N::Entity as Entity>::Id> {
        self.add_with(new, AddParams::default())
    }

    /// Adds a create command with [`AddParams`].
    pub fn add_with<N: CreatePayload>(
        &mut self,
        new: &N,
        params: AddParams,
    ) -> Handle<<N::Entity as Entity>::Id> {
        let route = Route::of::<N::Entity>(self.api);
        let method = route.method("add");
        let body = route.add_body(&method, new, params).map(Some);
        self.push(
            route,
            method,
            body,
            params.idempotent,
            decode_id::<N::Entity>,
        )
    }

    /// Adds a read of one record: a whole entity (`batch.get::<Deal>(id)`) or a
    /// [`Projection`] of it (only its fields are decoded).
    pub fn get<P: Projection>(&mut self, id: <P::Entity as Entity>::Id) -> Handle<P> {
        let route = Route::of::<P::Entity>(self.api);
        let method = route.method("get");
        let body = route
            .check(&method)
            .map(|()| Some(route.id_body(Some(id.into()))));
        self.push(route, method, body, true, decode_entity::<P>)
    }

    /// Adds an update command (a patch that touches nothing is answered without sending).
    pub fn update<P: UpdatePayload>(
        &mut self,
        id: <P::Entity as Entity>::Id,
        patch: &P,
    ) -> Handle<()> {
        self.update_with(id, patch, UpdateParams::default())
    }

    /// Adds an update command with [`UpdateParams`].
    pub fn update_with<P: UpdatePayload>(
        &mut self,
        id: <P::Entity as Entity>::Id,
        patch: &P,
        params: UpdateParams,
    ) -> Handle<()> {
        let route = Route::of::<P::Entity>(self.api);
        let method = route.method("update");
        let body = if patch.is_empty() {
            Ok(None)
        } else {
            route
                .update_body(&method, id.into(), patch, params)
                .map(Some)
        };
        let guard = patch
            .stage_guard()
            .filter(|_| !patch.is_empty())
            .map(|g| GuardCheck::new::<P::Entity>(route, id.into(), g));
        let handle = self.push(route, method, body, params.idempotent, decode_updated);
        if let Some(c) = self.commands.last_mut() {
            c.guard = guard;
        }
        handle
    }

    /// Adds a delete command. Like [`Client::delete`](crate::Client::delete): when the
    /// batch was repeated after a lost answer and the repeat finds the record gone ("Not
    /// found"), the first attempt deleted it, and the command reports success.
    pub fn delete<E: Entity>(&mut self, id: E::Id) -> Handle<()> {
        let route = Route::of::<E>(self.api);
        let method = route.method("delete");
        let body = route
            .check(&method)
            .map(|()| Some(route.id_body(Some(id.into()))));
        let handle = self.push(route, method, body, true, decode_deleted);
        if let Some(c) = self.commands.last_mut() {
            c.not_found_is_done = true;
        }
        handle
    }

    /// Adds the first page (`start=0`) of a list query.
    pub fn list<P: Projection>(&mut self, query: &ListQuery<P>) -> Handle<Page<P>> {
        let route = query.route();
        let method = route.method("list");
        if let Err(e) = route.check(&method) {
            return self.push(route, method, Err(e), true, decode_page::<P>);
        }
        match query.page_params(0) {
            Some(p) => self.push(route, method, Ok(Some(p)), true, decode_page::<P>),
            None => {
                // An empty `one_of` matches nothing: answer locally.
                self.push(route, method, Ok(None), true, decode_page::<P>)
            }
        }
    }

    /// Adds any command with JSON parameters; its result is the raw `result`.
    pub fn call(&mut self, method: &str, params: impl Serialize) -> Handle<Value> {
        let body = match serde_json::to_value(params) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(Value::Null) => Ok(Some(Map::new())),
            Ok(_) | Err(_) => Err(Error::InvalidRequest {
                method: method.to_owned(),
                message: "batch command parameters must be a JSON object".into(),
                source: None,
            }),
        };
        let body = if method
            .trim_end_matches(".json")
            .eq_ignore_ascii_case("batch")
        {
            Err(Error::InvalidRequest {
                method: method.to_owned(),
                message: "a batch cannot contain another batch (ERROR_BATCH_METHOD_NOT_ALLOWED)"
                    .into(),
                source: None,
            })
        } else {
            body
        };
        let idempotent = is_read_method(method);
        self.push(
            Route::default(),
            method.to_owned(),
            body,
            idempotent,
            decode_value,
        )
    }

    /// Sends the commands (in chunks of 50) and returns each one's outcome.
    ///
    /// Fails only when the batch cannot be sent at all (an inexpressible value), before
    /// anything is sent; a failed request is reported per command (see [`Batch`]).
    pub async fn send(self) -> Result<BatchResults, Error> {
        if let Some(e) = self.invalid {
            return Err(e);
        }
        let guards = self
            .commands
            .iter()
            .filter_map(|c| c.guard.clone())
            .collect();
        check_stages(&self.engine, guards).await?;
        let idempotent = self
            .idempotent
            .unwrap_or_else(|| self.commands.iter().all(|c| c.idempotent));
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(self.commands.len());
        let mut halted = false;
        let mut index = 0;
        let started = std::time::Instant::now();
        let mut requests = 0;
        while index < self.commands.len() {
            // A chunk: the next up to 50 commands that go over the wire.
            let mut chunk: Vec<(usize, RawCommand)> = Vec::new();
            let mut local: Vec<usize> = Vec::new();
            while index < self.commands.len() && chunk.len() < BATCH_SIZE {
                let c = &self.commands[index];
                match &c.query {
                    Some(query) => chunk.push((
                        index,
                        RawCommand {
                            key: format!("c{index}"),
                            method: c.method.clone(),
                            query: query.clone(),
                        },
                    )),
                    None => local.push(index),
                }
                index += 1;
            }
            let start = outcomes.len();
            outcomes.resize_with(index, || Outcome::NotRun);
            for i in local {
                outcomes[i] = Outcome::Ok(CommandResult {
                    result: Value::Bool(true),
                    total: Some(0),
                    next: None,
                });
                if let Some(c) = self.commands.get(i) {
                    if c.method.ends_with(".list") {
                        outcomes[i] = Outcome::Ok(CommandResult {
                            result: Value::Array(Vec::new()),
                            total: Some(0),
                            next: None,
                        });
                    }
                }
            }
            if chunk.is_empty() {
                continue;
            }
            if halted {
                for (i, _) in &chunk {
                    outcomes[*i] = Outcome::NotRun;
                }
                continue;
            }
            let raw: Vec<RawCommand> = chunk
                .iter()
                .map(|(_, c)| RawCommand {
                    key: c.key.clone(),
                    method: c.method.clone(),
                    query: c.query.clone(),
                })
                .collect();
            let exec = BatchExec {
                halt: self.halt,
                idempotent,
                persistent: false,
                refusals: None,
            };
            let sent = self.engine.run_batch::<PhpMap<Value>>(&raw, exec).await;
            requests += 1;
            if let Some(report) = &self.progress {
                report(Progress {
                    rows: index as u64,
                    total: Some(self.commands.len() as u64),
                    requests,
                    elapsed: started.elapsed(),
                });
            }
            let (mut batch, maybe_executed) = match sent {
                Ok(ran) => ran,
                Err(e) => {
                    // Earlier chunks ran: keep their outcomes, so the caller knows what was
                    // created; this chunk shares its request's error, later ones are not sent.
                    for (i, _) in &chunk {
                        outcomes[*i] = Outcome::Err(e.clone());
                    }
                    halted = true;
                    continue;
                }
            };
            let any_error = !batch.result_error.0.is_empty();
            for (i, c) in &chunk {
                let outcome = if let Some(e) = batch.result_error.0.get(&c.key) {
                    let e = self.engine.command_error(&c.method, e);
                    if e.is_not_found() && maybe_executed && self.commands[*i].not_found_is_done {
                        tracing::info!(method = %c.method, "a repeated batch found the record gone: the earlier attempt deleted it");
                        Outcome::Ok(CommandResult {
                            result: Value::Bool(true),
                            total: None,
                            next: None,
                        })
                    } else {
                        Outcome::Err(e)
                    }
                } else if let Some(result) = batch.result.0.remove(&c.key) {
                    Outcome::Ok(CommandResult {
                        result,
                        total: batch.result_total.0.get(&c.key).and_then(u64_of),
                        next: batch.result_next.0.get(&c.key).and_then(u64_of),
                    })
                } else if self.halt && any_error {
                    Outcome::NotRun
                } else {
                    Outcome::Ok(CommandResult {
                        result: Value::Null,
                        total: None,
                        next: None,
                    })
                };
                outcomes[*i] = outcome;
            }
            debug_assert!(outcomes.len() >= start);
            if self.halt && any_error {
                halted = true;
            }
        }
        let methods = self
            .commands
            .into_iter()
            .map(|c| (c.method, c.route))
            .collect();
        Ok(BatchResults {
            outcomes,
            methods,
            engine: self.engine,
        })
    }
}

enum Outcome {
    Ok(CommandResult),
    Err(Error),
    NotRun,
}

/// The outcome of every command of a sent [`Batch`].
pub struct BatchResults {
    outcomes: Vec<Outcome>,
    /// Each command's method and route.
    methods: Vec<(String, Route)>,
    /// Redacts decode errors (they quote server text).
    engine: Arc<Engine>,
}

impl fmt::Debug for BatchResults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ok = self
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Ok(_)))
            .count();
        f.debug_struct("BatchResults")
            .field("commands", &self.outcomes.len())
            .field("succeeded", &ok)
            .finish()
    }
}

impl BatchResults {
    /// The typed result of one command, or its error.
    pub fn get<T>(&self, handle: Handle<T>) -> Result<T, Error> {
        let (method, route) = match self.methods.get(handle.index) {
            Some((method, route)) => (method.as_str(), *route),
            None => ("batch", Route::default()),
        };
        match self.outcomes.get(handle.index) {
            Some(Outcome::Ok(r)) => {
                let redact = |t: &str| self.engine.redact(t);
                (handle.decode)(method, &route, r, &redact).map_err(|e| e.redacted(&redact))
            }
            Some(Outcome::Err(e)) => Err(e.clone()),
            Some(Outcome::NotRun) => Err(Error::NotExecuted {
                method: method.to_owned(),
            }),
            None => Err(Error::InvalidRequest {
                method: method.to_owned(),
                message: "this handle belongs to another batch".into(),
                source: None,
            }),
        }
    }

    /// The raw result of one command (`result`, `result_total`, `result_next`).
    pub fn raw<T>(&self, handle: Handle<T>) -> Option<&CommandResult> {
        match self.outcomes.get(handle.index) {
            Some(Outcome::Ok(r)) => Some(r),
            _ => None,
        }
    }

    /// The number of commands.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether the batch had no commands.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// How many commands failed or were not executed.
    pub fn failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| !matches!(o, Outcome::Ok(_)))
            .count()
    }
}

/// The guards of a batch's updates, checked with one read batch before anything is sent.
pub(crate) async fn check_stages(
    engine: &Arc<Engine>,
    checks: Vec<GuardCheck>,
) -> Result<(), Error> {
    if checks.is_empty() {
        return Ok(());
    }
    let mut reads = Batch::new(engine.clone(), None);
    let handles: Vec<_> = checks
        .iter()
        .map(|c| {
            let (method, body) = c.read();
            (method.clone(), reads.call(&method, body))
        })
        .collect();
    let results = Box::pin(reads.send()).await?;
    for (check, (method, handle)) in checks.iter().zip(handles) {
        check.check(&method, &results.get(handle)?)?;
    }
    Ok(())
}

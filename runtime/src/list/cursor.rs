//! Where an export stands between two fetches, and what a fetch brings.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::Value;

use super::plan::ExportPlan;
use crate::error::Error;
use crate::retry;
use crate::transport::PhpMap;

/// Where the next fetch starts.
pub(crate) enum Position {
    /// Nothing fetched yet.
    First,
    /// Fast method: the last id seen, the first id of the export, the rows seen, and the far
    /// end of the id range (when the probe found it).
    After {
        last: u64,
        origin: u64,
        seen: u64,
        far: Option<u64>,
    },
    /// Offset pages: the next `start`, and the total when known.
    Offset { next: u64, total: Option<u64> },
}

pub(crate) struct Cursor<E> {
    pub plan: Arc<ExportPlan>,
    pub position: Position,
    /// Consecutive fetches that made no progress (refused commands).
    pub stalls: u32,
    pub done: bool,
    /// Offset pages: the ids of the previous fetch, to detect pages the portal repeats.
    pub recent_ids: HashSet<u64>,
    pub _entity: PhantomData<fn() -> E>,
}

pub(crate) struct Fetched<E> {
    /// The rows in order, in the pages they were decoded into (kept as they are: a row is a
    /// large struct, and moving every row into one buffer showed in profiles).
    pub rows: Vec<Vec<E>>,
    pub error: Option<Error>,
}

/// Rows in a fetch's pages.
pub(crate) fn row_count<E>(pages: &[Vec<E>]) -> usize {
    pages.iter().map(Vec::len).sum()
}

pub(crate) fn failed<E>(rows: Vec<Vec<E>>, error: Error) -> Fetched<E> {
    Fetched {
        rows,
        error: Some(error),
    }
}

/// After a batch made no progress because commands were refused, counts the stall; too many
/// in a row end the export with the refusal, otherwise it waits
/// [`stall_wait`](retry::stall_wait) before the batch is repeated.
pub(crate) async fn stalled<E>(
    cur: &mut Cursor<E>,
    refusal: Option<Error>,
    plan: &ExportPlan,
) -> Option<Error> {
    cur.stalls += 1;
    stall(plan, cur.stalls, refusal).await
}

/// The `stalls`-th batch in a row without progress: its error when that is too many,
/// otherwise `None` after waiting the backoff.
pub(crate) async fn stall(plan: &ExportPlan, stalls: u32, refusal: Option<Error>) -> Option<Error> {
    let policy = plan.engine.policy();
    if retry::stalled_too_long(policy, stalls) {
        return Some(refusal.unwrap_or_else(|| Error::Decode {
            method: plan.method.clone(),
            message: "the portal's batch answers make no progress (no rows, no error); try the export again later".into(),
            source: None,
        }));
    }
    tokio::time::sleep(retry::stall_wait(policy, stalls)).await;
    None
}

/// A command refused by a limit (not executed): the export retries it.
pub(crate) fn is_refusal(e: &Error) -> bool {
    e.api_code().is_some_and(retry::is_refusal)
}

/// Hands the pages of the commands `keys` of a batch to `take`, in order, until `take` says
/// the export is done (`Ok(false)`) or a command has no page: refused by a limit (not
/// executed; the refusal is returned, and the fetch is tried again) or without a result (a
/// chain reference that did not resolve). A command's other error, or one from `take`, ends
/// the export (`Err`).
pub(crate) fn each_page<'k, E>(
    plan: &ExportPlan,
    errors: &PhpMap<Value>,
    pages: &mut HashMap<String, Vec<E>>,
    keys: impl IntoIterator<Item = &'k str>,
    mut take: impl FnMut(Vec<E>) -> Result<bool, Error>,
) -> Result<Option<Error>, Error> {
    for key in keys {
        if let Some(raw) = errors.0.get(key) {
            let e = plan.engine.command_error(&plan.method, raw);
            return if is_refusal(&e) { Ok(Some(e)) } else { Err(e) };
        }
        let Some(page) = pages.remove(key) else {
            break;
        };
        if !take(page)? {
            break;
        }
    }
    Ok(None)
}

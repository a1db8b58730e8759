//! Offset pages (any order other than by `ID`): `start=0, 50, 100, ...` with the portal's
//! counting, 50 pages per batch after the first.
//!
//! The portal's counts are not trusted: a `next` that does not advance or does not fit a
//! `start`, and a page repeating rows of the previous fetch (a server that ignores `start`,
//! or rows moving under concurrent writes), stop the export with an error instead of looping
//! or yielding duplicates.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;

use super::cursor::{Cursor, Fetched, Position, each_page, failed, row_count, stalled};
use super::plan::ExportPlan;
use crate::engine::{Exec, RawCommand};
use crate::error::Error;
use crate::projection::{Keyed, Projection};
use crate::transport::{BATCH_SIZE, PAGE_SIZE, PhpMap, Response, Rows};

pub(crate) async fn fetch_offset<P: Projection>(
    plan: &ExportPlan,
    cur: &mut Cursor<P>,
    refusals: &AtomicU64,
) -> Fetched<Keyed<P>> {
    let method = plan.method.as_str();
    let paced = [method];
    match cur.position {
        Position::First | Position::After { .. } => {
            let params = plan.params.at(0);
            let r: Result<Response<Rows<Keyed<P>>>, Error> = plan
                .engine
                .execute(method, &params, Exec::export(&paced, refusals))
                .await;
            match r.map(|r| (r.result.0, r.next, r.total)) {
                Ok((result, next, total)) => {
                    let full = result.len() >= PAGE_SIZE;
                    let mut ids = HashSet::new();
                    if let Err(e) = unseen(method, &result, &cur.recent_ids, &mut ids) {
                        return failed(Vec::new(), e);
                    }
                    cur.recent_ids = ids;
                    match next {
                        Some(next) if full && !(1..=MAX_START).contains(&next) => {
                            return failed(
                                vec![result],
                                Error::Decode {
                                    method: method.to_owned(),
                                    message: format!(
                                        "the portal's `next` ({next}) does not advance past the first page or is not a valid start; the export stops instead of repeating rows. {RESUME}"
                                    ),
                                    source: None,
                                },
                            );
                        }
                        Some(next) if full => cur.position = Position::Offset { next, total },
                        _ => cur.done = true,
                    }
                    Fetched {
                        rows: vec![result],
                        error: None,
                    }
                }
                Err(e) => failed(Vec::new(), e),
            }
        }
        Position::Offset { next, total } => {
            let pages = match total {
                Some(t) => (t.saturating_sub(next)).div_ceil(PAGE_SIZE as u64).max(1),
                None => BATCH_SIZE as u64,
            }
            .min(plan.engine.affordable(method) as u64);
            let mut commands = Vec::with_capacity(pages as usize);
            for i in 0..pages {
                let start = next.saturating_add(i * PAGE_SIZE as u64).min(MAX_START);
                match plan.params.query(method, start as i64) {
                    Ok(query) => commands.push(RawCommand {
                        key: format!("c{i}"),
                        method: method.to_owned(),
                        query,
                    }),
                    Err(e) => return failed(Vec::new(), e),
                }
            }
            let sent = plan
                .engine
                .send_batch::<PhpMap<Rows<Keyed<P>>>>(&commands, true, true, Some(refusals))
                .await;
            let batch = match sent {
                Ok(b) => b,
                Err(e) => return failed(Vec::new(), e),
            };
            let mut result: std::collections::HashMap<String, Vec<Keyed<P>>> = batch
                .result
                .0
                .into_iter()
                .map(|(k, rows)| (k, rows.0))
                .collect();
            let mut rows = Vec::with_capacity(commands.len());
            let mut position = next;
            let keys = commands.iter().map(|c| c.key.as_str());
            let done = &mut cur.done;
            let previous = &cur.recent_ids;
            let mut ids = HashSet::new();
            let taken = each_page(plan, &batch.result_error, &mut result, keys, |page| {
                unseen(method, &page, previous, &mut ids)?;
                let full = page.len() >= PAGE_SIZE;
                rows.push(page);
                position = position.saturating_add(PAGE_SIZE as u64);
                if full && position >= MAX_START {
                    return Err(Error::Decode {
                        method: method.to_owned(),
                        message: format!(
                            "the export reached start {position}, beyond any real portal's rows; the portal's pages do not end. {RESUME}"
                        ),
                        source: None,
                    });
                }
                *done = !full || total.is_some_and(|t| position >= t);
                Ok(!*done)
            });
            let refusal = match taken {
                Ok(refusal) => refusal,
                Err(e) => return failed(rows, e),
            };
            if !ids.is_empty() {
                cur.recent_ids = ids;
            }
            if row_count(&rows) == 0 && !cur.done {
                if let Some(e) = stalled(cur, refusal, plan).await {
                    return failed(rows, e);
                }
            } else {
                cur.stalls = 0;
            }
            cur.position = Position::Offset {
                next: position,
                total,
            };
            Fetched { rows, error: None }
        }
    }
}

/// The largest `start` a page can have (it is sent as a signed 64-bit number; no portal has
/// more rows).
const MAX_START: u64 = 1 << 53;

/// What the errors of a stopped offset export advise.
const RESUME: &str = "Offset pages cannot be consistent while rows change; export ordered by ID (the fast method) for a complete, duplicate-free export";

/// Checks that no row of `page` was seen in the previous fetch (`previous`) or earlier in
/// this one (`current`, which collects the ids).
fn unseen<P>(
    method: &str,
    page: &[Keyed<P>],
    previous: &HashSet<u64>,
    current: &mut HashSet<u64>,
) -> Result<(), Error> {
    for row in page {
        let Some(id) = row.id() else { continue };
        if previous.contains(&id) || !current.insert(id) {
            return Err(Error::Decode {
                method: method.to_owned(),
                message: format!(
                    "the portal returned the row with ID {id} twice in an offset export (it ignores `start`, or rows moved while the export ran); the export stops instead of yielding duplicates. {RESUME}"
                ),
                source: None,
            });
        }
    }
    Ok(())
}

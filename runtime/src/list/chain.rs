//! Chained cursors: the fast `>ID` method. Up to 50 pages go in one `batch`, each page's
//! filter referring to the previous page's last id (`$result[c{n}][49][ID]`), sized from the
//! density of the ids seen; every id is checked to be strictly monotonic.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

use super::cursor::{Cursor, Fetched, Position, each_page, failed, row_count, stalled};
use super::params::{NO_COUNT, Order};
use super::plan::ExportPlan;
use crate::engine::RawCommand;
use crate::error::Error;
use crate::php;
use crate::projection::{Keyed, Projection};
use crate::transport::{BATCH_SIZE, ChainPages, PAGE_SIZE};

/// Checks a fast-method page (ids strictly monotonic after `last`) and appends it to `out`.
/// Returns whether the page was full; on an error, the rows before the bad one are appended.
pub(crate) fn accept_fast_page<P: Projection>(
    method: &str,
    page: Vec<Keyed<P>>,
    direction: Order,
    last: &mut Option<u64>,
    out: &mut Vec<Vec<Keyed<P>>>,
) -> Result<bool, Error> {
    let full = page.len() >= PAGE_SIZE;
    let mut page = page;
    for index in 0..page.len() {
        let Some(id) = page[index].id() else {
            page.truncate(index);
            out.push(page);
            return Err(Error::Decode {
                method: method.to_owned(),
                message: "a row has no ID although the export selects it, so the export cannot continue without risking repeated or skipped rows; check that nothing between the client and the portal rewrites the answers".into(),
                source: None,
            });
        };
        let id: u64 = id;
        if let Some(prev) = *last {
            let in_order = match direction {
                Order::Asc => id > prev,
                Order::Desc => id < prev,
            };
            if !in_order {
                page.truncate(index);
                out.push(page);
                return Err(Error::Decode {
                    method: method.to_owned(),
                    message: format!(
                        "the portal returned ID {id} after ID {prev} in an export ordered by ID {}; the rows are out of order, so the export stops instead of repeating or skipping rows. Every row before this error was yielded once: to resume, export again with a filter on ID beyond {prev}",
                        direction.as_str()
                    ),
                    source: None,
                });
            }
        }
        *last = Some(id);
    }
    out.push(page);
    Ok(full)
}

/// How many chained pages the next fast batch should hold: the rows still expected, from the
/// density of matching ids seen so far and the far end of the id range (found by the probe of
/// the first request), plus one page to see the end. Sized well, the last batch of an export
/// holds no commands whose chain reference cannot resolve (the portal would run those as
/// `ID > 0` queries whose rows are thrown away).
pub(crate) fn chain_length(
    direction: Order,
    last: u64,
    origin: u64,
    seen: u64,
    far: Option<u64>,
) -> usize {
    let Some(far) = far else {
        return BATCH_SIZE;
    };
    let remaining_span = match direction {
        Order::Asc => far.saturating_sub(last),
        Order::Desc => last.saturating_sub(far),
    };
    // Past the probe's far end, rows were created during the export: as many pages as were
    // read beyond it, plus one, so the chain grows geometrically (1, 2, 4, ... up to 50) and
    // late rows are not read one page per request.
    let beyond = match direction {
        Order::Asc => last.saturating_sub(far),
        Order::Desc => far.saturating_sub(last),
    };
    if beyond > 0 {
        let pages = beyond.div_ceil(PAGE_SIZE as u64).saturating_add(1);
        return pages.min(BATCH_SIZE as u64) as usize;
    }
    if remaining_span == 0 {
        return 1;
    }
    let covered = last.abs_diff(origin) + 1;
    let density = (seen as f64 / covered as f64).min(1.0);
    let rows = (remaining_span as f64 * density).ceil();
    let pages = (rows / PAGE_SIZE as f64).ceil() as usize + 1;
    pages.clamp(1, BATCH_SIZE)
}

pub(crate) async fn fetch_fast<P: Projection>(
    plan: &ExportPlan,
    cur: &mut Cursor<P>,
    direction: Order,
    start: Option<u64>,
    refusals: &AtomicU64,
) -> Fetched<Keyed<P>> {
    let method = plan.method.as_str();
    let route = plan.params.route;
    let cursor_key = format!("filter[{}]", route.cursor_key(direction.cursor_key()));
    let base = match plan.params.query(method, NO_COUNT) {
        Ok(q) => q,
        Err(e) => return failed(Vec::new(), e),
    };
    let command = |key: String, cursor: Option<&str>| {
        let mut query = base.clone();
        if let Some(cursor) = cursor {
            php::push_raw(&mut query, &cursor_key, cursor);
        }
        RawCommand {
            key,
            method: method.to_owned(),
            query,
        }
    };
    let (commands, state) = match cur.position {
        Position::First => {
            // The first page, and a probe for the far end of the id range (one cheap page in
            // the opposite order, ids only), in one request.
            let start_text = start.map(|s| s.to_string());
            let page = command("c0".into(), start_text.as_deref());
            let probe = plan
                .params
                .ids(start.map(|s| (direction, s)), direction.opposite());
            let probe = match probe.query(method, NO_COUNT) {
                Ok(query) => RawCommand {
                    key: "far".into(),
                    method: method.to_owned(),
                    query,
                },
                Err(e) => return failed(Vec::new(), e),
            };
            (vec![page, probe], None)
        }
        Position::After {
            last,
            origin,
            seen,
            far,
        } => {
            let n = chain_length(direction, last, origin, seen, far)
                .min(plan.engine.affordable(method));
            let commands = (0..n)
                .map(|i| {
                    let cursor = if i == 0 {
                        last.to_string()
                    } else {
                        route.row_id_ref(&format!("c{}", i - 1), PAGE_SIZE - 1)
                    };
                    command(format!("c{i}"), Some(&cursor))
                })
                .collect();
            (commands, Some((last, origin, seen, far)))
        }
        Position::Offset { .. } => {
            return failed(
                Vec::new(),
                Error::Decode {
                    method: method.to_owned(),
                    message: "internal: an offset position in a fast export".into(),
                    source: None,
                },
            );
        }
    };
    let batch = match plan
        .engine
        .send_batch::<ChainPages<Keyed<P>>>(&commands, true, true, Some(refusals))
        .await
    {
        Ok(b) => b,
        Err(e) => return failed(Vec::new(), e),
    };
    let mut pages: HashMap<String, Vec<Keyed<P>>> = batch.result.0.into_iter().collect();
    let mut rows = Vec::with_capacity(commands.len());
    let mut last = state.map(|(last, ..)| last).or(start);
    let keys = commands
        .iter()
        .map(|c| c.key.as_str())
        .filter(|k| *k != "far");
    let done = &mut cur.done;
    let taken = each_page(plan, &batch.result_error, &mut pages, keys, |page| {
        let full = accept_fast_page(method, page, direction, &mut last, &mut rows)?;
        *done = !full;
        Ok(full)
    });
    let refusal = match taken {
        Ok(refusal) => refusal,
        Err(e) => return failed(rows, e),
    };
    let received = row_count(&rows);
    if received == 0 && !cur.done {
        if let Some(e) = stalled(cur, refusal, plan).await {
            return failed(rows, e);
        }
        return Fetched { rows, error: None };
    }
    cur.stalls = 0;
    if let Some(last) = last {
        let (origin, seen, far) = match state {
            Some((_, origin, seen, far)) => (origin, seen, far),
            None => {
                let origin = rows
                    .iter()
                    .find_map(|page| page.first())
                    .and_then(|r| r.id())
                    .unwrap_or(last);
                let far = pages
                    .remove("far")
                    .and_then(|p| p.first().and_then(|r| r.id()));
                (origin, 0, far)
            }
        };
        cur.position = Position::After {
            last,
            origin,
            seen: seen + received as u64,
            far,
        };
    }
    Fetched { rows, error: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_sized_from_the_id_density() {
        // Dense ids 1..=100_000, after the first page: the full 50 pages.
        assert_eq!(chain_length(Order::Asc, 50, 1, 50, Some(100_000)), 50);
        // 2,450 rows left: 49 pages and one to see the end.
        assert_eq!(
            chain_length(Order::Asc, 97_550, 1, 97_550, Some(100_000)),
            50
        );
        assert_eq!(
            chain_length(Order::Asc, 97_600, 1, 97_600, Some(100_000)),
            49
        );
        // Every tenth id matches: 600 ids left hold about 60 rows.
        assert_eq!(chain_length(Order::Asc, 500, 10, 50, Some(1_100)), 3);
        // Descending scans count downwards.
        assert_eq!(chain_length(Order::Desc, 651, 700, 50, Some(1)), 14);
        // At the far end: one page to catch rows added meanwhile; without a probe: 50.
        assert_eq!(chain_length(Order::Asc, 700, 1, 700, Some(700)), 1);
        // Rows created during the export, past the far end: the chain grows with them.
        assert_eq!(chain_length(Order::Asc, 750, 1, 750, Some(700)), 2);
        assert_eq!(chain_length(Order::Asc, 850, 1, 850, Some(700)), 4);
        assert_eq!(chain_length(Order::Asc, 1_050, 1, 1_050, Some(700)), 8);
        assert_eq!(chain_length(Order::Asc, 100_000, 1, 100_000, Some(700)), 50);
        assert_eq!(chain_length(Order::Desc, 550, 700, 150, Some(600)), 2);
        assert_eq!(chain_length(Order::Asc, 700, 1, 700, None), 50);
    }
}

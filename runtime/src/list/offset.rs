//! Offset pages (any order other than by `ID`): `start=0, 50, 100, ...` with the portal's
//! counting, 50 pages per batch after the first.

use super::cursor::{Cursor, Fetched, Position, each_page, failed, row_count, stalled};
use super::plan::ExportPlan;
use crate::engine::{Exec, RawCommand};
use crate::entity::Entity;
use crate::error::Error;
use crate::transport::{BATCH_SIZE, PAGE_SIZE, PhpMap, Response};

pub(crate) async fn fetch_offset<E: Entity>(plan: &ExportPlan, cur: &mut Cursor<E>) -> Fetched<E> {
    let method = plan.method.as_str();
    let paced = [method];
    match cur.position {
        Position::First | Position::After { .. } => {
            let params = plan.params.at(0);
            let r: Result<Response<Vec<E>>, Error> = plan
                .engine
                .execute(method, &params, Exec::export(&paced))
                .await;
            match r {
                Ok(r) => {
                    let full = r.result.len() >= PAGE_SIZE;
                    match r.next {
                        Some(next) if full => {
                            cur.position = Position::Offset {
                                next,
                                total: r.total,
                            }
                        }
                        _ => cur.done = true,
                    }
                    Fetched {
                        rows: vec![r.result],
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
                let start = next + i * PAGE_SIZE as u64;
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
                .send_batch::<PhpMap<Vec<E>>>(&commands, true, true)
                .await;
            let batch = match sent {
                Ok(b) => b,
                Err(e) => return failed(Vec::new(), e),
            };
            let mut result = batch.result.0;
            let mut rows = Vec::with_capacity(commands.len());
            let mut position = next;
            let keys = commands.iter().map(|c| c.key.as_str());
            let done = &mut cur.done;
            let taken = each_page(plan, &batch.result_error, &mut result, keys, |page| {
                let full = page.len() >= PAGE_SIZE;
                rows.push(page);
                position += PAGE_SIZE as u64;
                *done = !full || total.is_some_and(|t| position >= t);
                Ok(!*done)
            });
            let refusal = match taken {
                Ok(refusal) => refusal,
                Err(e) => return failed(rows, e),
            };
            if row_count(&rows) == 0 && !cur.done {
                if let Some(e) = stalled(cur, refusal, plan) {
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

//! This project's client, run as a child process: it measures itself and prints one JSON line.

use std::fmt::Write as _;
use std::time::Duration;

use bitrix_runtime::types::{DealId, Decimal};
use bitrix_runtime::{Api, Client, Plan, Projection};
use futures::{StreamExt, TryStreamExt};

use crate::measure::Meter;
use crate::{ClientCreateArgs, ClientExportArgs};

pub use crate::row5::PROJECTION_SELECT;
use crate::row5::{Deal, DealSalesChannel, NewDeal, Row5};

/// The projection's row name in the tables.
pub const PROJECTION_NAME: &str = "stream() of a 5-field projection";

/// Each row's id: the export's check that every deal came once.
trait RowId {
    fn row_id(&self) -> Option<DealId>;
}

impl RowId for Deal {
    fn row_id(&self) -> Option<DealId> {
        self.id
    }
}

impl RowId for Row5 {
    fn row_id(&self) -> Option<DealId> {
        // The other fields are read too (a real consumer would), so they are not optimised out.
        std::hint::black_box((
            &self.title,
            &self.stage_id,
            &self.opportunity,
            &self.currency_id,
        ));
        Some(self.id)
    }
}

fn client(url: &str, unlimited: bool, time_scale: f64) -> Result<Client, String> {
    let plan = if unlimited {
        Plan::Unlimited
    } else if time_scale == 1.0 {
        Plan::Regular
    } else {
        // The regular bucket of a portal running `1 / time_scale` times faster.
        Plan::Custom {
            capacity: 50,
            drain_per_sec: 2.0 / time_scale,
        }
    };
    Client::builder()
        .webhook(url)
        .plan(plan)
        .operating_limit(Duration::from_secs_f64(480.0 * time_scale))
        .build()
        .map_err(|e| format!("cannot build the client: {e}"))
}

/// `client-export`: every deal with every field (or the 5-field projection), through
/// `stream()` or `stream_parallel(k)`.
pub async fn export(args: ClientExportArgs) -> Result<(), String> {
    let mut client = client(&args.url, args.unlimited, args.time_scale)?;
    let mut name = if args.partitions > 1 {
        format!("stream_parallel({})", args.partitions)
    } else {
        "stream()".to_owned()
    };
    if args.item_api {
        client = client.with_api(Api::Item);
        name.push_str(" on crm.item.*");
    }
    if args.projection {
        name = PROJECTION_NAME.to_owned();
    }
    let meter = Meter::start()?;
    let ids = if args.projection {
        export_rows::<Row5>(&client, args.partitions).await?
    } else {
        export_rows::<Deal>(&client, args.partitions).await?
    };
    let report = meter.finish(&name, ids.len() as u64)?;
    let mut text = String::with_capacity(ids.len() * 7);
    for id in &ids {
        let _ = writeln!(text, "{id}");
    }
    std::fs::write(&args.ids_out, text)
        .map_err(|e| format!("cannot write {}: {e}", args.ids_out.display()))?;
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Every row's id, through `stream()` or `stream_parallel(partitions)`.
async fn export_rows<P: Projection + RowId>(
    client: &Client,
    partitions: usize,
) -> Result<Vec<u64>, String> {
    let mut ids: Vec<u64> = Vec::new();
    let query = client.list::<P>();
    let mut push = |row: P| -> Result<(), String> {
        let id = row
            .row_id()
            .ok_or_else(|| "a row came without its ID".to_owned())?;
        ids.push(id.into());
        Ok(())
    };
    if partitions > 1 {
        let mut rows = query.stream_parallel(partitions);
        while let Some(row) = rows.try_next().await.map_err(|e| e.to_string())? {
            push(row)?;
        }
    } else {
        let mut rows = query.stream();
        while let Some(row) = rows.try_next().await.map_err(|e| e.to_string())? {
            push(row)?;
        }
    }
    Ok(ids)
}

/// `client-create`: `count` deals through typed batches of 50 adds, `concurrency` in flight.
pub async fn create(args: ClientCreateArgs) -> Result<(), String> {
    let client = client(&args.url, false, 1.0)?;
    let meter = Meter::start()?;
    let deals: Vec<NewDeal> = (0..args.count)
        .map(|i| {
            NewDeal::builder()
                .title(format!("Bench deal #{i}"))
                .opportunity(Decimal::new(1_000 + i as i64, 0))
                .currency_id("RUB")
                .sales_channel(DealSalesChannel::Website)
                .build()
        })
        .collect();
    let batches = deals.chunks(50).map(|chunk| {
        let mut batch = client.batch();
        let handles: Vec<_> = chunk.iter().map(|d| batch.add(d)).collect();
        async move {
            let results = batch.send().await.map_err(|e| e.to_string())?;
            handles
                .into_iter()
                .map(|h| results.get(h).map_err(|e| e.to_string()))
                .collect::<Result<Vec<DealId>, String>>()
        }
    });
    let created: Vec<Vec<DealId>> = futures::stream::iter(batches)
        .buffer_unordered(args.concurrency.max(1))
        .try_collect()
        .await?;
    let created: usize = created.iter().map(Vec::len).sum();
    let report = meter.finish("typed Batch", created as u64)?;
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitrix_emulator::{Config, CostModel, Emulator, Limits};

    /// `stream_parallel(8)` across several operating windows of a time-scaled portal: the
    /// eight parts share the budget without the portal refusing one command, and every row
    /// arrives once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn eight_parts_cross_several_operating_windows_without_a_429() {
        let scale = 0.01;
        // A 6 s window and 0.6 s of server time per window; 120 pages of 50 at 15 ms each
        // need 1.8 s: three windows.
        let limit = Duration::from_secs(60);
        let emu = Emulator::start(
            Config::default()
                .with_deals(6_000)
                .with_limits(Limits::Off)
                .with_operating_limit(limit)
                .with_cost_model(CostModel {
                    base: Duration::from_millis(1_500),
                    write: Duration::ZERO,
                    per_returned_row: Duration::ZERO,
                    per_counted_row: Duration::ZERO,
                    per_skipped_row: Duration::ZERO,
                    time_scale: 1.0,
                })
                .with_time_scale(scale),
        )
        .await
        .unwrap();
        let client = Client::builder()
            .webhook(emu.webhook_url())
            .plan(Plan::Unlimited)
            .operating_limit(limit.mul_f64(scale))
            .build()
            .unwrap();
        let mut ids = export_rows::<Deal>(&client, 8).await.unwrap();
        let counters = emu.counters();
        assert_eq!(counters.refused_operation_limit, 0, "{counters:?}");
        assert!(
            counters.server_time > limit.mul_f64(2.0 * scale),
            "the export did not cross two windows: {counters:?}"
        );
        ids.sort_unstable();
        assert_eq!(ids, (1..=6_000).collect::<Vec<u64>>());
        emu.shutdown().await;
    }
}

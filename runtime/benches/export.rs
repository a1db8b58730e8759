//! Scripted comparison: exporting 100,000 emulated deals with the fast `>ID` batch method
//! against offset paging of the same rows.
//!
//! ```text
//! cargo bench -p bitrix-runtime --bench export            # 100,000 deals
//! EXPORT_DEALS=20000 cargo bench -p bitrix-runtime --bench export
//! EXPORT_TIME_SCALE=0 cargo bench -p bitrix-runtime --bench export   # client + emulator CPU only
//! ```
//!
//! The emulator runs the documented server cost model (calibrated on the docs' measurement:
//! a counted page on 2.4 M rows took 49.9 s, a `start=-1` page 0.097 s), waiting
//! `EXPORT_TIME_SCALE` (default 0.01) times the modeled server time, so the wall times below
//! show the portal's work in proportion; the modeled server time itself is the wall time
//! divided by the scale, roughly. Three strategies read every deal (all fields):
//!
//! 1. `stream()` with the default order: the fast method, 2,500 rows per request;
//! 2. `stream()` ordered by `DATE_CREATE`: offset pages, batched 50 per request, each page
//!    counting the matches and skipping `start` rows on the portal;
//! 3. one direct `page(start)` call per 50 rows, as a naive client pages.
//!
//! It prints requests, wall time, the modeled server time (the portal's `time.operating` of
//! `crm.deal.list`, which a real portal caps at 480 s per 10 minutes) and the ratios to the
//! fast method. The client's operating limit is raised to match the emulator's, or it would
//! (correctly) pause the offset strategies until the portal's operating time resets. Not a
//! test: nothing is asserted about speed.

use std::time::{Duration, Instant};

use bitrix_emulator::{Config, CostModel, Emulator};
use bitrix_runtime::{CallOptions, Client, Order, Plan, RetryPolicy, bitrix_entity};
use futures::TryStreamExt;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Outcome {
    name: &'static str,
    rows: usize,
    requests: u64,
    wall: Duration,
    /// Modeled server time of `crm.deal.list` (the portal's `time.operating`).
    server: f64,
}

async fn measure<F, Fut>(emu: &Emulator, client: &Client, name: &'static str, run: F) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    emu.reset_counters();
    emu.reset_operating();
    let started = Instant::now();
    let rows = run().await;
    let wall = started.elapsed();
    let requests = emu.counters().requests;
    // One tiny list call reports the method's operating time: the strategy's server time.
    let probe = client
        .call_with(
            "crm.deal.list",
            serde_json::json!({"select": ["ID"], "filter": {"ID": 0}, "start": -1}),
            CallOptions::default(),
        )
        .await
        .expect("the probe succeeds");
    let server = probe.time.and_then(|t| t.operating).unwrap_or(f64::NAN);
    Outcome {
        name,
        rows,
        requests,
        wall,
        server,
    }
}

fn main() {
    let deals: usize = env("EXPORT_DEALS", 100_000);
    let scale: f64 = env("EXPORT_TIME_SCALE", 0.01);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let seeding = Instant::now();
        let emu = Emulator::start(Config {
            deals,
            cost_model: Some(CostModel::documented().scaled(scale)),
            // The comparison is about speed, not about hitting the portal's limits.
            operating_limit: Duration::from_secs(1_000_000),
            ..Config::default()
        })
        .await
        .expect("the emulator starts");
        eprintln!("seeded {deals} deals in {:.1?}", seeding.elapsed());
        let client = Client::builder()
            .webhook(emu.webhook_url())
            .plan(Plan::Unlimited)
            .retry(RetryPolicy::default())
            // Match the emulator: with the real 480 s the client (correctly) pauses the offset
            // strategies for minutes until the operating time resets.
            .operating_limit(Duration::from_secs(1_000_000))
            .build()
            .expect("a client");

        let fast = measure(&emu, &client, "fast >ID batches (stream)", || async {
            let q = client.list::<Deal>();
            assert!(q.uses_fast_export());
            q.stream()
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
                .expect("the fast export succeeds")
        })
        .await;

        let batched = measure(&emu, &client, "offset pages, 50 per batch (stream)", || async {
            let q = client
                .list::<Deal>()
                .order(Deal::DATE_CREATE, Order::Asc);
            assert!(!q.uses_fast_export());
            q.stream()
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
                .expect("the offset export succeeds")
        })
        .await;

        let naive = measure(&emu, &client, "offset pages, one per request", || async {
            let q = client
                .list::<Deal>()
                .order(Deal::DATE_CREATE, Order::Asc)
                .order(Deal::ID, Order::Asc);
            let mut rows = 0;
            let mut start = 0;
            loop {
                let page = q.page(start).await.expect("a page");
                rows += page.items.len();
                match page.next {
                    Some(next) => start = next,
                    None => break,
                }
            }
            rows
        })
        .await;

        println!();
        println!(
            "export of {deals} emulated deals (all 80 fields), server time scale {scale}"
        );
        println!(
            "{:<38} {:>8} {:>9} {:>11} {:>10} {:>14} {:>10}",
            "strategy", "rows", "requests", "wall", "vs fast", "server time", "vs fast"
        );
        for o in [&fast, &batched, &naive] {
            println!(
                "{:<38} {:>8} {:>9} {:>10.2}s {:>9.1}x {:>13.0}s {:>9.1}x",
                o.name,
                o.rows,
                o.requests,
                o.wall.as_secs_f64(),
                o.wall.as_secs_f64() / fast.wall.as_secs_f64(),
                o.server,
                o.server / fast.server
            );
        }
        println!(
            "server time: modeled by the emulator's documented cost model; a portal allows 480 s per method per 10 minutes"
        );
        emu.shutdown().await;
    });
}

//! Exports of 100,000 seeded deals through `stream()`: the request count of the fast method,
//! and nothing lost or repeated when the portal refuses requests and drops connections.

use std::collections::HashSet;

use crate::common;
use crate::common::{Deal, DealField, client, emulator};
use bitrix_runtime::types::DealId;
use futures::TryStreamExt;

const DEALS: usize = 100_000;

/// Streams every deal, checking that each id comes exactly once and in order.
async fn export_all(client: &bitrix_runtime::Client) -> usize {
    let mut stream = client
        .list::<Deal>()
        .select([DealField::Title, DealField::Channel])
        .stream();
    let mut seen = HashSet::with_capacity(DEALS);
    let mut previous = DealId(0);
    while let Some(deal) = stream.try_next().await.expect("the export succeeds") {
        let id = deal.id.expect("every row has its ID");
        assert!(id > previous, "ID {id} after {previous}");
        assert!(seen.insert(id), "ID {id} repeated");
        assert!(deal.title.is_some() && deal.channel.is_some());
        previous = id;
    }
    seen.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_export_of_100k_deals_needs_41_requests() {
    let emu = emulator(DEALS).await;
    assert_eq!(emu.deal_count(), DEALS);
    let client = client(&emu);
    emu.reset_counters();

    assert_eq!(export_all(&client).await, DEALS);

    let counters = emu.counters();
    let bound = DEALS.div_ceil(2_500) as u64 + 1;
    assert!(
        counters.requests <= bound,
        "{} requests, at most {bound} allowed",
        counters.requests
    );
    // Every request was a batch (the first one holds the first page and the id-range probe).
    assert_eq!(counters.method("batch"), counters.requests);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_survives_refusals_and_dropped_connections() {
    let emu = emulator(DEALS).await;
    let client = client(&emu);
    emu.reset_counters();
    emu.set_faults(common::refusals_and_drops());

    assert_eq!(export_all(&client).await, DEALS);

    let counters = emu.counters();
    assert!(
        counters.faults_injected >= 3,
        "the faults must have hit the export: {counters:?}"
    );
    assert!(counters.faults.query_limit > 0, "{counters:?}");
    assert!(
        counters.faults.drop_before + counters.faults.drop_after > 0,
        "{counters:?}"
    );
    emu.shutdown().await;
}

/// Issue 14's fault mix: every row exactly once, for both export methods and five seeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_mix_export_delivers_every_row_once() {
    use bitrix_emulator::{Config, Emulator, Faults};
    const MIX: &str =
        "503=15%,500=15%,html=10%,drop-before=10%,drop-after=15%,500-after=10%,latency=100ms@0.3";
    const ROWS: usize = 20_000;
    for seed in 1..=5 {
        let emu = Emulator::start(
            Config::default()
                .with_deals(ROWS)
                .with_seed(seed)
                .with_faults(Faults::parse(MIX).expect("the issue's fault spec")),
        )
        .await
        .unwrap();
        let client = client(&emu);
        assert_eq!(export_all(&client).await, ROWS, "stream(), seed {seed}");
        let mut seen = HashSet::with_capacity(ROWS);
        let mut rows = client
            .list::<Deal>()
            .select([DealField::Title])
            .stream_parallel(8);
        while let Some(deal) = rows.try_next().await.expect("the export succeeds") {
            let id = deal.id.expect("every row has its ID");
            assert!(seen.insert(id), "ID {id} repeated (seed {seed})");
        }
        assert_eq!(seen.len(), ROWS, "stream_parallel(8), seed {seed}");
        assert!(emu.counters().faults_injected > 0);
        emu.shutdown().await;
    }
}

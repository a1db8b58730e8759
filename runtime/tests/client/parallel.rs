//! `stream_parallel`: several chained `>ID` scans over parts of the id range, merged. Every id
//! must arrive exactly once (also when the portal refuses requests and drops connections), and
//! the user's filter must hold in every part.

use std::collections::{BTreeSet, HashSet};

use crate::common;
use crate::common::{Deal, DealField, client, emulator};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{Filter, Order};
use futures::TryStreamExt;

const DEALS: usize = 12_000;

/// Collects a parallel export, checking that no id repeats.
async fn collect_once(stream: bitrix_runtime::ParallelStream<Deal>) -> BTreeSet<DealId> {
    let rows: Vec<Deal> = stream.try_collect().await.expect("the export succeeds");
    let mut seen = HashSet::with_capacity(rows.len());
    for deal in &rows {
        let id = deal.id.expect("every row has its ID");
        assert!(seen.insert(id), "ID {id} repeated");
    }
    seen.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_id_once_despite_refusals_and_dropped_connections() {
    let emu = emulator(DEALS).await;
    let client = client(&emu);
    emu.reset_counters();
    emu.set_faults(common::refusals_and_drops());

    let ids = collect_once(
        client
            .list::<Deal>()
            .select([DealField::Title])
            .stream_parallel(6),
    )
    .await;
    let expected: BTreeSet<DealId> = (1..=DEALS as u64).map(DealId).collect();
    assert_eq!(ids.len(), DEALS);
    assert_eq!(ids, expected);

    let counters = emu.counters();
    assert!(counters.faults_injected > 0, "{counters:?}");
    // Every page was a command of a batch (the range probe, then per part a first request
    // and chained batches, plus repeats of faulted requests).
    assert_eq!(counters.batch_commands, counters.method("crm.deal.list"));
    assert!(counters.method("crm.deal.list") >= (DEALS / 50) as u64);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_holds_in_every_part() {
    let emu = emulator(DEALS).await;
    let client = client(&emu);
    let stage = client
        .list::<Deal>()
        .select([DealField::StageId])
        .first_page()
        .await
        .expect("a first page")
        .items[0]
        .stage_id
        .clone()
        .expect("seeded deals have a stage");
    let filter = || {
        Filter::all()
            .and(Deal::STAGE_ID.eq(stage.clone()))
            .and(Deal::ID.gt(DealId(1_000)))
            .and(Deal::ID.le(DealId(9_000)))
    };

    // The same rows as the sequential export, which is checked against the filter by
    // list.rs.
    let sequential: Vec<Deal> = client
        .list::<Deal>()
        .filter(filter())
        .select([DealField::StageId])
        .all()
        .await
        .expect("the sequential export succeeds");
    let expected: BTreeSet<DealId> = sequential.iter().filter_map(|d| d.id).collect();
    assert!(
        expected.len() > 100 && expected.len() < 8_000,
        "{}",
        expected.len()
    );

    let rows: Vec<Deal> = client
        .list::<Deal>()
        .filter(filter())
        .select([DealField::StageId])
        .stream_parallel(4)
        .try_collect()
        .await
        .expect("the parallel export succeeds");
    for d in &rows {
        let id = d.id.expect("every row has its ID");
        assert!(
            id > DealId(1_000) && id <= DealId(9_000),
            "ID {id} outside the filter"
        );
        assert_eq!(d.stage_id.as_ref(), Some(&stage), "deal {id}");
    }
    let got: BTreeSet<DealId> = rows.iter().filter_map(|d| d.id).collect();
    assert_eq!(got.len(), rows.len(), "an id repeated");
    assert_eq!(got, expected);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_results_and_fallbacks() {
    let emu = emulator(300).await;
    let client = client(&emu);

    // Nothing matches: one probe request, no rows.
    emu.reset_counters();
    let none = collect_once(
        client
            .list::<Deal>()
            .filter(Deal::ID.gt(DealId(1_000_000)))
            .stream_parallel(4),
    )
    .await;
    assert!(none.is_empty());
    assert_eq!(emu.counters().requests, 1);

    // An order by another field cannot be split by id: the sequential export, in order.
    let by_title: Vec<Deal> = client
        .list::<Deal>()
        .order(DealField::Title, Order::Desc)
        .select([DealField::Title])
        .stream_parallel(4)
        .try_collect()
        .await
        .expect("the export succeeds");
    let sequential = client
        .list::<Deal>()
        .order(DealField::Title, Order::Desc)
        .select([DealField::Title])
        .all()
        .await
        .expect("the export succeeds");
    assert_eq!(by_title.len(), 300);
    assert_eq!(
        by_title.iter().map(|d| d.id).collect::<Vec<_>>(),
        sequential.iter().map(|d| d.id).collect::<Vec<_>>()
    );

    // An order by ID descending is ignored (parts are ascending), every row still once.
    let all = collect_once(
        client
            .list::<Deal>()
            .order(DealField::Id, Order::Desc)
            .stream_parallel(3),
    )
    .await;
    assert_eq!(all.len(), 300);
    emu.shutdown().await;
}

//! `stream_parallel`: several chained `>ID` scans over parts of the id range, merged. Every id
//! must arrive exactly once (also when the portal refuses requests and drops connections), and
//! the user's filter must hold in every part.

use std::collections::{BTreeSet, HashSet};

use std::time::Duration;

use crate::common;
use crate::common::{Deal, DealField, client, emulator, fast_retry, titled};
use bitrix_emulator::{FaultRates, Faults};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{
    Client, Error, Filter, Order, ParallelResumePoint, ParallelStream, Plan, ResumePoint,
};
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

/// A parallel export whose parts fail (500s until a short read deadline) is resumed from its
/// point again and again: every id arrives once, and each point counts the rows yielded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_parallel_export_resumes_with_nothing_lost_or_repeated() {
    let emu = emulator(DEALS).await;
    let client = Client::builder()
        .webhook(emu.webhook_url())
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .read_deadline(Duration::from_millis(100))
        .build()
        .unwrap();
    let query = client.list::<Deal>().select([DealField::Title]);
    emu.set_faults(Faults::all(FaultRates::default().internal_error(0.9)));

    let mut seen = HashSet::with_capacity(DEALS);
    let (mut stops, mut split_points) = (0, 0);
    let mut rows = query.stream_parallel(6);
    loop {
        match rows.try_next().await {
            Ok(Some(deal)) => {
                let id = deal.id.expect("every row has its ID");
                assert!(seen.insert(id), "ID {id} repeated after {stops} stops");
            }
            Ok(None) => break,
            Err(e) => {
                stops += 1;
                assert!(stops < 500, "the export never finished: {e}");
                let point = rows.resume_point().expect("a split export has a point");
                assert_eq!(point.rows(), seen.len() as u64, "{point:?}");
                if let Some(ranges) = point.ranges() {
                    split_points += 1;
                    assert!(ranges.len() <= 6, "{ranges:?}");
                    // Only the last part is unbounded.
                    assert!(
                        ranges.iter().rev().skip(1).all(|r| r.1.is_some()),
                        "{ranges:?}"
                    );
                }
                if stops == 4 {
                    emu.set_faults(Faults::none());
                }
                rows = query.stream_parallel(6).resume_from(point);
            }
        }
    }
    assert!(stops >= 1, "the faults never stopped the export");
    assert!(split_points >= 1, "no stop after the id range was known");
    let expected: BTreeSet<DealId> = (1..=DEALS as u64).map(DealId).collect();
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
    emu.shutdown().await;
}

/// A finished export's point keeps the last, unbounded part at its last id: resumed, it reads
/// only the rows created since, as `stream()` resumed after its last id does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_parallel_export_resumed_reads_only_new_rows() {
    let emu = emulator(3_000).await;
    let client = client(&emu);
    let mut rows = client.list::<Deal>().stream_parallel(4);
    let mut count = 0;
    while rows
        .try_next()
        .await
        .expect("the export succeeds")
        .is_some()
    {
        count += 1;
    }
    assert_eq!(count, 3_000);
    let point = rows.resume_point().expect("a point");
    assert_eq!(point.ranges(), Some(vec![(3_000, None)]), "{point:?}");
    assert_eq!(point.rows(), 3_000);

    let new = client.add(&titled("after the export")).await.unwrap();
    // Kept across a restart: made again from its parts.
    let point = ParallelResumePoint::from_ranges(point.ranges().unwrap(), point.rows());
    let rest = collect_once(client.list::<Deal>().stream_parallel(4).resume_from(point)).await;
    assert_eq!(rest, BTreeSet::from([new]));
    emu.shutdown().await;
}

/// A point of the other kind of export (split / not split) is refused with a clear error, not
/// silently restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_point_of_the_other_kind_of_export_is_refused() {
    let emu = emulator(300).await;
    let client = client(&emu);
    let first = |stream: ParallelStream<Deal>| async move {
        let mut stream = stream;
        match stream.try_next().await {
            Err(Error::InvalidRequest { message, .. }) => message,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    };
    let split = ParallelResumePoint::from_ranges([(100, Some(200)), (200, None)], 100);
    let message = first(
        client
            .list::<Deal>()
            .order(DealField::Title, Order::Asc)
            .stream_parallel(4)
            .resume_from(split),
    )
    .await;
    assert!(message.contains("this export is not split"), "{message}");
    let whole = ParallelResumePoint::from(ResumePoint::after_id(100));
    let message = first(client.list::<Deal>().stream_parallel(4).resume_from(whole)).await;
    assert!(message.contains("this export is split"), "{message}");

    // The matching kind resumes: a `stream()` point through stream_parallel(1).
    let whole = ParallelResumePoint::from(ResumePoint::after_id(250));
    let rest = collect_once(client.list::<Deal>().stream_parallel(1).resume_from(whole)).await;
    assert_eq!(rest, (251..=300).map(DealId).collect());
    emu.shutdown().await;
}

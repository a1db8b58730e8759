//! Progress of exports against the emulator: `total`, `rows_yielded`, `size_hint` and the
//! `on_progress` callback, for `stream()` (fast and offset) and `stream_parallel(4)`, on the
//! legacy route and on `crm.item.*`.

use std::sync::{Arc, Mutex};

use crate::common::{Captured, Deal, DealField, client, emulator};
use bitrix_runtime::{Api, ListQuery, Order, Progress};
use futures::{Stream, StreamExt};

/// More than one batch of rows (2,500), and enough ids for four partitions.
const DEALS: usize = 3_000;

/// How an export is read.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `stream()` by the fast method (ordered by nothing).
    Fast,
    /// `stream()` over offset pages (ordered by amount): the portal counts the rows.
    Offset,
    /// `stream_parallel(4)` by the fast method.
    Parallel,
}

/// Reads `stream` to its end, checking `size_hint` against the rows still to come before
/// every item and after the end; returns the rows read and the largest lower bound seen.
async fn drain_checking_hints<S>(mut stream: S, expected: usize) -> (usize, usize)
where
    S: Stream<Item = Result<Deal, bitrix_runtime::Error>> + Unpin,
{
    let mut read = 0;
    let mut most_buffered = 0;
    loop {
        let remaining = expected - read.min(expected);
        let (low, high) = stream.size_hint();
        assert!(
            low <= remaining,
            "lower bound {low} > {remaining} rows to come"
        );
        most_buffered = most_buffered.max(low);
        if let Some(high) = high {
            assert!(
                high >= remaining,
                "upper bound {high} < {remaining} rows to come"
            );
        }
        match stream.next().await {
            Some(row) => {
                row.expect("the export succeeds");
                read += 1;
            }
            None => break,
        }
    }
    assert_eq!(stream.size_hint(), (0, Some(0)), "an ended stream is exact");
    (read, most_buffered)
}

/// Checks the reports the callback received: rows never decrease, the last report has
/// every row and the right total, and an offset export knows its total from the start.
fn check_reports(reports: &[Progress], mode: Mode) {
    let last = reports.last().expect("the callback was called");
    assert!(
        reports.windows(2).all(|w| w[0].rows <= w[1].rows),
        "rows decreased: {reports:?}"
    );
    assert!(
        reports.windows(2).all(|w| w[0].requests <= w[1].requests),
        "requests decreased: {reports:?}"
    );
    assert_eq!(last.rows, DEALS as u64, "{mode:?}: {reports:?}");
    assert_eq!(last.total, Some(DEALS as u64), "{mode:?}: {reports:?}");
    assert!(last.requests >= 1);
    // Every report but the end's follows a request that brought rows.
    assert!(reports.iter().all(|p| p.rows > 0));
    // A total, once known, is the right one.
    assert!(
        reports
            .iter()
            .all(|p| p.total.is_none_or(|t| t == DEALS as u64)),
        "{reports:?}"
    );
    if let Mode::Offset = mode {
        assert!(
            reports.iter().all(|p| p.total == Some(DEALS as u64)),
            "an offset export knows its total from its first page: {reports:?}"
        );
    }
}

/// Exports every deal in `mode` through `query`, checking hints, the callback, `total` and
/// `rows_yielded`.
async fn export_with_progress(query: ListQuery<Deal>, mode: Mode) {
    let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = reports.clone();
    let query = query.on_progress(move |p| sink.lock().expect("not poisoned").push(p));
    match mode {
        Mode::Fast | Mode::Offset => {
            let query = match mode {
                Mode::Offset => query.order(Deal::OPPORTUNITY, Order::Desc),
                _ => query,
            };
            assert_eq!(query.uses_fast_export(), matches!(mode, Mode::Fast));
            let mut stream = query.stream();
            assert_eq!(stream.total(), None, "nothing was fetched yet");
            assert_eq!(stream.rows_yielded(), 0);
            let (read, most_buffered) = drain_checking_hints(&mut stream, DEALS).await;
            assert_eq!(read, DEALS);
            assert!(
                most_buffered > 0,
                "the lower bound counts the rows received"
            );
            assert_eq!(stream.rows_yielded(), DEALS as u64);
            assert_eq!(stream.total(), Some(DEALS as u64));
        }
        Mode::Parallel => {
            let mut stream = query.stream_parallel(4);
            assert_eq!(stream.total(), None, "nothing was fetched yet");
            let (read, _) = drain_checking_hints(&mut stream, DEALS).await;
            assert_eq!(read, DEALS);
            assert_eq!(stream.rows_yielded(), DEALS as u64);
            assert_eq!(stream.total(), Some(DEALS as u64));
        }
    }
    let reports = reports.lock().expect("not poisoned");
    check_reports(&reports, mode);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_total_and_size_hint_of_every_export_on_both_routes() {
    let emu = emulator(DEALS).await;
    let client = client(&emu);
    for api in [Api::Legacy, Api::Item] {
        let client = client.with_api(api);
        for mode in [Mode::Fast, Mode::Offset, Mode::Parallel] {
            let query = client
                .list::<Deal>()
                .select([DealField::Title, DealField::Opportunity]);
            export_with_progress(query, mode).await;
        }
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn an_empty_export_reports_a_total_of_zero() {
    let emu = emulator(0).await;
    let client = client(&emu);
    let mut stream = client.list::<Deal>().stream();
    assert_eq!(drain_checking_hints(&mut stream, 0).await.0, 0);
    assert_eq!(stream.rows_yielded(), 0);
    assert_eq!(stream.total(), Some(0));
    let mut stream = client.list::<Deal>().stream_parallel(4);
    assert_eq!(drain_checking_hints(&mut stream, 0).await.0, 0);
    assert_eq!(stream.total(), Some(0));
    emu.shutdown().await;
}

/// A subscriber that writes the runtime's `info` events and the closing of every span into the
/// returned buffer.
fn span_recorder() -> (Captured, impl tracing::Subscriber + Send + Sync) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("bitrix_runtime=info,bitrix_emulator=off")
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    (captured, subscriber)
}

/// All the recorded text, and its lines that close a `bitrix.export` span.
fn export_span_closes(captured: &Captured) -> (String, Vec<String>) {
    let text = String::from_utf8(captured.0.lock().expect("not poisoned").clone())
        .expect("the traces are text");
    let closes = text
        .lines()
        .filter(|l| l.contains("bitrix.export{") && l.contains("close"))
        .map(str::to_owned)
        .collect();
    (text, closes)
}

#[tokio::test]
async fn an_export_has_one_span_with_its_rows_and_total() {
    let emu = emulator(DEALS).await;
    let client = client(&emu);
    let (captured, subscriber) = span_recorder();
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        let rows = client
            .list::<Deal>()
            .all()
            .await
            .expect("the export succeeds");
        assert_eq!(rows.len(), DEALS);
        let stream = client.list::<Deal>().stream_parallel(4);
        let rows: Vec<_> = stream.collect().await;
        assert_eq!(rows.len(), DEALS);
    }
    let (text, closes) = export_span_closes(&captured);
    assert_eq!(closes.len(), 2, "one span per export: {text}");
    for (line, partitions) in closes.iter().zip(["partitions=1", "partitions=4"]) {
        assert!(
            line.contains("entity=\"deal\"") || line.contains("entity=deal"),
            "{line}"
        );
        assert!(line.contains(partitions), "{line}");
        assert!(line.contains(&format!("rows={DEALS}")), "{line}");
        assert!(line.contains(&format!("total={DEALS}")), "{line}");
        assert!(line.contains("requests="), "{line}");
        assert!(line.contains("failed=false"), "{line}");
    }
    emu.shutdown().await;
}

/// The export's span counts the requests the portal refused for its limits and the export
/// repeated: as many as the emulator refused (503 `QUERY_LIMIT_EXCEEDED` on half of the
/// requests of a 20,000-deal export), for `stream()` and `stream_parallel`.
#[tokio::test]
async fn an_export_span_counts_the_refusals_it_waited_out() {
    use bitrix_emulator::{FaultRates, Faults};

    const MANY: usize = 20_000;
    let emu = emulator(MANY).await;
    let client = client(&emu);
    let (captured, subscriber) = span_recorder();
    let mut refused = Vec::new();
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        for partitions in [1, 4] {
            emu.set_faults(Faults::none());
            emu.reset_counters();
            emu.set_faults(Faults::all(FaultRates::default().query_limit(0.5)));
            let rows: Vec<_> = client
                .list::<Deal>()
                .select([DealField::Id])
                .stream_parallel(partitions)
                .collect()
                .await;
            assert_eq!(rows.len(), MANY, "every row despite the refusals");
            refused.push(emu.counters().faults.query_limit);
        }
    }
    emu.set_faults(Faults::none());
    let (text, closes) = export_span_closes(&captured);
    assert_eq!(closes.len(), 2, "{text}");
    for (line, refused) in closes.iter().zip(&refused) {
        assert!(*refused > 0, "half of the requests were refused: none was");
        assert!(
            line.contains(&format!("refusals={refused}")),
            "{refused} refused: {line}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_total_counts_a_fast_export_in_one_request() {
    let emu = emulator(DEALS).await;
    let client = client(&emu);
    for partitions in [1, 4] {
        emu.reset_counters();
        let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let sink = reports.clone();
        let query = client
            .list::<Deal>()
            .with_total()
            .on_progress(move |p| sink.lock().expect("not poisoned").push(p));
        let mut stream = query.stream_parallel(partitions);
        let mut read = 0;
        while let Some(row) = stream.next().await {
            row.expect("the export succeeds");
            read += 1;
            if read < DEALS && stream.total().is_some() {
                assert_eq!(stream.total(), Some(DEALS as u64));
            }
        }
        assert_eq!(read, DEALS);
        assert_eq!(stream.total(), Some(DEALS as u64));
        // The count is one request outside a batch; the fast export itself sends only batches.
        let counters = emu.counters();
        assert_eq!(
            counters.requests - counters.method("batch"),
            1,
            "{partitions} parts"
        );
        // When the count arrives depends on scheduling (it runs beside the first batches), so
        // whether the total was known before the last row is not asserted; whenever it was
        // known, it was right (checked in the loop).
        check_reports(&reports.lock().expect("not poisoned"), Mode::Fast);
    }
    emu.shutdown().await;
}

/// The progress hook over a 100,000-deal export (of the ids only, to keep the test quick):
/// every report counts up, and the last one says every row is in, with the total, a rate and
/// no time left (when the count of `with_total` arrives is up to scheduling: not asserted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_hook_reports_a_100_000_deal_export() {
    const MANY: usize = 100_000;
    let emu = emulator(MANY).await;
    let client = client(&emu);
    let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = Arc::clone(&reports);
    let rows = client
        .list::<Deal>()
        .select([DealField::Id])
        .with_total()
        .on_progress(move |p| sink.lock().unwrap().push(p))
        .stream()
        .fold(0usize, |n, row| async move {
            row.expect("every page reads");
            n + 1
        })
        .await;
    assert_eq!(rows, MANY);
    let reports = reports.lock().unwrap().clone();
    // 2,500 rows per batch request: 40 reports of rows, at least.
    assert!(reports.len() >= MANY / 2_500, "{} reports", reports.len());
    for pair in reports.windows(2) {
        assert!(pair[0].rows <= pair[1].rows, "{pair:?}");
        assert!(pair[0].elapsed <= pair[1].elapsed, "{pair:?}");
    }
    let last = reports.last().unwrap();
    assert_eq!(last.rows, MANY as u64);
    assert_eq!(last.total, Some(MANY as u64));
    assert_eq!(last.fraction(), Some(1.0));
    assert_eq!(last.eta(), Some(std::time::Duration::ZERO));
    assert!(last.rate().is_some_and(|r| r > 0.0), "{last:?}");
    emu.shutdown().await;
}

/// A bulk batch reports after every chunk's request: commands sent so far of all of them.
#[tokio::test]
async fn a_bulk_batch_reports_every_chunk() {
    let emu = emulator(0).await;
    let client = client(&emu);
    let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = Arc::clone(&reports);
    let mut batch = client
        .batch()
        .on_progress(move |p| sink.lock().unwrap().push(p));
    let news: Vec<_> = (0..120)
        .map(|i| crate::common::titled(&format!("Пакет {i}")))
        .collect();
    let handles: Vec<_> = news.iter().map(|n| batch.add(n)).collect();
    let results = batch.send().await.unwrap();
    for h in handles {
        results.get(h).unwrap();
    }
    let reports = reports.lock().unwrap().clone();
    assert_eq!(
        reports
            .iter()
            .map(|p| (p.rows, p.total, p.requests))
            .collect::<Vec<_>>(),
        [(50, Some(120), 1), (100, Some(120), 2), (120, Some(120), 3)]
    );
    assert_eq!(reports[2].fraction(), Some(1.0));
    emu.shutdown().await;
}

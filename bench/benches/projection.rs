//! Decoding speed of a typed projection against the whole `Deal` (issue 12): one
//! `crm.deal.list` page of the demo portal (50 rows), decoded the client's way
//! (`bitrix_runtime::bench::decode_ok_answer`, the list envelope with its rows).
//!
//! ```text
//! cargo bench -p bitrix-bench --bench projection
//! ```
//!
//! - `full_page/deal`: the page of `select: ["*", "UF_*"]` into the generated `Deal` (what a
//!   full export decodes);
//! - `full_page/row5`: the SAME bytes into the 5-field projection `Row5` (`ID`, `TITLE`,
//!   `STAGE_ID`, `OPPORTUNITY`, `CURRENCY_ID`): every other key skipped without decoding;
//! - `own_page/row5`: the page of the projection's own select into `Row5` (what a projection
//!   export decodes);
//! - `*/json_scan_floor`: the same reader into `IgnoredAny` (validating and skipping every
//!   token, building nothing).
//!
//! After criterion's groups, a summary measures the three interleaved (alternating rounds, so
//! drift on a shared machine hits all alike) and prints the ratios against `full_page/deal`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::bench::decode_ok_answer;
use bitrix_runtime::projection::Keyed;
use bitrix_runtime::{Projection, Response};
use criterion::{Criterion, Throughput};
use serde::de::IgnoredAny;

/// Rows on a page.
const ROWS: usize = 50;

#[path = "../src/row5.rs"]
mod row5;
use row5::{Deal, Row5};

/// One page of `crm.deal.list` with `select`, from an emulator with 200 seeded deals.
fn fetch_page(select: serde_json::Value) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let emu = Emulator::start(Config {
            deals: 200,
            ..Config::default()
        })
        .await
        .expect("the emulator starts");
        let body = bitrix_runtime::reqwest::Client::new()
            .post(format!("{}crm.deal.list", emu.webhook_url()))
            .header("content-type", "application/json")
            .body(
                serde_json::json!({"select": select, "order": {"ID": "ASC"}, "start": 0})
                    .to_string(),
            )
            .send()
            .await
            .expect("the emulator answers")
            .error_for_status()
            .expect("crm.deal.list succeeds")
            .bytes()
            .await
            .expect("the page body")
            .to_vec();
        emu.shutdown().await;
        body
    })
}

fn decode<P: Projection>(body: &[u8]) -> Response<Vec<Keyed<P>>> {
    decode_ok_answer(body).expect("the page decodes")
}

fn floor(body: &[u8]) -> IgnoredAny {
    let text = std::str::from_utf8(body).expect("UTF-8");
    serde_json::from_str(text).expect("JSON")
}

/// Mean time of one call of `f`, over `rounds` calls.
fn time(rounds: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        f();
    }
    start.elapsed() / rounds
}

fn main() {
    let select: Vec<String> = Row5::select()
        .expect("a projection selects its fields")
        .into_iter()
        .map(|f| bitrix_runtime::EntityField::code(f).to_owned())
        .collect();
    let full = fetch_page(serde_json::json!(["*", "UF_*"]));
    let own = fetch_page(serde_json::json!(select));

    // The decodes are complete and agree.
    let deals = decode::<Deal>(&full).result;
    let rows = decode::<Row5>(&full).result;
    let own_rows = decode::<Row5>(&own).result;
    assert_eq!(deals.len(), ROWS);
    assert_eq!(rows.len(), ROWS);
    assert_eq!(own_rows.len(), ROWS);
    for ((d, r), o) in deals.iter().zip(&rows).zip(&own_rows) {
        assert_eq!(Some(r.row.id), d.row.id);
        assert_eq!(r.row.title, d.row.title);
        assert_eq!(r.row.stage_id, d.row.stage_id);
        assert_eq!(r.row.opportunity, d.row.opportunity);
        assert_eq!(r.row.currency_id, d.row.currency_id);
        assert_eq!(o.row.id, r.row.id);
        assert_eq!(o.row.title, r.row.title);
        assert_eq!(o.row.opportunity, r.row.opportunity);
    }
    eprintln!(
        "full page: {} bytes; the projection's page: {} bytes ({:.3}x)",
        full.len(),
        own.len(),
        own.len() as f64 / full.len() as f64
    );

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut g = criterion.benchmark_group("full_page");
        g.throughput(Throughput::Elements(ROWS as u64));
        g.bench_function("deal", |b| b.iter(|| decode::<Deal>(black_box(&full))));
        g.bench_function("row5", |b| b.iter(|| decode::<Row5>(black_box(&full))));
        g.bench_function("json_scan_floor", |b| b.iter(|| floor(black_box(&full))));
        g.finish();
    }
    {
        let mut g = criterion.benchmark_group("own_page");
        g.throughput(Throughput::Elements(ROWS as u64));
        g.bench_function("row5", |b| b.iter(|| decode::<Row5>(black_box(&own))));
        g.bench_function("json_scan_floor", |b| b.iter(|| floor(black_box(&own))));
        g.finish();
    }
    criterion.final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: skip the timing there,
    // and under `--profile-time`.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--profile-time") {
        return;
    }

    // Interleaved summary.
    let rounds = 200;
    let (mut deal, mut row_full, mut row_own) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..10 {
        deal += time(rounds, || {
            black_box(decode::<Deal>(black_box(&full)));
        });
        row_full += time(rounds, || {
            black_box(decode::<Row5>(black_box(&full)));
        });
        row_own += time(rounds, || {
            black_box(decode::<Row5>(black_box(&own)));
        });
    }
    let per_row = |d: Duration| d.as_secs_f64() * 1e9 / 10.0 / ROWS as f64;
    println!("| decode of one 50-row page | ns per row | vs full Deal |");
    println!("|---|---:|---:|");
    for (name, d) in [
        ("full page into Deal", deal),
        ("full page into Row5 (same bytes)", row_full),
        ("Row5's own page into Row5", row_own),
    ] {
        println!(
            "| {name} | {:.0} | {:.3}x |",
            per_row(d),
            d.as_secs_f64() / deal.as_secs_f64()
        );
    }
}

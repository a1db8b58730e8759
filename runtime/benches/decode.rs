//! Decoding speed of one `crm.deal.list` page (50 rows, all fields: `select` `*` and `UF_*`)
//! into the generated `Deal`, against `serde_json::Value`, on two portals:
//!
//! - `demo`: the demo portal (`schemas/demo/deal.json`, 80 fields);
//! - `wide400`: a 400-field portal (`schemas/test/wide400/deal.json`, the first 400 fields of the
//!   2,000-field worst case: standard fields, a 3,000-item enumeration, user fields of every
//!   type, a third of them multiple).
//!
//! ```text
//! cargo bench -p bitrix-runtime --bench decode
//! ```
//!
//! The page is the exact text a portal sends: at setup the emulator starts with the portal's
//! fields and 200 seeded deals, and one `crm.deal.list` page is fetched over HTTP. The measured
//! loop decodes those bytes:
//!
//! - `typed`: the client's route, `std::str::from_utf8` of the body and `serde_json::from_str`
//!   into the list envelope (`{"result": [...], "next", "total", "time"}`) with
//!   `result: Vec<Deal>`;
//! - `value`: the same reader into `serde_json::Value`, what a dynamic client does;
//! - `json_scan_floor`: the same reader into `IgnoredAny`, validating and skipping every
//!   token without building anything: the floor neither can beat.
//!
//! After criterion's groups, a summary measures typed and `Value` interleaved (alternating
//! rounds, so drift on a shared machine hits both alike) and prints the table with ratios.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::bench::decode_ok_answer;
use bitrix_runtime::{Response, bitrix_entity};
use criterion::{Criterion, Throughput};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

/// Rows on a `crm.deal.list` page.
const ROWS: usize = 50;
/// Deals seeded in the emulator, so the page has a `next` and a `total` like a real one.
const SEEDED: usize = 200;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
/// The demo portal's deal.
pub struct Deal;

/// The 400-field portal. Its unknown-type fields (`rest_219_test`) warn at compile time
/// through a deprecation; the warnings are expected here.
#[allow(deprecated)]
mod wide {
    use bitrix_runtime::bitrix_entity;

    #[bitrix_entity(schema = "../schemas/test/wide400/deal.json")]
    /// The 400-field portal's deal.
    pub struct WideDeal;
}
use wide::WideDeal;

/// Decodes a page the client's way (`bitrix_runtime::bench::decode_ok_answer`, behind the `bench-internals` feature): one UTF-8
/// check of the whole body, then the `&str` reader (which then skips serde_json's per-string
/// UTF-8 validation).
fn decode_typed<E: DeserializeOwned>(body: &[u8]) -> Response<Vec<E>> {
    decode_ok_answer(body).expect("the page decodes into the generated type")
}

/// The same reader as [`decode_typed`], so only the target type differs.
fn decode_value(body: &[u8]) -> Value {
    let text = std::str::from_utf8(body).expect("the page is UTF-8");
    serde_json::from_str(text).expect("the page is JSON")
}

fn decode_floor(body: &[u8]) -> IgnoredAny {
    let text = std::str::from_utf8(body).expect("the page is UTF-8");
    serde_json::from_str(text).expect("the page is JSON")
}

/// One portal: its name, the page text and how many fields a row carries.
struct Portal {
    name: &'static str,
    fields: usize,
    body: Vec<u8>,
}

/// Starts the emulator with these fields and fetches the first page with every field.
fn fetch_page(fields: Value) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let emu = Emulator::start(Config {
            fields: Some(fields),
            deals: SEEDED,
            ..Config::default()
        })
        .await
        .expect("the emulator starts");
        let body = reqwest::Client::new()
            .post(format!("{}crm.deal.list", emu.webhook_url()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(
                serde_json::json!({"select": ["*", "UF_*"], "order": {"ID": "ASC"}, "start": 0})
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

/// What the page holds, to show it is realistic: values by wire form.
fn describe(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("the page is JSON");
    let rows = v["result"].as_array().expect("result is an array");
    let (mut strings, mut empty, mut nulls, mut arrays, mut empty_arrays, mut objects) =
        (0, 0, 0, 0, 0, 0);
    for row in rows {
        for value in row.as_object().expect("a row is an object").values() {
            match value {
                Value::String(s) if s.is_empty() => empty += 1,
                Value::String(_) => strings += 1,
                Value::Null => nulls += 1,
                Value::Array(a) if a.is_empty() => empty_arrays += 1,
                Value::Array(_) => arrays += 1,
                Value::Object(_) => objects += 1,
                _ => {}
            }
        }
    }
    format!(
        "{} bytes; values: {strings} non-empty strings, {empty} \"\", {nulls} null, \
         {arrays} arrays, {empty_arrays} [], {objects} objects",
        body.len()
    )
}

/// Fetches the page and checks the typed decode is complete: every row, every field known.
fn portal<E: DeserializeOwned>(
    name: &'static str,
    schema: Value,
    extra_of: impl Fn(&E) -> usize,
) -> Portal {
    let fields = schema["fields"].as_object().map_or(0, |f| f.len());
    let body = fetch_page(schema.clone());
    let page = decode_typed::<E>(&body);
    let rows = page.result;
    assert_eq!(rows.len(), ROWS, "{name}: a full page");
    assert_eq!(page.next, Some(ROWS as u64), "{name}: next");
    assert_eq!(page.total, Some(SEEDED as u64), "{name}: total");
    assert!(page.time.is_some(), "{name}: time block");
    let unknown: usize = rows.iter().map(extra_of).sum();
    assert_eq!(
        unknown, 0,
        "{name}: every returned field is in the snapshot"
    );
    let value = decode_value(&body);
    let row = value["result"][0].as_object().expect("a row is an object");
    let missing: Vec<&str> = schema["fields"]
        .as_object()
        .expect("the snapshot has fields")
        .keys()
        .filter(|code| !row.contains_key(*code))
        .map(String::as_str)
        .collect();
    let returned = row.len();
    // `crm.deal.list` leaves out what a list does not return; nearly all fields must be there.
    assert!(
        returned * 10 >= fields * 9,
        "{name}: the page carries {returned} of {fields} fields; missing: {missing:?}"
    );
    eprintln!(
        "{name}: {returned} of {fields} fields per row (not returned by the list: {missing:?}), {}",
        describe(&body)
    );
    Portal {
        name,
        fields: returned,
        body,
    }
}

fn portals() -> Vec<Portal> {
    let snapshot =
        |text: &str| -> Value { serde_json::from_str(text).expect("a snapshot is JSON") };
    vec![
        portal::<Deal>(
            "demo",
            snapshot(include_str!("../../schemas/demo/deal.json")),
            |d| d.extra.len(),
        ),
        portal::<WideDeal>(
            "wide400",
            snapshot(include_str!("../../schemas/test/wide400/deal.json")),
            |d| d.extra.len(),
        ),
    ]
}

fn typed_fn(name: &str) -> fn(&[u8]) {
    match name {
        "demo" => |b| {
            black_box(decode_typed::<Deal>(black_box(b)));
        },
        _ => |b| {
            black_box(decode_typed::<WideDeal>(black_box(b)));
        },
    }
}

fn bench(c: &mut Criterion, portals: &[Portal]) {
    for p in portals {
        let typed = typed_fn(p.name);
        let mut group = c.benchmark_group(format!("deal_list_page_50/{}", p.name));
        group.throughput(Throughput::Elements(ROWS as u64));
        group.bench_function("typed", |b| b.iter(|| typed(&p.body)));
        group.bench_function("value", |b| {
            b.iter(|| black_box(decode_value(black_box(&p.body))))
        });
        group.bench_function("json_scan_floor", |b| {
            b.iter(|| black_box(decode_floor(black_box(&p.body))))
        });
        group.finish();
    }
}

/// Median time per page of `f`, over `rounds` rounds of `reps` calls, interleaved with `g`.
fn interleaved(f: fn(&[u8]), g: fn(&[u8]), body: &[u8]) -> (Duration, Duration) {
    // Calibrate so one round of each takes about 20 ms.
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < Duration::from_millis(20) {
        f(body);
        g(body);
        calls += 1;
    }
    let reps = calls.max(1);
    let (mut fs, mut gs) = (Vec::new(), Vec::new());
    for round in 0..100 {
        let time = |h: fn(&[u8])| {
            let t = Instant::now();
            for _ in 0..reps {
                h(body);
            }
            t.elapsed() / reps
        };
        // Alternate which goes first, so cache warmth favours neither.
        if round % 2 == 0 {
            fs.push(time(f));
            gs.push(time(g));
        } else {
            gs.push(time(g));
            fs.push(time(f));
        }
    }
    fs.sort();
    gs.sort();
    (fs[fs.len() / 2], gs[gs.len() / 2])
}

fn summary(portals: &[Portal]) {
    println!();
    println!(
        "decode of one {ROWS}-row crm.deal.list page (all fields), median of 100 interleaved rounds"
    );
    println!(
        "| portal | fields | page bytes | typed/Value | typed per page | Value per page | typed rows/s | Value rows/s | floor per page |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in portals {
        let typed = typed_fn(p.name);
        let (t, v) = interleaved(
            typed,
            |b| {
                black_box(decode_value(black_box(b)));
            },
            &p.body,
        );
        let (floor, _) = interleaved(
            |b| {
                black_box(decode_floor(black_box(b)));
            },
            |_| {},
            &p.body,
        );
        let rows_per_sec = |d: Duration| ROWS as f64 / d.as_secs_f64();
        println!(
            "| {} | {} | {} | {:.2} | {:.1} µs | {:.1} µs | {:.0} | {:.0} | {:.1} µs |",
            p.name,
            p.fields,
            p.body.len(),
            t.as_secs_f64() / v.as_secs_f64(),
            t.as_secs_f64() * 1e6,
            v.as_secs_f64() * 1e6,
            rows_per_sec(t),
            rows_per_sec(v),
            floor.as_secs_f64() * 1e6,
        );
    }
}

fn main() {
    let portals = portals();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &portals);
    criterion.final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: skip the timing there,
    // and under `--profile-time` (a profiler wants only the selected function).
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--profile-time") {
        summary(&portals);
    }
}

//! How fast the emulator serves an export, to show it is not the bottleneck of the client's
//! export benchmarks and tests.
//!
//! - `seed/100k`: building a demo portal with 100,000 seeded deals;
//! - `export_100k/*`: a full export of 100,000 deals over HTTP the way SDKs do it (50 chained
//!   `>ID` pages per batch, 41 requests), selecting only the id or every field (`*`, `UF_*`);
//! - `offset_10k/counted_pages`: the same rows of a 10,000-deal portal in 200 counted offset
//!   pages;
//! - `batch/one_2500_rows`: one 50-command batch of every field, answer parsed, for requests
//!   per second; `batch/one_2500_rows_unparsed`: the same answer read as bytes only (the
//!   emulator's own cost plus loopback HTTP).
//!
//! Run: `CARGO_TARGET_DIR=target-emu cargo bench -p bitrix-emulator --bench export`.

use std::hint::black_box;

use bitrix_emulator::{Config, Emulator};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};

fn php_query(v: &Value) -> String {
    fn flatten(prefix: String, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| flatten(format!("{prefix}[{k}]"), v, out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| flatten(format!("{prefix}[{i}]"), v, out)),
            Value::String(s) => out.push(format!("{}={}", enc(&prefix), enc(s))),
            other => out.push(format!("{}={}", enc(&prefix), enc(&other.to_string()))),
        }
    }
    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }
    let mut out = Vec::new();
    if let Value::Object(m) = v {
        m.iter().for_each(|(k, v)| flatten(k.clone(), v, &mut out));
    }
    out.join("&")
}

fn chained_batch(after: u64, select: &Value) -> String {
    let mut cmd = Map::new();
    for i in 0..50 {
        let prev = if i == 0 {
            after.to_string()
        } else {
            format!("$result[p{}][49][ID]", i - 1)
        };
        let q = php_query(&json!({
            "filter": {">ID": prev}, "order": {"ID": "ASC"}, "select": select, "start": -1
        }));
        cmd.insert(format!("p{i}"), json!(format!("crm.deal.list?{q}")));
    }
    json!({"halt": 1, "cmd": cmd}).to_string()
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> Value {
    let text = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&text).expect("JSON")
}

/// Exports every deal; returns (rows, requests).
async fn export_fast(client: &reqwest::Client, webhook: &str, select: &Value) -> (usize, usize) {
    let url = format!("{webhook}batch");
    let (mut last, mut rows, mut requests) = (0u64, 0usize, 0usize);
    loop {
        requests += 1;
        let r = post(client, &url, chained_batch(last, select)).await;
        for i in 0..50 {
            let page = r["result"]["result"][format!("p{i}")]
                .as_array()
                .expect("page");
            rows += page.len();
            if let Some(row) = page.last() {
                last = row["ID"].as_str().unwrap().parse().unwrap();
            }
            if page.len() < 50 {
                return (rows, requests);
            }
        }
    }
}

async fn export_offset(client: &reqwest::Client, webhook: &str) -> (usize, usize) {
    let url = format!("{webhook}crm.deal.list");
    let (mut start, mut rows, mut requests) = (Some(0u64), 0usize, 0usize);
    while let Some(s) = start {
        requests += 1;
        let body = json!({"order": {"ID": "ASC"}, "select": ["ID"], "start": s}).to_string();
        let r = post(client, &url, body).await;
        rows += r["result"].as_array().expect("rows").len();
        start = r.get("next").and_then(Value::as_u64);
    }
    (rows, requests)
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();

    let mut g = c.benchmark_group("seed");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("100k", |b| {
        b.iter(|| {
            rt.block_on(async {
                let emu = Emulator::start(Config::default().with_deals(100_000))
                    .await
                    .unwrap();
                black_box(emu.deal_count());
                emu.shutdown().await;
            })
        })
    });
    g.finish();

    let emu = rt
        .block_on(Emulator::start(Config::default().with_deals(100_000)))
        .expect("emulator");
    let webhook = emu.webhook_url();
    eprintln!(
        "100,000 demo deals take about {} MB in the emulator",
        emu.approx_memory_bytes() / 1_000_000
    );
    let mut g = c.benchmark_group("export_100k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    for (name, select) in [
        ("select_id", json!(["ID"])),
        ("select_all", json!(["*", "UF_*"])),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let (rows, requests) = rt.block_on(export_fast(&client, &webhook, &select));
                assert_eq!((rows, requests), (100_000, 41));
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_2500_rows", |b| {
        let url = format!("{webhook}batch");
        let body = chained_batch(50_000, &json!(["*", "UF_*"]));
        b.iter(|| rt.block_on(post(&client, &url, body.clone())))
    });
    // The same without parsing the answer: the emulator's side (and loopback HTTP) only.
    g.bench_function("one_2500_rows_unparsed", |b| {
        let url = format!("{webhook}batch");
        let body = chained_batch(50_000, &json!(["*", "UF_*"]));
        b.iter(|| {
            rt.block_on(async {
                let bytes = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("request")
                    .bytes()
                    .await
                    .expect("body");
                assert!(bytes.len() > 2_500 * 1_000, "{} bytes", bytes.len());
                bytes.len()
            })
        })
    });
    g.finish();
    rt.block_on(emu.shutdown());

    let small = rt
        .block_on(Emulator::start(
            Config::default().with_seed_portal().with_deals(10_000),
        ))
        .expect("emulator");
    let webhook = small.webhook_url();
    let mut g = c.benchmark_group("offset_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("counted_pages", |b| {
        b.iter(|| {
            let (rows, requests) = rt.block_on(export_offset(&client, &webhook));
            assert_eq!((rows, requests), (10_000, 200));
        })
    });
    g.finish();
    rt.block_on(small.shutdown());
}

// `criterion_group!` defines an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(export, benches);
}
use group::export;
criterion_main!(export);

//! Exporting 100,000 seeded deals over HTTP the way SDKs do it: 50 chained `>ID` pages per
//! batch (2,500 rows per request), every id exactly once; and counted offset pages.

use std::collections::HashSet;

use crate::common::*;
use bitrix_emulator::{Config, Emulator};
use serde_json::{Map, Value, json};

fn chained_batch(after: u64) -> Value {
    let mut cmd = Map::new();
    for i in 0..50 {
        let prev = if i == 0 {
            after.to_string()
        } else {
            format!("$result[p{}][49][ID]", i - 1)
        };
        let q = http_build_query(&json!({
            "filter": {">ID": prev},
            "order": {"ID": "ASC"},
            "select": ["ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "UF_CRM_1721244590123"],
            "start": -1
        }));
        cmd.insert(format!("p{i}"), json!(format!("crm.deal.list?{q}")));
    }
    json!({"halt": 1, "cmd": cmd})
}

#[tokio::test]
async fn fast_export_of_100k_deals() {
    let emu = Emulator::start(Config::default().with_deals(100_000).with_seed(3))
        .await
        .unwrap();
    assert_eq!(emu.deal_count(), 100_000);
    let c = client();
    let url = emu.webhook_url();
    let mut seen = HashSet::with_capacity(100_000);
    let mut last = 0u64;
    let mut requests = 0;
    'export: loop {
        requests += 1;
        assert!(requests <= 41, "more requests than ceil(100000 / 2500) + 1");
        let r = post_json(&c, &url, "batch", &chained_batch(last)).await;
        let r = r.ok();
        assert_eq!(r["result_error"], json!([]), "{}", r["result_error"]);
        for i in 0..50 {
            let page = r["result"][format!("p{i}")].as_array().unwrap();
            for row in page {
                let id: u64 = row["ID"].as_str().unwrap().parse().unwrap();
                assert!(id > last, "ids ascend");
                assert!(seen.insert(id), "id {id} seen twice");
                assert!(
                    row["UF_CRM_1721244590123"].is_string(),
                    "user fields come when selected"
                );
                last = id;
            }
            // A short page ends the export; later pages of this batch start over.
            if page.len() < 50 {
                break 'export;
            }
        }
    }
    assert_eq!(seen.len(), 100_000);
    assert_eq!(requests, 41);
    assert_eq!(emu.counters().requests, 41);
    emu.shutdown().await;
}

#[tokio::test]
async fn counted_offset_pages() {
    let emu = Emulator::start(Config::default().with_seed_portal().with_deals(2_345))
        .await
        .unwrap();
    let c = client();
    let url = emu.webhook_url();
    let mut start = Some(0u64);
    let mut seen = HashSet::new();
    while let Some(s) = start {
        let r = post_json(
            &c,
            &url,
            "crm.deal.list",
            &json!({"order": {"ID": "ASC"}, "select": ["ID"], "start": s}),
        )
        .await;
        for row in r.ok().as_array().unwrap() {
            assert!(seen.insert(row["ID"].as_str().unwrap().to_owned()));
        }
        assert_eq!(r.json["total"], 2_345);
        start = r.json.get("next").and_then(Value::as_u64);
    }
    assert_eq!(seen.len(), 2_345);
    assert_eq!(emu.counters().requests, 47);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_fast_page_examines_one_page_not_the_table() {
    let emu = Emulator::start(Config::default().with_seed_portal().with_deals(20_000))
        .await
        .unwrap();
    let c = client();
    let url = emu.webhook_url();
    let body =
        json!({"filter": {">ID": 12_345}, "order": {"ID": "ASC"}, "select": ["ID"], "start": -1});
    let r = post_json(&c, &url, "crm.deal.list", &body).await;
    assert_eq!(r.ok()[0]["ID"], "12346");
    assert_eq!(emu.counters().rows_scanned, 50, "O(page)");
    emu.reset_counters();
    // Counting (start >= 0) and other orders examine every row.
    let body =
        json!({"filter": {">ID": 12_345}, "order": {"ID": "ASC"}, "select": ["ID"], "start": 0});
    assert_eq!(
        post_json(&c, &url, "crm.deal.list", &body).await.json["total"],
        7_655
    );
    assert_eq!(emu.counters().rows_scanned, 7_655);
    emu.reset_counters();
    let body = json!({"order": {"TITLE": "DESC"}, "select": ["ID"], "start": -1});
    post_json(&c, &url, "crm.deal.list", &body).await.ok();
    assert_eq!(emu.counters().rows_scanned, 20_000);
    emu.shutdown().await;
}

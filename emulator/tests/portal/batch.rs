//! `batch` over HTTP: order, `$result[...]` chains, literal references to failed commands,
//! `halt`, the 50-command limit, nested batches and PHP's JSON encoding quirks.

use crate::common::*;
use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

async fn seed(deals: usize) -> Emulator {
    Emulator::start(Config::default().with_seed_portal().with_deals(deals))
        .await
        .expect("emulator starts")
}

fn page_cmd(after: &str) -> String {
    format!(
        "crm.deal.list?{}",
        http_build_query(&json!({
            "filter": {">ID": after},
            "order": {"ID": "ASC"},
            "select": ["ID"],
            "start": -1
        }))
    )
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["ID"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn chained_pages_with_result_references() {
    let emu = seed(180).await;
    let c = client();
    let mut cmd = serde_json::Map::new();
    cmd.insert("p0".into(), json!(page_cmd("0")));
    for i in 1..5 {
        cmd.insert(
            format!("p{i}"),
            json!(page_cmd(&format!("$result[p{}][49][ID]", i - 1))),
        );
    }
    let got = post_json(
        &c,
        &emu.webhook_url(),
        "batch",
        &json!({"halt": 0, "cmd": cmd}),
    )
    .await;
    let r = got.ok();
    assert_eq!(ids(&r["result"]["p0"]), (1..=50).collect::<Vec<_>>());
    assert_eq!(ids(&r["result"]["p1"]), (51..=100).collect::<Vec<_>>());
    assert_eq!(
        ids(&r["result"]["p3"]),
        (151..=180).collect::<Vec<_>>(),
        "a short page"
    );
    // p3 had 30 rows: `$result[p3][49][ID]` does not resolve and stays literal, which the
    // server reads as 0, so p4 starts over. Clients must stop at the short page.
    assert_eq!(ids(&r["result"]["p4"]), (1..=50).collect::<Vec<_>>());
    assert_eq!(r["result_error"], json!([]));
    assert_eq!(r["result_total"]["p0"], 0, "start=-1 totals are 0");
    assert_eq!(r["result_next"], json!([]));
    for k in ["p0", "p1", "p2", "p3", "p4"] {
        assert_time_block(&r["result_time"][k]);
    }
    let counters = emu.counters();
    assert_eq!(counters.requests, 1, "a batch is one HTTP request");
    assert_eq!(counters.method("crm.deal.list"), 5);
    assert_eq!(counters.method("batch"), 1);
    assert_eq!(counters.batch_commands, 5);
    emu.shutdown().await;
}

#[tokio::test]
async fn references_to_failed_commands_stay_literal_and_halt_stops() {
    let emu = seed(5).await;
    let c = client();
    let url = emu.webhook_url();
    let cmd = json!({
        "bad": "crm.deal.get?id=999",
        "uses_bad": "crm.deal.add?fields[TITLE]=$result[bad][TITLE]",
        "add": "crm.deal.add?fields[TITLE]=first",
        "get": "crm.deal.get?id=$result[add]",
        "copy": "crm.deal.add?fields[TITLE]=copy of $result[get][TITLE]&fields[COMMENTS]=$result[get][ID]",
    });
    let r = post_json(&c, &url, "batch", &json!({"halt": 0, "cmd": cmd})).await;
    let r = r.ok();
    assert_eq!(
        r["result_error"]["bad"],
        json!({"error": "", "error_description": "Not found"})
    );
    assert!(r["result"].get("bad").is_none());
    let literal = r["result"]["uses_bad"].as_u64().unwrap();
    assert_eq!(emu.deal(literal).unwrap()["TITLE"], "$result[bad][TITLE]");
    let add = r["result"]["add"].as_u64().unwrap();
    assert_eq!(r["result"]["get"]["ID"], add.to_string());
    let copy = emu.deal(r["result"]["copy"].as_u64().unwrap()).unwrap();
    assert_eq!(copy["TITLE"], "copy of first");
    assert_eq!(copy["COMMENTS"], add.to_string());

    // halt=1: the first error stops the batch.
    let before = emu.deal_count();
    let r = post_json(
        &c,
        &url,
        "batch",
        &json!({"halt": 1, "cmd": {
            "a": "crm.deal.add?fields[TITLE]=one",
            "b": "crm.deal.update?id=999&fields[TITLE]=x",
            "c": "crm.deal.add?fields[TITLE]=never",
        }}),
    )
    .await;
    let r = r.ok();
    assert!(r["result"]["a"].is_u64());
    assert_eq!(r["result_error"]["b"]["error_description"], "Not found");
    // As in the docs' examples: only commands that succeeded have a `result_time` entry.
    assert!(r["result_time"]["a"].is_object(), "{r}");
    assert!(r["result_time"].get("b").is_none(), "{r}");
    assert!(r["result"].get("c").is_none() && r["result_error"].get("c").is_none());
    assert_eq!(emu.deal_count(), before + 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn php_encoding_quirks() {
    let emu = seed(3).await;
    let c = client();
    let url = emu.webhook_url();
    // `cmd` as a list: every map is keyed 0..n-1, so PHP sends JSON arrays.
    let r = post_json(
        &c,
        &url,
        "batch",
        &json!({"cmd": ["crm.deal.get?id=1", "crm.deal.get?id=2"]}),
    )
    .await;
    let r = r.ok();
    assert!(r["result"].is_array(), "{r}");
    assert_eq!(r["result"][1]["ID"], "2");
    assert!(r["result_time"].is_array());
    assert_eq!(r["result_error"], json!([]));
    // Counted list: total and next are lifted into result_total / result_next.
    let r = post_json(
        &c,
        &url,
        "batch",
        &json!({"cmd": {"l": "crm.deal.list?select[]=ID"}}),
    )
    .await;
    let r = r.ok();
    assert_eq!(r["result_total"], json!({"l": 3}));
    assert_eq!(r["result_next"], json!([]));
    // An empty batch.
    let r = post_json(&c, &url, "batch", &json!({"cmd": {}})).await;
    assert_eq!(
        r.ok(),
        &json!({"result": [], "result_error": [], "result_total": [], "result_next": [], "result_time": []})
    );
    // Form-encoded batch, as PHP SDKs send it.
    let body = http_build_query(&json!({"halt": 0, "cmd": {"x": "crm.deal.get?id=3"}}));
    let r = post_form(&c, &url, "batch", &body).await;
    assert_eq!(r.ok()["result"]["x"]["ID"], "3");
    emu.shutdown().await;
}

#[tokio::test]
async fn limits_of_batch() {
    let emu = seed(1).await;
    let c = client();
    let url = emu.webhook_url();
    let cmd: serde_json::Map<String, Value> = (0..51)
        .map(|i| (format!("c{i}"), json!("crm.deal.fields")))
        .collect();
    post_json(&c, &url, "batch", &json!({"cmd": cmd}))
        .await
        .assert_error(
            400,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            "Max batch length exceeded",
        );
    let cmd: serde_json::Map<String, Value> = (0..50)
        .map(|i| (format!("c{i}"), json!("crm.deal.get?id=1")))
        .collect();
    let r = post_json(&c, &url, "batch", &json!({"cmd": cmd})).await;
    assert_eq!(r.ok()["result"].as_object().unwrap().len(), 50);
    let r = post_json(
        &c,
        &url,
        "batch",
        &json!({"cmd": {
            "inner": "batch?cmd[a]=crm.deal.fields",
            "nope": "crm.deal.explode",
        }}),
    )
    .await;
    let r = r.ok();
    assert_eq!(
        r["result_error"]["inner"]["error"],
        "ERROR_BATCH_METHOD_NOT_ALLOWED"
    );
    assert_eq!(r["result_error"]["nope"]["error"], "ERROR_METHOD_NOT_FOUND");
    emu.shutdown().await;
}

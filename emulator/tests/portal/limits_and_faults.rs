//! The leaky bucket, the operating-time limit with the cost model, parallel service, and every
//! kind of injected fault, over real HTTP.

use std::time::Duration;

use crate::common::*;
use bitrix_emulator::{Config, CostModel, Emulator, FaultRates, Faults, Limits};
use serde_json::{Value, json};

async fn start(config: Config) -> Emulator {
    Emulator::start(config.with_seed_portal())
        .await
        .expect("emulator starts")
}

#[tokio::test]
async fn leaky_bucket_refuses_above_capacity_and_a_batch_costs_one() {
    let emu = start(Config::default().with_limits(Limits::Custom {
        capacity: 5,
        drain_per_sec: 0.0,
    }))
    .await;
    let c = client();
    let url = emu.webhook_url();
    let batch = json!({"cmd": (0..50).map(|i| (format!("c{i}"), json!("crm.deal.fields"))).collect::<serde_json::Map<_, _>>()});
    post_json(&c, &url, "batch", &batch).await.ok();
    for _ in 0..4 {
        post_json(&c, &url, "crm.deal.fields", &json!({}))
            .await
            .ok();
    }
    post_json(&c, &url, "crm.deal.fields", &json!({}))
        .await
        .assert_error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
    let counters = emu.counters();
    assert_eq!(counters.refused_query_limit, 1);
    assert_eq!(counters.requests, 6);
    assert_eq!(
        counters.method("crm.deal.fields"),
        54,
        "refused calls are not executed"
    );

    // The regular plan admits a burst of exactly 50 (the drain of 2/s adds at most a few).
    emu.set_limits(Limits::Regular);
    let mut ok = 0;
    for _ in 0..60 {
        if post_json(&c, &url, "crm.deal.fields", &json!({}))
            .await
            .status
            == 200
        {
            ok += 1;
        }
    }
    assert!((50..60).contains(&ok), "{ok} admitted");
    emu.set_limits(Limits::Off);
    post_json(&c, &url, "crm.deal.fields", &json!({}))
        .await
        .ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn a_time_scaled_portal_runs_its_limits_and_costs_faster_together() {
    // Scale 0.01: a call modeled at 1 s reports 0.01 s; the 5.5 s limit is 0.055 s; the window
    // is 6 s; the bucket (capacity 2, 1 per second) drains 100 per second.
    let model = CostModel {
        base: Duration::from_secs(1),
        write: Duration::ZERO,
        per_returned_row: Duration::ZERO,
        per_counted_row: Duration::ZERO,
        per_skipped_row: Duration::ZERO,
        time_scale: 1.0,
    };
    let emu = start(
        Config::default()
            .with_deals(2)
            .with_cost_model(model)
            .with_operating_limit(Duration::from_millis(5500))
            .with_limits(Limits::Custom {
                capacity: 2,
                drain_per_sec: 1.0,
            })
            .with_time_scale(0.01),
    )
    .await;
    let c = client();
    let url = emu.webhook_url();
    let mut answered = 0;
    let mut last = Value::Null;
    for _ in 0..12 {
        let r = post_json(&c, &url, "crm.deal.get", &json!({"id": 1})).await;
        if r.status == 429 {
            break;
        }
        // At real speed three calls in a row would overflow a bucket of 2 draining 1/s; the
        // scaled bucket drains during each 10 ms call.
        let time = r.ok();
        assert!(time["ID"] == "1");
        answered += 1;
        last = r.json["time"].clone();
    }
    assert_eq!(
        answered, 6,
        "the 6th call takes the sum over 0.055 s, the 7th is refused"
    );
    assert!(
        (last["processing"].as_f64().unwrap() - 0.01).abs() < 1e-6,
        "{last}"
    );
    let start = last["start"].as_f64().unwrap();
    let reset = last["operating_reset_at"].as_f64().unwrap();
    assert!(
        reset > start && reset - start <= 6.0 + 1e-3,
        "window of 6 s: {last}"
    );
    assert_eq!(emu.counters().refused_query_limit, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn operating_limit_refuses_the_next_call_with_429() {
    // Every call costs 0.3 s of modeled server time (not waited: time_scale 0); the limit is 1 s.
    let model = CostModel {
        base: Duration::from_millis(300),
        write: Duration::ZERO,
        per_returned_row: Duration::ZERO,
        per_counted_row: Duration::ZERO,
        per_skipped_row: Duration::ZERO,
        time_scale: 0.0,
    };
    let emu = start(
        Config::default()
            .with_deals(10)
            .with_cost_model(model)
            .with_operating_limit(Duration::from_secs(1)),
    )
    .await;
    let c = client();
    let url = emu.webhook_url();
    let mut operating = Vec::new();
    for _ in 0..4 {
        let r = post_json(&c, &url, "crm.deal.get", &json!({"id": 1})).await;
        r.ok();
        assert!((r.json["time"]["processing"].as_f64().unwrap() - 0.3).abs() < 1e-6);
        operating.push(r.json["time"]["operating"].as_f64().unwrap());
    }
    assert!(operating.windows(2).all(|w| w[1] > w[0]), "{operating:?}");
    assert!(operating[3] >= 1.0);
    let refused = post_json(&c, &url, "crm.deal.get", &json!({"id": 1})).await;
    refused.assert_error(
        429,
        "OPERATION_TIME_LIMIT",
        "Method is blocked due to operation time limit.",
    );
    // Per method: another method still works, and so do batch commands of it.
    post_json(&c, &url, "crm.deal.fields", &json!({}))
        .await
        .ok();
    let r = post_json(
        &c,
        &url,
        "batch",
        &json!({"cmd": {"a": "crm.deal.fields", "b": "crm.deal.get?id=1"}}),
    )
    .await;
    let r = r.ok();
    assert_eq!(r["result_error"]["b"]["error"], "OPERATION_TIME_LIMIT");
    assert!((r["result_time"]["a"]["operating"].as_f64().unwrap() - 0.6).abs() < 1e-6);
    assert_eq!(r["result_time"]["a"]["processing"], 0.3);
    assert_eq!(emu.counters().refused_operation_limit, 2);
    emu.reset_operating();
    post_json(&c, &url, "crm.deal.get", &json!({"id": 1}))
        .await
        .ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn list_cost_follows_the_documented_model() {
    let emu = start(
        Config::default()
            .with_deals(500)
            .with_cost_model(CostModel::documented().scaled(0.0)),
    )
    .await;
    let c = client();
    let url = emu.webhook_url();
    let fast = post_json(
        &c,
        &url,
        "crm.deal.list",
        &json!({"filter": {">ID": 100}, "order": {"ID": "ASC"}, "start": -1}),
    )
    .await;
    let counted = post_json(
        &c,
        &url,
        "crm.deal.list",
        &json!({"order": {"ID": "ASC"}, "start": 400}),
    )
    .await;
    let t = |a: &Answer| a.json["time"]["processing"].as_f64().unwrap();
    let m = CostModel::documented();
    let expected_fast = (m.base + m.per_returned_row * 50).as_secs_f64();
    assert!((t(&fast) - expected_fast).abs() < 1e-6, "{}", t(&fast));
    let expected_counted =
        (m.base + m.per_returned_row * 50 + m.per_counted_row * 500 + m.per_skipped_row * 400)
            .as_secs_f64();
    assert!(
        (t(&counted) - expected_counted).abs() < 1e-6,
        "{}",
        t(&counted)
    );
    assert_eq!(fast.json["total"], 0);
    assert_eq!(counted.json["total"], 500);
    emu.shutdown().await;
}

#[tokio::test]
async fn requests_are_served_in_parallel() {
    // crm.deal.get waits 30 s; while one is pending, other calls are answered.
    let emu = start(
        Config::default()
            .with_deals(2)
            .with_faults(Faults::none().method(
                "crm.deal.get",
                FaultRates::default().latency(Duration::from_secs(30), 1.0),
            )),
    )
    .await;
    let c = client();
    let url = emu.webhook_url();
    let slow = {
        let (c, url) = (c.clone(), url.clone());
        tokio::spawn(async move { post_json(&c, &url, "crm.deal.get", &json!({"id": 1})).await })
    };
    // Make sure the slow request has reached the server.
    while emu.counters().faults.latency == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..3 {
        post_json(&c, &url, "crm.deal.fields", &json!({}))
            .await
            .ok();
    }
    assert!(
        !slow.is_finished(),
        "the slow call is still pending while others were answered"
    );
    slow.abort();
    emu.shutdown().await;
}

#[tokio::test]
async fn injected_errors_and_html() {
    let emu = start(Config::default()).await;
    let c = client();
    let url = emu.webhook_url();
    emu.set_faults(Faults::all(FaultRates::default().query_limit(1.0)));
    post_json(&c, &url, "crm.deal.fields", &json!({}))
        .await
        .assert_error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
    emu.set_faults(Faults::all(FaultRates::default().internal_error(1.0)));
    post_json(&c, &url, "crm.deal.fields", &json!({}))
        .await
        .assert_error(500, "INTERNAL_SERVER_ERROR", "Internal server error");
    emu.set_faults(Faults::all(FaultRates::default().html(1.0)));
    let html = post_json(&c, &url, "crm.deal.add", &json!({"fields": {"TITLE": "x"}})).await;
    assert_eq!(html.status, 503);
    assert!(html.text.starts_with("<html>"), "{}", html.text);
    assert_eq!(emu.deal_count(), 0, "refused before executing");
    let f = emu.counters().faults;
    assert_eq!((f.query_limit, f.internal_error, f.html), (1, 1, 1));
    assert_eq!(emu.counters().faults_injected, 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_before_and_after_executing() {
    let emu = start(Config::default()).await;
    let c = client();
    let add = format!("{}crm.deal.add", emu.webhook_url());
    let body = json!({"fields": {"TITLE": "x"}}).to_string();
    let send = || {
        c.post(&add)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
    };

    emu.set_faults(Faults::none().method("crm.deal.add", FaultRates::default().drop_before(1.0)));
    assert!(send().await.is_err(), "no answer");
    assert_eq!(emu.deal_count(), 0, "not executed");

    emu.set_faults(Faults::none().method("crm.deal.add", FaultRates::default().drop_after(1.0)));
    assert!(send().await.is_err(), "no answer");
    assert_eq!(
        emu.deal_count(),
        1,
        "the write happened although the client never heard"
    );

    emu.set_faults(Faults::none().method("crm.deal.add", FaultRates::default().error_after(1.0)));
    let answer = send().await.unwrap();
    assert_eq!(answer.status(), 500);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "INTERNAL_SERVER_ERROR");
    assert_eq!(
        emu.deal_count(),
        2,
        "the write happened although the client heard a 500"
    );

    // Other methods are not affected by a per-method rule.
    post_json(&c, &emu.webhook_url(), "crm.deal.fields", &json!({}))
        .await
        .ok();
    emu.set_faults(Faults::none());
    assert_eq!(send().await.unwrap().status(), 200);
    let f = emu.counters().faults;
    assert_eq!((f.drop_before, f.drop_after, f.error_after), (1, 1, 1));
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_are_seeded_and_follow_their_shares() {
    async fn outcomes(seed: u64) -> Vec<u16> {
        let emu = Emulator::start(
            Config::default()
                .with_seed(seed)
                .with_faults(Faults::parse("503=20%,500=10%").unwrap()),
        )
        .await
        .unwrap();
        let c = client();
        let mut out = Vec::new();
        for _ in 0..200 {
            out.push(
                post_json(&c, &emu.webhook_url(), "crm.deal.fields", &json!({}))
                    .await
                    .status,
            );
        }
        emu.shutdown().await;
        out
    }
    let a = outcomes(11).await;
    assert_eq!(a, outcomes(11).await, "same seed, same faults");
    assert_ne!(a, outcomes(12).await);
    let n503 = a.iter().filter(|s| **s == 503).count();
    let n500 = a.iter().filter(|s| **s == 500).count();
    assert!((20..=60).contains(&n503), "{n503} of 200 for a 20% share");
    assert!((6..=35).contains(&n500), "{n500} of 200 for a 10% share");
}

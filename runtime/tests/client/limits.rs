//! Limits against the emulator: the client's leaky bucket keeps 16 concurrent tasks under the
//! portal's rate limit, refused requests are retried without duplicating writes, and the
//! operating-time tracker stops a method before the portal would refuse it (from direct
//! answers and from a batch's `result_time`).

use std::time::Duration;

use crate::common::{Deal, DealField, fast_retry, titled};
use bitrix_emulator::{Config, CostModel, Emulator, Limits};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{Client, Error, Plan, RetryPolicy};

async fn start(config: Config) -> Emulator {
    Emulator::start(config).await.expect("the emulator starts")
}

fn paced(emu: &Emulator, plan: Plan, retry: RetryPolicy) -> Client {
    Client::builder()
        .webhook(emu.webhook_url())
        .plan(plan)
        .retry(retry)
        .build()
        .unwrap()
}

/// Runs `tasks` tasks that make `requests` reads in all, each task with its own clone of
/// `client`.
async fn hammer(client: &Client, tasks: u64, requests: u64) {
    let mut handles = Vec::new();
    for t in 0..tasks {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            for i in (t..requests).step_by(tasks as usize) {
                client.get::<Deal>(DealId(1 + i % 10)).await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_tasks_against_the_regular_bucket_see_no_503() {
    let emu = start(Config {
        deals: 10,
        limits: Limits::Regular,
        ..Config::default()
    })
    .await;
    // No retries: a refusal would fail the call.
    let client = paced(&emu, Plan::Regular, RetryPolicy::none());
    // 52 requests, two more than the portal's bucket holds: the client sends a burst of 46
    // (its safety margin), then paces the last 6 at two per second (about 3 s of waiting).
    hammer(&client, 16, 52).await;
    let counters = emu.counters();
    assert_eq!(counters.requests, 52);
    assert_eq!(counters.refused_query_limit, 0, "{counters:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_plan_paces_many_tasks_and_unpaced_clients_get_refused() {
    let limits = Limits::Custom {
        capacity: 10,
        drain_per_sec: 40.0,
    };
    let emu = start(Config {
        deals: 10,
        limits,
        ..Config::default()
    })
    .await;
    let client = paced(
        &emu,
        Plan::Custom {
            capacity: 10,
            drain_per_sec: 40.0,
        },
        RetryPolicy::none(),
    );
    // 48 requests: a burst of 8 (the bucket less the client's margin), then 40 per second.
    hammer(&client, 16, 48).await;
    let counters = emu.counters();
    assert_eq!(counters.requests, 48);
    assert_eq!(counters.refused_query_limit, 0, "{counters:?}");

    // The same load without pacing is refused by the portal: the test above is not vacuous.
    // With retries the refused calls still succeed (a refusal provably did not execute).
    emu.reset_counters();
    let unpaced = paced(&emu, Plan::Unlimited, fast_retry().with_max_attempts(50));
    hammer(&unpaced, 16, 32).await;
    let counters = emu.counters();
    assert!(counters.refused_query_limit > 0, "{counters:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_writes_are_retried_without_duplicates() {
    let emu = start(Config {
        limits: Limits::Custom {
            capacity: 5,
            drain_per_sec: 50.0,
        },
        ..Config::default()
    })
    .await;
    let client = paced(&emu, Plan::Unlimited, fast_retry().with_max_attempts(100));
    let mut handles = Vec::new();
    for t in 0..8 {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..5 {
                client
                    .add(&titled(&format!("task {t} deal {i}")))
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let counters = emu.counters();
    assert!(counters.refused_query_limit > 0, "{counters:?}");
    assert_eq!(emu.deal_count(), 40, "every add exactly once");
    emu.shutdown().await;
}

fn costly(limit: Duration) -> Config {
    Config {
        deals: 700,
        cost_model: Some(CostModel {
            base: Duration::from_millis(200),
            write: Duration::ZERO,
            per_returned_row: Duration::ZERO,
            per_counted_row: Duration::ZERO,
            per_skipped_row: Duration::ZERO,
            time_scale: 0.0,
        }),
        operating_limit: limit,
        ..Config::default()
    }
}

fn operating_client(emu: &Emulator, limit: Duration) -> Client {
    Client::builder()
        .webhook(emu.webhook_url())
        .plan(Plan::Unlimited)
        .operating_limit(limit)
        .retry(RetryPolicy {
            max_limit_wait: Duration::from_secs(1),
            ..fast_retry()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn operating_time_stops_a_method_before_the_portal_refuses_it() {
    let limit = Duration::from_secs(2);
    let emu = start(costly(limit)).await;
    let client = operating_client(&emu, limit);
    // Each call costs 0.2 s of server time: nine fit, the tenth would reach the limit.
    let mut calls = 0;
    let err = loop {
        match client.get::<Deal>(DealId(1)).await {
            Ok(_) => calls += 1,
            Err(e) => break e,
        }
        assert!(calls < 20, "the client never paused");
    };
    assert_eq!(calls, 9);
    assert!(matches!(err, Error::LimitWait { .. }), "{err}");
    assert!(err.to_string().contains("crm.deal.get"), "{err}");
    let counters = emu.counters();
    assert_eq!(counters.refused_operation_limit, 0, "{counters:?}");
    assert_eq!(counters.requests, 9);
    // Other methods have their own budget.
    client.fields::<Deal>().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn batch_commands_count_against_their_own_method() {
    let limit = Duration::from_secs(3);
    let emu = start(costly(limit)).await;
    let client = operating_client(&emu, limit);
    // The export's list commands run inside batches: their result_time feeds the tracker,
    // which sizes the next batch to the remaining budget and then stops the method.
    let err = client
        .list::<Deal>()
        .select([DealField::Title])
        .all()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LimitWait { .. }), "{err}");
    let counters = emu.counters();
    assert_eq!(counters.refused_operation_limit, 0, "{counters:?}");
    // A direct call of the same method is stopped too, without a request.
    let before = emu.counters().requests;
    let err = client.list::<Deal>().count().await.unwrap_err();
    assert!(matches!(err, Error::LimitWait { .. }), "{err}");
    assert_eq!(emu.counters().requests, before);
    emu.shutdown().await;
}

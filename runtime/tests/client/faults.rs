//! Failure handling: retries that never duplicate writes, errors for HTML bodies, timeouts,
//! redirects of a renamed portal and dropped connections. Uses the emulator's fault injection
//! and, for answers the emulator does not produce (redirects, hangs), a scripted HTTP server.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Deal, DealPatch, client, emulator, fast_retry, titled};
use bitrix_emulator::{Config, Emulator, FaultRates, Faults};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{ApiErrorCode, Client, Error, Plan, RetryPolicy};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn faults_on(method: &str, rates: FaultRates) -> Faults {
    Faults::none().method(method, rates)
}

#[tokio::test]
async fn an_add_whose_answer_is_lost_is_reported_not_repeated() {
    let emu = emulator(0).await;
    let client = client(&emu);
    emu.reset_counters();

    // The add executes, then the connection drops: the deal exists once.
    emu.set_faults(faults_on(
        "crm.deal.add",
        FaultRates::default().drop_after(1.0),
    ));
    let err = client.add(&titled("lost answer")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    let text = err.to_string();
    assert!(text.contains("crm.deal.add"), "{text}");
    assert!(text.contains("not retried"), "{text}");
    assert_eq!(emu.deal_count(), 1, "executed once, never repeated");

    // Dropped before executing: the client cannot tell the difference, so it says the same.
    emu.set_faults(faults_on(
        "crm.deal.add",
        FaultRates::default().drop_before(1.0),
    ));
    let err = client.add(&titled("never ran")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(emu.deal_count(), 1);

    // A 500 or an HTML page from a proxy: unknown as well.
    emu.set_faults(faults_on(
        "crm.deal.add",
        FaultRates::default().internal_error(1.0),
    ));
    let err = client.add(&titled("500")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    emu.set_faults(faults_on("crm.deal.add", FaultRates::default().html(1.0)));
    let err = client.add(&titled("html")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    // A 500 after the write happened: the same answer, and the deal exists once.
    emu.set_faults(faults_on(
        "crm.deal.add",
        FaultRates::default().error_after(1.0),
    ));
    let before = emu.deal_count();
    let err = client.add(&titled("500 after")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(
        emu.deal_count(),
        before + 1,
        "executed once, never repeated"
    );
    assert_eq!(emu.counters().requests, 5, "one attempt per add");

    // A refusal by the rate limit provably did not execute: retried, created once.
    emu.set_faults(faults_on(
        "crm.deal.add",
        FaultRates::default().query_limit(0.5),
    ));
    let before = emu.deal_count();
    for i in 0..10 {
        client
            .add(&titled(&format!("refused sometimes {i}")))
            .await
            .unwrap();
    }
    assert_eq!(emu.deal_count(), before + 10);
    assert!(emu.counters().faults.query_limit > 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn updates_and_write_batches_are_not_retried_but_reads_are() {
    let emu = emulator(5).await;
    let client = client(&emu);

    emu.set_faults(faults_on(
        "crm.deal.update",
        FaultRates::default().drop_after(1.0),
    ));
    let patch = DealPatch::new().title("changed");
    let err = client.update(DealId(1), &patch).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(emu.counters().method("crm.deal.update"), 1);

    emu.set_faults(faults_on("batch", FaultRates::default().drop_after(1.0)));
    let mut batch = client.batch();
    let lost = batch.add(&titled("in a lost batch"));
    let err = batch.send().await.unwrap().get(lost).unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");

    // A batch of reads is repeated after the same failure; so is a direct read.
    emu.set_faults(faults_on(
        "batch",
        FaultRates::default().drop_after(0.5).internal_error(0.2),
    ));
    for _ in 0..5 {
        let mut batch = client.batch();
        let h = batch.get::<Deal>(DealId(2));
        assert_eq!(
            batch.send().await.unwrap().get(h).unwrap().id,
            Some(DealId(2))
        );
    }
    emu.set_faults(faults_on(
        "crm.deal.get",
        FaultRates::default()
            .drop_before(0.15)
            .drop_after(0.15)
            .html(0.1),
    ));
    for _ in 0..10 {
        client.get::<Deal>(DealId(3)).await.unwrap();
    }
    assert!(emu.counters().faults_injected > 0);

    // Marked idempotent, an update is repeated too.
    emu.set_faults(faults_on(
        "crm.deal.update",
        FaultRates::default().drop_after(0.5),
    ));
    for i in 0..5 {
        let patch = DealPatch::new().title(format!("idempotent {i}"));
        client
            .update_with(
                DealId(4),
                &patch,
                bitrix_runtime::UpdateParams {
                    idempotent: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    // Reads that keep failing end with the last failure, after the configured attempts.
    emu.set_faults(faults_on(
        "crm.deal.get",
        FaultRates::default().internal_error(1.0),
    ));
    emu.reset_counters();
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    assert_eq!(
        err.api_code(),
        Some(&ApiErrorCode::InternalServerError),
        "{err}"
    );
    assert_eq!(
        emu.counters().faults.internal_error,
        8,
        "RetryPolicy::max_attempts"
    );
    emu.set_faults(faults_on("crm.deal.get", FaultRates::default().html(1.0)));
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    assert!(matches!(err, Error::NotJson { .. }), "{err}");
    emu.shutdown().await;
}

/// What the scripted server does with one request.
#[derive(Clone)]
pub(crate) enum Step {
    /// Read the request, then close without answering.
    Drop,
    /// Read the request and never answer.
    Hang,
    /// Answer with a status, extra headers and a body.
    Answer(u16, Vec<(String, String)>, String),
    /// Answer 200 with a chunked JSON body that never ends (`{"result":"xxxx...`).
    Endless,
    /// Wait, then do the step.
    After(Duration, Box<Step>),
}

pub(crate) struct Script {
    pub(crate) addr: String,
    pub(crate) requests: Arc<Mutex<Vec<String>>>,
}

/// What the scripted server answers a request, given its text (the first line
/// `POST /path HTTP/1.1`, the headers and the body); `None`: 500 "script ended".
pub(crate) type Handler = Arc<dyn Fn(&str) -> Option<Step> + Send + Sync>;

/// A tiny HTTP server that plays `steps` in order (then answers 500) and records each
/// request's first line.
pub(crate) async fn scripted(steps: Vec<Step>) -> Script {
    let steps = Mutex::new(VecDeque::from(steps));
    routed(Arc::new(move |_: &str| steps.lock().unwrap().pop_front())).await
}

/// A tiny HTTP server that answers each request as `handler` says and records each
/// request's first line.
pub(crate) async fn routed(handler: Handler) -> Script {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let log = log.clone();
            tokio::spawn(serve(socket, handler, log));
        }
    });
    Script { addr, requests }
}

async fn serve(mut socket: TcpStream, handler: Handler, log: Arc<Mutex<Vec<String>>>) {
    loop {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < header_end + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let line = head.lines().next().unwrap_or("").to_owned();
        log.lock().unwrap().push(line);
        let mut step = handler(&String::from_utf8_lossy(&buf[..header_end + length]));
        while let Some(Step::After(wait, then)) = step {
            tokio::time::sleep(wait).await;
            step = Some(*then);
        }
        match step {
            Some(Step::After(..)) => unreachable!(),
            Some(Step::Endless) => {
                let head = "HTTP/1.1 200 X\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut first = true;
                loop {
                    let data = if first {
                        first = false;
                        format!("{{\"result\":\"{}", "x".repeat(65_000))
                    } else {
                        "x".repeat(65_536)
                    };
                    let chunk = format!("{:x}\r\n{data}\r\n", data.len());
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
            Some(Step::Drop) => return,
            Some(Step::Hang) => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
            Some(Step::Answer(status, headers, body)) => {
                let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                if socket.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
            }
            None => {
                let body =
                    r#"{"error":"INTERNAL_SERVER_ERROR","error_description":"script ended"}"#;
                let out = format!(
                    "HTTP/1.1 500 X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(out.as_bytes()).await;
                return;
            }
        }
    }
}

pub(crate) fn json_answer(status: u16, body: serde_json::Value) -> Step {
    Step::Answer(
        status,
        vec![("content-type".into(), "application/json".into())],
        body.to_string(),
    )
}

pub(crate) fn script_client(script: &Script, retry: RetryPolicy) -> Client {
    Client::builder()
        .webhook(format!("{}/rest/1/scriptcode42/", script.addr))
        .plan(Plan::Unlimited)
        .retry(retry)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_succeeds_when_the_retry_finds_it_gone() {
    let script = scripted(vec![
        Step::Drop,
        json_answer(400, json!({"error": "", "error_description": "Not found"})),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    client.delete::<Deal>(DealId(5)).await.unwrap();
    assert_eq!(script.requests.lock().unwrap().len(), 2);

    // Without a lost answer first, "Not found" is an error.
    let script = scripted(vec![json_answer(
        400,
        json!({"error": "", "error_description": "Not found"}),
    )])
    .await;
    let client = script_client(&script, fast_retry());
    let err = client.delete::<Deal>(DealId(5)).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // Nor after a refusal, which provably did not execute: the record never existed.
    let script = scripted(vec![
        json_answer(
            503,
            json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
        ),
        json_answer(400, json!({"error": "", "error_description": "Not found"})),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let err = client.delete::<Deal>(DealId(5)).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(script.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn timeouts_are_retried_for_reads_and_unknown_for_writes() {
    let script = scripted(vec![
        Step::Hang,
        json_answer(200, json!({"result": {"ID": "7"}})),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let deal = client.get::<Deal>(DealId(7)).await.unwrap();
    assert_eq!(deal.id, Some(DealId(7)));

    let script = scripted(vec![Step::Hang]).await;
    let client = script_client(&script, fast_retry());
    let err = client.add(&titled("slow")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(script.requests.lock().unwrap().len(), 1);

    let script = scripted(vec![Step::Hang, Step::Hang]).await;
    let client = script_client(&script, fast_retry().with_max_attempts(2));
    let err = client.get::<Deal>(DealId(7)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                timeout: true,
                attempts: 2,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn connection_failures_are_retried_even_for_writes() {
    // Nothing listens: no request was sent, so even an add may be repeated.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder()
        .webhook(format!("http://{addr}/rest/1/abc123/"))
        .retry(fast_retry().with_max_attempts(3))
        .build()
        .unwrap();
    let err = client.add(&titled("x")).await.unwrap_err();
    assert!(matches!(err, Error::Connect { attempts: 3, .. }), "{err}");
    assert!(err.to_string().contains("not executed"), "{err}");
}

#[tokio::test]
async fn html_and_odd_bodies_become_typed_errors() {
    let script = scripted(vec![
        Step::Answer(
            404,
            vec![("content-type".into(), "text/html".into())],
            "<html><body>404 Not Found</body></html>".into(),
        ),
        json_answer(502, json!({})),
        json_answer(200, json!({"result": "not a deal"})),
        json_answer(200, json!({"result": {"ID": "abc"}})),
        json_answer(
            401,
            json!({"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}),
        ),
    ])
    .await;
    let client = script_client(&script, RetryPolicy::none());
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotJson { status: 404, content_type, snippet, .. }
            if content_type == "text/html" && snippet.contains("404 Not Found")),
        "{err}"
    );
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    assert!(matches!(err, Error::Http { status: 502, .. }), "{err}");
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Decode { .. }), "{text}");
    assert!(text.contains("ID") && text.contains("abc"), "{text}");
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    assert_eq!(err.api_code(), Some(&ApiErrorCode::NoAuthFound));
    assert!(
        err.to_string().contains("create a new inbound webhook"),
        "{err}"
    );
}

#[tokio::test]
async fn a_renamed_portal_is_followed_for_reads_and_reported_for_writes() {
    let emu = Emulator::start(Config {
        deals: 3,
        webhook_code: "scriptcode42".into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let moved = |path: &str| {
        Step::Answer(
            302,
            vec![("location".into(), format!("{}{path}", emu.base_url()))],
            String::new(),
        )
    };
    // A write meets the redirect first: it was not executed, and the error says where to go.
    let script = scripted(vec![
        moved("/rest/1/scriptcode42/crm.deal.add"),
        moved("/rest/1/scriptcode42/crm.deal.get"),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let err = client.add(&titled("x")).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::PortalMoved { status: 302, .. }),
        "{text}"
    );
    assert!(text.contains(&emu.base_url()), "{text}");
    assert!(!text.contains("scriptcode42"), "{text}");
    assert_eq!(emu.deal_count(), 3);

    // A read follows it, and the client uses the new address from then on.
    let deal = client.get::<Deal>(DealId(2)).await.unwrap();
    assert_eq!(deal.id, Some(DealId(2)));
    assert_eq!(client.portal(), emu.base_url());
    client.add(&titled("after the move")).await.unwrap();
    assert_eq!(emu.deal_count(), 4);
    assert_eq!(script.requests.lock().unwrap().len(), 2);
    emu.shutdown().await;
}

pub(crate) fn rows(ids: std::ops::RangeInclusive<u64>) -> serde_json::Value {
    serde_json::Value::Array(ids.map(|i| json!({"ID": i.to_string()})).collect())
}

pub(crate) fn batch_answer(result: serde_json::Value) -> Step {
    json_answer(
        200,
        json!({"result": {"result": result, "result_error": [], "result_total": [],
                          "result_next": [], "result_time": []}}),
    )
}

#[tokio::test]
async fn an_export_stops_rather_than_repeat_rows_the_portal_sends_out_of_order() {
    let script = scripted(vec![
        batch_answer(json!({"c0": rows(1..=50), "far": [{"ID": "500"}]})),
        // The second chained page starts before the end of the first one.
        batch_answer(json!({"c0": rows(51..=100), "c1": rows(90..=139)})),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let mut stream = client.list::<Deal>().stream();
    let mut ids = Vec::new();
    let err = loop {
        match futures::TryStreamExt::try_next(&mut stream).await {
            Ok(Some(deal)) => ids.push(deal.id.unwrap().0),
            Ok(None) => panic!("the stream must fail"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        ids,
        (1..=100).collect::<Vec<_>>(),
        "every row once, in order"
    );
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("out of order"), "{err}");
    assert_eq!(script.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_later_chunk_keeps_the_results_of_the_chunks_that_ran() {
    // 110 adds: the first chunk of 50 runs, the answer to the second is lost, the third is
    // never sent. The caller must still learn the 50 new ids, or it would create them again.
    let created: serde_json::Map<String, serde_json::Value> = (0..50)
        .map(|i| (format!("c{i}"), json!(1000 + i)))
        .collect();
    let script = scripted(vec![
        batch_answer(serde_json::Value::Object(created)),
        Step::Drop,
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let mut batch = client.batch();
    let handles: Vec<_> = (0..110)
        .map(|i| batch.add(&titled(&format!("deal {i}"))))
        .collect();
    let results = batch.send().await.expect("the first chunk ran");
    assert_eq!(
        script.requests.lock().unwrap().len(),
        2,
        "the third chunk is not sent"
    );
    for (i, h) in handles.iter().enumerate().take(50) {
        assert_eq!(results.get(*h).unwrap(), DealId(1000 + i as u64));
    }
    for h in &handles[50..100] {
        let err = results.get(*h).unwrap_err();
        assert!(err.is_outcome_unknown(), "{err}");
    }
    for h in &handles[100..] {
        let err = results.get(*h).unwrap_err();
        assert!(matches!(err, Error::NotExecuted { .. }), "{err}");
        assert!(err.to_string().contains("safe to send it again"), "{err}");
    }
    assert_eq!(results.failures(), 60);

    // When the first request fails, every command still has its outcome (issue 14: the old
    // single `Err` said nothing per command): the first chunk's is unknown, the rest did not run.
    let script = scripted(vec![Step::Drop]).await;
    let client = script_client(&script, fast_retry());
    let mut batch = client.batch();
    let handles: Vec<_> = (0..60)
        .map(|i| batch.add(&titled(&format!("deal {i}"))))
        .collect();
    let results = batch.send().await.expect("per-command outcomes");
    for h in &handles[..50] {
        let err = results.get(*h).unwrap_err();
        assert!(err.is_outcome_unknown(), "{err}");
    }
    for h in &handles[50..] {
        let err = results.get(*h).unwrap_err();
        assert!(matches!(err, Error::NotExecuted { .. }), "{err}");
    }
    assert_eq!(results.failures(), 60);
    assert_eq!(script.requests.lock().unwrap().len(), 1);
}

//! Hostile servers (issue 14): answers a malicious or broken portal sends to make the client
//! leak secrets, follow credentials elsewhere, buffer without bound, loop, or misreport. Each
//! test uses the scripted loopback server of `faults.rs` (or the emulator with faults).

use std::time::Duration;

use crate::common::{Deal, fast_retry};
use crate::faults::{Step, batch_answer, json_answer, script_client, scripted};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{Client, Error, Plan};
use serde_json::json;

const CODE: &str = "scriptcode42";

/// Fails the test instead of hanging when `f` does not finish within a generous bound.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the client must not hang")
}

/// A client of `script` whose reads end after `deadline`.
fn deadline_client(script: &crate::faults::Script, deadline: Duration) -> Client {
    Client::builder()
        .webhook(format!("{}/rest/1/{CODE}/", script.addr))
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .read_deadline(deadline)
        .build()
        .unwrap()
}

fn assert_no_code(text: &str) {
    // No part of the code of at least 6 characters survives.
    for i in 0..=CODE.len() - 6 {
        assert!(!text.contains(&CODE[i..i + 6]), "{text}");
    }
}

#[tokio::test]
async fn error_bodies_are_redacted_before_they_are_cut() {
    // The code straddles the snippet's cut at 200 characters, in a body without a Bitrix
    // error (HTTP 404) and in one that is not JSON.
    let body = format!("{}{CODE} tail", "y".repeat(193));
    let script = scripted(vec![
        Step::Answer(
            404,
            vec![("content-type".into(), "application/json".into())],
            format!("{{\"x\":\"{body}\"}}"),
        ),
        Step::Answer(404, vec![("content-type".into(), "text/html".into())], body),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    for _ in 0..2 {
        let err = bounded(client.get::<Deal>(DealId(1))).await.unwrap_err();
        assert!(
            matches!(err, Error::Http { .. } | Error::NotJson { .. }),
            "{err}"
        );
        assert_no_code(&format!("{err} {err:?}"));
    }
}

#[tokio::test]
async fn typed_batch_decode_errors_are_redacted() {
    // The portal echoes the request (with the code) into a mistyped field of a read.
    let echo = format!("https://x/rest/1/{CODE}/crm.deal.get");
    let script = scripted(vec![
        batch_answer(
            json!({"c0": {"ID": "1", "OPPORTUNITY": {"echo": echo}}, "c1": [{"ID": echo}]}),
        ),
        json_answer(
            200,
            json!({"result": {"ID": "1", "OPPORTUNITY": {"echo": echo}}}),
        ),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let mut batch = client.batch();
    let one = batch.get::<Deal>(DealId(1));
    let page = batch.list(&client.list::<Deal>());
    let results = bounded(batch.send()).await.unwrap();
    for err in [
        results.get(one).unwrap_err(),
        results.get(page).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Decode { .. }), "{err}");
        let cause = std::error::Error::source(&err).map(|c| format!("{c} {c:?}"));
        assert_no_code(&format!("{err} {err:?} {cause:?}"));
    }
    // The direct read redacts the same answer.
    let err = bounded(client.get::<Deal>(DealId(1))).await.unwrap_err();
    assert_no_code(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_does_not_rebase() {
    // The attacker's host records whatever reaches it.
    let elsewhere = scripted(vec![json_answer(200, json!({"result": {"ID": "2"}}))]).await;
    let port = elsewhere.addr.rsplit(':').next().unwrap().to_owned();
    // `localhost` is another host than the portal's `127.0.0.1`.
    let target = format!("http://localhost:{port}/rest/1/{CODE}/crm.deal.get");
    let script = scripted(vec![
        Step::Answer(
            302,
            vec![("location".into(), target.clone())],
            String::new(),
        ),
        json_answer(200, json!({"result": {"ID": "3"}})),
    ])
    .await;
    let client = Client::builder()
        .webhook(format!("{}/rest/1/{CODE}/", script.addr))
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .allow_insecure_http()
        .build()
        .unwrap();
    let portal = client.portal();
    let err = bounded(client.get::<Deal>(DealId(2))).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::PortalMoved { status: 302, .. }),
        "{text}"
    );
    assert!(text.contains(&format!("localhost:{port}")), "{text}");
    assert_no_code(&format!("{err} {err:?}"));
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "nothing was sent to the other host"
    );
    // The client stays on its portal.
    assert_eq!(client.portal(), portal);
    let deal = bounded(client.get::<Deal>(DealId(3))).await.unwrap();
    assert_eq!(deal.id, Some(DealId(3)));
    assert!(elsewhere.requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn answers_are_cut_at_the_response_size_cap() {
    // An endless chunked body, and one whose announced length is over the cap.
    let script = scripted(vec![
        Step::Endless,
        Step::Answer(
            200,
            vec![("content-type".into(), "application/json".into())],
            format!("{{\"result\":\"{}\"}}", "x".repeat(2 << 20)),
        ),
    ])
    .await;
    let client = Client::builder()
        .webhook(format!("{}/rest/1/{CODE}/", script.addr))
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .max_response_size(1 << 20)
        .build()
        .unwrap();
    for _ in 0..2 {
        let err = bounded(client.call("crm.deal.fields", ()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { limit: 1048576, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("max_response_size"), "{err}");
    }
    assert_eq!(script.requests.lock().unwrap().len(), 2, "not retried");
}

/// An OAuth client of a routed fake portal whose REST answers say the token expired (after
/// `delay`, so all concurrent callers are in flight) and whose token endpoint answers
/// `token`.
async fn expiring_portal(token: Step, delay: Duration) -> (crate::faults::Script, Client) {
    let script = crate::faults::routed(std::sync::Arc::new(move |line: &str| {
        Some(if line.contains("/oauth/token/") {
            token.clone()
        } else {
            Step::After(
                delay,
                Box::new(json_answer(
                    401,
                    json!({"error": "expired_token", "error_description": "The access token provided has expired."}),
                )),
            )
        })
    }))
    .await;
    let client = Client::builder()
        .oauth(bitrix_runtime::OAuthTokens {
            access_token: "access-secret-1".into(),
            refresh_token: "refresh-secret-1".into(),
            client_id: "local.app".into(),
            client_secret: "client-secret-1".into(),
            client_endpoint: format!("{}/rest/", script.addr),
            server_endpoint: format!("{}/oauth-server/rest/", script.addr),
            ..Default::default()
        })
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .timeout(Duration::from_secs(20))
        .refresh_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    (script, client)
}

fn token_requests(script: &crate::faults::Script) -> usize {
    script
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("/oauth/token/"))
        .count()
}

/// 20 concurrent reads; every one must fail with an error that mentions `expected`.
async fn twenty_callers_fail(client: &Client, expected: &str) {
    let calls = (0..20).map(|i| {
        let client = client.clone();
        tokio::spawn(async move { client.get::<Deal>(DealId(i + 1)).await })
    });
    for call in futures::future::join_all(calls).await {
        let err = call.unwrap().unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains("secret-1"), "{text}");
    }
}

#[tokio::test]
async fn a_failed_refresh_is_shared_by_every_waiting_caller() {
    // The refresh token was revoked: one token request, its error for all 20 callers.
    let revoked = json_answer(
        400,
        json!({"error": "invalid_grant", "error_description": "Invalid refresh token"}),
    );
    let (script, client) = expiring_portal(revoked, Duration::from_millis(300)).await;
    bounded(twenty_callers_fail(&client, "invalid_grant")).await;
    assert_eq!(token_requests(&script), 1);

    // A failing OAuth server (500): one shared refresh, which retries within itself.
    let failing = json_answer(500, json!({"error": "server_error"}));
    let (script, client) = expiring_portal(failing, Duration::from_millis(300)).await;
    bounded(twenty_callers_fail(&client, "oauth/token")).await;
    assert!(token_requests(&script) <= 3, "{}", token_requests(&script));

    // A hanging one: the refresh times out, once, for everyone.
    let (script, client) = expiring_portal(Step::Hang, Duration::from_millis(300)).await;
    bounded(twenty_callers_fail(&client, "refresh_timeout")).await;
    assert_eq!(token_requests(&script), 1);

    // A token reply over the cap is not read whole.
    let (_, client) = expiring_portal(Step::Endless, Duration::ZERO).await;
    let err = bounded(client.get::<Deal>(DealId(1))).await.unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err}");
}

#[tokio::test]
async fn a_read_ends_at_its_deadline_against_a_silent_server() {
    let silent = || Step::After(Duration::from_secs(120), Box::new(Step::Drop));
    let script = scripted(vec![silent(), silent(), silent()]).await;
    let client = Client::builder()
        .webhook(format!("{}/rest/1/{CODE}/", script.addr))
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .timeout(Duration::from_secs(100))
        .read_deadline(Duration::from_millis(800))
        .build()
        .unwrap();
    let err = bounded(client.get::<Deal>(DealId(1))).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { timeout: true, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("read_deadline"), "{err}");
}

#[tokio::test]
async fn a_repeated_delete_batch_reports_records_the_first_attempt_deleted() {
    // The first attempt deletes all three, its answer is lost; the repeat finds two gone.
    let not_found = json!({"error": "", "error_description": "Not found"});
    let script = scripted(vec![
        Step::Drop,
        json_answer(
            200,
            json!({"result": {"result": {"c1": true},
                              "result_error": {"c0": not_found, "c2": not_found},
                              "result_total": [], "result_next": [], "result_time": []}}),
        ),
        // Without a lost answer first, "Not found" stays an error.
        json_answer(
            200,
            json!({"result": {"result": [], "result_error": {"c0": not_found},
                              "result_total": [], "result_next": [], "result_time": []}}),
        ),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let mut batch = client.batch();
    let handles: Vec<_> = (1..=3).map(|i| batch.delete::<Deal>(DealId(i))).collect();
    let results = bounded(batch.send()).await.unwrap();
    for h in handles {
        results.get(h).unwrap();
    }
    assert_eq!(results.failures(), 0);
    assert_eq!(script.requests.lock().unwrap().len(), 2);

    let mut batch = client.batch();
    let h = batch.delete::<Deal>(DealId(9));
    let results = bounded(batch.send()).await.unwrap();
    assert!(results.get(h).unwrap_err().is_not_found());
}

#[tokio::test]
async fn batch_values_are_sent_as_given_or_refused() {
    let emu = crate::common::emulator(0).await;
    let client = crate::common::client(&emu);
    emu.reset_counters();
    let text = "Price $result[c0] end";
    // The portal would replace the reference with the first command's result: refused
    // before anything is sent.
    let mut batch = client.batch();
    batch.add(&crate::common::titled("first"));
    batch.add(&crate::common::titled(text));
    let err = bounded(batch.send()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");
    assert!(err.to_string().contains("directly"), "{err}");
    assert_eq!(emu.counters().requests, 0);
    assert_eq!(emu.deal_count(), 0);
    // Sent directly (JSON, no replacement), it is stored exactly.
    let id = bounded(client.add(&crate::common::titled(text)))
        .await
        .unwrap();
    let deal = bounded(client.get::<Deal>(id)).await.unwrap();
    assert_eq!(deal.title.as_deref(), Some(text));
    // An export whose filter holds one is refused too, rather than filtered by another text.
    let mut rows = client.list::<Deal>().filter(Deal::TITLE.eq(text)).stream();
    let first = bounded(futures::StreamExt::next(&mut rows)).await;
    assert!(
        matches!(first, Some(Err(Error::InvalidRequest { .. }))),
        "{first:?}"
    );
    emu.shutdown().await;
}

/// An export ordered by TITLE (offset pages) against a routed server answering the first
/// page with `first` and every batch with `batch`: the rows it yields before its error.
async fn offset_export(first: serde_json::Value, batch: serde_json::Value) -> (Vec<u64>, Error) {
    let script = crate::faults::routed(std::sync::Arc::new(move |line: &str| {
        Some(if line.contains("/batch") {
            batch_answer(batch.clone())
        } else {
            json_answer(200, first.clone())
        })
    }))
    .await;
    let client = script_client(&script, fast_retry());
    let mut stream = client
        .list::<Deal>()
        .order(Deal::TITLE, bitrix_runtime::Order::Asc)
        .stream();
    until_error(&mut stream).await
}

/// The ids a stream yields before its error (the test fails if it ends without one).
async fn until_error(stream: &mut bitrix_runtime::ListStream<Deal>) -> (Vec<u64>, Error) {
    let mut ids = Vec::new();
    let err = bounded(async {
        loop {
            match futures::TryStreamExt::try_next(stream).await {
                Ok(Some(deal)) => ids.push(deal.id.unwrap().0),
                Ok(None) => panic!("the export must stop with an error, not end"),
                Err(e) => break e,
            }
        }
    })
    .await;
    (ids, err)
}

#[tokio::test]
async fn offset_exports_do_not_trust_the_portals_counts() {
    let first =
        |next: serde_json::Value| json!({"result": crate::faults::rows(1..=50), "next": next});
    // A `next` of u64::MAX neither overflows nor wraps.
    let (ids, err) = offset_export(first(json!(u64::MAX)), json!({})).await;
    assert_eq!(ids.len(), 50);
    assert!(err.to_string().contains("next"), "{err}");
    // `next: 0` would read the first page forever.
    let (ids, err) = offset_export(first(json!(0)), json!({})).await;
    assert_eq!(ids.len(), 50);
    assert!(err.to_string().contains("does not advance"), "{err}");
    // Full pages without `total` from a server that ignores `start`: the repeated rows stop
    // the export, each row yielded once.
    let (ids, err) = offset_export(
        first(json!(50)),
        json!({"c0": crate::faults::rows(1..=50), "c1": crate::faults::rows(1..=50)}),
    )
    .await;
    assert_eq!(ids, (1..=50).collect::<Vec<_>>());
    assert!(err.to_string().contains("twice"), "{err}");
    assert!(err.to_string().contains("ordered by ID"), "{err}");
    // Fresh rows, then a page repeating them inside one batch.
    let (ids, err) = offset_export(
        first(json!(50)),
        json!({"c0": crate::faults::rows(51..=100), "c1": crate::faults::rows(60..=109)}),
    )
    .await;
    assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    assert!(err.to_string().contains("twice"), "{err}");
}

#[tokio::test]
async fn one_odd_time_block_does_not_disable_a_method() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let odd = json!({"result": {"ID": "1"}, "time": {
        "start": 0, "finish": 0, "duration": 1e308, "processing": 1e308,
        "operating": 1, "operating_reset_at": now + 1e7}});
    let script = scripted(vec![
        json_answer(200, odd.clone()),
        json_answer(200, odd),
        json_answer(200, json!({"result": {"ID": "1"}})),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    for _ in 0..3 {
        let deal = bounded(client.get::<Deal>(DealId(1))).await.unwrap();
        assert_eq!(deal.id, Some(DealId(1)));
    }
}

#[tokio::test]
async fn a_stopped_export_resumes_with_nothing_lost_or_repeated() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let resumed = std::sync::Arc::new(AtomicBool::new(false));
    let sent = std::sync::Arc::new(AtomicUsize::new(0));
    let (r, n) = (resumed.clone(), sent.clone());
    let after_resume = std::sync::Mutex::new(std::collections::VecDeque::from(vec![
        batch_answer(json!({"c0": crate::faults::rows(51..=100), "far": [{"ID": "120"}]})),
        batch_answer(json!({"c0": crate::faults::rows(101..=120)})),
    ]));
    let script = crate::faults::routed(std::sync::Arc::new(move |line: &str| {
        if r.load(Ordering::SeqCst) {
            return after_resume.lock().unwrap().pop_front();
        }
        // The first request answers, then the portal fails (500) until the read deadline.
        (n.fetch_add(1, Ordering::SeqCst) == 0 && line.contains("/batch")).then(|| {
            batch_answer(json!({"c0": crate::faults::rows(1..=50), "far": [{"ID": "120"}]}))
        })
    }))
    .await;
    let client = deadline_client(&script, Duration::from_millis(700));
    let mut stream = client.list::<Deal>().stream();
    let (mut ids, err) = until_error(&mut stream).await;
    assert!(
        err.api_code() == Some(&bitrix_runtime::ApiErrorCode::InternalServerError),
        "{err}"
    );
    // Retried until the deadline, not the 8 attempts of the policy.
    assert!(
        sent.load(Ordering::SeqCst) > 3,
        "{}",
        sent.load(Ordering::SeqCst)
    );
    let point = stream.resume_point().expect("a fast export resumes");
    assert_eq!(point.last_id(), Some(50));
    resumed.store(true, Ordering::SeqCst);
    let rest = client.list::<Deal>().stream().resume_from(point);
    let rest: Vec<u64> = bounded(futures::TryStreamExt::try_collect::<Vec<_>>(rest))
        .await
        .unwrap()
        .into_iter()
        .map(|d: Deal| d.id.unwrap().0)
        .collect();
    ids.extend(rest);
    assert_eq!(ids, (1..=120).collect::<Vec<_>>(), "every row once");
}

/// A batch answer whose commands `keys` are refused by the rate limit.
fn refused(keys: &[&str]) -> Step {
    let errors: serde_json::Map<String, serde_json::Value> = keys
        .iter()
        .map(|k| {
            (
                k.to_string(),
                json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
            )
        })
        .collect();
    json_answer(
        200,
        json!({"result": {"result": [], "result_error": errors, "result_total": [],
                          "result_next": [], "result_time": []}}),
    )
}

#[tokio::test]
async fn refused_commands_inside_an_export_batch_are_retried() {
    let script = scripted(vec![
        batch_answer(json!({"c0": crate::faults::rows(1..=50), "far": [{"ID": "60"}]})),
        refused(&["c0"]),
        refused(&["c0"]),
        batch_answer(json!({"c0": crate::faults::rows(51..=60)})),
    ])
    .await;
    let client = script_client(&script, fast_retry());
    let rows: Vec<Deal> = bounded(client.list::<Deal>().all()).await.unwrap();
    let ids: Vec<u64> = rows.iter().map(|d| d.id.unwrap().0).collect();
    assert_eq!(ids, (1..=60).collect::<Vec<_>>());
    assert_eq!(script.requests.lock().unwrap().len(), 4);
}

/// The rows a server returns for one command of a chained scan: up to 50 ids after its
/// `filter[>ID]`, up to `top`, IGNORING any `<=ID` bound.
fn ignoring_upper_bounds(query: &str, top: u64) -> Option<serde_json::Value> {
    let (_, after) =
        url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "filter[>ID]")?;
    let after: u64 = after.parse().ok()?;
    Some(crate::faults::rows(after + 1..=(after + 50).min(top)))
}

#[tokio::test]
async fn parallel_parts_keep_to_their_bounds_and_retry_refusals() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let refused_once = AtomicBool::new(false);
    let script = crate::faults::routed(std::sync::Arc::new(move |request: &str| {
        let body = request.split("\r\n\r\n").nth(1)?;
        let body: serde_json::Value = serde_json::from_str(body).ok()?;
        let cmd = body.get("cmd")?.as_object()?;
        // The id-range request is refused once (QUERY_LIMIT inside the batch).
        if cmd.contains_key("min") && !refused_once.swap(true, Ordering::SeqCst) {
            return Some(refused(&["min", "max"]));
        }
        let mut result = serde_json::Map::new();
        for (key, line) in cmd {
            let query = line.as_str()?.split_once('?').map_or("", |(_, q)| q);
            let rows = match key.as_str() {
                "min" => json!([{"ID": "1"}]),
                "max" | "far" => json!([{"ID": "100"}]),
                _ => match ignoring_upper_bounds(query, 100) {
                    Some(rows) => rows,
                    None => continue,
                },
            };
            result.insert(key.clone(), rows);
        }
        Some(batch_answer(serde_json::Value::Object(result)))
    }))
    .await;
    let client = script_client(&script, fast_retry());
    let rows: Vec<Deal> = bounded(futures::TryStreamExt::try_collect(
        client.list::<Deal>().stream_parallel(2),
    ))
    .await
    .unwrap();
    let mut ids: Vec<u64> = rows.iter().map(|d| d.id.unwrap().0).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=100).collect::<Vec<_>>(), "every row once");
}

#[tokio::test]
async fn rows_created_during_an_export_are_read_in_growing_chains() {
    // The probe saw ids up to 50; by the time the export gets there, 2,000 more exist.
    const TOP: u64 = 2_050;
    let script = crate::faults::routed(std::sync::Arc::new(|request: &str| {
        let body = request.split("\r\n\r\n").nth(1)?;
        let body: serde_json::Value = serde_json::from_str(body).ok()?;
        let cmd = body.get("cmd")?.as_object()?;
        let query = |key: &str| {
            let line = cmd.get(key)?.as_str()?;
            Some(line.split_once('?').map_or("", |(_, q)| q).to_owned())
        };
        // The chain's first command names its cursor; each later one continues after the
        // previous full page, as the portal resolves `$result[c{n-1}][49][ID]`.
        let first = ignoring_upper_bounds(&query("c0")?, TOP)
            .unwrap_or_else(|| crate::faults::rows(1..=50));
        let after: u64 = first
            .get(0)
            .and_then(|r| r["ID"].as_str())
            .and_then(|id| id.parse().ok())
            .map_or(TOP, |id: u64| id - 1);
        let mut result = serde_json::Map::new();
        for i in 0..cmd.len() {
            let key = format!("c{i}");
            if cmd.contains_key(&key) {
                let from = after + 50 * i as u64;
                result.insert(key, crate::faults::rows(from + 1..=(from + 50).min(TOP)));
            }
        }
        if cmd.contains_key("far") {
            result.insert("far".into(), json!([{"ID": "50"}]));
        }
        Some(batch_answer(serde_json::Value::Object(result)))
    }))
    .await;
    let client = script_client(&script, fast_retry());
    let rows: Vec<Deal> = bounded(client.list::<Deal>().all()).await.unwrap();
    let ids: Vec<u64> = rows.iter().map(|d| d.id.unwrap().0).collect();
    assert_eq!(ids, (1..=TOP).collect::<Vec<_>>(), "every row once");
    let requests = script.requests.lock().unwrap().len();
    // 41 pages one per request before; growing chains (1, 2, 4, ... 50 pages) need 8.
    assert!(requests <= 10, "{requests} requests for 2,000 late rows");
}

#[tokio::test]
async fn a_stopped_offset_export_resumes_from_its_row_count() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let resumed = std::sync::Arc::new(AtomicBool::new(false));
    let r = resumed.clone();
    let script = crate::faults::routed(std::sync::Arc::new(move |request: &str| {
        let batch = request.starts_with("POST /rest/1/scriptcode42/batch");
        match (r.load(Ordering::SeqCst), batch) {
            // The first page answers; every batch fails (500) until the read deadline.
            (false, false) => Some(json_answer(
                200,
                json!({"result": crate::faults::rows(1..=50), "next": 50, "total": 120}),
            )),
            (false, true) => None,
            (true, _) => Some(batch_answer(json!({
                "c0": crate::faults::rows(51..=100),
                "c1": crate::faults::rows(101..=120),
            }))),
        }
    }))
    .await;
    let client = deadline_client(&script, Duration::from_millis(500));
    let query = client
        .list::<Deal>()
        .order(Deal::TITLE, bitrix_runtime::Order::Asc);
    let mut stream = query.stream();
    let (mut ids, _) = until_error(&mut stream).await;
    let point = stream.resume_point().expect("an export");
    assert_eq!((point.rows(), point.last_id()), (50, None));
    resumed.store(true, Ordering::SeqCst);
    let collect = |stream: bitrix_runtime::ListStream<Deal>| async {
        let rows: Vec<Deal> = bounded(futures::TryStreamExt::try_collect(stream))
            .await
            .unwrap();
        rows.into_iter()
            .map(|d| d.id.unwrap().0)
            .collect::<Vec<u64>>()
    };
    ids.extend(collect(query.stream().resume_from(point)).await);
    assert_eq!(ids, (1..=120).collect::<Vec<_>>(), "every row once");
    // Inside a page: the rows before the point are dropped.
    let rest = collect(
        query
            .stream()
            .resume_from(bitrix_runtime::ResumePoint::after_rows(60)),
    )
    .await;
    assert_eq!(rest, (61..=120).collect::<Vec<_>>());
}

/// `ClientBuilder::http`: the user's own reqwest builder (here with a user agent and a default
/// header, and reqwest's default redirect policy, which follows up to 10 redirects) is used,
/// and the client's guarantee still holds: a redirect to another host is not followed.
#[tokio::test]
async fn an_own_http_builder_is_used_and_still_never_follows_credentials_elsewhere() {
    use bitrix_runtime::reqwest;

    let elsewhere = scripted(vec![json_answer(200, json!({"result": {"ID": "2"}}))]).await;
    let port = elsewhere.addr.rsplit(':').next().unwrap().to_owned();
    let target = format!("http://localhost:{port}/rest/1/{CODE}/crm.deal.get");
    // The portal: the first request's headers are kept, then one read, then a redirect.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let script = crate::faults::routed(std::sync::Arc::new(move |request: &str| {
        let mut log = log.lock().unwrap();
        log.push(request.to_ascii_lowercase());
        Some(if log.len() == 1 {
            json_answer(200, json!({"result": {"ID": "1"}}))
        } else {
            Step::Answer(
                302,
                vec![("location".into(), target.clone())],
                String::new(),
            )
        })
    }))
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-acme-tenant",
        reqwest::header::HeaderValue::from_static("north"),
    );
    let client = Client::builder()
        .webhook(format!("{}/rest/1/{CODE}/", script.addr))
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .allow_insecure_http()
        .http(
            reqwest::Client::builder()
                .user_agent("acme-sync/2.1")
                .default_headers(headers),
        )
        .build()
        .unwrap();
    let deal = bounded(client.get::<Deal>(DealId(1))).await.unwrap();
    assert_eq!(deal.id, Some(DealId(1)));
    let first = seen.lock().unwrap()[0].clone();
    assert!(first.contains("user-agent: acme-sync/2.1"), "{first}");
    assert!(first.contains("x-acme-tenant: north"), "{first}");

    let err = bounded(client.get::<Deal>(DealId(2))).await.unwrap_err();
    assert!(
        matches!(err, Error::PortalMoved { status: 302, .. }),
        "{err}"
    );
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "nothing was sent to the other host"
    );
}

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

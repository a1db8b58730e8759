//! HTTPS on the same port as HTTP (`Config::tls`, `--tls`): a certificate made at start and
//! signed by a CA the client trusts, the host names it answers to, and the OAuth flow of an
//! SDK that builds `/rest//method` from its documented `clientEndpoint`.

use std::net::SocketAddr;

use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

/// A client that trusts only the emulator's CA; `names` resolve to the emulator's address.
fn trusting(emu: &Emulator, names: &[&str]) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(emu.ca_pem().expect("a CA").as_bytes()).unwrap();
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca);
    for name in names {
        builder = builder.resolve(name, SocketAddr::new(emu.addr().ip(), emu.addr().port()));
    }
    builder.build().unwrap()
}

async fn post(c: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = c.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn https_and_http_share_the_port() {
    let emu = Emulator::start(
        Config::default()
            .with_deals(2)
            .with_tls(Vec::<String>::new()),
    )
    .await
    .unwrap();
    let https = emu.https_webhook_url().unwrap();
    assert!(
        https.starts_with(&format!("https://localhost:{}/rest/1/", emu.addr().port())),
        "{https}"
    );
    let c = trusting(&emu, &[]);
    let (status, body) = post(&c, format!("{https}crm.deal.get"), json!({"id": 1})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["ID"], "1");
    // The certificate also covers 127.0.0.1.
    let by_ip = https.replace("localhost", "127.0.0.1");
    let (status, _) = post(&c, format!("{by_ip}crm.deal.get"), json!({"id": 2})).await;
    assert_eq!(status, 200);
    // Plain HTTP still answers on the same port.
    let (status, _) = post(
        &c,
        format!("{}crm.deal.get", emu.webhook_url()),
        json!({"id": 1}),
    )
    .await;
    assert_eq!(status, 200);
    // A client that does not trust the CA is refused by its own TLS check.
    let stranger = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let err = stranger
        .post(format!("{https}crm.deal.get"))
        .json(&json!({"id": 1}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_configured_host_name_is_served_and_advertised() {
    let emu = Emulator::start(Config::default().with_tls(["acme.bitrix24.test"]))
        .await
        .unwrap();
    let base = emu.https_base_url().unwrap();
    assert_eq!(
        base,
        format!("https://acme.bitrix24.test:{}", emu.addr().port())
    );
    let app = emu.oauth();
    assert_eq!(app.client_endpoint, format!("{base}/rest/"));
    assert_eq!(
        app.domain,
        format!("acme.bitrix24.test:{}", emu.addr().port())
    );
    let c = trusting(&emu, &["acme.bitrix24.test"]);
    let (status, body) = post(
        &c,
        format!("{}crm.deal.fields", emu.https_webhook_url().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["TITLE"].is_object());
    emu.shutdown().await;
}

#[tokio::test]
async fn oauth_refresh_over_https_with_an_endpoint_ending_in_a_slash() {
    let emu = Emulator::start(
        Config::default()
            .with_deals(1)
            .with_tls(Vec::<String>::new()),
    )
    .await
    .unwrap();
    let c = trusting(&emu, &[]);
    let app = emu.oauth();
    // b24jssdk's documented setup: `clientEndpoint` ends in `/` and the SDK adds `/method`.
    let call = |token: String| {
        let url = format!("{}/crm.deal.get", app.client_endpoint);
        assert!(url.contains("/rest//crm.deal.get"), "{url}");
        post(&c, url, json!({"id": 1, "auth": token}))
    };
    let (status, body) = call(app.access_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    emu.expire_access_tokens();
    let (status, body) = call(app.access_token.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("expired_token"))
    );
    // The refresh at the portal's OAuth endpoint, over HTTPS too.
    let token_url = format!(
        "{}/oauth/token/?grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        emu.https_base_url().unwrap(),
        app.client_id,
        app.client_secret,
        app.refresh_token
    );
    let fresh: Value = c.get(token_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(fresh["client_endpoint"], app.client_endpoint);
    let (status, body) = call(fresh["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 200, "{body}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_never_speaks_is_closed() {
    let emu = Emulator::start(
        Config::default()
            .with_tls(Vec::<String>::new())
            .with_header_timeout(std::time::Duration::from_millis(200)),
    )
    .await
    .unwrap();
    // Nothing sent: neither an HTTP request nor a TLS handshake; `raw_exchange` fails the test
    // if the server keeps the connection open.
    let answer = crate::common::raw_exchange(&emu, String::new(), &[]).await;
    assert!(answer.is_empty(), "{answer}");
    emu.shutdown().await;
}

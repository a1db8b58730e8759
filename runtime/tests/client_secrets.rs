//! No secret (webhook code, access and refresh tokens, client secret) reaches Debug output,
//! errors or traces. Alone in its test binary: tracing caches per call site whether anyone
//! listens, so a test running on another thread without a subscriber could hide the events
//! this test captures.

mod common;

use std::sync::Arc;

use bitrix_runtime::types::DealId;
use bitrix_runtime::{Client, InMemoryTokenStore};
use common::{Captured, Deal, emulator, fast_retry, oauth_client, titled, tokens};

#[tokio::test]
async fn secrets_never_reach_debug_errors_or_traces() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace,bitrix_emulator=off")
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = emulator(3).await;
    let first = tokens(&emu);
    let webhook_code = emu
        .webhook_url()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    let mut texts: Vec<String> = Vec::new();

    // OAuth: calls, a refresh, errors.
    let store = Arc::new(InMemoryTokenStore::new());
    let client = oauth_client(&emu, store.clone());
    client.get::<Deal>(DealId(1)).await.unwrap();
    emu.expire_access_tokens();
    client.list::<Deal>().all().await.unwrap();
    texts.push(format!("{client:?}"));
    texts.push(format!("{:?}", client.oauth_tokens().unwrap()));
    texts.push(format!("{store:?}"));
    texts.push(format!("{:?}", Client::builder().oauth(first.clone())));
    let err = client.get::<Deal>(DealId(999)).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let err = client.call("no.such.method", ()).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let mut bad = first.clone();
    bad.refresh_token = format!("{}x", first.refresh_token);
    let bad_client = Client::builder()
        .oauth(bad)
        .retry(fast_retry())
        .build()
        .unwrap();
    emu.expire_access_tokens();
    let err = bad_client.get::<Deal>(DealId(1)).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));

    // Webhook: calls and errors.
    let webhook = common::client(&emu);
    webhook.add(&titled("traced")).await.unwrap();
    texts.push(format!("{webhook:?}"));
    let err = webhook.get::<Deal>(DealId(12345)).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let wrong =
        Client::from_webhook(&emu.webhook_url().replace(&webhook_code, "wrongcode123")).unwrap();
    let err = wrong.get::<Deal>(DealId(1)).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let insecure = format!("http://portal.example.com/rest/1/{webhook_code}/");
    let err = Client::from_webhook(&insecure).unwrap_err();
    texts.push(format!("{err} {err:?}"));
    // A connection that cannot be made (the emulator is gone afterwards).
    let base = emu.webhook_url();
    emu.shutdown().await;
    let gone = Client::builder()
        .webhook(base)
        .retry(fast_retry().with_max_attempts(2))
        .build()
        .unwrap();
    let err = gone.get::<Deal>(DealId(1)).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    if std::env::var_os("SHOW_TRACES").is_some() {
        eprintln!("{logs}");
    }
    assert!(logs.contains("bitrix_call"), "spans are traced: {logs}");
    assert!(logs.contains("refreshed the OAuth access token"), "{logs}");
    assert!(logs.contains("attempt="), "{logs}");

    let latest = store.latest().unwrap();
    let secrets = [
        first.access_token.as_str(),
        first.refresh_token.as_str(),
        first.client_secret.as_str(),
        latest.access_token.as_str(),
        latest.refresh_token.as_str(),
        webhook_code.as_str(),
    ];
    for secret in secrets {
        assert!(secret.len() >= 8, "a real secret: {secret:?}");
        assert!(!logs.contains(secret), "a secret leaked into the traces");
        for text in &texts {
            assert!(!text.contains(secret), "a secret leaked: {text}");
        }
    }
}

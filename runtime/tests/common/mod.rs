//! Shared helpers for the client's integration tests: the demo portal's generated deal
//! entity, emulator start-up and client construction.
#![allow(dead_code)]

use std::time::Duration;

use bitrix_emulator::{Config, Emulator, FaultRates, Faults};
use std::sync::Arc;

use bitrix_runtime::{Client, OAuthTokens, Plan, RetryPolicy, TokenStore, bitrix_entity};

/// The demo portal (`schemas/demo/deal.json`), with its required enumeration user field
/// "Канал" renamed.
#[bitrix_entity(
    schema = "../schemas/demo/deal.json",
    rename(
        UF_CRM_1721244590123 = "channel",
        UF_CRM_1721244590123[3476] = "Site",
        UF_CRM_1721244590123[3478] = "ColdCall",
    )
)]
pub struct Deal;

/// A new deal with a title and the required channel.
pub fn titled(title: &str) -> NewDeal {
    NewDeal::builder()
        .title(title)
        .channel(DealChannel::Site)
        .build()
}

/// A retry policy with short delays, so tests do not sleep long.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default().with_base_delay(Duration::from_millis(5))
}

/// A webhook client for an emulator, without client-side pacing.
pub fn client(emu: &Emulator) -> Client {
    Client::builder()
        .webhook(emu.webhook_url())
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .build()
        .expect("the emulator's webhook URL is valid")
}

/// Starts an emulator with `deals` seeded deals and no limits.
pub async fn emulator(deals: usize) -> Emulator {
    Emulator::start(Config {
        deals,
        ..Config::default()
    })
    .await
    .expect("the emulator starts")
}

/// The emulator's OAuth application as client tokens.
pub fn tokens(emu: &Emulator) -> OAuthTokens {
    let app = emu.oauth();
    OAuthTokens {
        access_token: app.access_token,
        refresh_token: app.refresh_token,
        client_id: app.client_id,
        client_secret: app.client_secret,
        client_endpoint: app.client_endpoint,
        server_endpoint: app.server_endpoint,
        domain: Some(app.domain),
        member_id: Some(app.member_id),
        ..OAuthTokens::default()
    }
}

/// An OAuth client of the emulator's application with a token store.
pub fn oauth_client(emu: &Emulator, store: Arc<dyn TokenStore>) -> Client {
    Client::builder()
        .oauth(tokens(emu))
        .token_store(store)
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .build()
        .unwrap()
}

/// The export tests' hostile network: 10% of requests refused with 503, 5% of connections
/// dropped before the portal executes the request and 5% after.
pub fn refusals_and_drops() -> Faults {
    Faults::all(
        FaultRates::default()
            .query_limit(0.10)
            .drop_before(0.05)
            .drop_after(0.05),
    )
}

/// Captured trace output: a `tracing_subscriber` writer that keeps every line in memory.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

//! OAuth against the emulator: one shared refresh when the access token expires under 8
//! concurrent exports, the rotated tokens reach the token store, and a rejected refresh token
//! is reported clearly. (Secret hygiene is in `client_secrets.rs`.)

use std::sync::{Arc, Mutex};

use crate::common::{Deal, DealField, emulator, fast_retry, oauth_client, tokens};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{ApiErrorCode, Client, InMemoryTokenStore, OAuthTokens, Plan, TokenStore};
use futures::TryStreamExt;
use tokio::sync::Barrier;

const TASKS: u64 = 8;
const PER_TASK: u64 = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_mid_export_is_refreshed_once_for_8_tasks() {
    let emu = emulator((TASKS * PER_TASK) as usize).await;
    let before = tokens(&emu);
    let store = Arc::new(InMemoryTokenStore::new());
    let client = oauth_client(&emu, store.clone());
    emu.reset_counters();

    // Every task reads its first row, then all wait while the tokens expire.
    let started = Arc::new(Barrier::new(TASKS as usize + 1));
    let expired = Arc::new(Barrier::new(TASKS as usize + 1));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let client = client.clone();
        let (started, expired) = (started.clone(), expired.clone());
        tasks.push(tokio::spawn(async move {
            let (lo, hi) = (t * PER_TASK, (t + 1) * PER_TASK);
            let mut stream = client
                .list::<Deal>()
                .filter(Deal::ID.gt(DealId(lo)).and(Deal::ID.le(DealId(hi))))
                .select([DealField::Title])
                .stream();
            let mut ids = vec![stream.try_next().await.unwrap().unwrap().id.unwrap().0];
            started.wait().await;
            expired.wait().await;
            while let Some(deal) = stream.try_next().await.unwrap() {
                ids.push(deal.id.unwrap().0);
            }
            assert_eq!(ids, ((lo + 1)..=hi).collect::<Vec<_>>(), "task {t}");
            ids.len()
        }));
    }
    started.wait().await;
    emu.expire_access_tokens();
    expired.wait().await;
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total as u64, TASKS * PER_TASK);

    let counters = emu.counters();
    assert!(
        counters.expired_token_refusals >= 1,
        "the export must have met the expired token: {counters:?}"
    );
    assert_eq!(counters.oauth_refreshes, 1, "{counters:?}");
    assert_eq!(store.saves(), 1);
    let saved = store.latest().unwrap();
    assert_ne!(saved.refresh_token, before.refresh_token);
    assert_ne!(saved.access_token, before.access_token);
    assert_eq!(saved.client_secret, before.client_secret);
    assert!(saved.expires_at.is_some());
    assert_eq!(client.oauth_tokens().unwrap(), saved);
    // The emulator rotated its refresh token to exactly what the store got.
    assert_eq!(emu.oauth().refresh_token, saved.refresh_token);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_rejected_refresh_token_is_reported_with_what_to_do() {
    let emu = emulator(1).await;
    let mut stale = tokens(&emu);
    stale.refresh_token = "not-the-current-refresh-token".into();
    let client = Client::builder()
        .oauth(stale)
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .build()
        .unwrap();
    // The access token still works.
    client.get::<Deal>(DealId(1)).await.unwrap();
    emu.expire_access_tokens();
    let err = client.get::<Deal>(DealId(1)).await.unwrap_err();
    let code = err.api_code().cloned();
    assert!(
        matches!(
            code,
            Some(ApiErrorCode::InvalidGrant | ApiErrorCode::InvalidToken)
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("oauth/token"), "{text}");
    assert!(text.contains("re-authorize"), "{text}");
    emu.shutdown().await;
}

/// A failing store does not break calls: the new tokens stay in use and saving is retried.
#[tokio::test]
async fn a_failing_token_store_is_retried_after_the_next_call() {
    #[derive(Default)]
    struct Flaky {
        attempts: Mutex<u32>,
        saved: Mutex<Option<OAuthTokens>>,
    }
    impl TokenStore for Flaky {
        fn save(
            &self,
            tokens: &OAuthTokens,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            let mut n = self.attempts.lock().unwrap();
            *n += 1;
            if *n == 1 {
                return Err("disk full".into());
            }
            *self.saved.lock().unwrap() = Some(tokens.clone());
            Ok(())
        }
    }
    let emu = emulator(1).await;
    let store = Arc::new(Flaky::default());
    let client = oauth_client(&emu, store.clone());
    emu.expire_access_tokens();
    client.get::<Deal>(DealId(1)).await.unwrap();
    assert_eq!(
        *store.attempts.lock().unwrap(),
        2,
        "saved again after the call"
    );
    assert_eq!(
        store.saved.lock().unwrap().as_ref().unwrap().refresh_token,
        emu.oauth().refresh_token
    );
    client.get::<Deal>(DealId(1)).await.unwrap();
    assert_eq!(*store.attempts.lock().unwrap(), 2, "no further saves");
    emu.shutdown().await;
}

//! Keeping a local copy of a portal's deals in sync from the portal's events.
//!
//! ```text
//! cargo run -p events-sync
//! ```
//!
//! Against the embedded emulator (no account needed), as an application installed on a portal:
//!
//! 1. **Online events.** Serves the runtime's ready `axum` endpoint on 127.0.0.1, binds it to
//!    `ONCRMDEALADD`, `ONCRMDEALUPDATE` and `ONCRMDEALDELETE` with `event.bind`, and keeps a
//!    local map of deals from the typed changes the endpoint hands over (each event names only
//!    the deal's id; the endpoint re-reads the changed deals in batches). Then eight tasks write
//!    concurrently (adds, updates, deletes), and the local copy must equal the portal's deals.
//!    A forged event (wrong application token) and a replayed one are refused.
//! 2. **Offline events across a restart.** Binds `ONCRMDEALUPDATE` as an offline event, updates
//!    deals while nobody listens, then drains the queue with a handler that "crashes" in the
//!    middle (the drain is dropped while one event is in flight). A new drain resumes the
//!    reserved records by their `process_id`: every changed deal is delivered, and none that the
//!    first run had handled comes back.
//!
//! Exit codes: 0 both parts passed, 1 a check failed.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::events::{
    Change, EventBinding, EventEntity, EventName, OfflineDrain, OfflineEvent, RecordAction,
    Verifier,
};
use bitrix_runtime::types::{DealId, Decimal};
use bitrix_runtime::{Client, OAuthTokens, Plan, Projection, bitrix_entity};
use futures::TryStreamExt;

/// The demo portal's deal, generated at compile time from the committed snapshot.
#[bitrix_entity(
    schema = "../../schemas/demo/deal.json",
    names = "../../schemas/demo/names.json"
)]
pub struct Deal;

/// What the local copy keeps of a deal.
#[derive(Debug, Clone, PartialEq, Projection)]
#[bitrix(entity = Deal)]
struct Row {
    id: DealId,
    title: Option<String>,
    opportunity: Option<Decimal>,
}

/// Writer tasks of the burst, and deals each adds.
const TASKS: u64 = 8;
const PER_TASK: u64 = 25;

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("events-sync failed: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run() -> Result<(), Failure> {
    let emu = Emulator::start(Config::default()).await?;
    let client = app_client(&emu)?;
    println!(
        "portal {} (emulated), application {}",
        emu.base_url(),
        emu.oauth().client_id
    );
    online(&emu, &client).await?;
    offline(&client).await?;
    emu.shutdown().await;
    Ok(())
}

/// A client authorized as the emulated portal's installed application (events need one).
fn app_client(emu: &Emulator) -> Result<Client, Failure> {
    let app = emu.oauth();
    let tokens = OAuthTokens {
        access_token: app.access_token,
        refresh_token: app.refresh_token,
        client_id: app.client_id,
        client_secret: app.client_secret,
        client_endpoint: app.client_endpoint,
        server_endpoint: app.server_endpoint,
        expires_at: None,
        domain: Some(app.domain),
        member_id: Some(app.member_id),
    };
    Ok(Client::builder()
        .oauth(tokens)
        .plan(Plan::Unlimited)
        .allow_insecure_http()
        .build()?)
}

/// Part 1: the endpoint, the burst, the comparison.
async fn online(emu: &Emulator, client: &Client) -> Result<(), Failure> {
    let started = Instant::now();
    let verifier = Verifier::new(emu.application_token()).member_id(emu.oauth().member_id);
    let (router, receiver) = bitrix_runtime::events::axum::endpoint(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let handler = format!("http://{}/bitrix/events", listener.local_addr()?);
    let app = axum::Router::new().nest("/bitrix/events", router);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let events = client.events();
    for action in [
        RecordAction::Add,
        RecordAction::Update,
        RecordAction::Delete,
    ] {
        let name = EventName::record(EventEntity::Deal, action);
        events
            .bind(&EventBinding::online(name, handler.as_str()))
            .await?;
    }
    let bound = events.get().await?;
    println!(
        "bound {} handler(s) to {handler}: {}",
        bound.len(),
        bound
            .iter()
            .map(|b| b.event.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The local copy, fed by typed changes.
    let local: Arc<Mutex<BTreeMap<DealId, Row>>> = Arc::default();
    let mut changes = receiver.records::<Row>(client);
    let copy = local.clone();
    let applied = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let applied_by_task = applied.clone();
    tokio::spawn(async move {
        while let Some(change) = changes.next().await {
            let Ok(change) = change else {
                eprintln!(
                    "a re-read failed: {}",
                    change.err().map_or(String::new(), |e| e.to_string())
                );
                continue;
            };
            let mut map = copy.lock().expect("local copy");
            match change {
                Change::Upserted(row) => {
                    map.insert(row.id, row);
                }
                Change::Deleted(id) => {
                    map.remove(&id);
                }
                Change::Other(_) => {}
            }
            applied_by_task.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });

    // The burst: every task adds its deals, renames every second one, deletes every fourth.
    let mut writers = Vec::new();
    for task in 0..TASKS {
        let client = client.clone();
        writers.push(tokio::spawn(async move {
            let mut writes = 0u64;
            for i in 0..PER_TASK {
                let new = NewDeal::builder()
                    .title(format!("Сделка {task}-{i}"))
                    .sales_channel(DealSalesChannel::Website)
                    .build();
                let id = client.add(&new).await?;
                writes += 1;
                if i % 2 == 0 {
                    let patch = DealPatch::new()
                        .title(format!("Сделка {task}-{i} (обновлена)"))
                        .opportunity(Decimal::new((task * 100 + i) as i64, 0));
                    client.update(id, &patch).await?;
                    writes += 1;
                }
                if i % 4 == 0 {
                    client.delete::<Deal>(id).await?;
                    writes += 1;
                }
            }
            Ok::<u64, bitrix_runtime::Error>(writes)
        }));
    }
    let mut writes = 0;
    for writer in writers {
        writes += writer.await??;
    }
    emu.events_idle().await;
    let delivered = emu.events_delivered();
    println!(
        "{writes} concurrent writes from {TASKS} tasks; the portal delivered {delivered} events"
    );
    if delivered != writes {
        return Err(format!(
            "expected one event per write ({writes}), the portal sent {delivered}"
        )
        .into());
    }

    // The local copy must reach the portal's state (the endpoint re-reads in batches).
    let deadline = Instant::now() + Duration::from_secs(20);
    let portal = loop {
        let portal: BTreeMap<DealId, Row> = client
            .list::<Row>()
            .stream()
            .map_ok(|row| (row.id, row))
            .try_collect()
            .await?;
        if *local.lock().expect("local copy") == portal || Instant::now() > deadline {
            break portal;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let copy = local.lock().expect("local copy").clone();
    if copy != portal {
        let missing = portal.keys().filter(|id| !copy.contains_key(id)).count();
        let extra = copy.keys().filter(|id| !portal.contains_key(id)).count();
        return Err(format!(
            "the local copy differs from the portal: {} local, {} on the portal ({missing} missing, {extra} extra)",
            copy.len(),
            portal.len()
        )
        .into());
    }
    println!(
        "local copy equals the portal: {} deals ({} typed changes applied) in {:.1} s",
        copy.len(),
        applied.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );

    // A forged event and a replayed one are refused, and change nothing.
    let http = bitrix_runtime::reqwest::Client::new();
    let forged = format!(
        "event=ONCRMDEALDELETE&data%5BFIELDS%5D%5BID%5D={}&ts={}&auth%5Bapplication_token%5D=forged&auth%5Bmember_id%5D={}",
        copy.keys().next().map_or(1, |id| id.0),
        unix_now(),
        emu.oauth().member_id
    );
    let status = http
        .post(&handler)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(forged)
        .send()
        .await?
        .status();
    if status.as_u16() != 401 {
        return Err(format!("a forged event was answered {status}, not 401").into());
    }
    println!("a forged event (wrong application token) is refused: HTTP {status}");
    // A genuine body (the portal's token) is accepted once; the same body again is a replay.
    let genuine = format!(
        "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D={}&ts={}&auth%5Bapplication_token%5D={}&auth%5Bmember_id%5D={}",
        copy.keys().next().map_or(1, |id| id.0),
        unix_now(),
        emu.application_token(),
        emu.oauth().member_id
    );
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let status = http
            .post(&handler)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(genuine.clone())
            .send()
            .await?
            .status();
        statuses.push(status.as_u16());
    }
    if statuses != [200, 401] {
        return Err(
            format!("a genuine body sent twice was answered {statuses:?}, not [200, 401]").into(),
        );
    }
    println!("the same genuine body sent twice: accepted, then refused as a replay (HTTP 401)");
    for binding in events.get().await? {
        let handler = binding.handler.clone().unwrap_or_default();
        events
            .unbind(&EventBinding::online(binding.event.clone(), handler))
            .await?;
    }
    Ok(())
}

/// Part 2: the offline queue, a crash in the middle of a drain, and the restart.
async fn offline(client: &Client) -> Result<(), Failure> {
    let events = client.events();
    events
        .bind(&EventBinding::offline(EventName::record(
            EventEntity::Deal,
            RecordAction::Update,
        )))
        .await?;
    // 60 deals, each updated three times while nobody listens: the queue keeps the latest
    // state per deal, so 60 records wait.
    let mut ids = Vec::new();
    for i in 0..60 {
        let new = NewDeal::builder()
            .title(format!("Оффлайн {i}"))
            .sales_channel(DealSalesChannel::Website)
            .build();
        ids.push(client.add(&new).await?);
    }
    for round in 0..3 {
        for id in &ids {
            client
                .update(
                    *id,
                    &DealPatch::new().title(format!("Оффлайн {} v{round}", id.0)),
                )
                .await?;
        }
    }
    let changed: BTreeSet<u64> = ids.iter().map(|id| id.0).collect();

    // The first drain handles 25 events, then "crashes" while the 26th is in flight.
    let handled: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut drain: OfflineDrain = events.offline().limit(50);
    let seen = handled.clone();
    let crash = tokio::time::timeout(
        Duration::from_secs(2),
        drain.run_once(move |event: OfflineEvent| {
            let seen = seen.clone();
            async move {
                if seen.lock().expect("handled").len() == 25 {
                    // The process dies here: this handler never finishes.
                    std::future::pending::<()>().await;
                }
                seen.lock().expect("handled").push(record_id(&event));
                Ok::<(), Infallible>(())
            }
        }),
    )
    .await;
    if crash.is_ok() {
        return Err("the simulated crash did not happen".into());
    }
    let process_id = drain
        .process_id()
        .ok_or("the first drain reserved no records")?
        .to_owned();
    drop(drain);
    let before_crash = handled.lock().expect("handled").clone();
    println!(
        "offline: {} records queued for {} deals; the first drain handled {} and crashed",
        changed.len(),
        changed.len(),
        before_crash.len()
    );

    // The restarted drain resumes the reserved records, then takes the rest.
    let mut drain = events.offline().limit(50).resume(process_id);
    loop {
        let seen = handled.clone();
        let report = drain
            .run_once(move |event: OfflineEvent| {
                let seen = seen.clone();
                async move {
                    seen.lock().expect("handled").push(record_id(&event));
                    Ok::<(), Infallible>(())
                }
            })
            .await?;
        if report.delivered == 0 {
            break;
        }
    }
    let report = drain.total();
    let all = handled.lock().expect("handled").clone();
    let unique: BTreeSet<u64> = all.iter().copied().collect();
    println!(
        "offline: the restarted drain handled {} more ({report:?}); {} deliveries for {} deals",
        all.len() - before_crash.len(),
        all.len(),
        unique.len()
    );
    if unique != changed {
        return Err(format!(
            "lost events: {} of {} changed deals were delivered",
            unique.len(),
            changed.len()
        )
        .into());
    }
    if all.len() != unique.len() {
        return Err(format!("{} duplicate deliveries", all.len() - unique.len()).into());
    }
    println!("offline drain survived the restart: nothing lost, nothing delivered twice");
    Ok(())
}

/// The deal an offline event names (0 when it names none).
fn record_id(event: &OfflineEvent) -> u64 {
    event.kind().record().map_or(0, |(_, id)| id)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

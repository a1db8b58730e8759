//! Scripted measurement of the events module:
//!
//! 1. `Verifier::verify` on distinct documentation-shaped deal events (decode, constant-time
//!    token check, member check, ts age, replay digest): time per body;
//! 2. draining an emulated offline queue of `EVENTS_N` deal events (default 2,000) with a
//!    clear after every event (the default: a crash re-delivers only the event in flight)
//!    and with `clear_every(50)`: requests per strategy (from the emulator's counters) and
//!    wall time.
//!
//! ```text
//! cargo bench -p bitrix-runtime --bench events
//! EVENTS_N=500 cargo bench -p bitrix-runtime --bench events
//! ```
//!
//! Not a test: nothing is asserted about speed.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::events::{EventBinding, OfflineDrain, Verifier};
use bitrix_runtime::{Client, InMemoryTokenStore};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{DealChannel, NewDeal};

const TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";
const MEMBER: &str = "a223c6b3710f85df22e9377d6c4f7553";

fn verify_bodies(n: u64) {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|id| {
            format!(
                "event=ONCRMDEALUPDATE&event_handler_id=185&data%5BFIELDS%5D%5BID%5D={id}&ts={ts}\
                 &auth%5Baccess_token%5D=s6p6eclrvim6da22ft9ch94ekreb52lv&auth%5Bexpires_in%5D=3600\
                 &auth%5Bscope%5D=crm&auth%5Bdomain%5D=some-domain.bitrix24.com\
                 &auth%5Bserver_endpoint%5D=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&auth%5Bstatus%5D=L\
                 &auth%5Bclient_endpoint%5D=https%3A%2F%2Fsome-domain.bitrix24.com%2Frest%2F\
                 &auth%5Bmember_id%5D={MEMBER}&auth%5Brefresh_token%5D=4s386p3q0tr8dy89xvmt96234v3dljg8\
                 &auth%5Bapplication_token%5D={TOKEN}"
            )
            .into_bytes()
        })
        .collect();
    let verifier = Verifier::new(TOKEN).member_id(MEMBER);
    let started = Instant::now();
    let accepted = bodies.iter().filter(|b| verifier.verify(b).is_ok()).count();
    let wall = started.elapsed();
    println!(
        "verify: {accepted} of {n} bodies ({} bytes each) in {:.1} ms: {:.2} µs per body",
        bodies[0].len(),
        wall.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e6 / n as f64
    );
}

fn app(emu: &Emulator) -> Client {
    common::oauth_client(emu, Arc::new(InMemoryTokenStore::new()))
}

/// Creates `n` deals in batches of 50 (each fires ONCRMDEALADD into the offline queue).
async fn fill(writer: &Client, n: usize) {
    let mut batch = writer.batch();
    for i in 0..n {
        let new = NewDeal::builder()
            .title(format!("Queued {i}"))
            .channel(DealChannel::Site)
            .build();
        batch.add(&new);
    }
    let results = batch.send().await.unwrap();
    assert_eq!(results.failures(), 0);
}

async fn drain(emu: &Emulator, name: &str, n: usize, mut drain: OfflineDrain) {
    emu.reset_counters();
    let started = Instant::now();
    loop {
        let report = drain
            .run_once(|_| async { Ok::<(), std::io::Error>(()) })
            .await
            .unwrap();
        if report.delivered == 0 {
            break;
        }
    }
    let wall = started.elapsed();
    let c = emu.counters();
    let total = drain.total();
    assert_eq!(total.cleared as usize, n);
    println!(
        "drain {name}: {} events in {:.0} ms, {} requests ({} event.offline.get, {} event.offline.clear)",
        total.delivered,
        wall.as_secs_f64() * 1e3,
        c.requests,
        c.per_method.get("event.offline.get").copied().unwrap_or(0),
        c.per_method
            .get("event.offline.clear")
            .copied()
            .unwrap_or(0),
    );
}

fn main() {
    let n: usize = std::env::var("EVENTS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    verify_bodies(100_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let emu = Emulator::start(Config::default()).await.unwrap();
        let app = app(&emu);
        app.events()
            .bind(&EventBinding::offline("ONCRMDEALADD"))
            .await
            .unwrap();
        let writer = common::client(&emu);
        fill(&writer, n).await;
        drain(&emu, "clear after every event", n, app.events().offline()).await;
        fill(&writer, n).await;
        let grouped = app.events().offline().clear_every(50);
        drain(&emu, "clear_every(50)", n, grouped).await;
    });
}

//! The quickstart: the whole pipeline of per-portal typed Bitrix24 CRM in one command.
//!
//! ```text
//! cargo run -p quickstart                      # an emulated portal on 127.0.0.1, no account
//! BITRIX_WEBHOOK=https://<portal>/rest/<user>/<code>/ cargo run -p quickstart
//! ```
//!
//! # What it does (emulated portal, the default)
//!
//! 1. starts the embedded emulator (`bitrix-emulator`) with the demo portal's fields
//!    (`schemas/demo/deal.json`), 2,000 seeded deals (`--deals N` to change) and the rate
//!    limit of a regular plan (50 requests, then 2 per second), to which the client paces
//!    itself: with many deals the export's requests fill the bucket and later steps wait, as
//!    they would on a real portal;
//! 2. creates two user fields through `crm.deal.userfield.add` (a string and an enumeration with
//!    Cyrillic items), with the untyped `Client::call`;
//! 3. snapshots the portal with the codegen library (`bitrix_codegen::fetch::fetch_snapshot`)
//!    and prints its summary;
//! 4. prints the drift against the committed `schemas/demo/deal.json` (the two new fields show
//!    up as added), what `bitrix-codegen check` reports in CI;
//! 5. prints what the generator would make of the live snapshot (fields of `Deal`, `NewDeal`,
//!    `DealPatch`, required fields, enums, warnings);
//! 6. with the `Deal` generated at compile time from the COMMITTED snapshot (the
//!    `#[bitrix_entity]` below), creates deals with user fields of several types, reads one
//!    back, updates it (set and clear), runs a filtered typed list query, streams an export and
//!    runs a batch, printing what was sent and what came back;
//! 7. with the company, contact and smart-process types generated from the other committed
//!    snapshots of `schemas/demo/` (`bitrix-codegen snapshot --all`), creates a company, a
//!    contact of it and a deal linked to both through the legacy methods, reads them back
//!    through `crm.item.*`, and adds an item of the smart process "Проекты" linked to the deal;
//! 8. deletes what it created (deals, then the user fields) and checks that the portal matches
//!    the committed snapshot again.
//!
//! Every step checks its result: a broken pipeline exits with a non-zero code and says which
//! step failed. The closing table shows each step's time and, on the emulator, the HTTP
//! requests it cost (from the emulator's counters).
//!
//! # With `BITRIX_WEBHOOK` (your portal)
//!
//! The same client and codegen calls run against your portal, with these honest differences:
//!
//! - the webhook code is never printed (only the portal's address);
//! - user fields are created only with `--create-fields` (named `UF_CRM_QS_NOTE_<time>` and
//!   `UF_CRM_QS_PRIORITY_<time>`), and deleted again at the end;
//! - the snapshot, its summary, the drift against the demo snapshot (your portal differs from
//!   the demo: expect many differences) and the types your portal would get are printed;
//! - the typed part cannot use the demo portal's user fields, which your portal does not have:
//!   typed CRUD on them needs types generated from YOUR portal's snapshot (run
//!   `cargo run -p bitrix-codegen -- snapshot --out schemas/my-portal/deal.json` and point
//!   `#[bitrix_entity(schema = ...)]` at it). So it runs only what works on every portal: a
//!   typed list of standard fields read through the portal-independent `StandardDeal` trait,
//!   and one deal created (untyped, with a title only), read, updated and deleted with the
//!   standard fields. When your portal has required fields, the write round trip is skipped
//!   (the message names them) rather than sending a deal the portal would refuse;
//! - every deal it creates is deleted at the end, also when a step fails.
//!
//! Exit codes: 0 all steps passed, 1 a step failed, 2 wrong command-line arguments.

mod entities;
mod live;
mod report;
mod typed;

use std::process::ExitCode;
use std::time::Duration;

use bitrix_codegen::Snapshot;
use bitrix_codegen::fetch::Webhook;
use bitrix_emulator::{Config, Emulator, Limits};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{Client, RetryPolicy, bitrix_entity};

use report::{Failure, Outcome, Report, count, line};

/// The demo portal's deal, generated at compile time from the committed snapshot, with the
/// readable names of `schemas/demo/names.json` (`UF_CRM_1721244590123` -> `sales_channel`).
#[bitrix_entity(
    schema = "../../schemas/demo/deal.json",
    names = "../../schemas/demo/names.json"
)]
pub struct Deal;

/// The committed snapshot the `Deal` above was generated from, to compare the live portal with.
pub const DEMO_SNAPSHOT: &str = include_str!("../../../schemas/demo/deal.json");
/// Its names file.
pub const DEMO_NAMES: &str = include_str!("../../../schemas/demo/names.json");
/// Where the committed snapshot lives, for messages.
pub const DEMO_SNAPSHOT_PATH: &str = "schemas/demo/deal.json";

const USAGE: &str = "usage: quickstart [--deals N] [--create-fields]

  (no BITRIX_WEBHOOK)  run against an emulated portal on 127.0.0.1 (no account needed)
  BITRIX_WEBHOOK=URL   run against your portal (the webhook code is never printed)
  --deals N            deals seeded in the emulated portal (default 2000)
  --create-fields      on your portal, also create two user fields (deleted at the end)";

/// Command-line arguments.
struct Args {
    deals: usize,
    create_fields: bool,
    webhook: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        deals: 2_000,
        create_fields: false,
        webhook: std::env::var("BITRIX_WEBHOOK")
            .ok()
            .filter(|w| !w.trim().is_empty()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--create-fields" => args.create_fields = true,
            "--deals" => {
                let n = it.next().ok_or("--deals needs a number")?;
                args.deals = n
                    .replace(['_', ','], "")
                    .parse()
                    .map_err(|_| format!("--deals needs a number, not {n:?}"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// The portal the quickstart talks to.
pub struct Portal {
    /// The typed client.
    pub client: Client,
    /// The same webhook for the codegen library (its `Display` hides the code).
    pub webhook: Webhook,
    /// The embedded emulator, when no `BITRIX_WEBHOOK` was given.
    pub emulator: Option<Emulator>,
}

impl Portal {
    /// Whether this is the emulated demo portal (typed CRUD on the demo's user fields works).
    pub fn is_emulated(&self) -> bool {
        self.emulator.is_some()
    }
}

/// What the run created, deleted at the end whatever happens in between.
#[derive(Default)]
pub struct Created {
    /// Deals.
    pub deals: Vec<DealId>,
    /// User fields: (id, code).
    pub user_fields: Vec<(u64, String)>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if message.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut report = Report::new();
    match run(&args, &mut report).await {
        Ok(()) => {
            println!();
            println!("All steps passed.");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!();
            eprintln!("quickstart failed: {failure}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args, report: &mut Report) -> Outcome {
    println!("bitrix24-typed quickstart: portal -> snapshot -> typed Rust -> typed calls");
    report.step("Connect to a portal", None);
    let portal = connect(args)
        .await
        .map_err(|f| Failure(format!("{}: {f}", report.position())))?;
    let mut created = Created::default();
    let outcome = steps(args, &portal, &mut created, report)
        .await
        .map_err(|f| Failure(format!("{}: {f}", report.position())));
    // Clean up also after a failure: a quickstart must not leave deals on a real portal.
    report.step(
        "Clean up: delete what this run created",
        portal.emulator.as_ref(),
    );
    let cleaned = live::clean_up(&portal, &created)
        .await
        .map_err(|f| Failure(format!("{}: {f}", report.position())));
    report.summary(portal.emulator.as_ref());
    if let Some(emulator) = portal.emulator {
        emulator.shutdown().await;
    }
    match (outcome, cleaned) {
        (Err(failure), Err(also)) => Err(Failure(format!(
            "{failure}\n(the clean-up failed too: {also})"
        ))),
        (Err(failure), Ok(())) | (Ok(()), Err(failure)) => Err(failure),
        (Ok(()), Ok(())) => Ok(()),
    }
}

async fn connect(args: &Args) -> Outcome<Portal> {
    let (url, emulator) = match &args.webhook {
        Some(url) => (url.clone(), None),
        None => {
            // The limits of a regular plan (50 requests, then 2 per second), which the
            // client's default `Plan::Regular` paces itself to.
            let config = Config::default()
                .with_deals(args.deals)
                .with_limits(Limits::Regular);
            let emulator = Emulator::start(config)
                .await
                .map_err(|e| Failure(format!("the emulator did not start: {e}")))?;
            (emulator.webhook_url(), Some(emulator))
        }
    };
    let webhook = Webhook::parse(&url).map_err(|e| {
        Failure(format!(
            "BITRIX_WEBHOOK: {e} (unset BITRIX_WEBHOOK to use the emulated portal)"
        ))
    })?;
    let client = Client::builder()
        .webhook(url)
        .retry(RetryPolicy::default().with_base_delay(Duration::from_millis(200)))
        .build()?;
    match &emulator {
        Some(e) => {
            line(format!(
                "emulated portal at {} with the demo portal's {} fields and {} seeded deals",
                client.portal(),
                e.fields().as_object().map_or(0, |f| f.len()),
                count(e.deal_count() as u64),
            ));
            line(format!(
                "webhook {webhook} (the code is a secret: never printed)"
            ));
        }
        None => {
            line(format!(
                "your portal {} through the webhook {webhook} (the code is never printed)",
                client.portal()
            ));
        }
    }
    Ok(Portal {
        client,
        webhook,
        emulator,
    })
}

async fn steps(
    args: &Args,
    portal: &Portal,
    created: &mut Created,
    report: &mut Report,
) -> Outcome {
    let emu = portal.emulator.as_ref();
    let committed = Snapshot::parse(DEMO_SNAPSHOT, &bitrix_codegen::EntityInfo::deal())?;

    report.step("Create user fields with crm.deal.userfield.add", emu);
    let new_fields = if portal.is_emulated() || args.create_fields {
        live::create_user_fields(portal, created).await?
    } else {
        line(
            "skipped on your portal: pass --create-fields to create two user fields (they are deleted at the end)",
        );
        Vec::new()
    };

    report.step("Snapshot the portal with the codegen library", emu);
    let snapshot = live::snapshot(portal).await?;

    report.step(
        &format!("Drift against the committed {DEMO_SNAPSHOT_PATH}"),
        emu,
    );
    live::drift(portal, &committed, &snapshot, &new_fields)?;

    report.step("Types the generator makes from the live snapshot", emu);
    live::types(portal, &snapshot, &new_fields)?;

    if portal.is_emulated() {
        typed::run(portal, created, report).await?;
        entities::run(portal, report).await
    } else {
        live::standard_fields(portal, &snapshot, created, report).await
    }
}

/// Checks that `value` is a positive integer id (`crm.*.add` answers `{"result": 394}`).
pub fn id_of(method: &str, value: &serde_json::Value) -> Outcome<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .filter(|&id| id > 0)
        .ok_or_else(|| Failure(format!("{method} answered {value} instead of a new id")))
}

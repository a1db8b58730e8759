//! One program, two portals with different fields, one library.
//!
//! ```text
//! cargo run -p example-library-author
//! ```
//!
//! The library (`src/lib.rs`) is written once against `bitrix_runtime::StandardDeal`. This
//! program generates a deal type for each of two portals, `DemoDeal` from
//! `schemas/demo/deal.json` (80 fields, a required enumeration user field) and `SeedDeal` from
//! `schemas/seed/deal.json` (the seed documentation's 47 fields), starts an emulator for each,
//! creates a deal on each with that portal's own typed builder, and runs the same generic
//! library functions with both types.

use std::process::ExitCode;

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::types::{DealId, Decimal};
use bitrix_runtime::{Client, StandardDeal};
use example_library_author::{
    PipelineReport, ReportError, describe, largest_open_deals, pipeline_report,
};

/// The generated types of both portals, side by side in one module: their item names derive
/// from the struct names (`NewDemoDeal`, `SeedDealPatch`, ...), so they do not collide.
mod portals {
    use bitrix_runtime::bitrix_entity;

    /// The demo portal's deal.
    #[bitrix_entity(
        schema = "../../schemas/demo/deal.json",
        names = "../../schemas/demo/names.json"
    )]
    pub struct DemoDeal;

    /// The seed documentation portal's deal.
    #[bitrix_entity(schema = "../../schemas/seed/deal.json")]
    pub struct SeedDeal;
}

use portals::{DemoDeal, DemoDealSalesChannel, NewDemoDeal, NewSeedDeal, SeedDeal};

/// Runs the library's generic functions on one portal; `D` picks the portal's deal type.
async fn report_on<D: StandardDeal>(
    name: &str,
    client: &Client,
    emulator: &Emulator,
    largest_id: DealId,
) -> Result<PipelineReport, String> {
    let report = pipeline_report::<D>(client)
        .await
        .map_err(|e: ReportError| format!("{name}: {e}"))?;
    println!();
    println!(
        "== {name} ({} deals read as {})",
        report.deals,
        std::any::type_name::<D>()
            .rsplit("::")
            .next()
            .unwrap_or("?")
    );
    print!("{report}");
    let largest = largest_open_deals::<D>(client, 3)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    println!("largest open deals:");
    for deal in &largest {
        println!("  {}", describe(deal));
    }
    // The report read every deal exactly once.
    let stored = emulator.deal_count() as u64;
    if report.deals != stored {
        return Err(format!(
            "{name}: the report counted {} deals, the portal holds {stored}",
            report.deals
        ));
    }
    if largest.len() != 3 || largest.iter().any(|d| d.closed() != Some(false)) {
        return Err(format!(
            "{name}: expected 3 open deals, got {}",
            largest.len()
        ));
    }
    if largest[0].deal_id() != Some(largest_id) {
        return Err(format!(
            "{name}: the largest open deal should be {largest_id}, the one this program created"
        ));
    }
    Ok(report)
}

async fn run() -> Result<(), String> {
    let start = |config: Config| async move {
        Emulator::start(config)
            .await
            .map_err(|e| format!("the emulator did not start: {e}"))
    };
    let demo_portal = start(Config::default().with_deals(1_500).with_seed(7)).await?;
    let seed_portal = start(
        Config::default()
            .with_seed_portal()
            .with_deals(600)
            .with_seed(11),
    )
    .await?;
    let connect =
        |emu: &Emulator| Client::from_webhook(&emu.webhook_url()).map_err(|e| e.to_string());
    let demo = connect(&demo_portal)?;
    let seed = connect(&seed_portal)?;

    // Portal-specific code uses each portal's own types: the demo portal requires its sales
    // channel (the builder does not compile without it), the seed portal requires nothing.
    let demo_id = demo
        .add(
            &NewDemoDeal::builder()
                .title("Крупная поставка (demo)")
                .opportunity(Decimal::new(99_000_000, 0))
                .currency_id("RUB")
                .sales_channel(DemoDealSalesChannel::Referral)
                .build(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let seed_id = seed
        .add(
            &NewSeedDeal::builder()
                .title("Крупная поставка (seed)")
                .opportunity(Decimal::new(99_000_000, 0))
                .currency_id("RUB")
                .build(),
        )
        .await
        .map_err(|e| e.to_string())?;
    println!("created deal {demo_id} on the demo portal and deal {seed_id} on the seed portal");

    // Library code, written once, used with both.
    let demo_report = report_on::<DemoDeal>("demo portal", &demo, &demo_portal, demo_id).await?;
    let seed_report = report_on::<SeedDeal>("seed portal", &seed, &seed_portal, seed_id).await?;

    println!();
    println!(
        "RUB across both portals: {} (demo {}, seed {})",
        (demo_report.total("RUB") + seed_report.total("RUB")).round_dp(2),
        demo_report.total("RUB").round_dp(2),
        seed_report.total("RUB").round_dp(2),
    );
    demo_portal.shutdown().await;
    seed_portal.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

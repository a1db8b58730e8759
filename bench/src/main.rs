//! `bitrix-bench`: export and bulk-create benchmarks of this project's client against
//! fast_bitrix24 (Python), both against the same emulated portal.
//!
//! ```text
//! bitrix-bench export [--deals 20000] [--partitions 8]     # limited: bucket, operating limit, cost model
//! bitrix-bench export --unlimited [--deals 100000]         # pure client throughput
//! bitrix-bench create [--deals 10000]                      # bulk create through batch
//! ```
//!
//! The orchestrator starts a fresh in-process emulator per client run and runs each client as a
//! child process (this binary's hidden `client-export` / `client-create` subcommands, or
//! `python/fb24_*.py`), so CPU time and memory are the client's own. Each client measures its
//! own export or create part and prints one JSON line; the orchestrator checks the result
//! against the portal and prints markdown tables. `bench/run.sh` is the one-command wrapper
//! (it installs fast_bitrix24 into a virtual environment).

#![deny(missing_docs)]

mod clients;
mod measure;
mod orchestrate;
mod report;
mod row5;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Export and bulk-create benchmarks against fast_bitrix24 on the emulated portal.
#[derive(Debug, Parser)]
#[command(name = "bitrix-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Export every deal with all fields: stream(), stream_parallel(K) and fast_bitrix24's
    /// get_all, each against a fresh emulator; prints one markdown table.
    Export(ExportArgs),
    /// Create deals through batch: this client's typed Batch against fast_bitrix24's
    /// call('crm.deal.add', items), each against a fresh emulator; prints one markdown table.
    Create(CreateArgs),
    /// (internal) This client's export, run as a child process by `export`.
    #[command(hide = true)]
    ClientExport(ClientExportArgs),
    /// (internal) This client's bulk create, run as a child process by `create`.
    #[command(hide = true)]
    ClientCreate(ClientCreateArgs),
}

/// Options shared by the orchestrating subcommands.
#[derive(Debug, Args)]
struct Common {
    /// The Python interpreter with fast-bitrix24 installed (run.sh passes its venv's).
    #[arg(long, default_value = "python3")]
    python: PathBuf,
    /// Which clients to run, comma-separated: ours, parallel (export only), item (export only:
    /// `stream()` over `crm.item.list`), projection (export only: `stream()` of a 5-field
    /// projection), fast_bitrix24, fast_bitrix24_select (export only: the projection's
    /// select).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ours,parallel,fast_bitrix24"
    )]
    clients: Vec<String>,
    /// Give up on a client run after this many seconds.
    #[arg(long, default_value_t = 1_800)]
    timeout_secs: u64,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Deals seeded (default 20,000 limited, 100,000 with --unlimited).
    #[arg(long)]
    deals: Option<usize>,
    /// No bucket, no operating limit, no cost model: pure client throughput.
    #[arg(long)]
    unlimited: bool,
    /// Parts of the id range read at once by the `parallel` client.
    #[arg(long, default_value_t = 8)]
    partitions: usize,
    /// The portal's time scale (limited export only): 0.01 runs the bucket, the operating
    /// window and limit and the cost model 100x faster; our clients pace at the scaled limits.
    /// fast_bitrix24 has no way to be told them and is left out below 1.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// Deals to create.
    #[arg(long, default_value_t = 10_000)]
    deals: usize,
    /// Batches of 50 adds in flight at once for this client.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct ClientExportArgs {
    /// The webhook URL.
    #[arg(long)]
    url: String,
    /// Where to write the exported ids, one per line.
    #[arg(long)]
    ids_out: PathBuf,
    /// 1: `stream()`; more: `stream_parallel(N)`.
    #[arg(long, default_value_t = 1)]
    partitions: usize,
    /// Export through `crm.item.list` (`Client::with_api(Api::Item)`) instead of `crm.deal.list`.
    #[arg(long)]
    item_api: bool,
    /// Export the 5-field projection (`ID`, `TITLE`, `STAGE_ID`, `OPPORTUNITY`,
    /// `CURRENCY_ID`) instead of the whole `Deal`.
    #[arg(long)]
    projection: bool,
    /// No client-side pacing (`Plan::Unlimited`).
    #[arg(long)]
    unlimited: bool,
    /// The portal's time scale: pace at a drain of 2 / scale per second and an operating limit
    /// of 480 s x scale.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
}

#[derive(Debug, Args)]
struct ClientCreateArgs {
    /// The webhook URL.
    #[arg(long)]
    url: String,
    /// Deals to create.
    #[arg(long)]
    count: usize,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bitrix-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Export(a) => orchestrate::export(a).await,
            Command::Create(a) => orchestrate::create(a).await,
            Command::ClientExport(a) => clients::export(a).await,
            Command::ClientCreate(a) => clients::create(a).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bitrix-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

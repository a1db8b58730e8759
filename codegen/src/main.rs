//! `bitrix-codegen`: snapshot a portal's fields, generate Rust from a snapshot, and check a
//! snapshot against the portal in CI.
//!
//! ```text
//! bitrix-codegen snapshot --webhook URL --entity deal --out schemas/portal/deal.json
//! bitrix-codegen generate --schema schemas/portal/deal.json [--out src/deal.rs]
//! bitrix-codegen check    --webhook URL --schema schemas/portal/deal.json
//! bitrix-codegen diff     OLD.json NEW.json
//! ```
//!
//! Exit codes: 0 success (no drift), 1 drift found, 2 error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bitrix_codegen::fetch::{Webhook, fetch_snapshot};
use bitrix_codegen::{EntityInfo, Level, Options, Renames, Snapshot};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bitrix-codegen",
    version,
    about = "Typed Rust entities from a Bitrix24 portal's crm.*.fields"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct PortalArgs {
    /// Incoming-webhook URL, https://<portal>/rest/<user>/<code>/ (or BITRIX_WEBHOOK).
    #[arg(long, env = "BITRIX_WEBHOOK", hide_env_values = true)]
    webhook: String,
    /// Entity whose fields to read.
    #[arg(long, default_value = "deal", value_parser = clap::builder::PossibleValuesParser::new(bitrix_codegen::entities::names()))]
    entity: String,
}

#[derive(Args)]
struct GenerateArgs {
    /// Name of the read model; the other items derive from it (NewDeal, DealPatch, DealField).
    /// Default: the snapshot's entity (Deal, Lead, Contact, Company, Quote).
    #[arg(long)]
    struct_name: Option<String>,
    /// A names file with readable names for user fields and enumeration items.
    #[arg(long)]
    names: Vec<PathBuf>,
    /// Rename one field: CODE=name (repeatable).
    #[arg(long, value_name = "CODE=name")]
    rename: Vec<String>,
    /// Fail on field types the generator does not know instead of mapping them to JSON.
    #[arg(long)]
    strict: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Read the portal's field descriptors and write the snapshot (only when it changed).
    Snapshot {
        #[command(flatten)]
        portal: PortalArgs,
        /// Snapshot file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Render the Rust items of a snapshot.
    Generate {
        /// Snapshot file (or a raw crm.*.fields response).
        #[arg(long)]
        schema: PathBuf,
        /// Output file; stdout when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        generate: GenerateArgs,
    },
    /// Compare the portal with a snapshot: exit 0 when they match, 1 with a drift report.
    Check {
        #[command(flatten)]
        portal: PortalArgs,
        /// Committed snapshot file.
        #[arg(long)]
        schema: PathBuf,
    },
    /// Compare two snapshot files: exit 0 when they match, 1 with a drift report.
    Diff {
        /// The older snapshot.
        old: PathBuf,
        /// The newer snapshot.
        new: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn entity(name: &str) -> Result<EntityInfo, String> {
    EntityInfo::by_name(name).ok_or_else(|| format!("unknown entity `{name}`"))
}

fn read_snapshot(path: &Path) -> Result<Snapshot, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Snapshot::parse(&text, &EntityInfo::deal()).map_err(|e| format!("{}: {e}", path.display()))
}

fn fetch(portal: &PortalArgs) -> Result<(Webhook, Snapshot), String> {
    let webhook = Webhook::parse(&portal.webhook).map_err(|e| e.to_string())?;
    let snapshot = fetch_snapshot(&webhook, &entity(&portal.entity)?).map_err(|e| e.to_string())?;
    Ok((webhook, snapshot))
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Snapshot { portal, out } => {
            let (webhook, snapshot) = fetch(&portal)?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let changed = bitrix_codegen::build::write_if_changed(&out, &snapshot.to_json_pretty())
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!(
                "{} {} from {webhook}",
                if changed { "wrote" } else { "unchanged:" },
                out.display()
            );
            print!("{}", snapshot.summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            schema,
            out,
            generate,
        } => {
            let snapshot = read_snapshot(&schema)?;
            let mut renames = Renames::new();
            for names in &generate.names {
                let text = std::fs::read_to_string(names)
                    .map_err(|e| format!("cannot read {}: {e}", names.display()))?;
                renames.add_file(&text, &names.display().to_string())?;
            }
            for r in &generate.rename {
                let (code, name) = r
                    .split_once('=')
                    .ok_or_else(|| format!("--rename {r}: expected CODE=name"))?;
                renames.field(code.trim(), name.trim());
            }
            let label = schema.display().to_string();
            let struct_name = generate
                .struct_name
                .unwrap_or_else(|| snapshot.entity.default_struct_name());
            let mut options = Options::new(struct_name);
            options.renames = renames;
            options.strict = generate.strict;
            options.schema_label = label.clone();
            let generated = bitrix_codegen::generate(&snapshot, &options).map_err(|diags| {
                let lines: Vec<String> = diags
                    .iter()
                    .filter(|d| d.level == Level::Error)
                    .map(|d| format!("  - {d}"))
                    .collect();
                format!("cannot generate from {label}:\n{}", lines.join("\n"))
            })?;
            for w in &generated.warnings {
                eprintln!("warning: {w}");
            }
            let source = bitrix_codegen::render(&generated, &label);
            match out {
                Some(out) => {
                    bitrix_codegen::build::write_if_changed(&out, &source)
                        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                    eprintln!("wrote {}", out.display());
                }
                None => print!("{source}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { portal, schema } => {
            let committed = read_snapshot(&schema)?;
            let (webhook, live) = fetch(&portal)?;
            let drift = bitrix_codegen::diff::diff(&committed, &live);
            if drift.is_empty() {
                println!("{} matches the portal {}", schema.display(), webhook.host());
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "{} has drifted from the portal {}:",
                    schema.display(),
                    webhook.host()
                );
                print!("{drift}");
                println!(
                    "refresh it with `bitrix-codegen snapshot --webhook <URL> --entity {} --out {}`",
                    portal.entity,
                    schema.display()
                );
                Ok(ExitCode::from(1))
            }
        }
        Command::Diff { old, new } => {
            let drift = bitrix_codegen::diff::diff(&read_snapshot(&old)?, &read_snapshot(&new)?);
            print!("{drift}");
            Ok(if drift.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

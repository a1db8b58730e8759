//! `bitrix-codegen`: snapshot a portal's fields, generate Rust from a snapshot, and check a
//! snapshot against the portal in CI.
//!
//! ```text
//! bitrix-codegen snapshot --webhook URL --entity deal --out schemas/portal/deal.json
//! bitrix-codegen snapshot --webhook URL --entity-type-id 1032 --out schemas/portal/projects.json
//! bitrix-codegen snapshot --webhook URL --smart-process "Проекты" --out schemas/portal/projects.json
//! bitrix-codegen snapshot --webhook URL --all --out schemas/portal
//! bitrix-codegen generate --schema schemas/portal/deal.json [--out src/deal.rs]
//! bitrix-codegen check    --webhook URL --schema schemas/portal/deal.json
//! bitrix-codegen check    --webhook URL --all schemas/portal
//! bitrix-codegen watch    --webhook URL --all schemas/portal --interval 30
//! bitrix-codegen diff     OLD.json NEW.json
//! ```
//!
//! Exit codes: 0 success (no drift), 1 drift found, 2 error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bitrix_codegen::check::{Watch, read_snapshot};
use bitrix_codegen::entities::Api;
use bitrix_codegen::fetch::{Webhook, fetch_snapshot};
use bitrix_codegen::index::{Index, IndexEntry};
use bitrix_codegen::{EntityInfo, Level, Options, Renames, Snapshot};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bitrix-codegen",
    version,
    about = "Typed Rust entities from a Bitrix24 portal's crm.*.fields and crm.item.fields"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct WebhookArg {
    /// Incoming-webhook URL, https://<portal>/rest/<user>/<code>/ (or BITRIX_WEBHOOK).
    #[arg(long, env = "BITRIX_WEBHOOK", hide_env_values = true)]
    webhook: String,
}

#[derive(Args)]
struct TargetArgs {
    /// Entity whose fields to read (default deal; for `check`, the snapshot's entity).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(bitrix_codegen::entities::names()), conflicts_with_all = ["entity_type_id", "smart_process"])]
    entity: Option<String>,
    /// Read the fields of the entity with this entity type id through crm.item.fields (31:
    /// smart invoices; 128+ or 1030+: a smart process).
    #[arg(long, conflicts_with = "smart_process")]
    entity_type_id: Option<u32>,
    /// Read the fields of the smart process with this title (found with crm.type.list).
    #[arg(long)]
    smart_process: Option<String>,
    /// The API to read through: legacy (crm.<entity>.fields) or item (crm.item.fields).
    /// Default: legacy where the entity has it.
    #[arg(long, value_parser = ["legacy", "item"])]
    api: Option<String>,
}

#[derive(Args)]
struct GenerateArgs {
    /// Name of the read model; the other items derive from it (NewDeal, DealPatch, DealField).
    /// Default: the snapshot's entity (Deal, Lead, Contact, Company, Quote, SmartInvoice, a
    /// smart process's title in PascalCase).
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
    /// The entity's default route (`Entity::API`): legacy or item. Default: the snapshot's.
    #[arg(long, value_parser = ["legacy", "item"])]
    api: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Read the portal's field descriptors and write the snapshot (only when it changed).
    #[command(
        after_help = "Examples:\n  bitrix-codegen snapshot --webhook \"https://acme.bitrix24.ru/rest/1/<code>/\" --entity deal --out schemas/acme/deal.json\n  BITRIX_WEBHOOK=https://acme.bitrix24.ru/rest/1/<code>/ bitrix-codegen snapshot --all --out schemas/acme/\n  bitrix-codegen snapshot --smart-process \"Проекты\" --out schemas/acme/projects.json"
    )]
    Snapshot {
        #[command(flatten)]
        webhook: WebhookArg,
        #[command(flatten)]
        target: TargetArgs,
        /// Snapshot every entity (the five legacy ones, the smart invoice, every smart
        /// process) into the folder `--out`, one file each plus `index.json`.
        #[arg(long, conflicts_with_all = ["entity", "entity_type_id", "smart_process"])]
        all: bool,
        /// Snapshot file to write (the folder with `--all`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Render the Rust items of a snapshot.
    #[command(
        after_help = "Examples:\n  bitrix-codegen generate --schema schemas/acme/deal.json --out src/deal.rs\n  bitrix-codegen generate --schema schemas/acme/deal.json --names schemas/acme/names.json --rename UF_CRM_1721244482250=greeting"
    )]
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
    #[command(
        after_help = "Examples:\n  bitrix-codegen check --webhook \"$BITRIX_WEBHOOK\" --schema schemas/acme/deal.json\n  bitrix-codegen check --webhook \"$BITRIX_WEBHOOK\" --all schemas/acme/   # in CI: exit 1 on drift"
    )]
    Check {
        #[command(flatten)]
        webhook: WebhookArg,
        #[command(flatten)]
        target: TargetArgs,
        /// Committed snapshot file.
        #[arg(long, required_unless_present = "all")]
        schema: Option<PathBuf>,
        /// A folder written by `snapshot --all`: check every entity of its index, and report
        /// smart processes added on or removed from the portal.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["schema", "entity", "entity_type_id", "smart_process"])]
        all: Option<PathBuf>,
    },
    /// Check snapshots against the portal again and again, and report drift as it appears,
    /// changes and goes away (one line per change, with the time).
    #[command(
        after_help = "Examples:\n  bitrix-codegen watch --webhook \"$BITRIX_WEBHOOK\" --all schemas/acme/ --interval 30\n  bitrix-codegen watch --webhook \"$BITRIX_WEBHOOK\" --schema schemas/acme/deal.json --exit-on-drift   # exit 1 at the first drift\n\nEach round reads the fields of every watched entity (one request each, plus crm.type.list\nwith --all). A round that fails (portal unreachable) is reported and the watch goes on.\nExit codes: 1 when it stops with drift present (--exit-on-drift, or --rounds ended), 0 when\n--rounds ended with none, 2 on an error before the first round."
    )]
    Watch {
        #[command(flatten)]
        webhook: WebhookArg,
        /// A committed snapshot file to watch.
        #[arg(long, required_unless_present = "all")]
        schema: Option<PathBuf>,
        /// A folder written by `snapshot --all`: watch every entity of its index, and the
        /// portal's smart processes.
        #[arg(long, value_name = "DIR", conflicts_with = "schema")]
        all: Option<PathBuf>,
        /// Seconds between two rounds.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
        /// Stop with exit code 1 at the first drift.
        #[arg(long)]
        exit_on_drift: bool,
        /// Stop after this many rounds (default: run until interrupted).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        rounds: Option<u64>,
    },
    /// Compare two snapshot files: exit 0 when they match, 1 with a drift report.
    #[command(after_help = "Example:\n  bitrix-codegen diff schemas/acme/deal.json /tmp/deal.json")]
    Diff {
        /// The older snapshot.
        old: PathBuf,
        /// The newer snapshot.
        new: PathBuf,
    },
}

/// Writes to stdout. A write error ends the program with code 2 and one line on stderr, without
/// a panic: a closed pipe (`bitrix-codegen generate ... | head -1`) says that the output was
/// cut short, so a script never mistakes a partial file for a complete one.
fn emit(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            eprintln!("error: stdout was closed before the output was complete (broken pipe)");
        } else {
            eprintln!("error: cannot write to stdout: {e}");
        }
        std::process::exit(2);
    }
}

/// `print!` through [`emit`].
macro_rules! say {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

/// `println!` through [`emit`].
macro_rules! sayln {
    ($($arg:tt)*) => { emit(format_args!("{}\n", format_args!($($arg)*))) };
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

fn parse_api(api: Option<&str>) -> Option<Api> {
    api.and_then(Api::parse)
}

/// The entity the target arguments name (`fallback` when they name none), on the API asked.
fn target_entity(
    webhook: &Webhook,
    target: &TargetArgs,
    fallback: EntityInfo,
) -> Result<EntityInfo, String> {
    let entity = if let Some(name) = &target.entity {
        EntityInfo::by_name(name).ok_or_else(|| format!("unknown entity `{name}`"))?
    } else if let Some(id) = target.entity_type_id {
        let entity = EntityInfo::by_type_id(id).with_api(Api::Item);
        if bitrix_codegen::entities::by_type_id(id).is_some() {
            entity
        } else {
            // The title names the read model; without crm.type.list access it is left out.
            bitrix_codegen::fetch::list_smart_processes(webhook)
                .ok()
                .and_then(|types| types.into_iter().find(|t| t.entity_type_id == id))
                .map_or(entity, |t| t.entity())
        }
    } else if let Some(title) = &target.smart_process {
        bitrix_codegen::fetch::find_smart_process(webhook, title)
            .map_err(|e| e.to_string())?
            .entity()
    } else {
        fallback
    };
    with_api(entity, parse_api(target.api.as_deref()))
}

/// `entity` on `api` (when given); the legacy API of an entity without one is an error.
fn with_api(entity: EntityInfo, api: Option<Api>) -> Result<EntityInfo, String> {
    match api {
        Some(Api::Legacy) if !entity.has_legacy() => Err(format!(
            "{} exists only on crm.item.*: it has no legacy crm.*.fields; drop `--api legacy`",
            entity.name
        )),
        Some(api) => Ok(entity.with_api(api)),
        None => Ok(entity),
    }
}

fn write_snapshot(out: &Path, snapshot: &Snapshot) -> Result<bool, String> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    bitrix_codegen::build::write_if_changed(out, &snapshot.to_json_pretty())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// `snapshot --all`: every entity into `dir`, and the index.
fn snapshot_all(webhook: &Webhook, api: Option<Api>, dir: &Path) -> Result<ExitCode, String> {
    let old_index = Index::read_dir(dir).ok();
    let entities = all_entities(webhook, api)?;
    let mut index = Index::default();
    // A bar on stderr while the entities are read (hidden when stderr is not a terminal).
    let bar = indicatif::ProgressBar::new(entities.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} entities, reading {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for entity in entities {
        bar.set_message(entity.name.clone());
        let snapshot = fetch_snapshot(webhook, &entity);
        bar.inc(1);
        let snapshot = match snapshot {
            Ok(s) => s,
            // Portals without smart invoices answer crm.item.fields {31} with an error.
            Err(e @ bitrix_codegen::fetch::FetchError::Api { .. })
                if !entity.has_legacy() && entity.name == "smart_invoice" =>
            {
                bar.suspend(|| sayln!("skipped smart_invoice: {e}"));
                continue;
            }
            Err(e) => return Err(format!("{}: {e}", entity.name)),
        };
        let mut entry = IndexEntry::of(&snapshot.entity);
        // Two smart processes with the same title: the later one is named by its id.
        if index
            .entries
            .iter()
            .any(|e| e.struct_name == entry.struct_name)
        {
            entry.struct_name = format!("SmartProcess{}", entry.entity_type_id);
        }
        let out = dir.join(&entry.file);
        let changed = write_snapshot(&out, &snapshot)?;
        // Lines go to stdout between two redraws of the bar, never through it.
        bar.suspend(|| {
            sayln!(
                "{} {}",
                if changed { "wrote" } else { "unchanged:" },
                out.display()
            );
            say!("{}", snapshot.summary());
        });
        index.entries.push(entry);
    }
    bar.finish_and_clear();
    // A smart process removed from the portal: its old file goes with it.
    if let Some(old) = old_index {
        for gone in old
            .entries
            .iter()
            .filter(|o| !index.entries.iter().any(|n| n.file == o.file))
        {
            let path = dir.join(&gone.file);
            if path.is_file() && std::fs::remove_file(&path).is_ok() {
                sayln!(
                    "removed {} ({} is no longer on the portal)",
                    path.display(),
                    gone.entity
                );
            }
        }
    }
    let path = dir.join(bitrix_codegen::index::INDEX_FILE);
    let changed = bitrix_codegen::build::write_if_changed(&path, &index.to_json_pretty())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    sayln!(
        "{} {} ({} entities) from {webhook}",
        if changed { "wrote" } else { "unchanged:" },
        path.display(),
        index.entries.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The five legacy entities (on `api`, default legacy), the smart invoice, and every smart
/// process of `crm.type.list`.
fn all_entities(webhook: &Webhook, api: Option<Api>) -> Result<Vec<EntityInfo>, String> {
    let mut entities = Vec::new();
    for row in bitrix_codegen::entities::ENTITIES {
        let entity = EntityInfo::from_row(row);
        entities.push(match api {
            Some(api) if entity.has_legacy() => entity.with_api(api),
            _ => entity,
        });
    }
    let types = bitrix_codegen::fetch::list_smart_processes(webhook).map_err(|e| e.to_string())?;
    entities.extend(types.iter().map(|t| t.entity()));
    Ok(entities)
}

/// `check --all DIR`: every entity of the index against the portal, and the portal's smart
/// processes against the index.
fn check_all(webhook: &Webhook, dir: &Path) -> Result<ExitCode, String> {
    let report = bitrix_codegen::check::check_dir(webhook, dir)?;
    for subject in &report.matching {
        sayln!("{subject} matches the portal");
    }
    for finding in &report.findings {
        say!("{}", finding.report);
    }
    if report.is_clean() {
        sayln!("{} matches the portal {}", dir.display(), webhook.host());
        Ok(ExitCode::SUCCESS)
    } else {
        sayln!(
            "{} drifted; refresh them with `bitrix-codegen snapshot --webhook <URL> --all --out {}`",
            report.findings.len(),
            dir.display()
        );
        Ok(ExitCode::from(1))
    }
}

/// What a watch checks.
enum Watched {
    /// One snapshot file.
    Snapshot(PathBuf),
    /// A folder written by `snapshot --all`.
    Dir(PathBuf),
}

/// `watch`: a check every `interval` seconds, printing what changed since the last round.
fn watch(
    webhook: &Webhook,
    watched: &Watched,
    interval: u64,
    exit_on_drift: bool,
    rounds: Option<u64>,
) -> Result<ExitCode, String> {
    let (what, count) = match watched {
        Watched::Snapshot(path) => {
            read_snapshot(path)?;
            (path.display().to_string(), 1)
        }
        Watched::Dir(dir) => (
            dir.display().to_string(),
            Index::read_dir(dir)?.entries.len(),
        ),
    };
    let now = || {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        bitrix_codegen::check::utc_clock(secs)
    };
    sayln!(
        "{} watching {what} ({count} {}) against {} every {interval} s",
        now(),
        if count == 1 { "snapshot" } else { "snapshots" },
        webhook.host()
    );
    let mut state = Watch::new();
    let mut round = 0u64;
    loop {
        round += 1;
        let report = match watched {
            Watched::Snapshot(path) => bitrix_codegen::check::check_snapshot(webhook, path, None),
            Watched::Dir(dir) => bitrix_codegen::check::check_dir(webhook, dir),
        };
        match report {
            Ok(report) => {
                let changes = state.observe(&report);
                if round == 1 && changes.is_empty() {
                    sayln!("{} {what} matches the portal", now());
                }
                for change in &changes {
                    say!("{} {change}", now());
                }
                if exit_on_drift && state.drifted() {
                    return Ok(ExitCode::from(1));
                }
            }
            Err(e) => sayln!(
                "{} round {round} failed: {e} (next try in {interval} s)",
                now()
            ),
        }
        if rounds.is_some_and(|n| round >= n) {
            return Ok(if state.drifted() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            });
        }
        std::thread::sleep(std::time::Duration::from_secs(interval));
    }
}

/// The `--entity`-style arguments that take a snapshot of `entity` again, for messages.
fn target_hint(entity: &EntityInfo) -> String {
    let api = if entity.api == Api::Item && entity.has_legacy() {
        " --api item"
    } else {
        ""
    };
    if bitrix_codegen::entities::by_name(&entity.name).is_some() {
        format!("--entity {}{api}", entity.name)
    } else {
        format!("--entity-type-id {}", entity.entity_type_id)
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Snapshot {
            webhook,
            target,
            all,
            out,
        } => {
            let webhook = Webhook::parse(&webhook.webhook).map_err(|e| e.to_string())?;
            if all {
                return snapshot_all(&webhook, parse_api(target.api.as_deref()), &out);
            }
            let entity = target_entity(&webhook, &target, EntityInfo::deal())?;
            let snapshot = fetch_snapshot(&webhook, &entity).map_err(|e| e.to_string())?;
            let changed = write_snapshot(&out, &snapshot)?;
            sayln!(
                "{} {} from {webhook}",
                if changed { "wrote" } else { "unchanged:" },
                out.display()
            );
            say!("{}", snapshot.summary());
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
            options.api = parse_api(generate.api.as_deref());
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
                None => say!("{source}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            webhook,
            target,
            schema,
            all,
        } => {
            let webhook = Webhook::parse(&webhook.webhook).map_err(|e| e.to_string())?;
            let schema = match (all, schema) {
                (Some(dir), _) => return check_all(&webhook, &dir),
                (None, Some(schema)) => schema,
                (None, None) => return Err("give --schema FILE or --all DIR".into()),
            };
            let committed = read_snapshot(&schema)?;
            let entity = target_entity(&webhook, &target, committed.entity.clone())?;
            let report =
                bitrix_codegen::check::check_snapshot(&webhook, &schema, Some(entity.clone()))?;
            if report.is_clean() {
                sayln!("{} matches the portal {}", schema.display(), webhook.host());
                Ok(ExitCode::SUCCESS)
            } else {
                for finding in &report.findings {
                    say!("{}", finding.report);
                }
                sayln!(
                    "refresh it with `bitrix-codegen snapshot --webhook <URL> {} --out {}`",
                    target_hint(&entity),
                    schema.display()
                );
                Ok(ExitCode::from(1))
            }
        }
        Command::Watch {
            webhook,
            schema,
            all,
            interval,
            exit_on_drift,
            rounds,
        } => {
            let webhook = Webhook::parse(&webhook.webhook).map_err(|e| e.to_string())?;
            let subject = match (&all, &schema) {
                (Some(dir), _) => Watched::Dir(dir.clone()),
                (None, Some(schema)) => Watched::Snapshot(schema.clone()),
                (None, None) => return Err("give --schema FILE or --all DIR".into()),
            };
            watch(&webhook, &subject, interval, exit_on_drift, rounds)
        }
        Command::Diff { old, new } => {
            let drift = bitrix_codegen::diff::diff(&read_snapshot(&old)?, &read_snapshot(&new)?);
            say!("{drift}");
            Ok(if drift.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

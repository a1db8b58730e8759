//! The orchestrator: a fresh emulator per client run, the client as a child process, the
//! portal's counters and the exactly-once check, then markdown tables on stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bitrix_emulator::{Config, CostModel, Emulator, Limits};

use crate::measure::ClientReport;
use crate::report::{self, Row};
use crate::{Common, CreateArgs, ExportArgs};

const PYTHON_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python");
const OPERATING_LIMIT: Duration = Duration::from_secs(480);
/// The row of fast_bitrix24 with the projection's select.
const FB24_SELECT_NAME: &str = "fast_bitrix24 get_all, 5-field select";

fn export_config(deals: usize, unlimited: bool, time_scale: f64) -> Config {
    let config = Config::default().with_deals(deals);
    if unlimited {
        config
    } else {
        config
            .with_limits(Limits::Regular)
            .with_operating_limit(OPERATING_LIMIT)
            .with_cost_model(CostModel::documented())
            .with_time_scale(time_scale)
    }
}

/// The fluid estimate of the wall time the operating limit needs for `server` seconds of one
/// method's server time: the first window's limit at once, then one limit per window, as if
/// the budget refilled continuously. It is no bound: the window is not fluid (see
/// [`basket_bound`]), and for a sum just above a multiple of the limit it is up to a whole
/// window below what any client can reach.
fn fluid_bound(server: Duration, time_scale: f64) -> f64 {
    let limit = OPERATING_LIMIT.as_secs_f64() * time_scale;
    let window = 600.0 * time_scale;
    ((server.as_secs_f64() - limit).max(0.0) / limit) * window
}

/// The server time one call may add beyond the limit: the portal checks the sum before each
/// call, so the call that crosses the limit still runs (a list page of the documented cost
/// model costs 97 ms; one second is ten of them).
const OVERSHOOT: Duration = Duration::from_secs(1);

/// The shortest wall time in which any client can spend `server` seconds of one method's
/// server time under the documented rule (ten one-minute baskets, each leaving ten minutes
/// after its first call; a call is refused while the sum exceeds the limit).
///
/// Ten consecutive baskets never hold more than the limit (plus the call that crosses it):
/// every call of the tenth basket comes less than ten minutes after the first basket's
/// first call, so all ten are still counted when it is checked. `n` limits' worth of server
/// time thus needs `n` groups of ten baskets, and the last group starts `(n - 1)` windows
/// after the first call's minute began: at least `(n - 1)` windows less one minute after the
/// first call.
fn basket_bound(server: Duration, time_scale: f64) -> f64 {
    let limit = (OPERATING_LIMIT + OVERSHOOT).as_secs_f64() * time_scale;
    let window = 600.0 * time_scale;
    let groups = (server.as_secs_f64() / limit).ceil();
    if groups <= 1.0 {
        return 0.0;
    }
    (groups - 1.0) * window - window / 10.0
}

/// The documented model without the write extra: 10,000 adds at 247 ms would need ~2,470 s of
/// server time, five times the 480 s operating limit per 10 minutes.
fn create_model() -> CostModel {
    CostModel {
        write: Duration::ZERO,
        ..CostModel::documented()
    }
}

fn create_config() -> Config {
    Config::default()
        .with_limits(Limits::Regular)
        .with_operating_limit(OPERATING_LIMIT)
        .with_cost_model(create_model())
}

fn wanted(common: &Common, name: &str) -> bool {
    common.clients.iter().any(|c| c.trim() == name)
}

fn check_clients(common: &Common, known: &[&str]) -> Result<(), String> {
    for c in &common.clients {
        if !known.contains(&c.trim()) {
            return Err(format!(
                "unknown client `{c}` in --clients: use any of {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("bitrix-bench-{}-{name}.ids", std::process::id()))
}

/// Runs a child to completion (or kills it after `timeout`) and parses its report line.
async fn run_child(mut command: Command, timeout: Duration) -> Result<ClientReport, String> {
    let shown = format!("{command:?}");
    tokio::task::spawn_blocking(move || {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {shown}: {e}"))?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{shown} did not finish within {} s (raise --timeout-secs)",
                        timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(format!("cannot wait for {shown}: {e}")),
            }
        };
        let mut stdout = String::new();
        if let Some(mut out) = child.stdout.take() {
            use std::io::Read as _;
            let _ = out.read_to_string(&mut stdout);
        }
        if !status.success() {
            return Err(format!("{shown} failed ({status}); its stdout: {stdout:?}"));
        }
        ClientReport::from_stdout(&stdout)
    })
    .await
    .map_err(|e| format!("the child runner panicked: {e}"))?
}

fn own_exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))
}

/// Reads the counters of a finished run into a row.
fn row(name: &str, client: ClientReport, emu: &Emulator, exact: Result<(), String>) -> Row {
    let c = emu.counters();
    Row {
        name: name.to_owned(),
        client,
        requests: c.requests,
        refused_503: c.refused_query_limit,
        refused_429: c.refused_operation_limit,
        server_time: c.server_time,
        bytes_down: 0,
        bytes_up: 0,
        exact: exact.is_ok(),
        exact_note: exact.err().unwrap_or_default(),
    }
}

async fn export_one(
    name: &str,
    deals: usize,
    (unlimited, time_scale): (bool, f64),
    timeout: Duration,
    command: impl FnOnce(&str, &Path) -> Command,
) -> Result<Row, String> {
    let started = Instant::now();
    let emu = Emulator::start(export_config(deals, unlimited, time_scale))
        .await
        .map_err(|e| format!("the emulator did not start: {e}"))?;
    // Seeded ids are 1..=deals (checked here, so the exactly-once check can rely on it).
    if emu.deal_count() != deals
        || (deals > 0 && (emu.deal(1).is_none() || emu.deal(deals as u64).is_none()))
    {
        return Err(format!(
            "the emulator seeded {} deals, not ids 1..={deals}",
            emu.deal_count()
        ));
    }
    eprintln!(
        "[bench] {name}: emulator with {deals} deals ready in {:.1} s, running the client",
        started.elapsed().as_secs_f64()
    );
    let ids_path = scratch(&name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    // The client talks to the emulator through a byte-counting proxy.
    let wire = crate::wire::proxy(emu.addr()).await?;
    let url = emu.webhook_url().replace(&emu.base_url(), &wire.base_url);
    let report = run_child(command(&url, &ids_path), timeout).await;
    wire.stop();
    let ids = std::fs::read_to_string(&ids_path);
    let _ = std::fs::remove_file(&ids_path);
    let report = report?;
    let ids = ids.map_err(|e| format!("{name} wrote no ids file: {e}"))?;
    let exact = report::parse_ids(&ids).and_then(|ids| report::exactly_once(deals as u64, &ids));
    let mut row = row(name, report, &emu, exact);
    row.bytes_down = wire.down.load(std::sync::atomic::Ordering::Relaxed);
    row.bytes_up = wire.up.load(std::sync::atomic::Ordering::Relaxed);
    emu.shutdown().await;
    eprintln!(
        "[bench] {name}: {} rows in {:.1} s",
        row.client.rows, row.client.wall_s
    );
    Ok(row)
}

/// `bitrix-bench export`.
pub async fn export(args: ExportArgs) -> Result<(), String> {
    check_clients(
        &args.common,
        &[
            "ours",
            "parallel",
            "item",
            "projection",
            "fast_bitrix24",
            "fast_bitrix24_select",
        ],
    )?;
    let unlimited = args.unlimited;
    let deals = args
        .deals
        .unwrap_or(if unlimited { 100_000 } else { 20_000 });
    let timeout = Duration::from_secs(args.common.timeout_secs);
    let time_scale = args.time_scale;
    if !(time_scale > 0.0 && time_scale <= 1.0) {
        return Err(format!(
            "--time-scale {time_scale} must be in (0, 1] (0.01 = a portal 100x faster)"
        ));
    }
    let mode = (unlimited, time_scale);
    let exe = own_exe()?;
    let mut rows = Vec::new();
    let ours_command = |partitions: usize, item_api: bool, projection: bool| {
        let exe = exe.clone();
        move |url: &str, ids: &Path| {
            let mut c = Command::new(&exe);
            c.arg("client-export")
                .arg("--url")
                .arg(url)
                .arg("--ids-out")
                .arg(ids)
                .arg("--partitions")
                .arg(partitions.to_string())
                .arg("--time-scale")
                .arg(time_scale.to_string());
            if unlimited {
                c.arg("--unlimited");
            }
            if item_api {
                c.arg("--item-api");
            }
            if projection {
                c.arg("--projection");
            }
            c
        }
    };
    if wanted(&args.common, "ours") {
        rows.push(
            export_one(
                "stream()",
                deals,
                mode,
                timeout,
                ours_command(1, false, false),
            )
            .await?,
        );
    }
    if wanted(&args.common, "item") {
        let name = "stream() on crm.item.*";
        rows.push(export_one(name, deals, mode, timeout, ours_command(1, true, false)).await?);
    }
    if wanted(&args.common, "projection") {
        let name = crate::clients::PROJECTION_NAME;
        rows.push(export_one(name, deals, mode, timeout, ours_command(1, false, true)).await?);
    }
    if wanted(&args.common, "parallel") {
        let name = format!("stream_parallel({})", args.partitions);
        let command = ours_command(args.partitions, false, false);
        rows.push(export_one(&name, deals, mode, timeout, command).await?);
    }
    // fast_bitrix24 cannot be told a scaled portal's limits.
    let fb24_runs = [
        ("fast_bitrix24", "fast_bitrix24 get_all", None),
        (
            "fast_bitrix24_select",
            FB24_SELECT_NAME,
            Some(crate::clients::PROJECTION_SELECT.join(",")),
        ),
    ];
    for (client, name, select) in fb24_runs {
        if !wanted(&args.common, client) || time_scale != 1.0 {
            continue;
        }
        let python = args.common.python.clone();
        rows.push(
            export_one(name, deals, mode, timeout, move |url, ids| {
                let mut c = Command::new(&python);
                c.arg(Path::new(PYTHON_DIR).join("fb24_export.py"))
                    .arg(url)
                    .arg(ids);
                if unlimited {
                    c.arg("--unlimited");
                }
                if let Some(select) = &select {
                    c.arg("--select").arg(select);
                }
                c
            })
            .await?,
        );
    }

    if unlimited {
        println!(
            "### Export, unlimited: {deals} deals, no bucket, no operating limit, no cost model\n"
        );
    } else if time_scale == 1.0 {
        println!(
            "### Export, limited: {deals} deals, regular bucket (50, 2/s), operating limit 480 s / 10 min, documented cost model at real time\n"
        );
    } else {
        println!(
            "### Export, limited and time-scaled x{time_scale}: {deals} deals, regular bucket (50, 2/s), operating limit 480 s / 10 min and the documented cost model, all {:.0}x faster\n",
            1.0 / time_scale
        );
    }
    let fb24 = rows.iter().find(|r| r.name == "fast_bitrix24 get_all");
    if let Some(fb24) = fb24 {
        let others: Vec<&Row> = rows
            .iter()
            .filter(|r| r.name != fb24.name && r.name != FB24_SELECT_NAME)
            .collect();
        if !others.is_empty() {
            println!("{}", report::ratios_table(fb24, &others));
        }
    }
    println!("{}", report::export_table(&rows));
    if !unlimited {
        println!("Operating budget (server time the portal's 480 s per 10 min allows, scaled):\n");
        for r in &rows {
            let basket = basket_bound(r.server_time, time_scale);
            let fluid = fluid_bound(r.server_time, time_scale);
            let share = |bound: f64| {
                if r.client.wall_s > 0.0 {
                    100.0 * bound / r.client.wall_s
                } else {
                    0.0
                }
            };
            if basket == 0.0 {
                println!(
                    "- {}: {:.1} s of server time, within one window's limit (the budget does not bind), took {:.1} s, {} refusals 429",
                    r.name,
                    r.server_time.as_secs_f64(),
                    r.client.wall_s,
                    r.refused_429
                );
                continue;
            }
            println!(
                "- {}: {:.1} s of server time, which the baskets let no client spend in less than {:.1} s (fluid estimate {:.1} s); took {:.1} s: {:.0}% of the basket bound ({:.0}% of the fluid estimate), {} refusals 429",
                r.name,
                r.server_time.as_secs_f64(),
                basket,
                fluid,
                r.client.wall_s,
                share(basket),
                share(fluid),
                r.refused_429
            );
        }
        println!();
    }
    if let Some(projection) = rows
        .iter()
        .find(|r| r.name == crate::clients::PROJECTION_NAME)
    {
        println!("Projection (issue 12):\n");
        print!(
            "{}",
            report::projection_targets(
                projection,
                rows.iter().find(|r| r.name == "stream()"),
                rows.iter().find(|r| r.name == FB24_SELECT_NAME),
            )
        );
        println!();
    }
    if let Some(fb24) = fb24 {
        println!("Targets:\n");
        for r in rows.iter().filter(|r| {
            r.name != fb24.name
                && r.name != FB24_SELECT_NAME
                && r.name != crate::clients::PROJECTION_NAME
        }) {
            print!(
                "{}",
                report::export_targets(r, fb24, deals as u64, !unlimited)
            );
        }
        println!();
    }
    if rows.iter().all(|r| r.exact) {
        Ok(())
    } else {
        Err("a client did not export every id exactly once (see the table)".into())
    }
}

async fn create_one(
    name: &str,
    deals: usize,
    timeout: Duration,
    command: impl FnOnce(&str) -> Command,
) -> Result<Row, String> {
    let emu = Emulator::start(create_config())
        .await
        .map_err(|e| format!("the emulator did not start: {e}"))?;
    eprintln!("[bench] {name}: creating {deals} deals");
    let report = run_child(command(&emu.webhook_url()), timeout).await?;
    let stored = emu.deal_count();
    let exact = if let Some(e) = &report.error {
        Err(format!(
            "the client failed after {:.0} s ({e}); the portal holds {stored} deals",
            report.wall_s
        ))
    } else if stored == deals && report.rows == deals as u64 {
        Ok(())
    } else {
        Err(format!(
            "the portal holds {stored} deals, the client reported {} created",
            report.rows
        ))
    };
    let row = row(name, report, &emu, exact);
    emu.shutdown().await;
    eprintln!("[bench] {name}: done in {:.1} s", row.client.wall_s);
    Ok(row)
}

/// `bitrix-bench create`.
pub async fn create(args: CreateArgs) -> Result<(), String> {
    check_clients(&args.common, &["ours", "parallel", "fast_bitrix24"])?;
    let timeout = Duration::from_secs(args.common.timeout_secs);
    let exe = own_exe()?;
    let deals = args.deals;
    let mut rows = Vec::new();
    if wanted(&args.common, "ours") {
        let name = format!("typed Batch ({} in flight)", args.concurrency);
        let concurrency = args.concurrency;
        rows.push(
            create_one(&name, deals, timeout, move |url| {
                let mut c = Command::new(&exe);
                c.arg("client-create")
                    .arg("--url")
                    .arg(url)
                    .arg("--count")
                    .arg(deals.to_string())
                    .arg("--concurrency")
                    .arg(concurrency.to_string());
                c
            })
            .await?,
        );
    }
    if wanted(&args.common, "fast_bitrix24") {
        let python = args.common.python.clone();
        rows.push(
            create_one("fast_bitrix24 call", deals, timeout, move |url| {
                let mut c = Command::new(&python);
                c.arg(Path::new(PYTHON_DIR).join("fb24_create.py"))
                    .arg(url)
                    .arg(deals.to_string());
                c
            })
            .await?,
        );
    }
    let m = create_model();
    println!(
        "### Bulk create: {deals} deals, regular bucket (50, 2/s), operating limit 480 s / 10 min, documented cost model at real time WITH write = 0 (every add costs the base {} ms; with the documented 200 ms write extra 10,000 adds need ~2,470 s of server time, over the 480 s per 10 minutes)\n",
        m.base.as_millis()
    );
    if let Some(fb24) = rows.iter().find(|r| r.name.starts_with("fast_bitrix24")) {
        let others: Vec<&Row> = rows.iter().filter(|r| r.name != fb24.name).collect();
        if !others.is_empty() {
            println!("{}", report::ratios_table(fb24, &others));
        }
    }
    println!("{}", report::create_table(&rows, deals as u64));
    if rows.iter().all(|r| r.exact) {
        Ok(())
    } else {
        Err(format!(
            "a client did not create exactly {deals} deals (see the table)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basket_bound_counts_whole_windows() {
        let secs = Duration::from_secs_f64;
        // Within one limit: no wait at all.
        assert_eq!(basket_bound(secs(48.0), 0.1), 0.0);
        // 1,000,000 deals at scale 0.1: 194 s is just over four limits of 48 s, so the last
        // calls wait for a fifth window: 4 x 60 s less a minute, not the fluid 182.5 s.
        assert!((basket_bound(secs(194.0), 0.1) - 234.0).abs() < 1e-9);
        assert!((fluid_bound(secs(194.0), 0.1) - 182.5).abs() < 1e-9);
        // The call crossing the limit in each group is allowed: 192.2 s fit in four groups.
        assert!((basket_bound(secs(192.2), 0.1) - 174.0).abs() < 1e-9);
        // At real time: 1,940 s need five windows of 600 s.
        assert!((basket_bound(secs(1_940.0), 1.0) - 2_340.0).abs() < 1e-9);
    }

    #[test]
    fn the_fluid_estimate_is_below_the_basket_bound_just_above_a_multiple_of_the_limit() {
        let secs = Duration::from_secs_f64;
        for server in [50.0, 100.0, 150.0, 194.0] {
            assert!(
                fluid_bound(secs(server), 0.1) < basket_bound(secs(server), 0.1),
                "{server}"
            );
        }
    }
}

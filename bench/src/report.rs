//! Result rows, exactly-once checks and markdown tables.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::measure::ClientReport;

/// One client's run against a fresh emulator: its own measurement and the portal's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Client name as shown in the table.
    pub name: String,
    /// The client's own report.
    pub client: ClientReport,
    /// HTTP requests that reached the portal.
    pub requests: u64,
    /// Requests refused with 503 `QUERY_LIMIT_EXCEEDED`.
    pub refused_503: u64,
    /// Calls refused with 429 `OPERATION_TIME_LIMIT`.
    pub refused_429: u64,
    /// Server time used (sum of the executed calls' processing time).
    pub server_time: Duration,
    /// Bytes the client received (answers, HTTP headers included; 0 when not measured).
    pub bytes_down: u64,
    /// Bytes the client sent (requests; 0 when not measured).
    pub bytes_up: u64,
    /// Whether the result is exact (every id once, or exactly the expected number created).
    pub exact: bool,
    /// Why not, when not exact.
    pub exact_note: String,
}

impl Row {
    /// Client CPU seconds per 100,000 rows.
    pub fn cpu_per_100k(&self) -> f64 {
        per_100k(self.client.cpu_s, self.client.rows)
    }

    /// Rows per wall-clock second.
    pub fn rows_per_sec(&self) -> f64 {
        if self.client.wall_s > 0.0 {
            self.client.rows as f64 / self.client.wall_s
        } else {
            0.0
        }
    }
}

fn per_100k(value: f64, rows: u64) -> f64 {
    if rows == 0 {
        0.0
    } else {
        value * 100_000.0 / rows as f64
    }
}

/// Checks that `got` holds every id of `1..=expected` exactly once and nothing else.
pub fn exactly_once(expected: u64, got: &[u64]) -> Result<(), String> {
    let mut counts: HashMap<u64, u32> = HashMap::with_capacity(got.len());
    for id in got {
        *counts.entry(*id).or_default() += 1;
    }
    let repeated = counts.values().filter(|c| **c > 1).count();
    let foreign = counts
        .keys()
        .filter(|id| **id == 0 || **id > expected)
        .count();
    let missing = (1..=expected).filter(|id| !counts.contains_key(id)).count();
    if repeated == 0 && foreign == 0 && missing == 0 {
        Ok(())
    } else {
        Err(format!(
            "{missing} ids missing, {repeated} ids repeated, {foreign} ids not seeded"
        ))
    }
}

/// Parses the ids file a client wrote: one decimal id per line.
pub fn parse_ids(text: &str) -> Result<Vec<u64>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse::<u64>()
                .map_err(|_| format!("the ids file has a line that is not an id: {l:?}"))
        })
        .collect()
}

fn secs(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0} s")
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn mib_bytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The export table: one row per client.
pub fn export_table(rows: &[Row]) -> String {
    let mut t = String::from(
        "| client | wall | HTTP requests | received | sent | 503 | 429 | server time | client CPU | CPU per 100k rows | rows/s | peak RSS | rows | exactly once |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            secs(r.client.wall_s),
            group(r.requests),
            mib_bytes(r.bytes_down),
            mib_bytes(r.bytes_up),
            r.refused_503,
            r.refused_429,
            secs(r.server_time.as_secs_f64()),
            secs(r.client.cpu_s),
            secs(r.cpu_per_100k()),
            group(r.rows_per_sec().round() as u64),
            mib(r.client.peak_rss_kib),
            group(r.client.rows),
            exact_cell(r),
        );
    }
    t
}

/// The bulk-create table: one row per client.
pub fn create_table(rows: &[Row], expected: u64) -> String {
    let mut t = format!(
        "| client | wall | HTTP requests | 503 | 429 | server time | client CPU | peak RSS | created | exactly {} |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        group(expected)
    );
    for r in rows {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            secs(r.client.wall_s),
            group(r.requests),
            r.refused_503,
            r.refused_429,
            secs(r.server_time.as_secs_f64()),
            secs(r.client.cpu_s),
            mib(r.client.peak_rss_kib),
            group(r.client.rows),
            exact_cell(r),
        );
    }
    t
}

fn exact_cell(r: &Row) -> String {
    if r.exact {
        "yes".to_owned()
    } else {
        format!("NO: {}", r.exact_note)
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.3}", a / b)
    } else {
        "n/a".to_owned()
    }
}

/// Ratios of one row against a reference row (smaller is better for every column).
pub fn ratios_table(reference: &Row, others: &[&Row]) -> String {
    let mut t = format!(
        "| ratio vs {} | wall | HTTP requests | server time | client CPU | CPU per row | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|\n",
        reference.name
    );
    for r in others {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            ratio(r.client.wall_s, reference.client.wall_s),
            ratio(r.requests as f64, reference.requests as f64),
            ratio(
                r.server_time.as_secs_f64(),
                reference.server_time.as_secs_f64()
            ),
            ratio(r.client.cpu_s, reference.client.cpu_s),
            ratio(r.cpu_per_100k(), reference.cpu_per_100k()),
            ratio(
                r.client.peak_rss_kib as f64,
                reference.client.peak_rss_kib as f64
            ),
        );
    }
    t
}

/// The projection's figures against the full record's and fast_bitrix24's with the same
/// select, and the target of issue 12 (CPU per row at most 0.3x the full `Deal`'s), as
/// markdown bullet lines.
pub fn projection_targets(projection: &Row, full: Option<&Row>, fb24: Option<&Row>) -> String {
    let mut out = String::new();
    if let Some(full) = full {
        let cpu = projection.cpu_per_100k() / full.cpu_per_100k().max(f64::MIN_POSITIVE);
        let _ = writeln!(
            out,
            "- {} {}: CPU per row {:.3}x {}'s, target <= 0.3x; bytes received {:.3}x, peak RSS {:.3}x",
            if cpu <= 0.3 { "MET" } else { "MISSED" },
            projection.name,
            cpu,
            full.name,
            projection.bytes_down as f64 / (full.bytes_down as f64).max(1.0),
            projection.client.peak_rss_kib as f64 / (full.client.peak_rss_kib as f64).max(1.0),
        );
    }
    if let Some(fb24) = fb24 {
        let _ = writeln!(
            out,
            "- {} against {}: CPU per row {:.3}x, wall {:.3}x, bytes received {:.3}x, peak RSS {:.3}x",
            projection.name,
            fb24.name,
            projection.cpu_per_100k() / fb24.cpu_per_100k().max(f64::MIN_POSITIVE),
            projection.client.wall_s / fb24.client.wall_s.max(f64::MIN_POSITIVE),
            projection.bytes_down as f64 / (fb24.bytes_down as f64).max(1.0),
            projection.client.peak_rss_kib as f64 / (fb24.client.peak_rss_kib as f64).max(1.0),
        );
    }
    out
}

/// Checks one export row against the targets, as markdown bullet lines.
pub fn export_targets(ours: &Row, fb24: &Row, deals: u64, limited: bool) -> String {
    let mut out = String::new();
    let mut line = |ok: bool, text: String| {
        let _ = writeln!(out, "- {} {text}", if ok { "MET" } else { "MISSED" });
    };
    if limited {
        let bound = deals.div_ceil(2_500) + 3;
        line(
            ours.requests <= bound,
            format!(
                "{}: {} HTTP requests, target <= ceil(N/2500) + 3 = {bound}",
                ours.name, ours.requests
            ),
        );
        line(
            ours.refused_503 + ours.refused_429 == 0,
            format!(
                "{}: {} refusals (503 + 429), target 0",
                ours.name,
                ours.refused_503 + ours.refused_429
            ),
        );
    }
    let wall = ours.client.wall_s / fb24.client.wall_s.max(f64::MIN_POSITIVE);
    line(
        wall <= 0.5,
        format!(
            "{}: wall time {:.3}x fast_bitrix24's, target <= 0.5x",
            ours.name, wall
        ),
    );
    let cpu = ours.cpu_per_100k() / fb24.cpu_per_100k().max(f64::MIN_POSITIVE);
    line(
        cpu <= 0.1,
        format!(
            "{}: CPU per row {:.3}x fast_bitrix24's, target <= 0.1x",
            ours.name, cpu
        ),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, wall: f64, cpu: f64, rows: u64, requests: u64) -> Row {
        Row {
            name: name.into(),
            client: ClientReport {
                client: name.into(),
                wall_s: wall,
                cpu_s: cpu,
                peak_rss_kib: 20_480,
                rows,
                error: None,
            },
            requests,
            refused_503: 0,
            refused_429: 0,
            server_time: Duration::from_millis(39_500),
            bytes_down: 3 * 1024 * 1024,
            bytes_up: 1024 * 1024 / 2,
            exact: true,
            exact_note: String::new(),
        }
    }

    #[test]
    fn exactly_once_finds_every_kind_of_mistake() {
        assert!(exactly_once(3, &[3, 1, 2]).is_ok());
        assert_eq!(
            exactly_once(3, &[1, 1, 2, 7]).unwrap_err(),
            "1 ids missing, 1 ids repeated, 1 ids not seeded"
        );
        assert!(exactly_once(2, &[0, 1, 2]).is_err());
        assert!(exactly_once(0, &[]).is_ok());
    }

    #[test]
    fn ids_file() {
        assert_eq!(parse_ids("1\n 2\n\n30\n").unwrap(), vec![1, 2, 30]);
        assert!(parse_ids("1\nx\n").unwrap_err().contains("\"x\""));
    }

    #[test]
    fn tables_and_targets() {
        let ours = row("ours", 10.0, 0.5, 20_000, 9);
        let fb = row("fast_bitrix24", 40.0, 10.0, 20_000, 401);
        let t = export_table(&[ours.clone(), fb.clone()]);
        assert!(t.contains("| ours | 10.0 s | 9 | 3.0 MiB | 0.5 MiB | 0 | 0 | 39.5 s | 0.50 s | 2.50 s | 2,000 | 20 MiB | 20,000 | yes |"), "{t}");
        let projection = row("projection", 5.0, 0.1, 20_000, 9);
        let p = projection_targets(&projection, Some(&ours), Some(&fb));
        assert!(
            p.starts_with("- MET projection: CPU per row 0.200x ours's"),
            "{p}"
        );
        assert!(
            p.contains("against fast_bitrix24: CPU per row 0.010x"),
            "{p}"
        );
        let heavy = row("heavy", 5.0, 0.4, 20_000, 9);
        assert!(projection_targets(&heavy, Some(&ours), None).starts_with("- MISSED"));
        let r = ratios_table(&fb, &[&ours]);
        assert!(
            r.contains("| ours | 0.250 | 0.022 | 1.000 | 0.050 | 0.050 | 1.000 |"),
            "{r}"
        );
        let targets = export_targets(&ours, &fb, 20_000, true);
        assert_eq!(targets.matches("MET").count(), 4, "{targets}");
        let slow = row("slow", 30.0, 5.0, 20_000, 20);
        let targets = export_targets(&slow, &fb, 20_000, true);
        assert_eq!(targets.matches("MISSED").count(), 3, "{targets}");
        let mut bad = ours.clone();
        bad.exact = false;
        bad.exact_note = "3 ids missing".into();
        assert!(create_table(&[bad], 10_000).contains("| NO: 3 ids missing |"));
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(12), "12");
    }
}

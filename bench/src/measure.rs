//! A process measuring itself: wall time, CPU time and peak memory from `/proc/self`.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on every Linux ABI).
const USER_HZ: f64 = 100.0;

/// What a client reports about its own run, one JSON line on stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientReport {
    /// Which client ran.
    pub client: String,
    /// Wall time of the measured part, seconds.
    pub wall_s: f64,
    /// User + system CPU time of the measured part, seconds (all threads).
    pub cpu_s: f64,
    /// Peak resident memory of the whole process, KiB.
    pub peak_rss_kib: u64,
    /// Rows exported or records created.
    pub rows: u64,
    /// Why the client stopped early (its own error), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClientReport {
    /// Parses the last JSON line of a client's stdout.
    pub fn from_stdout(stdout: &str) -> Result<ClientReport, String> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| {
                format!("the client printed no JSON report line; its stdout was: {stdout:?}")
            })?;
        serde_json::from_str(line)
            .map_err(|e| format!("the client's report line {line:?} is not a report: {e}"))
    }
}

/// Starts measuring now.
#[derive(Debug)]
pub struct Meter {
    wall: Instant,
    cpu: Duration,
}

impl Meter {
    /// Takes the starting point.
    pub fn start() -> Result<Meter, String> {
        Ok(Meter {
            wall: Instant::now(),
            cpu: process_cpu()?,
        })
    }

    /// The report of the part measured since [`start`](Self::start).
    pub fn finish(&self, client: &str, rows: u64) -> Result<ClientReport, String> {
        let wall = self.wall.elapsed();
        let cpu = process_cpu()?.saturating_sub(self.cpu);
        Ok(ClientReport {
            client: client.to_owned(),
            wall_s: wall.as_secs_f64(),
            cpu_s: cpu.as_secs_f64(),
            peak_rss_kib: peak_rss_kib()?,
            rows,
            error: None,
        })
    }
}

/// User + system CPU time of this process (every thread), from `/proc/self/stat`.
pub fn process_cpu() -> Result<Duration, String> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| format!("cannot read /proc/self/stat (Linux only): {e}"))?;
    cpu_from_stat(&stat)
}

/// Fields 14 and 15 (`utime`, `stime`) of a `/proc/PID/stat` line, in clock ticks.
fn cpu_from_stat(stat: &str) -> Result<Duration, String> {
    // The command name (field 2) is in parentheses and may contain spaces: count after it.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("unexpected /proc/self/stat format: {stat:?}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime 15.
    let tick = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .map(|t| t as f64)
            .ok_or_else(|| format!("unexpected /proc/self/stat format: {stat:?}"))
    };
    let ticks = tick(14 - 3)? + tick(15 - 3)?;
    Ok(Duration::from_secs_f64(ticks / USER_HZ))
}

/// `VmHWM` of `/proc/self/status`: the peak resident set, KiB.
pub fn peak_rss_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status (Linux only): {e}"))?;
    hwm_from_status(&status)
}

fn hwm_from_status(status: &str) -> Result<u64, String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM line in /proc/self/status".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_spaces_in_the_name() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 31 0 0 20 0 3 0";
        assert_eq!(cpu_from_stat(stat).unwrap(), Duration::from_millis(2_810));
        assert!(cpu_from_stat("garbage").is_err());
    }

    #[test]
    fn status_high_water_mark() {
        let status = "Name:\tx\nVmPeak:\t  99999 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(hwm_from_status(status).unwrap(), 12_345);
        assert!(hwm_from_status("Name: x\n").is_err());
    }

    #[test]
    fn own_process_is_measurable() {
        let m = Meter::start().unwrap();
        let r = m.finish("self", 3).unwrap();
        assert!(r.peak_rss_kib > 0);
        assert_eq!(r.rows, 3);
    }

    #[test]
    fn report_line_is_the_last_json_line() {
        let out = "warming up\n{\"client\":\"a\",\"wall_s\":1.5,\"cpu_s\":0.25,\"peak_rss_kib\":2048,\"rows\":10}\n";
        let r = ClientReport::from_stdout(out).unwrap();
        assert_eq!(r.client, "a");
        assert_eq!(r.rows, 10);
        assert!(ClientReport::from_stdout("no report").is_err());
        assert!(ClientReport::from_stdout("{\"client\": 1}").is_err());
    }
}

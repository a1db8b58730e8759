//! The printed report: numbered steps with their time and, on the emulator, the HTTP requests
//! they cost; and the error type that stops the run.

use std::fmt;
use std::time::{Duration, Instant};

use bitrix_emulator::Emulator;

/// Why the quickstart stopped: a step failed or showed something unexpected. The message says
/// which step and what to do; it never contains the webhook code.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<bitrix_runtime::Error> for Failure {
    fn from(e: bitrix_runtime::Error) -> Self {
        Failure(e.to_string())
    }
}

impl From<bitrix_codegen::fetch::FetchError> for Failure {
    fn from(e: bitrix_codegen::fetch::FetchError) -> Self {
        Failure(e.to_string())
    }
}

impl From<bitrix_codegen::SnapshotError> for Failure {
    fn from(e: bitrix_codegen::SnapshotError) -> Self {
        Failure(e.to_string())
    }
}

/// A step's result.
pub type Outcome<T = ()> = Result<T, Failure>;

/// Fails with `message` unless `condition` holds: the quickstart checks what it prints, so a
/// broken pipeline exits non-zero instead of printing a wrong report.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(Failure(message()))
    }
}

/// One finished step, for the closing table.
struct Row {
    title: String,
    took: Duration,
    requests: Option<u64>,
}

/// Prints steps as they run and a summary table at the end.
pub struct Report {
    started: Instant,
    step: usize,
    current: Option<(String, Instant, Option<u64>)>,
    rows: Vec<Row>,
}

impl Report {
    /// An empty report; the clock starts now.
    pub fn new() -> Self {
        Report {
            started: Instant::now(),
            step: 0,
            current: None,
            rows: Vec::new(),
        }
    }

    /// Ends the previous step and starts the next one. `emulator` gives request counts.
    pub fn step(&mut self, title: &str, emulator: Option<&Emulator>) {
        self.finish(emulator);
        self.step += 1;
        println!();
        println!("{}. {title}", self.step);
        self.current = Some((
            title.to_owned(),
            Instant::now(),
            emulator.map(|e| e.counters().requests),
        ));
    }

    /// `step 6 (Create deals ...)`: where the run is, for failure messages.
    pub fn position(&self) -> String {
        match &self.current {
            Some((title, _, _)) => format!("step {} ({title})", self.step),
            None => "the start".to_owned(),
        }
    }

    /// Ends the current step, if any.
    pub fn finish(&mut self, emulator: Option<&Emulator>) {
        if let Some((title, at, before)) = self.current.take() {
            let requests = match (before, emulator) {
                (Some(before), Some(e)) => Some(e.counters().requests - before),
                _ => None,
            };
            self.rows.push(Row {
                title,
                took: at.elapsed(),
                requests,
            });
        }
    }

    /// Prints the summary table.
    pub fn summary(&mut self, emulator: Option<&Emulator>) {
        self.finish(emulator);
        println!();
        println!("Summary");
        let width = self.rows.iter().map(|r| r.title.len()).max().unwrap_or(0);
        for (i, row) in self.rows.iter().enumerate() {
            let requests = row
                .requests
                .map(|n| format!("{n:>4} HTTP request(s)"))
                .unwrap_or_default();
            println!(
                "  {:>2}. {:<width$}  {:>9}  {requests}",
                i + 1,
                row.title,
                millis(row.took),
            );
        }
        println!("  total {}", millis(self.started.elapsed()));
        if let Some(e) = emulator {
            let c = e.counters();
            let methods: Vec<String> = c
                .per_method
                .iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect();
            println!(
                "  the emulator served {} HTTP requests ({} batch commands inside them); calls per method: {}",
                c.requests,
                c.batch_commands,
                methods.join(", ")
            );
            println!(
                "  refused for the rate limit (503 QUERY_LIMIT_EXCEEDED): {}; for the operating limit (429): {}",
                c.refused_query_limit, c.refused_operation_limit
            );
        }
    }
}

/// `12.3 ms`.
pub fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Prints one line of a step, indented.
pub fn line(text: impl fmt::Display) {
    for l in text.to_string().lines() {
        println!("   {l}");
    }
}

/// Thousands separated by commas: `12,345`.
pub fn count(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(0u64), "0");
        assert_eq!(count(999u64), "999");
        assert_eq!(count(1_000u64), "1,000");
        assert_eq!(count(1_234_567u64), "1,234,567");
    }

    #[test]
    fn ensure_fails_with_the_message() {
        assert!(ensure(true, || "unused".into()).is_ok());
        let err = ensure(false, || "the drift is wrong".into()).unwrap_err();
        assert_eq!(err.to_string(), "the drift is wrong");
    }
}

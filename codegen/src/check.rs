//! Drift checks of committed snapshots against a portal, as data: what `bitrix-codegen check`
//! prints and what `bitrix-codegen watch` compares from one round to the next.
//!
//! A [`Report`] lists one [`Finding`] per snapshot (or smart process) that differs from the
//! portal and the subjects that match. [`Watch`] keeps the last report and tells what changed
//! since: drift that appeared, drift that changed, drift that went away.

use std::collections::BTreeMap;
use std::path::Path;

use crate::fetch::{Webhook, fetch_snapshot, list_smart_processes};
use crate::index::{Index, IndexEntry};
use crate::{EntityInfo, Snapshot};

/// One subject that differs from the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What drifted: `schemas/acme/deal.json (deal)`, or `smart process 1032`.
    pub subject: String,
    /// The drift, as `check` prints it: a headline and one line per change (ends with a
    /// newline).
    pub report: String,
}

/// The outcome of one check: the drifted subjects and the matching ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Subjects that differ from the portal, in check order.
    pub findings: Vec<Finding>,
    /// Subjects that match the portal (`schemas/acme/deal.json (deal)`).
    pub matching: Vec<String>,
}

impl Report {
    /// Whether nothing drifted.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Reads a snapshot file (a raw `crm.*.fields` answer reads as a deal's).
pub fn read_snapshot(path: &Path) -> Result<Snapshot, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Snapshot::parse(&text, &EntityInfo::deal()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Compares the snapshot at `path` with the portal's `entity` (the snapshot's own entity when
/// `None`).
pub fn check_snapshot(
    webhook: &Webhook,
    path: &Path,
    entity: Option<EntityInfo>,
) -> Result<Report, String> {
    let committed = read_snapshot(path)?;
    let entity = entity.unwrap_or_else(|| committed.entity.clone());
    let live = fetch_snapshot(webhook, &entity).map_err(|e| e.to_string())?;
    let subject = format!("{} ({})", path.display(), entity.name);
    let drift = crate::diff::diff(&committed, &live);
    let mut report = Report::default();
    if drift.is_empty() {
        report.matching.push(subject);
    } else {
        report.findings.push(Finding {
            report: format!(
                "{} has drifted from the portal {}:\n{drift}",
                path.display(),
                webhook.host()
            ),
            subject,
        });
    }
    Ok(report)
}

/// Compares every snapshot of a folder written by `snapshot --all` with the portal, and the
/// portal's smart processes with the folder's index (added, removed, renamed ones).
pub fn check_dir(webhook: &Webhook, dir: &Path) -> Result<Report, String> {
    let index = Index::read_dir(dir)?;
    let live = list_smart_processes(webhook).map_err(|e| e.to_string())?;
    let is_smart_process = |e: &IndexEntry| crate::entities::by_name(&e.entity).is_none();
    let mut report = Report::default();
    let smart_process = |id: u32| format!("smart process {id}");
    for entry in &index.entries {
        let path = dir.join(&entry.file);
        if is_smart_process(entry)
            && !live
                .iter()
                .any(|t| t.entity_type_id == entry.entity_type_id)
        {
            report.findings.push(Finding {
                subject: smart_process(entry.entity_type_id),
                report: format!(
                    "- smart process {:?} (entityTypeId {}): in the index, no longer on the portal\n",
                    entry.title.as_deref().unwrap_or(&entry.entity),
                    entry.entity_type_id
                ),
            });
            continue;
        }
        let committed = read_snapshot(&path)?;
        let live = fetch_snapshot(webhook, &committed.entity)
            .map_err(|e| format!("{}: {e}", entry.entity))?;
        let drift = crate::diff::diff(&committed, &live);
        let subject = format!("{} ({})", path.display(), entry.entity);
        if drift.is_empty() {
            report.matching.push(subject);
        } else {
            report.findings.push(Finding {
                report: format!("{subject} has drifted from the portal:\n{drift}"),
                subject,
            });
        }
    }
    for t in &live {
        let line = match index
            .entries
            .iter()
            .find(|e| e.entity_type_id == t.entity_type_id)
        {
            None => format!(
                "+ smart process {:?} (entityTypeId {}): on the portal, not in the index\n",
                t.title, t.entity_type_id
            ),
            Some(e) if e.title.as_deref() != Some(t.title.as_str()) => format!(
                "~ smart process {} (entityTypeId {}): renamed from {:?} to {:?}\n",
                e.entity,
                t.entity_type_id,
                e.title.as_deref().unwrap_or(""),
                t.title
            ),
            Some(_) => continue,
        };
        report.findings.push(Finding {
            subject: smart_process(t.entity_type_id),
            report: line,
        });
    }
    Ok(report)
}

/// What changed between two rounds of a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A subject that matched (or was not checked yet) now differs from the portal.
    Appeared(Finding),
    /// A drifted subject drifted further or differently.
    Changed(Finding),
    /// A drifted subject matches the portal again (its subject).
    Resolved(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Appeared(finding) => write!(f, "drift: {}", finding.report),
            Change::Changed(finding) => write!(f, "drift changed: {}", finding.report),
            Change::Resolved(subject) => writeln!(f, "{subject} matches the portal again"),
        }
    }
}

/// The state of a watch: the drift last seen per subject.
#[derive(Debug, Default)]
pub struct Watch {
    seen: BTreeMap<String, String>,
}

impl Watch {
    /// A watch that has seen nothing yet (the first report's drift all [`Change::Appeared`]).
    pub fn new() -> Watch {
        Watch::default()
    }

    /// Takes the next round's report and says what changed since the previous one.
    pub fn observe(&mut self, report: &Report) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut now = BTreeMap::new();
        for finding in &report.findings {
            // Two findings of one subject (cannot happen today) are kept together.
            let entry: &mut String = now.entry(finding.subject.clone()).or_default();
            entry.push_str(&finding.report);
        }
        for (subject, text) in &now {
            let finding = Finding {
                subject: subject.clone(),
                report: text.clone(),
            };
            match self.seen.get(subject) {
                None => changes.push(Change::Appeared(finding)),
                Some(old) if old != text => changes.push(Change::Changed(finding)),
                Some(_) => {}
            }
        }
        for subject in self.seen.keys() {
            if !now.contains_key(subject) {
                changes.push(Change::Resolved(subject.clone()));
            }
        }
        self.seen = now;
        changes
    }

    /// Whether the last report had drift.
    pub fn drifted(&self) -> bool {
        !self.seen.is_empty()
    }
}

/// `HH:MM:SS` (UTC) of a Unix time, for watch lines.
pub fn utc_clock(unix_seconds: u64) -> String {
    let s = unix_seconds % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(subject: &str, text: &str) -> Finding {
        Finding {
            subject: subject.into(),
            report: text.into(),
        }
    }

    fn report(findings: &[(&str, &str)]) -> Report {
        Report {
            findings: findings.iter().map(|(s, t)| finding(s, t)).collect(),
            matching: Vec::new(),
        }
    }

    #[test]
    fn a_watch_reports_drift_once_then_its_change_then_its_end() {
        let mut watch = Watch::new();
        assert!(watch.observe(&report(&[])).is_empty());
        assert!(!watch.drifted());
        let first = report(&[("deal.json (deal)", "+ field UF_CRM_A\n")]);
        assert_eq!(
            watch.observe(&first),
            vec![Change::Appeared(finding(
                "deal.json (deal)",
                "+ field UF_CRM_A\n"
            ))]
        );
        // The same drift again: nothing to say.
        assert!(watch.observe(&first).is_empty());
        assert!(watch.drifted());
        let second = report(&[
            ("deal.json (deal)", "+ field UF_CRM_A\n+ field UF_CRM_B\n"),
            ("smart process 1032", "+ smart process\n"),
        ]);
        let changes = watch.observe(&second);
        assert_eq!(changes.len(), 2);
        assert!(matches!(&changes[0], Change::Changed(f) if f.report.contains("UF_CRM_B")));
        assert!(matches!(&changes[1], Change::Appeared(f) if f.subject == "smart process 1032"));
        let changes = watch.observe(&report(&[("smart process 1032", "+ smart process\n")]));
        assert_eq!(changes, vec![Change::Resolved("deal.json (deal)".into())]);
        assert_eq!(
            changes[0].to_string(),
            "deal.json (deal) matches the portal again\n"
        );
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(utc_clock(0), "00:00:00");
        assert_eq!(utc_clock(1_764_612_645), "18:10:45");
        assert_eq!(utc_clock(86_399), "23:59:59");
    }
}

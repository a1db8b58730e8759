//! `--state FILE` ([`Config::state`](crate::Config::state)): the portal's changes persist
//! across restarts, so a team can use the emulator as its development portal.
//!
//! The file is a journal of JSON lines. The first line names the configuration the portal was
//! built from (fields, seed data, seed); every later line is one change, in the order the
//! portal made it:
//!
//! - `{"t": UNIX, "call": METHOD, "params": {...}, "user": N, "app": BOOL}`: a REST call that
//!   succeeded and may have changed something (every method but plain reads; a batch's
//!   commands one by one, with their `$result[...]` references already resolved);
//! - `{"t": UNIX, "refresh": true}`: an OAuth token refresh (the new pair comes from the seeded
//!   generator again, so no token is written to the file).
//!
//! At start the portal is built from its configuration as always, then every change is applied
//! again in order, with the portal's clock at the change's time (so ids, dates, user fields,
//! pipelines, tokens and queued events come back as they were). A change is appended and
//! flushed before its answer is sent; a last line cut short by a crash is skipped with a
//! warning. A journal written by a differently configured portal is refused at start, since
//! its changes would not apply to the same records.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::config::Config;

/// The format of the first line.
const FORMAT: u64 = 1;

/// One change read back from the journal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// A REST call.
    Call {
        /// When it was made (unix seconds).
        t: i64,
        /// The canonical method name.
        method: String,
        /// Its parameters (as the method received them).
        params: Map<String, Value>,
        /// The calling user.
        user: i64,
        /// Whether an OAuth application made it.
        app: bool,
        /// The request's `auth_connector` (which offline queues the change skipped).
        connector: Option<String>,
    },
    /// An OAuth token refresh.
    Refresh {
        /// When it was made (unix seconds).
        t: i64,
    },
}

/// The open journal: changes are appended to it.
pub(crate) struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What identifies the portal a journal applies to: everything that shapes the records
/// before the first change (not the port, limits, faults or credentials).
fn fingerprint(config: &Config) -> Value {
    let digest = |v: &Value| {
        // FNV-1a over the canonical text: stable across runs and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in v.to_string().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    };
    json!({
        "seed": config.seed,
        "deals": config.deals,
        "records": config.records,
        "fields": config.fields.as_ref().map(digest),
        "entity_fields": config.entity_fields.iter().map(|(k, v)| (k.to_string(), Value::String(digest(v)))).collect::<Map<String, Value>>(),
        "lang": format!("{:?}", config.lang),
        "utc_offset": config.utc_offset.local_minus_utc(),
        "webhook_user_id": config.webhook_user_id,
    })
}

/// Opens (or creates) the journal at `path` for a portal built from `config`: returns it with
/// the changes to apply again and the time the portal was first built (its seed data's clock).
pub(crate) fn open(path: &Path, config: &Config) -> Result<(Journal, Vec<Change>, i64), String> {
    let expected = fingerprint(config);
    let shown = path.display();
    let mut changes = Vec::new();
    let created;
    let exists = path.exists();
    if exists {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the state file {shown}: {e}"))?;
        let mut lines = text.split_inclusive('\n');
        let head = lines.next().unwrap_or_default();
        let head: Value = serde_json::from_str(head).map_err(|_| {
            format!("{shown} is not an emulator state file (its first line is not the state header); give another --state path")
        })?;
        if head.get("bitrix_emulator_state").and_then(Value::as_u64) != Some(FORMAT) {
            return Err(format!(
                "{shown} is not an emulator state file of format {FORMAT}; give another --state path"
            ));
        }
        if head.get("portal") != Some(&expected) {
            return Err(format!(
                "the state file {shown} was written by a portal started with other options ({}); start with the same --deals, --seed-portal, --fields and seed, or give a new --state path",
                describe_difference(head.get("portal"), &expected)
            ));
        }
        created = head.get("created").and_then(Value::as_i64).unwrap_or(0);
        // `end`: bytes up to the end of the last complete change.
        let mut end = text.find('\n').map_or(text.len(), |i| i + 1);
        let mut torn_at = None;
        for (number, line) in lines.enumerate() {
            let complete = line.ends_with('\n');
            let body = line.trim();
            if body.is_empty() {
                end += line.len();
                continue;
            }
            if let Some(number) = torn_at {
                return Err(format!(
                    "{shown}: line {number} is not a change, and more lines follow it; the file is damaged (remove that line or start with a new --state path)"
                ));
            }
            match parse_change(body).filter(|_| complete) {
                Some(change) => {
                    changes.push(change);
                    end += line.len();
                }
                // A line cut short by a crash: only acceptable as the very last one.
                None => torn_at = Some(number + 2),
            }
        }
        if torn_at.is_some() {
            tracing::warn!(
                file = %shown,
                "the last line of the state file is incomplete (the emulator stopped while writing it); that change is lost"
            );
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| format!("cannot repair the state file {shown}: {e}"))?;
            file.set_len(end as u64)
                .map_err(|e| format!("cannot repair the state file {shown}: {e}"))?;
        }
    } else {
        created = crate::clock::now();
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open the state file {shown} for writing: {e}"))?;
    if !exists {
        let head = json!({"bitrix_emulator_state": FORMAT, "created": created, "portal": expected});
        writeln!(file, "{head}")
            .map_err(|e| format!("cannot write the state file {shown}: {e}"))?;
    }
    Ok((
        Journal {
            path: path.to_owned(),
            file: Mutex::new(file),
        },
        changes,
        created,
    ))
}

/// Names the first option that differs, for the refusal message.
fn describe_difference(found: Option<&Value>, expected: &Value) -> String {
    let Some(found) = found.and_then(Value::as_object) else {
        return "an unknown configuration".into();
    };
    expected
        .as_object()
        .into_iter()
        .flatten()
        .find(|(k, v)| found.get(*k) != Some(v))
        .map_or("another configuration".into(), |(k, v)| {
            format!(
                "{k} was {}, now {v}",
                found.get(k).map_or("absent".into(), Value::to_string)
            )
        })
}

fn parse_change(line: &str) -> Option<Change> {
    let v: Value = serde_json::from_str(line).ok()?;
    let t = v.get("t")?.as_i64()?;
    if let Some(method) = v.get("call").and_then(Value::as_str) {
        return Some(Change::Call {
            t,
            method: method.to_owned(),
            params: v.get("params")?.as_object()?.clone(),
            user: v.get("user").and_then(Value::as_i64).unwrap_or(1),
            app: v.get("app").and_then(Value::as_bool).unwrap_or(false),
            connector: v
                .get("connector")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    v.get("refresh")?;
    Some(Change::Refresh { t })
}

/// Whether a method only reads, so a journal need not keep it (anything else is kept:
/// keeping a read costs a replay, missing a write loses data).
pub(crate) fn only_reads(method: &str) -> bool {
    if method == "event.offline.get" {
        // It deletes what it returns (clear=1) or reserves it.
        return false;
    }
    let last = method.rsplit('.').next().unwrap_or(method);
    matches!(last, "get" | "list" | "fields" | "types" | "items")
        || matches!(
            method,
            "server.time"
                | "profile"
                | "user.current"
                | "user.admin"
                | "app.info"
                | "scope"
                | "methods"
                | "feature.get"
        )
}

impl Journal {
    fn append(&self, file: &mut File, line: &Value) {
        let result = writeln!(file, "{line}").and_then(|()| file.flush());
        if let Err(e) = result {
            tracing::error!(file = %self.path.display(), error = %e, "cannot append to the state file; this change will not survive a restart");
        }
    }

    /// Runs `call`, a REST call of `method`, and appends it when it succeeded. Calls that may
    /// change something run one at a time here, so the journal's order is the order the
    /// portal made the changes in (the portal serialises writes anyway); plain reads run
    /// beside them untouched.
    pub(crate) fn call<T, E>(
        &self,
        method: &str,
        params: &Map<String, Value>,
        user: i64,
        app: bool,
        connector: Option<&str>,
        call: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        if only_reads(method) {
            return call();
        }
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let result = call();
        if result.is_ok() {
            // OAuth calls carry their access token as `auth`; the journal never keeps it.
            let mut params = params.clone();
            params.retain(|k, _| !k.eq_ignore_ascii_case("auth"));
            let mut line = json!({"t": crate::clock::now(), "call": method, "params": params, "user": user, "app": app});
            if let Some(connector) = connector {
                line["connector"] = json!(connector);
            }
            self.append(&mut file, &line);
        }
        result
    }

    /// Runs `refresh`, an OAuth token refresh, and appends it when it succeeded.
    pub(crate) fn refresh<T, E>(&self, refresh: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let result = refresh();
        if result.is_ok() {
            self.append(
                &mut file,
                &json!({"t": crate::clock::now(), "refresh": true}),
            );
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_kept_and_writes_are() {
        for read in [
            "crm.deal.get",
            "crm.deal.list",
            "crm.item.fields",
            "crm.status.entity.types",
            "crm.deal.contact.items.get",
            "server.time",
            "event.get",
        ] {
            assert!(only_reads(read), "{read}");
        }
        for write in [
            "crm.deal.add",
            "crm.item.update",
            "crm.deal.userfield.add",
            "crm.deal.contact.items.set",
            "event.bind",
            "event.offline.get",
            "event.offline.clear",
        ] {
            assert!(!only_reads(write), "{write}");
        }
    }

    #[test]
    fn a_journal_is_refused_by_a_portal_configured_otherwise_and_a_torn_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("emu-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("portal.jsonl");
        let _ = std::fs::remove_file(&path);
        let config = Config::default();
        let (journal, changes, created) = open(&path, &config).unwrap();
        assert!(changes.is_empty() && created > 0);
        let mut params = Map::new();
        params.insert("fields".into(), json!({"TITLE": "x"}));
        let ok = || Ok::<(), ()>(());
        journal
            .call("crm.deal.add", &params, 1, false, Some("k"), ok)
            .unwrap();
        journal
            .call("crm.deal.get", &params, 1, false, None, ok)
            .unwrap();
        journal
            .call("crm.deal.update", &params, 1, false, None, || {
                Err::<(), ()>(())
            })
            .unwrap_err();
        drop(journal);
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        write!(f, "{{\"t\": 17, \"call\": \"crm.de").unwrap();
        drop(f);
        let (_, changes, again) = open(&path, &config).unwrap();
        assert_eq!(again, created);
        assert_eq!(changes.len(), 1);
        assert!(
            matches!(&changes[0], Change::Call { method, connector: Some(k), .. } if method == "crm.deal.add" && k == "k")
        );
        let other = Config {
            deals: 5,
            ..Config::default()
        };
        let refused = open(&path, &other).unwrap_err();
        assert!(refused.contains("deals was 0, now 5"), "{refused}");
        std::fs::write(&path, "not a state file\n").unwrap();
        assert!(
            open(&path, &config)
                .unwrap_err()
                .contains("not an emulator state file")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

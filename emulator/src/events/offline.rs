//! The offline event queues (`event.offline.*`): one queue per `auth_connector` (and one
//! without), holding the latest state of each object: a change to an object that already has
//! an unreserved record replaces it. `get` deletes what it returns, or reserves it under a
//! process id; reserved records can be cleared or marked as errors.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

/// One queued record.
#[derive(Clone, Debug)]
struct Record {
    id: u64,
    /// Unix seconds of the last change.
    ts: i64,
    name: String,
    data: Value,
    /// `MESSAGE_ID`: a hex digest of the object.
    message_id: String,
    /// The object the record is about (one unreserved record per object and queue).
    object: String,
    /// The queue (`auth_connector` of the binding).
    queue: Option<String>,
    process_id: Option<String>,
    error: bool,
}

/// Every offline queue of the application.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    records: Vec<Record>,
    next_id: u64,
}

/// What `event.offline.get` selects.
#[derive(Debug)]
pub(crate) struct GetRequest<'a> {
    pub queue: Option<&'a str>,
    pub filter: &'a Map<String, Value>,
    pub order: &'a Map<String, Value>,
    pub limit: usize,
    pub clear: bool,
    pub process_id: Option<&'a str>,
    pub error: bool,
}

/// How records are shown.
#[derive(Clone, Copy)]
pub(crate) struct Render<'a> {
    /// Renders unix seconds as the portal does (`2024-07-18T12:32:31+02:00`).
    pub time: &'a dyn Fn(i64) -> String,
}

impl std::fmt::Debug for Render<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Render")
    }
}

/// A 32-digit hex digest of an object key (FNV-1a, twice with different offsets).
fn digest(key: &str) -> String {
    let fnv = |basis: u64| {
        key.bytes().fold(basis, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

impl Queues {
    /// Records a change of `object` in `queue`: replaces the object's unreserved record (new
    /// name, data and time) or appends one.
    pub(crate) fn push(
        &mut self,
        queue: Option<&str>,
        name: &str,
        data: &Value,
        object: &str,
        ts: i64,
    ) {
        let existing = self.records.iter_mut().find(|r| {
            r.process_id.is_none() && !r.error && r.object == object && r.queue.as_deref() == queue
        });
        if let Some(r) = existing {
            r.name = name.to_owned();
            r.data = data.clone();
            r.ts = ts;
            return;
        }
        self.next_id += 1;
        self.records.push(Record {
            id: self.next_id,
            ts,
            name: name.to_owned(),
            data: data.clone(),
            message_id: digest(object),
            object: object.to_owned(),
            queue: queue.map(str::to_owned),
            process_id: None,
            error: false,
        });
    }

    /// `event.offline.get`: the selected records, and the process id they are reserved under
    /// (`None` when they were deleted).
    pub(crate) fn get(
        &mut self,
        req: &GetRequest<'_>,
        new_process_id: impl FnOnce() -> String,
        render: Render<'_>,
    ) -> Value {
        let in_queue = |r: &Record| r.queue.as_deref() == req.queue && matches(r, req.filter);
        let mut own: Vec<usize> = Vec::new();
        let mut fresh: Vec<usize> = Vec::new();
        for (i, r) in self.records.iter().enumerate() {
            if !in_queue(r) {
                continue;
            }
            if req.error {
                if r.error {
                    fresh.push(i);
                }
            } else if r.error {
                continue;
            } else if r.process_id.is_some() && r.process_id.as_deref() == req.process_id {
                own.push(i);
            } else if r.process_id.is_none() {
                fresh.push(i);
            }
        }
        let default_order = json!({"TIMESTAMP_X": "ASC"});
        let order = if req.order.is_empty() {
            default_order.as_object().expect("an object")
        } else {
            req.order
        };
        self.sort(&mut own, order);
        self.sort(&mut fresh, order);
        let mut chosen: Vec<usize> = own.into_iter().chain(fresh).take(req.limit).collect();
        let events: Vec<Value> = chosen
            .iter()
            .map(|&i| row(&self.records[i], render, false))
            .collect();
        let process_id = if req.clear {
            chosen.sort_unstable();
            for i in chosen.into_iter().rev() {
                self.records.remove(i);
            }
            Value::Null
        } else {
            let pid = req
                .process_id
                .map(str::to_owned)
                .unwrap_or_else(new_process_id);
            for &i in &chosen {
                self.records[i].process_id = Some(pid.clone());
            }
            Value::String(pid)
        };
        json!({ "process_id": process_id, "events": events })
    }

    /// `event.offline.clear`: deletes the process's records (only the given ids, else only
    /// the given message ids, else all); how many went.
    pub(crate) fn clear(&mut self, process_id: &str, ids: &[u64], message_ids: &[String]) -> usize {
        let before = self.records.len();
        self.records.retain(|r| {
            let selected = r.process_id.as_deref() == Some(process_id)
                && if !ids.is_empty() {
                    ids.contains(&r.id)
                } else if !message_ids.is_empty() {
                    message_ids.contains(&r.message_id)
                } else {
                    true
                };
            !selected
        });
        before - self.records.len()
    }

    /// `event.offline.error`: marks the process's records with these message ids as errors;
    /// how many were marked.
    pub(crate) fn error(&mut self, process_id: &str, message_ids: &[String]) -> usize {
        let mut n = 0;
        for r in &mut self.records {
            if r.process_id.as_deref() == Some(process_id) && message_ids.contains(&r.message_id) {
                r.error = true;
                n += 1;
            }
        }
        n
    }

    /// `event.offline.list`: one page (50) of a queue's records with `PROCESS_ID` and
    /// `ERROR`, unchanged; the rows and the total.
    pub(crate) fn list(
        &self,
        queue: Option<&str>,
        filter: &Map<String, Value>,
        order: &Map<String, Value>,
        start: usize,
        page: usize,
        render: Render<'_>,
    ) -> (Vec<Value>, usize) {
        let mut chosen: Vec<usize> = (0..self.records.len())
            .filter(|&i| {
                let r = &self.records[i];
                r.queue.as_deref() == queue && matches(r, filter)
            })
            .collect();
        let default_order = json!({"ID": "ASC"});
        let order = if order.is_empty() {
            default_order.as_object().expect("an object")
        } else {
            order
        };
        self.sort(&mut chosen, order);
        let total = chosen.len();
        let rows = chosen
            .into_iter()
            .skip(start)
            .take(page)
            .map(|i| row(&self.records[i], render, true))
            .collect();
        (rows, total)
    }

    /// Number of records in every queue (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.records.len()
    }

    fn sort(&self, indexes: &mut [usize], order: &Map<String, Value>) {
        let keys: Vec<(Field, bool)> = order
            .iter()
            .filter_map(|(k, v)| {
                let desc = v.as_str().is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
                Some((Field::parse(k)?, !desc))
            })
            .collect();
        indexes.sort_by(|&a, &b| {
            let (ra, rb) = (&self.records[a], &self.records[b]);
            for (field, asc) in &keys {
                let o = field.key(ra).cmp_to(&field.key(rb));
                let o = if *asc { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            ra.id.cmp(&rb.id)
        });
    }
}

fn row(r: &Record, render: Render<'_>, list: bool) -> Value {
    let mut o = Map::new();
    o.insert("ID".into(), json!(r.id.to_string()));
    o.insert("TIMESTAMP_X".into(), json!((render.time)(r.ts)));
    o.insert("EVENT_NAME".into(), json!(r.name));
    o.insert("EVENT_DATA".into(), r.data.clone());
    o.insert("EVENT_ADDITIONAL".into(), Value::Bool(false));
    o.insert("MESSAGE_ID".into(), json!(r.message_id));
    if list {
        o.insert(
            "PROCESS_ID".into(),
            json!(r.process_id.clone().unwrap_or_default()),
        );
        o.insert("ERROR".into(), json!(if r.error { "1" } else { "0" }));
    }
    Value::Object(o)
}

/// A field of the filter and the order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Field {
    Id,
    Timestamp,
    Name,
    MessageId,
    ProcessId,
    Error,
}

/// A field's value, compared as a number or as text.
#[derive(Debug, PartialEq)]
enum Key {
    Num(i64),
    Text(String),
}

impl Key {
    fn cmp_to(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => a.cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (Key::Num(_), Key::Text(_)) => Ordering::Less,
            (Key::Text(_), Key::Num(_)) => Ordering::Greater,
        }
    }
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        Some(match name.trim().to_ascii_uppercase().as_str() {
            "ID" => Field::Id,
            "TIMESTAMP_X" => Field::Timestamp,
            "EVENT_NAME" => Field::Name,
            "MESSAGE_ID" => Field::MessageId,
            "PROCESS_ID" => Field::ProcessId,
            "ERROR" => Field::Error,
            _ => return None,
        })
    }

    fn key(self, r: &Record) -> Key {
        match self {
            Field::Id => Key::Num(r.id as i64),
            Field::Timestamp => Key::Num(r.ts),
            Field::Name => Key::Text(r.name.clone()),
            Field::MessageId => Key::Text(r.message_id.clone()),
            Field::ProcessId => Key::Text(r.process_id.clone().unwrap_or_default()),
            Field::Error => Key::Num(i64::from(r.error)),
        }
    }

    /// A filter value as this field's key; `None` when it cannot be one (never matches).
    fn wanted(self, v: &Value) -> Option<Key> {
        let text = match v {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => i64::from(*b).to_string(),
            _ => return None,
        };
        match self {
            Field::Id | Field::Error => text.parse::<i64>().ok().map(Key::Num),
            Field::Timestamp => parse_time(&text).map(Key::Num),
            Field::Name => Some(Key::Text(text.to_ascii_uppercase())),
            Field::MessageId | Field::ProcessId => Some(Key::Text(text)),
        }
    }
}

/// A filter time: unix seconds, an ISO date-time with offset, `YYYY-MM-DD[ HH:MM:SS]` or
/// `DD.MM.YYYY[ HH:MM:SS]` (UTC).
fn parse_time(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%d.%m.%Y %H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, f) {
            return Some(t.and_utc().timestamp());
        }
    }
    for f in ["%Y-%m-%d", "%d.%m.%Y"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(text, f) {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
        }
    }
    None
}

/// Whether a record passes a filter (`=`, `!`/`!=`, `>`, `>=`, `<`, `<=` before the field;
/// a list under `=` or `!` is a set); unknown fields are ignored.
fn matches(r: &Record, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(k, want)| {
        let k = k.trim();
        let (op, name) = ["!=", ">=", "<=", "=", "!", ">", "<"]
            .iter()
            .find_map(|op| k.strip_prefix(op).map(|rest| (*op, rest)))
            .unwrap_or(("=", k));
        let Some(field) = Field::parse(name) else {
            return true;
        };
        let got = field.key(r);
        let got = match (field, got) {
            (Field::Name, Key::Text(t)) => Key::Text(t.to_ascii_uppercase()),
            (_, g) => g,
        };
        let wanted: Vec<Key> = match want {
            Value::Array(a) => a.iter().filter_map(|v| field.wanted(v)).collect(),
            Value::Object(o) => o.values().filter_map(|v| field.wanted(v)).collect(),
            v => field.wanted(v).into_iter().collect(),
        };
        let any = |pred: &dyn Fn(Ordering) -> bool| wanted.iter().any(|w| pred(got.cmp_to(w)));
        match op {
            "=" => any(&|o| o == Ordering::Equal),
            "!" | "!=" => !any(&|o| o == Ordering::Equal),
            ">" => any(&|o| o == Ordering::Greater),
            ">=" => any(&|o| o != Ordering::Less),
            "<" => any(&|o| o == Ordering::Less),
            "<=" => any(&|o| o != Ordering::Greater),
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(t: i64) -> String {
        t.to_string()
    }

    const R: Render<'static> = Render { time: &time };

    fn req<'a>(
        filter: &'a Map<String, Value>,
        clear: bool,
        pid: Option<&'a str>,
    ) -> GetRequest<'a> {
        GetRequest {
            queue: None,
            filter,
            order: filter,
            limit: 50,
            clear,
            process_id: pid,
            error: false,
        }
    }

    #[test]
    fn the_latest_state_replaces_an_unreserved_record_only() {
        let mut q = Queues::default();
        q.push(
            None,
            "ONCRMDEALADD",
            &json!({"FIELDS": {"ID": 1}}),
            "DEAL:1",
            10,
        );
        q.push(
            None,
            "ONCRMDEALUPDATE",
            &json!({"FIELDS": {"ID": 1}}),
            "DEAL:1",
            20,
        );
        assert_eq!(q.len(), 1);
        let empty = Map::new();
        let got = q.get(&req(&empty, false, None), || "p1".into(), R);
        assert_eq!(got["process_id"], "p1");
        assert_eq!(got["events"][0]["EVENT_NAME"], "ONCRMDEALUPDATE");
        assert_eq!(got["events"][0]["TIMESTAMP_X"], "20");
        // Reserved: a new change makes a second record with the same MESSAGE_ID.
        q.push(
            None,
            "ONCRMDEALUPDATE",
            &json!({"FIELDS": {"ID": 1}}),
            "DEAL:1",
            30,
        );
        assert_eq!(q.len(), 2);
        let (rows, total) = q.list(None, &empty, &empty, 0, 50, R);
        assert_eq!(total, 2);
        assert_eq!(rows[0]["MESSAGE_ID"], rows[1]["MESSAGE_ID"]);
        assert_eq!(rows[0]["PROCESS_ID"], "p1");
        assert_eq!(rows[1]["PROCESS_ID"], "");
    }

    #[test]
    fn filters_compare_ids_names_and_times() {
        let mut q = Queues::default();
        for i in 1..=5 {
            q.push(
                None,
                "ONCRMLEADADD",
                &Value::Null,
                &format!("LEAD:{i}"),
                100 + i,
            );
        }
        let f = json!({">=ID": 2, "<ID": "5", "=EVENT_NAME": "onCrmLeadAdd", ">TIMESTAMP_X": 102});
        let (rows, total) = q.list(None, f.as_object().unwrap(), &Map::new(), 0, 50, R);
        assert_eq!(total, 2, "{rows:?}");
        assert_eq!(rows[0]["ID"], "3");
        let f = json!({"!ID": [1, 2, 3]});
        let o = json!({"ID": "DESC"});
        let (rows, _) = q.list(
            None,
            f.as_object().unwrap(),
            o.as_object().unwrap(),
            0,
            50,
            R,
        );
        assert_eq!(rows[0]["ID"], "5");
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn parse_time_reads_the_documented_forms() {
        assert_eq!(parse_time("2024-07-18T12:32:31+02:00"), Some(1_721_298_751));
        assert_eq!(parse_time("2024-07-18 10:32:31"), Some(1_721_298_751));
        assert_eq!(parse_time("18.07.2024"), Some(1_721_260_800));
        assert_eq!(parse_time("soon"), None);
    }
}

//! Field values: what the server accepts on input (PHP casts included) and how it shows them
//! (strings for numbers, "Y"/"N", money "300|RUB", file objects, dates in the portal offset).

use base64::Engine as _;
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Timelike,
    Utc,
};
use serde_json::Value;

use crate::catalog::Catalog;
use crate::error::ApiError;
use crate::schema::{FieldDef, Kind};
use crate::store::{Cell, Files, Strings};

/// PHP `intval`: numbers truncate, strings read their leading integer (`"12abc"` is 12,
/// `"abc"` is 0), `true` is 1.
pub(crate) fn php_intval(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .map(|f| f.trunc().clamp(i64::MIN as f64, i64::MAX as f64) as i64)
            })
            .unwrap_or(0),
        Value::String(s) => str_intval(s),
        Value::Bool(b) => i64::from(*b),
        Value::Array(a) => i64::from(!a.is_empty()),
        Value::Object(o) => i64::from(!o.is_empty()),
        Value::Null => 0,
    }
}

/// PHP `intval` of a string.
pub(crate) fn str_intval(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits[..end]
        .parse()
        .unwrap_or(if end == 0 { 0 } else { i64::MAX });
    if neg { -n } else { n }
}

/// PHP `floatval`: numbers as they are, strings read their leading number.
pub(crate) fn php_floatval(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => str_floatval(s),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// PHP `floatval` of a string.
pub(crate) fn str_floatval(s: &str) -> f64 {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut end = 0;
    if end < b.len() && (b[end] == b'-' || b[end] == b'+') {
        end += 1;
    }
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    if end < b.len() && b[end] == b'.' {
        end += 1;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
    }
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let mut e = end + 1;
        if e < b.len() && (b[e] == b'-' || b[e] == b'+') {
            e += 1;
        }
        if e < b.len() && b[e].is_ascii_digit() {
            while e < b.len() && b[e].is_ascii_digit() {
                e += 1;
            }
            end = e;
        }
    }
    let f: f64 = t[..end].parse().unwrap_or(0.0);
    if f.is_finite() { f } else { 0.0 }
}

/// A scalar as PHP would turn it into a string (`true` is "1", `false` ""), `None` for arrays
/// and objects.
pub(crate) fn php_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => format_php_float(f),
            _ => n.to_string(),
        }),
        Value::Bool(true) => Some("1".into()),
        Value::Bool(false) | Value::Null => Some(String::new()),
        _ => None,
    }
}

/// A float as PHP prints it: `12.5`, `12`, `0.1`.
pub(crate) fn format_php_float(f: f64) -> String {
    if f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        let s = format!("{f}");
        if s.len() > 17 {
            format!("{f:.14}").trim_end_matches('0').to_owned()
        } else {
            s
        }
    }
}

/// Cents as "1000.00".
pub(crate) fn format_cents(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// True for the values that mean "no value": null, "", [] and {}.
pub(crate) fn is_empty_input(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The elements of a list given as a JSON array or as a PHP array (object with index keys).
pub(crate) fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => o.values().collect(),
        other => vec![other],
    }
}

const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a date.
pub(crate) fn days_of(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date"))
        .num_days()
}

enum Stamp {
    Date(NaiveDate),
    Naive(NaiveDateTime),
    Zoned(DateTime<FixedOffset>),
}

fn parse_stamp(s: &str) -> Option<Stamp> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(Stamp::Date(d));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%d.%m.%Y") {
        return Some(Stamp::Date(d));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(Stamp::Zoned(dt));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Some(Stamp::Zoned(dt));
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Stamp::Naive(dt));
        }
    }
    None
}

/// A date given as `YYYY-MM-DD`, `DD.MM.YYYY` or a datetime. A datetime at UTC midnight (what
/// the server itself shows for dates, in any offset) is that UTC date; any other datetime is the
/// date written in it.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    match parse_stamp(s)? {
        Stamp::Date(d) => Some(days_of(d)),
        Stamp::Naive(dt) => Some(days_of(dt.date())),
        Stamp::Zoned(dt) => {
            let utc = dt.with_timezone(&Utc);
            if utc.time().num_seconds_from_midnight() == 0 {
                Some(days_of(utc.date_naive()))
            } else {
                Some(days_of(dt.date_naive()))
            }
        }
    }
}

/// A datetime (unix seconds); without an offset it is read in the portal's offset, a date alone
/// is midnight there.
pub(crate) fn parse_datetime(s: &str, tz: FixedOffset) -> Option<i64> {
    match parse_stamp(s)? {
        Stamp::Date(d) => tz
            .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .single()
            .map(|t| t.timestamp()),
        Stamp::Naive(dt) => tz.from_local_datetime(&dt).single().map(|t| t.timestamp()),
        Stamp::Zoned(dt) => Some(dt.timestamp()),
    }
}

/// A date as the server shows it: UTC midnight in the portal offset.
#[cfg(test)]
pub(crate) fn render_date(days: i64, tz: FixedOffset) -> String {
    render_datetime(days * DAY, tz)
}

/// A datetime in the portal offset: `2024-08-30T14:29:00+03:00`.
pub(crate) fn render_datetime(secs: i64, tz: FixedOffset) -> String {
    match tz.timestamp_opt(secs, 0).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Secs, false),
        None => String::new(),
    }
}

/// What an input value becomes.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed {
    /// Store this in a single field (NULL clears it).
    Single(Cell),
    /// Replace a multiple field's values.
    Multi(Vec<Cell>),
    /// Leave the field as it is (the value is silently ignored, as on the server).
    Skip,
}

/// What value parsing needs from the portal.
pub(crate) struct InputCtx<'a> {
    pub strings: &'a mut Strings,
    pub files: &'a mut Files,
    pub catalog: &'a Catalog,
    pub tz: FixedOffset,
    pub lang: crate::lang::Lang,
}

/// Parses the value of one field from `fields`. `current` holds the field's files before the
/// call (to keep `{"id": N}` references).
pub(crate) fn parse_value(
    f: &FieldDef,
    v: &Value,
    ctx: &mut InputCtx<'_>,
    current_files: &[i64],
) -> Result<Parsed, ApiError> {
    if f.multiple {
        if f.kind == Kind::File {
            return parse_files_multi(f, v, ctx, current_files);
        }
        let mut out = Vec::new();
        if !is_empty_input(v) {
            for item in as_list(v) {
                if let Some(c) = parse_single(f, item, ctx, current_files)? {
                    if !c.is_null() {
                        out.push(c);
                    }
                }
            }
        }
        return Ok(Parsed::Multi(out));
    }
    let v = match v {
        Value::Array(a) if f.kind != Kind::File && f.kind != Kind::Raw => match a.first() {
            Some(first) => first,
            None => &Value::Null,
        },
        other => other,
    };
    Ok(match parse_single(f, v, ctx, current_files)? {
        Some(c) => Parsed::Single(c),
        None => Parsed::Skip,
    })
}

/// One value; `None` means "ignore".
fn parse_single(
    f: &FieldDef,
    v: &Value,
    ctx: &mut InputCtx<'_>,
    current_files: &[i64],
) -> Result<Option<Cell>, ApiError> {
    if matches!(v, Value::Array(_) | Value::Object(_)) && !matches!(f.kind, Kind::File | Kind::Raw)
    {
        return Ok(None);
    }
    let empty = matches!(v, Value::Null) || v.as_str() == Some("");
    Ok(Some(match f.kind {
        Kind::Id => return Ok(None),
        Kind::Int => {
            if empty {
                Cell::NULL
            } else {
                Cell::int(php_intval(v))
            }
        }
        Kind::Cents => {
            if empty {
                Cell::int(0)
            } else {
                Cell::int((php_floatval(v) * 100.0).round() as i64)
            }
        }
        Kind::Float(p) => {
            if empty {
                Cell::NULL
            } else {
                let scale = 10f64.powi(i32::from(p));
                Cell::float((php_floatval(v) * scale).round() / scale)
            }
        }
        Kind::Char => {
            // CCrmDeal: `$value == 'Y' ? 'Y' : 'N'` (PHP loose comparison: true == 'Y').
            let yes = matches!(v, Value::Bool(true)) || v.as_str() == Some("Y");
            Cell::int(i64::from(yes))
        }
        Kind::Bool => {
            if empty {
                Cell::int(0)
            } else {
                let yes = match v {
                    Value::Bool(b) => *b,
                    Value::String(s) => {
                        matches!(s.as_str(), "Y" | "y" | "true" | "TRUE") || str_intval(s) > 0
                    }
                    other => php_intval(other) > 0,
                };
                Cell::int(i64::from(yes))
            }
        }
        Kind::Text => {
            let Some(mut s) = php_string(v) else {
                return Ok(None);
            };
            match f.ty.as_str() {
                "crm_currency" => {
                    if s.is_empty() {
                        return Ok(Some(Cell::NULL));
                    }
                    if !ctx.catalog.currencies.iter().any(|c| *c == s) {
                        return Err(ApiError::legacy(ctx.lang.invalid_currency()));
                    }
                }
                "money" => {
                    if s.trim().is_empty() {
                        return Ok(Some(Cell::NULL));
                    }
                    s = normalize_money(&s, ctx.catalog.base_currency);
                }
                "address" | "crm" | "crm_status" if f.uf && s.is_empty() => {
                    return Ok(Some(Cell::NULL));
                }
                _ => {}
            }
            if matches!(v, Value::Null) {
                Cell::NULL
            } else {
                Cell::text(ctx.strings.intern(&s))
            }
        }
        Kind::Date => {
            if empty {
                Cell::NULL
            } else {
                match v.as_str().and_then(parse_date) {
                    Some(d) => Cell::int(d),
                    None => return Ok(None),
                }
            }
        }
        Kind::DateTime => {
            if empty {
                Cell::NULL
            } else {
                match v.as_str().and_then(|s| parse_datetime(s, ctx.tz)) {
                    Some(t) => Cell::int(t),
                    None => return Ok(None),
                }
            }
        }
        Kind::Enum => {
            if empty {
                Cell::NULL
            } else {
                let id = php_intval(v);
                if f.items().iter().any(|i| i64::from(i.id) == id) {
                    Cell::int(id)
                } else {
                    return Ok(None);
                }
            }
        }
        Kind::File => return parse_file(v, ctx, current_files),
        // Written by the table (values keep their ids): never parsed alone.
        Kind::Multifield => return Ok(None),
        Kind::Raw => {
            if empty {
                Cell::NULL
            } else {
                let text = serde_json::to_string(v).unwrap_or_default();
                Cell::text(ctx.strings.intern(&text))
            }
        }
    }))
}

/// `"300"` becomes `"300|RUB"`; `"300.5|usd"` stays an amount with its currency.
fn normalize_money(s: &str, base: &str) -> String {
    let (amount, currency) = match s.split_once('|') {
        Some((a, c)) if !c.trim().is_empty() => (a.trim(), c.trim().to_ascii_uppercase()),
        Some((a, _)) => (a.trim(), base.to_owned()),
        None => (s.trim(), base.to_owned()),
    };
    let amount = amount.replace(',', ".");
    let value = str_floatval(&amount);
    format!(
        "{}|{}",
        format_php_float((value * 100.0).round() / 100.0),
        currency
    )
}

/// A single file value: `{"fileData": [name, base64]}`, `[name, base64]`, `{"id": N}` (keep),
/// `{"id": N, "remove": "Y"}` or empty (remove).
fn parse_file(
    v: &Value,
    ctx: &mut InputCtx<'_>,
    current: &[i64],
) -> Result<Option<Cell>, ApiError> {
    if is_empty_input(v) {
        return Ok(Some(Cell::NULL));
    }
    if let Some((name, data)) = file_data(v) {
        let id = ctx.files.add(&name, data);
        return Ok(Some(Cell::int(i64::from(id))));
    }
    if let Value::Object(o) = v {
        let id = o.get("id").or_else(|| o.get("ID")).map(php_intval);
        let remove = o
            .get("remove")
            .or_else(|| o.get("del"))
            .is_some_and(|r| r.as_str() == Some("Y") || r == &Value::Bool(true));
        if let Some(id) = id {
            if remove {
                return Ok(if current.contains(&id) {
                    Some(Cell::NULL)
                } else {
                    None
                });
            }
            return Ok(if current.contains(&id) {
                Some(Cell::int(id))
            } else {
                None
            });
        }
    }
    Ok(None)
}

fn parse_files_multi(
    f: &FieldDef,
    v: &Value,
    ctx: &mut InputCtx<'_>,
    current: &[i64],
) -> Result<Parsed, ApiError> {
    if is_empty_input(v) {
        return Ok(Parsed::Multi(Vec::new()));
    }
    // A single `[name, base64]` pair or `{"fileData": ...}` is one file, not a list.
    let items: Vec<&Value> = if file_data(v).is_some() {
        vec![v]
    } else {
        as_list(v)
    };
    let mut out = Vec::new();
    for item in items {
        if let Some(c) = parse_file(item, ctx, current)? {
            if !c.is_null() {
                out.push(c);
            }
        }
    }
    let _ = f;
    Ok(Parsed::Multi(out))
}

fn file_data(v: &Value) -> Option<(String, Vec<u8>)> {
    let pair = match v {
        Value::Object(o) => o.get("fileData")?,
        Value::Array(_) => v,
        _ => return None,
    };
    let list = as_list(pair);
    let name = list.first()?.as_str()?;
    let b64 = list.get(1)?.as_str()?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    Some((name.to_owned(), data))
}

/// What rendering needs from the portal.
pub(crate) struct RenderCtx<'a> {
    pub strings: &'a Strings,
    pub tz: FixedOffset,
    /// Escape `/` as `\/` (PHP's `json_encode`).
    pub slashes: bool,
}

/// Writes `s` as a JSON string the way PHP's `json_encode(..., JSON_UNESCAPED_UNICODE)` does:
/// Unicode as is, `/` escaped when `slashes`.
pub(crate) fn push_json_str(out: &mut String, s: &str, slashes: bool) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'/' if slashes => "\\/",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A datetime in the portal offset, as `render_datetime` but written in place (hot path).
fn push_datetime(out: &mut String, secs: i64, tz: FixedOffset) {
    use std::fmt::Write as _;
    let local = secs + i64::from(tz.local_minus_utc());
    let Some(t) = DateTime::from_timestamp(local, 0) else {
        return;
    };
    let n = t.naive_utc();
    let off = tz.local_minus_utc();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs() / 60;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        n.year(),
        n.month(),
        n.day(),
        n.hour(),
        n.minute(),
        n.second(),
        sign,
        off / 60,
        off % 60
    );
}

/// Writes a single field's value as the server shows it; returns false when the key must be
/// absent (an empty single file field).
pub(crate) fn write_single(
    out: &mut String,
    f: &FieldDef,
    c: Cell,
    deal_id: u32,
    ctx: &RenderCtx<'_>,
) -> bool {
    if c.is_null() {
        match f.kind {
            Kind::File => return false,
            Kind::Date | Kind::DateTime => out.push_str("\"\""),
            Kind::Text if f.uf && matches!(f.ty.as_str(), "money" | "address") => {
                out.push_str("\"\"")
            }
            _ => out.push_str("null"),
        }
        return true;
    }
    write_value(out, f, c, deal_id, ctx);
    true
}

/// Writes a multiple field's values: a JSON array of the single form, `[]` when empty.
pub(crate) fn write_multi(
    out: &mut String,
    f: &FieldDef,
    cells: &[Cell],
    deal_id: u32,
    ctx: &RenderCtx<'_>,
) {
    out.push('[');
    let mut first = true;
    for &c in cells.iter().filter(|c| !c.is_null()) {
        if !first {
            out.push(',');
        }
        first = false;
        write_value(out, f, c, deal_id, ctx);
    }
    out.push(']');
}

fn write_value(out: &mut String, f: &FieldDef, c: Cell, deal_id: u32, ctx: &RenderCtx<'_>) {
    use std::fmt::Write as _;
    match f.kind {
        Kind::Id | Kind::Int | Kind::Enum => {
            let _ = write!(out, "\"{}\"", c.as_int());
        }
        Kind::Cents => {
            out.push('"');
            out.push_str(&format_cents(c.as_int()));
            out.push('"');
        }
        Kind::Float(_) => {
            out.push('"');
            out.push_str(&format_php_float(c.as_float()));
            out.push('"');
        }
        Kind::Char => out.push_str(if c.as_int() != 0 { "\"Y\"" } else { "\"N\"" }),
        Kind::Bool => out.push_str(if c.as_int() != 0 { "\"1\"" } else { "\"0\"" }),
        Kind::Text => push_json_str(out, ctx.strings.get(c.as_text()), ctx.slashes),
        Kind::Date => {
            out.push('"');
            push_datetime(out, c.as_int() * DAY, ctx.tz);
            out.push('"');
        }
        Kind::DateTime => {
            out.push('"');
            push_datetime(out, c.as_int(), ctx.tz);
            out.push('"');
        }
        Kind::File => {
            let file_id = c.as_int();
            let base = "/bitrix/components/bitrix/crm.deal.show/show_file.php";
            let _ = write!(out, "{{\"id\":{file_id},\"showUrl\":");
            let show = format!(
                "{base}?ownerId={deal_id}&fieldName={}&dynamic=Y&fileId={file_id}",
                f.code
            );
            push_json_str(out, &show, ctx.slashes);
            out.push_str(",\"downloadUrl\":");
            let download = format!(
                "{base}?auth=&ownerId={deal_id}&fieldName={}&dynamic=Y&fileId={file_id}",
                f.code
            );
            push_json_str(out, &download, ctx.slashes);
            out.push('}');
        }
        Kind::Multifield => {
            let entry = crate::multifields::Entry::decode(ctx.strings.get(c.as_text()));
            let v = entry.legacy_json(&f.code);
            let text = serde_json::to_string(&v).unwrap_or_default();
            out.push_str(&if ctx.slashes {
                text.replace('/', "\\/")
            } else {
                text
            });
        }
        Kind::Raw => {
            // Stored as JSON text by serde_json; '/' only occurs inside its strings.
            let raw = ctx.strings.get(c.as_text());
            if ctx.slashes && raw.contains('/') {
                out.push_str(&raw.replace('/', "\\/"));
            } else {
                out.push_str(raw);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tz3() -> FixedOffset {
        FixedOffset::east_opt(3 * 3600).unwrap()
    }

    #[test]
    fn php_casts() {
        assert_eq!(str_intval("12abc"), 12);
        assert_eq!(str_intval("$result[x][49][ID]"), 0);
        assert_eq!(str_intval(" -7"), -7);
        assert_eq!(php_intval(&json!(12.9)), 12);
        assert_eq!(php_intval(&json!(true)), 1);
        assert_eq!(str_floatval("1000.50abc"), 1000.5);
        assert_eq!(str_floatval("1e3"), 1000.0);
        assert_eq!(str_floatval("x"), 0.0);
        assert_eq!(php_string(&json!(9999.99)).unwrap(), "9999.99");
        assert_eq!(php_string(&json!(1000000)).unwrap(), "1000000");
    }

    #[test]
    fn number_formats() {
        assert_eq!(format_cents(100_000_000), "1000000.00");
        assert_eq!(format_cents(-5), "-0.05");
        assert_eq!(format_php_float(12.0), "12");
        assert_eq!(format_php_float(12.5), "12.5");
        assert_eq!(format_php_float(0.1), "0.1");
        assert_eq!(normalize_money("300", "RUB"), "300|RUB");
        assert_eq!(normalize_money("300,50|usd", "RUB"), "300.5|USD");
    }

    #[test]
    fn dates_are_shown_at_utc_midnight_in_the_portal_offset() {
        let d = parse_date("2024-08-30").unwrap();
        assert_eq!(render_date(d, tz3()), "2024-08-30T03:00:00+03:00");
        let minus5 = FixedOffset::west_opt(5 * 3600).unwrap();
        assert_eq!(render_date(d, minus5), "2024-08-29T19:00:00-05:00");
        // What the server shows reads back as the same date, whatever the offset.
        assert_eq!(parse_date("2024-08-29T19:00:00-05:00"), Some(d));
        assert_eq!(parse_date("2024-08-30T02:00:00+02:00"), Some(d));
        // A user's local datetime keeps its written date.
        assert_eq!(parse_date("2024-08-30T01:30:00+03:00"), Some(d));
        assert_eq!(parse_date("30.08.2024"), Some(d));
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn json_strings_like_php() {
        let mut out = String::new();
        push_json_str(&mut out, "a/b \"q\" \\ \n\t\u{1} Юникод", true);
        assert_eq!(out, r#""a\/b \"q\" \\ \n\t\u0001 Юникод""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a/b \"q\" \\ \n\t\u{1} Юникод");
        out.clear();
        push_json_str(&mut out, "a/b", false);
        assert_eq!(out, r#""a/b""#);
    }

    #[test]
    fn fast_datetime_matches_chrono() {
        for tz in [
            tz3(),
            FixedOffset::west_opt(5 * 3600 + 1800).unwrap(),
            FixedOffset::east_opt(0).unwrap(),
        ] {
            for secs in [
                0i64,
                1_725_020_945,
                1_725_000_000 - 86_400 * 400,
                951_782_400,
            ] {
                let mut out = String::new();
                push_datetime(&mut out, secs, tz);
                assert_eq!(out, render_datetime(secs, tz));
            }
        }
    }

    #[test]
    fn datetimes() {
        let t = parse_datetime("2024-08-30T14:29:00+02:00", tz3()).unwrap();
        assert_eq!(render_datetime(t, tz3()), "2024-08-30T15:29:00+03:00");
        let naive = parse_datetime("2024-08-30 15:29:00", tz3()).unwrap();
        assert_eq!(naive, t);
        let date_only = parse_datetime("2024-08-30", tz3()).unwrap();
        assert_eq!(
            render_datetime(date_only, tz3()),
            "2024-08-30T00:00:00+03:00"
        );
    }
}

//! `date` and `datetime` fields, with a small allocation-free parser for the forms portals send.

use std::fmt;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use serde::de::{self, Deserializer, Expected, Unexpected};
use serde::ser::Serializer;

use super::Codec;
use super::form::{Form, decode_form};
use super::{Filterable, Ordered};

/// A parsed date or date-time text.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stamp {
    local: NaiveDateTime,
    offset: Option<FixedOffset>,
}

/// The value of a run of ASCII digits.
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Reads `YYYY-MM-DD` or `DD.MM.YYYY`, optionally followed by `T` or a blank and
/// `HH:MM[:SS[.fraction]]`, optionally followed by `Z`, `±HH:MM`, `±HHMM` or `±HH`.
fn parse_stamp(text: &str) -> Option<Stamp> {
    let b = crate::codec::trim(text).as_bytes();
    let head = b.get(..10)?;
    let date = if head[4] == b'-' && head[7] == b'-' {
        NaiveDate::from_ymd_opt(
            i32::try_from(number(&head[..4])?).ok()?,
            number(&head[5..7])?,
            number(&head[8..10])?,
        )?
    } else if head[2] == b'.' && head[5] == b'.' {
        NaiveDate::from_ymd_opt(
            i32::try_from(number(&head[6..10])?).ok()?,
            number(&head[3..5])?,
            number(&head[..2])?,
        )?
    } else {
        return None;
    };
    let mut rest = &b[10..];
    if rest.is_empty() {
        return Some(Stamp {
            local: date.and_time(NaiveTime::MIN),
            offset: None,
        });
    }
    if !matches!(rest[0], b'T' | b't' | b' ') {
        return None;
    }
    rest = &rest[1..];

    let hm = rest.get(..5)?;
    if hm[2] != b':' {
        return None;
    }
    let (hour, minute) = (number(&hm[..2])?, number(&hm[3..5])?);
    rest = &rest[5..];
    let mut second = 0;
    if rest.first() == Some(&b':') {
        second = number(rest.get(1..3)?)?;
        rest = &rest[3..];
    }
    let mut nano = 0u32;
    if matches!(rest.first(), Some(b'.' | b',')) {
        rest = &rest[1..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        // Nanosecond precision; further digits are dropped.
        for (i, &d) in rest[..digits].iter().take(9).enumerate() {
            nano += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &rest[digits..];
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;

    let offset = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(FixedOffset::east_opt(0)?),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (hours, minutes) = match tail {
                [h1, h2] => (number(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (number(&[*h1, *h2])?, number(&[*m1, *m2])?)
                }
                _ => return None,
            };
            if minutes >= 60 {
                return None;
            }
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            Some(FixedOffset::east_opt(if *sign == b'-' {
                -seconds
            } else {
                seconds
            })?)
        }
        _ => return None,
    };
    Some(Stamp {
        local: date.and_time(time),
        offset,
    })
}

fn utc() -> FixedOffset {
    chrono::Utc.fix()
}

// ---------------------------------------------------------------------------------------------

/// `date` fields and user fields (`BEGINDATE`, `CLOSEDATE`): [`chrono::NaiveDate`].
///
/// Reads `"2024-08-30"`, ISO 8601 date-times (`"2024-08-30T02:00:00+02:00"`) and the portal
/// locale form `"30.08.2024"`. Portals send date-only fields as UTC midnight shown in the
/// portal's offset, so a date-time with an offset is converted to UTC before taking the date
/// (`"2024-08-30T02:00:00+02:00"` is 2024-08-30); one without an offset is taken as written.
/// Writes `"YYYY-MM-DD"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Date;

impl Form for Date {
    type Out = NaiveDate;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date (\"YYYY-MM-DD\", an ISO 8601 date-time or \"DD.MM.YYYY\")")
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<NaiveDate>, E> {
        if crate::codec::trim(v).is_empty() {
            return Ok(None);
        }
        let stamp = parse_stamp(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), exp))?;
        let date = match stamp.offset {
            Some(offset) => offset
                .from_local_datetime(&stamp.local)
                .single()
                .map(|dt| dt.naive_utc().date()),
            None => Some(stamp.local.date()),
        };
        date.map(Some)
            .ok_or_else(|| E::invalid_value(Unexpected::Str(v), exp))
    }
}

impl Codec for Date {
    type Value = NaiveDate;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<NaiveDate>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&value.format("%Y-%m-%d"))
    }
}

impl Filterable for Date {}
impl Ordered for Date {}

/// `datetime` fields and user fields (`DATE_CREATE`, `MOVED_TIME`):
/// [`chrono::DateTime<FixedOffset>`](chrono::DateTime), keeping the offset the portal sent.
///
/// Reads ISO 8601 with an offset (`"2024-08-30T14:29:00+02:00"`, `Z`, fractions of a second),
/// and tolerates texts without an offset (`"2024-08-30T14:29:00"`, `"2024-08-30 14:29:00"`,
/// `"30.08.2024 14:29:00"`, a bare date): those are taken as UTC, because the portal's offset
/// is not known to the decoder. Writes RFC 3339 with the value's offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct DateTime;

impl Form for DateTime {
    type Out = chrono::DateTime<FixedOffset>;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date-time (ISO 8601 such as \"2024-08-30T14:29:00+02:00\")")
    }

    fn from_str<E: de::Error>(
        v: &str,
        exp: &dyn Expected,
    ) -> Result<Option<chrono::DateTime<FixedOffset>>, E> {
        if crate::codec::trim(v).is_empty() {
            return Ok(None);
        }
        parse_stamp(v)
            .and_then(|stamp| {
                stamp
                    .offset
                    .unwrap_or_else(utc)
                    .from_local_datetime(&stamp.local)
                    .single()
            })
            .map(Some)
            .ok_or_else(|| E::invalid_value(Unexpected::Str(v), exp))
    }
}

impl Codec for DateTime {
    type Value = chrono::DateTime<FixedOffset>;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<Self::Value>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_rfc3339())
    }
}

impl Filterable for DateTime {}
impl Ordered for DateTime {}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, n: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_nano_opt(h, mi, s, n))
            .expect("valid test date")
    }

    type Expected = Option<(NaiveDateTime, Option<FixedOffset>)>;

    #[test]
    fn parses_every_form() {
        let off = |s| FixedOffset::east_opt(s);
        let cases: &[(&str, Expected)] = &[
            ("2024-08-30", Some((dt(2024, 8, 30, 0, 0, 0, 0), None))),
            ("30.08.2024", Some((dt(2024, 8, 30, 0, 0, 0, 0), None))),
            (
                "2024-08-30T14:29:00+02:00",
                Some((dt(2024, 8, 30, 14, 29, 0, 0), off(7200))),
            ),
            (
                "2024-08-30t14:29:00-0330",
                Some((dt(2024, 8, 30, 14, 29, 0, 0), off(-12600))),
            ),
            (
                "2024-08-30T14:29:00+03",
                Some((dt(2024, 8, 30, 14, 29, 0, 0), off(10800))),
            ),
            (
                "2024-08-30T14:29:00Z",
                Some((dt(2024, 8, 30, 14, 29, 0, 0), off(0))),
            ),
            (
                "2024-08-30T14:29:00.5+00:00",
                Some((dt(2024, 8, 30, 14, 29, 0, 500_000_000), off(0))),
            ),
            (
                "2024-08-30T14:29:00.1234567891",
                Some((dt(2024, 8, 30, 14, 29, 0, 123_456_789), None)),
            ),
            (
                "2024-08-30 14:29",
                Some((dt(2024, 8, 30, 14, 29, 0, 0), None)),
            ),
            (
                "30.08.2024 14:29:07",
                Some((dt(2024, 8, 30, 14, 29, 7, 0), None)),
            ),
            (" 2024-08-30 ", Some((dt(2024, 8, 30, 0, 0, 0, 0), None))),
            ("2024-02-30", None),
            ("2024-8-30", None),
            ("2024-08-30T", None),
            ("2024-08-30T25:00:00", None),
            ("2024-08-30T14:60:00", None),
            ("2024-08-30T14:29:00.", None),
            ("2024-08-30T14:29:00+02:60", None),
            ("2024-08-30T14:29:00+2", None),
            ("2024-08-30T14:29:00 junk", None),
            ("2024-08-30X", None),
            ("30/08/2024", None),
            ("abc", None),
            ("２０２４-08-30", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let got = parse_stamp(text).map(|s| (s.local, s.offset));
            assert_eq!(&got, expected, "{text:?}");
        }
    }
}

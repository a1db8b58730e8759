//! Table tests of the wire codecs: every accepted form, every empty form, malformed input,
//! exact encodings and round trips.
//!
//! Each input is decoded three ways (from JSON text, from a borrowed `serde_json::Value` and
//! from an owned one, which take different visitor paths) and the results must agree.

use std::str::FromStr;

use bitrix_runtime::Patch;
use bitrix_runtime::codec::{
    Address, Boolean, Codec, CrmLink, Currency, Date, DateTime, Decimal, DecodeSeed, Encode,
    EncodePatch, Enum, File, FileUpload, Id, Integer, Json, Location, Money, Multi, NoFilter,
    Status, Text, YesNo,
};
use bitrix_runtime::query::{Filterable, Likeable, Ordered};
use bitrix_runtime::types::{
    self, CategoryId, CompanyId, ContactId, CurrencyId, DealId, FileId, ItemId, LeadId, LocationId,
    QuoteId, StatusId, UserId,
};
use chrono::{FixedOffset, NaiveDate, TimeZone};
use serde::de::DeserializeSeed;
use serde_json::{Value, json};

const FIELD: &str = "UF_CRM_TEST";

/// Decodes `json` with codec `C` from text, from `&Value` and from `Value`; checks that the
/// three agree and that every error names the field.
fn decode<C: Codec>(json: &str) -> Result<Option<C::Value>, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let from_text = DecodeSeed::<C>::new(FIELD)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| e.to_string());
    let value: Value = serde_json::from_str(json).expect("test input is JSON");
    let from_ref = DecodeSeed::<C>::new(FIELD)
        .deserialize(&value)
        .map_err(|e| e.to_string());
    let from_owned = DecodeSeed::<C>::new(FIELD)
        .deserialize(value)
        .map_err(|e| e.to_string());
    match (&from_text, &from_ref, &from_owned) {
        (Ok(a), Ok(b), Ok(c)) => {
            assert_eq!(a, b, "{json}: text and &Value disagree");
            assert_eq!(a, c, "{json}: text and Value disagree");
        }
        (Err(a), Err(b), Err(c)) => {
            for e in [a, b, c] {
                assert!(
                    e.contains(FIELD),
                    "{json}: error does not name the field: {e}"
                );
            }
        }
        _ => panic!("{json}: paths disagree: {from_text:?} / {from_ref:?} / {from_owned:?}"),
    }
    from_text
}

/// Every row decodes to `Some(expected)`.
fn accepts<C: Codec>(rows: &[(&str, C::Value)]) {
    for (json, expected) in rows {
        assert_eq!(
            decode::<C>(json),
            Ok(Some(expected.clone())),
            "decoding {json}"
        );
    }
}

/// Every row decodes to `None`.
fn empties<C: Codec>(rows: &[&str]) {
    for json in rows {
        assert_eq!(decode::<C>(json), Ok(None), "decoding {json}");
    }
}

/// The empty forms every scalar codec shares.
const EMPTY: &[&str] = &["null", r#""""#, "false", "[]", "{}"];

/// Every row fails with an error naming the field and showing `raw`.
fn rejects<C: Codec>(rows: &[(&str, &str)]) {
    for (json, raw) in rows {
        match decode::<C>(json) {
            Ok(v) => panic!("{json} decoded to {v:?}, expected an error"),
            Err(e) => {
                assert!(e.contains(FIELD), "{json}: {e}");
                assert!(e.contains(raw), "{json}: error does not show {raw:?}: {e}");
            }
        }
    }
}

/// Each value encodes to exactly `expected`, and decodes back to itself.
fn encodes<C: Codec>(rows: &[(C::Value, &str)]) {
    for (value, expected) in rows {
        let text = serde_json::to_string(&Encode::<C>::new(value)).expect("encodes");
        assert_eq!(&text, expected, "encoding {value:?}");
        assert_eq!(
            decode::<C>(&text),
            Ok(Some(value.clone())),
            "round trip of {value:?}"
        );
    }
}

fn dec(s: &str) -> rust_decimal::Decimal {
    rust_decimal::Decimal::from_str(s).expect("test decimal")
}

// ---------------------------------------------------------------------------------------------

#[test]
fn integer() {
    accepts::<Integer>(&[
        (r#""99""#, 99),
        ("99", 99),
        (r#"" 99 ""#, 99),
        (r#""-5""#, -5),
        ("-5", -5),
        (r#""+7""#, 7),
        ("99.0", 99),
        (r#""99.00""#, 99),
        (r#""-3.0""#, -3),
        (r#""9223372036854775807""#, i64::MAX),
        ("-9223372036854775808", i64::MIN),
    ]);
    empties::<Integer>(EMPTY);
    empties::<Integer>(&[r#""   ""#]);
    rejects::<Integer>(&[
        (r#""abc""#, r#""abc""#),
        (r#""99.5""#, r#""99.5""#),
        ("99.5", "99.5"),
        (r#""1e3""#, r#""1e3""#),
        (r#""9223372036854775808""#, "9223372036854775808"),
        ("18446744073709551615", "18446744073709551615"),
        ("1e300", "1e+300"),
        (r#""99.""#, r#""99.""#),
        (r#"".0""#, r#"".0""#),
        ("true", "true"),
        (r#"["1","2"]"#, r#"["1","2"]"#),
        (r#"{"a":1}"#, r#"{"a":1}"#),
    ]);
    encodes::<Integer>(&[
        (99, "99"),
        (-5, "-5"),
        (0, "0"),
        (i64::MAX, "9223372036854775807"),
    ]);
}

#[test]
fn integer_error_text() {
    let e = decode::<Integer>(r#""abc""#).unwrap_err();
    assert!(
        e.starts_with(r#"invalid value: string "abc", expected an integer (field UF_CRM_TEST)"#),
        "{e}"
    );
}

#[test]
fn id() {
    accepts::<Id<DealId>>(&[
        (r#""410""#, DealId(410)),
        ("410", DealId(410)),
        (r#"" 410 ""#, DealId(410)),
        ("410.0", DealId(410)),
        (r#""18446744073709551615""#, DealId(u64::MAX)),
    ]);
    empties::<Id<DealId>>(EMPTY);
    empties::<Id<CompanyId>>(&[r#""0""#, "0", "0.0", r#"" ""#]);
    // 0 is the default pipeline, not "no pipeline".
    accepts::<Id<CategoryId>>(&[
        (r#""0""#, CategoryId(0)),
        ("0", CategoryId(0)),
        ("7", CategoryId(7)),
    ]);
    empties::<Id<CategoryId>>(EMPTY);
    rejects::<Id<UserId>>(&[
        (r#""-1""#, r#""-1""#),
        ("-1", "-1"),
        (r#""abc""#, r#""abc""#),
        (r#""4.5""#, r#""4.5""#),
        ("4.5", "4.5"),
        (r#""+5""#, r#""+5""#),
        (r#""18446744073709551616""#, "18446744073709551616"),
        ("true", "true"),
        ("[1]", "[1]"),
    ]);
    let e = decode::<Id<UserId>>(r#""x""#).unwrap_err();
    assert!(e.contains("expected a user id"), "{e}");
    let e = decode::<Id<types::IblockElementId>>(r#""x""#).unwrap_err();
    assert!(e.contains("expected an iblock element id"), "{e}");
    encodes::<Id<DealId>>(&[(DealId(410), "410")]);
    encodes::<Id<CategoryId>>(&[(CategoryId(0), "0")]);
}

#[test]
fn text() {
    accepts::<Text>(&[
        (r#""abc""#, "abc".to_owned()),
        (r#""line\n""#, "line\n".to_owned()),
        (r#""  padded  ""#, "  padded  ".to_owned()),
        (r#"" ""#, " ".to_owned()),
        (r#""[B]x[\/B]""#, "[B]x[/B]".to_owned()),
        (r#""a \u0026 b""#, "a & b".to_owned()),
        (r#""Привет мир!""#, "Привет мир!".to_owned()),
        ("99", "99".to_owned()),
        ("-5", "-5".to_owned()),
        ("1.5", "1.5".to_owned()),
    ]);
    empties::<Text>(EMPTY);
    rejects::<Text>(&[
        ("true", "true"),
        (r#"["a"]"#, r#"["a"]"#),
        (r#"{"a":1}"#, r#"{"a":1}"#),
    ]);
    encodes::<Text>(&[
        ("abc".to_owned(), r#""abc""#),
        ("a\"b\n".to_owned(), r#""a\"b\n""#),
        ("Сделка".to_owned(), r#""Сделка""#),
    ]);
}

#[test]
fn decimal() {
    let rows = [
        (r#""1000000.00""#, "1000000.00"),
        ("1000000", "1000000"),
        ("0.1", "0.1"),
        (r#""0.1""#, "0.1"),
        (r#""-3.5""#, "-3.5"),
        (r#"" 2.50 ""#, "2.50"),
        (r#""1e3""#, "1000"),
        ("1e20", "100000000000000000000"),
        ("-7", "-7"),
        ("123.456", "123.456"),
        // Beyond 28 decimal places: rounded (here to zero), not rejected.
        ("1e-40", "0.0000000000000000000000000000"),
        // Too long for the shortest-text path: rust_decimal's own conversion.
        ("5e-324", "0"),
        (r#""0.1234567890123456789""#, "0.1234567890123456789"),
    ];
    for (json, text) in rows {
        let v = decode::<Decimal>(json).expect(json).expect(json);
        // The text, not just the number: strings keep their scale exactly.
        assert_eq!(v.to_string(), text, "{json}");
    }
    empties::<Decimal>(EMPTY);
    rejects::<Decimal>(&[
        (r#""abc""#, r#""abc""#),
        (r#""1,5""#, r#""1,5""#),
        (r#""1_000""#, r#""1_000""#),
        (r#""NaN""#, r#""NaN""#),
        (r#""inf""#, r#""inf""#),
        ("1e300", "1e+300"),
        ("true", "true"),
        (r#"["1"]"#, r#"["1"]"#),
    ]);
    encodes::<Decimal>(&[
        (dec("1000000.00"), r#""1000000.00""#),
        (dec("0.1"), r#""0.1""#),
        (dec("-3"), r#""-3""#),
    ]);
}

#[test]
fn yes_no_and_boolean() {
    let rows = [
        (r#""Y""#, true),
        (r#""N""#, false),
        (r#""y""#, true),
        (r#""n""#, false),
        (r#"" Y ""#, true),
        (r#""1""#, true),
        (r#""0""#, false),
        (r#""true""#, true),
        (r#""FALSE""#, false),
        (r#""yes""#, true),
        ("true", true),
        // `false` is a value for flags, not an empty marker.
        ("false", false),
        ("1", true),
        ("0", false),
        ("1.0", true),
    ];
    accepts::<YesNo>(&rows);
    accepts::<Boolean>(&rows);
    let empty = ["null", r#""""#, "[]", "{}", r#"" ""#];
    empties::<YesNo>(&empty);
    empties::<Boolean>(&empty);
    let bad = [
        (r#""maybe""#, r#""maybe""#),
        ("2", "2"),
        ("-1", "-1"),
        ("0.5", "0.5"),
        (r#"["Y"]"#, r#"["Y"]"#),
    ];
    rejects::<YesNo>(&bad);
    rejects::<Boolean>(&bad);
    encodes::<YesNo>(&[(true, r#""Y""#), (false, r#""N""#)]);
    // PHP reads the string "N" as true: user-field booleans are written as numbers.
    encodes::<Boolean>(&[(true, "1"), (false, "0")]);
}

#[test]
fn date() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("valid date");
    accepts::<Date>(&[
        (r#""2024-08-30""#, d(2024, 8, 30)),
        // Date-only fields: UTC midnight shown in the portal's offset.
        (r#""2024-08-30T02:00:00+02:00""#, d(2024, 8, 30)),
        (r#""2024-08-30T03:00:00+03:00""#, d(2024, 8, 30)),
        (r#""2024-08-29T19:00:00-05:00""#, d(2024, 8, 30)),
        (r#""2024-08-30T00:00:00Z""#, d(2024, 8, 30)),
        // Converted to UTC before taking the date, as the facts prescribe.
        (r#""2024-08-30T01:00:00+03:00""#, d(2024, 8, 29)),
        // Without an offset: taken as written.
        (r#""2024-08-30T23:30:00""#, d(2024, 8, 30)),
        (r#""30.08.2024""#, d(2024, 8, 30)),
        (r#""30.08.2024 14:29:00""#, d(2024, 8, 30)),
        (r#"" 2024-08-30 ""#, d(2024, 8, 30)),
    ]);
    empties::<Date>(EMPTY);
    empties::<Date>(&[r#"" ""#]);
    rejects::<Date>(&[
        (r#""2024-13-01""#, r#""2024-13-01""#),
        (r#""2024-02-30""#, r#""2024-02-30""#),
        (r#""tomorrow""#, r#""tomorrow""#),
        (r#""2024-08-30T""#, r#""2024-08-30T""#),
        ("20240830", "20240830"),
        ("true", "true"),
        (r#"["2024-08-30"]"#, r#"["2024-08-30"]"#),
    ]);
    encodes::<Date>(&[
        (d(2024, 8, 30), r#""2024-08-30""#),
        (d(1999, 1, 2), r#""1999-01-02""#),
    ]);
}

#[test]
fn date_time() {
    let at = |offset_secs: i32, y, mo, d, h, mi, s| {
        FixedOffset::east_opt(offset_secs)
            .expect("valid offset")
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("valid date-time")
    };
    let plus2 = at(7200, 2024, 8, 30, 14, 29, 0);
    accepts::<DateTime>(&[
        (r#""2024-08-30T14:29:00+02:00""#, plus2),
        (r#""2024-08-30T14:29:00+0200""#, plus2),
        (r#""2024-08-30T12:29:00Z""#, at(0, 2024, 8, 30, 12, 29, 0)),
        (
            r#""2024-08-30T14:29:00-03:30""#,
            at(-12600, 2024, 8, 30, 14, 29, 0),
        ),
        // No offset: taken as UTC (documented).
        (r#""2024-08-30T14:29:00""#, at(0, 2024, 8, 30, 14, 29, 0)),
        (r#""2024-08-30 14:29:00""#, at(0, 2024, 8, 30, 14, 29, 0)),
        (r#""30.08.2024 14:29:00""#, at(0, 2024, 8, 30, 14, 29, 0)),
        (r#""30.08.2024 14:29""#, at(0, 2024, 8, 30, 14, 29, 0)),
        (r#""2024-08-30""#, at(0, 2024, 8, 30, 0, 0, 0)),
    ]);
    // The offset is kept, not only the instant.
    let v = decode::<DateTime>(r#""2024-08-30T14:29:00+02:00""#)
        .unwrap()
        .unwrap();
    assert_eq!(v.offset().local_minus_utc(), 7200);
    let frac = decode::<DateTime>(r#""2024-08-30T14:29:00.250+02:00""#)
        .unwrap()
        .unwrap();
    assert_eq!(frac.timestamp_subsec_millis(), 250);
    empties::<DateTime>(EMPTY);
    rejects::<DateTime>(&[
        (
            r#""2024-08-30T14:29:00+25:00""#,
            r#""2024-08-30T14:29:00+25:00""#,
        ),
        (r#""2024-08-30T24:00:00""#, r#""2024-08-30T24:00:00""#),
        (r#""now""#, r#""now""#),
        ("1725020945", "1725020945"),
        ("true", "true"),
    ]);
    encodes::<DateTime>(&[
        (plus2, r#""2024-08-30T14:29:00+02:00""#),
        (at(0, 2024, 1, 2, 3, 4, 5), r#""2024-01-02T03:04:05+00:00""#),
        (frac, r#""2024-08-30T14:29:00.250+02:00""#),
    ]);
}

#[test]
fn status_currency_location() {
    accepts::<Status>(&[
        (r#""C1:NEW""#, StatusId::from("C1:NEW")),
        (r#"" WON ""#, StatusId::from("WON")),
        ("5", StatusId::from("5")),
    ]);
    empties::<Status>(EMPTY);
    rejects::<Status>(&[("true", "true"), (r#"["A"]"#, r#"["A"]"#)]);
    encodes::<Status>(&[(StatusId::from("C1:NEW"), r#""C1:NEW""#)]);

    accepts::<Currency>(&[(r#""EUR""#, CurrencyId::from("EUR"))]);
    empties::<Currency>(EMPTY);
    rejects::<Currency>(&[("5", "5"), ("true", "true")]);
    encodes::<Currency>(&[(CurrencyId::from("RUB"), r#""RUB""#)]);

    accepts::<Location>(&[
        (r#""577""#, LocationId::from("577")),
        ("577", LocationId::from(577)),
    ]);
    empties::<Location>(EMPTY);
    rejects::<Location>(&[("true", "true"), ("-1", "-1")]);
    encodes::<Location>(&[(LocationId::from("577"), r#""577""#)]);
}

#[test]
fn money() {
    let usd = types::Money::new(dec("300.50"), "USD");
    accepts::<Money>(&[
        (r#""300|RUB""#, types::Money::new(300, "RUB")),
        (r#""300.50|USD""#, usd.clone()),
        (r#"" 300.50 | USD ""#, usd.clone()),
        (r#""-5.25|EUR""#, types::Money::new(dec("-5.25"), "EUR")),
        // No currency: tolerated, the currency stays empty.
        (r#""300""#, types::Money::new(300, "")),
        (r#""300|""#, types::Money::new(300, "")),
        ("300", types::Money::new(300, "")),
        ("0.1", types::Money::new(dec("0.1"), "")),
    ]);
    // The amount is exact and keeps its scale.
    let v = decode::<Money>(r#""1000000.00|EUR""#).unwrap().unwrap();
    assert_eq!(v.amount.to_string(), "1000000.00");
    assert_eq!(v.currency, "EUR");
    empties::<Money>(EMPTY);
    // An amount-less value is empty.
    empties::<Money>(&[r#""|RUB""#, r#""|""#, r#"" ""#]);
    rejects::<Money>(&[
        (r#""abc|RUB""#, r#""abc|RUB""#),
        (r#""300|R U B""#, r#""300|R U B""#),
        (r#""300|RUB|x""#, r#""300|RUB|x""#),
        (r#""1e5|RUB""#, r#""1e5|RUB""#),
        (r#""300,50|RUB""#, r#""300,50|RUB""#),
        ("true", "true"),
        (r#"["300|RUB"]"#, r#"["300|RUB"]"#),
    ]);
    encodes::<Money>(&[
        (usd, r#""300.50|USD""#),
        (types::Money::new(300, "RUB"), r#""300|RUB""#),
        (types::Money::new(300, ""), r#""300""#),
    ]);
}

#[test]
fn address() {
    let a = |text: &str, lat, lng, loc| types::Address {
        text: text.to_owned(),
        lat,
        lng,
        location_id: loc,
    };
    accepts::<Address>(&[
        (
            r#""Москва, Тверская 1|;|577""#,
            a("Москва, Тверская 1", None, None, Some(577)),
        ),
        (
            r#""text|55.75;37.61""#,
            a("text", Some(55.75), Some(37.61), None),
        ),
        (
            r#""text|55.75;37.61|577""#,
            a("text", Some(55.75), Some(37.61), Some(577)),
        ),
        (
            r#""text|-33.5;-70.25|""#,
            a("text", Some(-33.5), Some(-70.25), None),
        ),
        (r#""text|55.75;|""#, a("text", Some(55.75), None, None)),
        (r#""plain text""#, a("plain text", None, None, None)),
        // The text may contain `|`: split from the right.
        (r#""a|b|1;2|3""#, a("a|b", Some(1.0), Some(2.0), Some(3))),
        (r#""a|b""#, a("a|b", None, None, None)),
        (r#""a|b|;""#, a("a|b", None, None, None)),
        // Not coordinates: stays text.
        (r#""a|inf;nan""#, a("a|inf;nan", None, None, None)),
        (r#""|;|577""#, a("", None, None, Some(577))),
    ]);
    empties::<Address>(EMPTY);
    empties::<Address>(&[r#""|;|""#, r#""|;""#, r#"" ""#]);
    rejects::<Address>(&[("5", "5"), ("true", "true"), (r#"["x"]"#, r#"["x"]"#)]);
    encodes::<Address>(&[
        (
            a("Москва, Тверская 1", None, None, Some(577)),
            r#""Москва, Тверская 1|;|577""#,
        ),
        (
            a("text", Some(55.75), Some(37.61), None),
            r#""text|55.75;37.61""#,
        ),
        (
            a("text", Some(55.75), Some(37.61), Some(577)),
            r#""text|55.75;37.61|577""#,
        ),
        (a("text", None, None, None), r#""text""#),
        // A `|` in the text is followed by the coordinates part so it reads back unchanged.
        (a("a|1;2", None, None, None), r#""a|1;2|;""#),
        (a("a|1;2|3", None, None, Some(4)), r#""a|1;2|3|;|4""#),
        (a("", Some(1.5), Some(-2.0), None), r#""|1.5;-2""#),
    ]);
}

#[test]
fn crm_link() {
    accepts::<CrmLink>(&[
        (r#""D_1""#, types::CrmLink::Deal(DealId(1))),
        (r#""C_2""#, types::CrmLink::Contact(ContactId(2))),
        (r#""CO_3""#, types::CrmLink::Company(CompanyId(3))),
        (r#""L_4""#, types::CrmLink::Lead(LeadId(4))),
        (r#""Q_5""#, types::CrmLink::Quote(QuoteId(5))),
        (r#""SI_7""#, types::CrmLink::SmartInvoice(ItemId(7))),
        (r#""T80_6""#, types::CrmLink::item(128, 6)),
        (r#""T1f_7""#, types::CrmLink::item(31, 7)),
        (r#""T8F_9""#, types::CrmLink::item(143, 9)),
        (r#""d_1""#, types::CrmLink::Deal(DealId(1))),
        (r#"" co_3 ""#, types::CrmLink::Company(CompanyId(3))),
        (r#""12""#, types::CrmLink::Bare(12)),
        ("12", types::CrmLink::Bare(12)),
    ]);
    empties::<CrmLink>(EMPTY);
    empties::<CrmLink>(&[r#""0""#, "0", r#""D_0""#]);
    rejects::<CrmLink>(&[
        (r#""X_1""#, r#""X_1""#),
        (r#""D_""#, r#""D_""#),
        (r#""D_abc""#, r#""D_abc""#),
        (r#""D_+1""#, r#""D_+1""#),
        (r#""T_5""#, r#""T_5""#),
        (r#""TZZ_5""#, r#""TZZ_5""#),
        (r#""D-1""#, r#""D-1""#),
        ("-5", "-5"),
        ("1.5", "1.5"),
        ("true", "true"),
    ]);
    encodes::<CrmLink>(&[
        (types::CrmLink::Deal(DealId(1)), r#""D_1""#),
        (types::CrmLink::Contact(ContactId(2)), r#""C_2""#),
        (types::CrmLink::Company(CompanyId(3)), r#""CO_3""#),
        (types::CrmLink::Lead(LeadId(4)), r#""L_4""#),
        (types::CrmLink::Quote(QuoteId(5)), r#""Q_5""#),
        (types::CrmLink::SmartInvoice(ItemId(7)), r#""SI_7""#),
        (types::CrmLink::item(128, 6), r#""T80_6""#),
        (types::CrmLink::Bare(12), "12"),
    ]);
}

use crate::color::Color;

#[test]
fn enumeration() {
    accepts::<Enum<Color>>(&[
        (r#""81""#, Color::Red),
        ("81", Color::Red),
        (r#"" 82 ""#, Color::Green),
        // An item added on the portal after the snapshot: the fallback variant.
        (r#""3476""#, Color::Other("3476".to_owned())),
        ("3476", Color::Other("3476".to_owned())),
    ]);
    empties::<Enum<Color>>(EMPTY);
    rejects::<Enum<Color>>(&[("-1", "-1"), ("1.5", "1.5"), ("true", "true")]);
    encodes::<Enum<Color>>(&[
        (Color::Red, r#""81""#),
        (Color::Other("3476".to_owned()), r#""3476""#),
    ]);
}

#[test]
fn file() {
    let full = types::File {
        id: FileId(37375),
        show_url: Some("/bitrix/components/show.php?id=1".to_owned()),
        download_url: Some("/bitrix/components/download.php?id=1".to_owned()),
    };
    accepts::<File>(&[
        (
            r#"{"id": 37375, "showUrl": "\/bitrix\/components\/show.php?id=1", "downloadUrl": "/bitrix/components/download.php?id=1"}"#,
            full,
        ),
        (r#"{"id": "37375"}"#, types::File::new(37375)),
        (
            r#"{"id": 37375, "extra": [1, {"x": 2}]}"#,
            types::File::new(37375),
        ),
        ("37375", types::File::new(37375)),
        (r#""37375""#, types::File::new(37375)),
    ]);
    empties::<File>(EMPTY);
    empties::<File>(&[r#"{"id": 0}"#, r#"{"id": ""}"#, r#"{"id": 5, "del": "Y"}"#]);
    rejects::<File>(&[
        (r#"{"showUrl": "/x"}"#, "without \"id\""),
        (r#"{"id": "abc"}"#, r#""abc""#),
        (r#"{"id": 1, "showUrl": true}"#, "true"),
        ("true", "true"),
        ("-1", "-1"),
    ]);
    encodes::<File>(&[(types::File::new(5), r#"{"id":5}"#)]);
    // URLs are not written back: `{"id": N}` keeps the stored file.
    let with_urls = types::File {
        id: FileId(5),
        show_url: Some("/s".to_owned()),
        download_url: None,
    };
    assert_eq!(
        serde_json::to_string(&Encode::<File>::new(&with_urls)).unwrap(),
        r#"{"id":5}"#
    );
}

#[test]
fn file_upload() {
    let hello = types::FileUpload::new("a.txt", b"hello".to_vec());
    accepts::<FileUpload>(&[
        (r#"{"fileData": ["a.txt", "aGVsbG8="]}"#, hello.clone()),
        (r#"{"fileData": ["a.txt", "aGVsbG8"]}"#, hello.clone()),
        (r#"{"id": 5}"#, types::FileUpload::Keep(FileId(5))),
        (
            r#"{"id": "5", "del": "Y"}"#,
            types::FileUpload::Delete(FileId(5)),
        ),
        (
            r#"{"id": 5, "del": "N"}"#,
            types::FileUpload::Keep(FileId(5)),
        ),
        (
            r#"{"id": 5, "showUrl": "/s", "downloadUrl": "/d"}"#,
            types::FileUpload::Keep(FileId(5)),
        ),
        ("5", types::FileUpload::Keep(FileId(5))),
    ]);
    empties::<FileUpload>(EMPTY);
    rejects::<FileUpload>(&[
        (r#"{"fileData": ["a.txt", "!!!"]}"#, "base64"),
        (r#"{"fileData": ["a.txt"]}"#, "fileData"),
        (r#"{"fileData": "aGVsbG8="}"#, r#""aGVsbG8=""#),
        (r#"{"del": "Y"}"#, "without \"id\""),
        ("true", "true"),
    ]);
    encodes::<FileUpload>(&[
        (hello, r#"{"fileData":["a.txt","aGVsbG8="]}"#),
        (
            types::FileUpload::new("empty.bin", Vec::new()),
            r#"{"fileData":["empty.bin",""]}"#,
        ),
        (types::FileUpload::Keep(FileId(5)), r#"{"id":5}"#),
        (
            types::FileUpload::Delete(FileId(5)),
            r#"{"id":5,"del":"Y"}"#,
        ),
    ]);
    // Debug shows the size of new content, not the bytes.
    let big = types::FileUpload::new("big.bin", vec![7u8; 10_000]);
    assert_eq!(
        format!("{big:?}"),
        r#"New { name: "big.bin", content: <10000 bytes> }"#
    );
}

#[test]
fn json() {
    accepts::<Json>(&[
        (r#"{"a": 1}"#, json!({"a": 1})),
        (r#""""#, json!("")),
        ("false", json!(false)),
        ("[]", json!([])),
        ("12.5", json!(12.5)),
    ]);
    empties::<Json>(&["null"]);
    encodes::<Json>(&[(json!({"a": [1, "x"]}), r#"{"a":[1,"x"]}"#)]);
}

#[test]
fn multi() {
    accepts::<Multi<Integer>>(&[
        (r#"["1","2"]"#, vec![1, 2]),
        (r#"[1, " 2 ", 3.0]"#, vec![1, 2, 3]),
        // Elements that are empty are skipped.
        (r#"[null, "3", "", false]"#, vec![3]),
        // A single value where a list was expected.
        (r#""5""#, vec![5]),
        ("5", vec![5]),
        // PHP's list-as-object: values in key order.
        (r#"{"0": "1", "1": "2"}"#, vec![1, 2]),
        (r#"{"1": "20", "0": "10", "10": "30"}"#, vec![10, 20, 30]),
        (r#""""#, vec![]),
        ("false", vec![]),
        ("[]", vec![]),
        ("{}", vec![]),
        ("[null]", vec![]),
    ]);
    empties::<Multi<Integer>>(&["null"]);
    accepts::<Multi<Id<UserId>>>(&[(r#"["0", "5"]"#, vec![UserId(5)]), (r#""0""#, vec![])]);
    accepts::<Multi<Text>>(&[(
        r#"{"1": "b", "0": "a"}"#,
        vec!["a".to_owned(), "b".to_owned()],
    )]);
    accepts::<Multi<YesNo>>(&[("true", vec![true]), (r#"["N", "Y"]"#, vec![false, true])]);
    accepts::<Multi<File>>(&[
        (
            r#"[{"id": 1}, {"id": "2", "showUrl": "/s"}]"#,
            vec![
                types::File::new(1),
                types::File {
                    id: FileId(2),
                    show_url: Some("/s".to_owned()),
                    download_url: None,
                },
            ],
        ),
        // One file object where a list was expected.
        (
            r#"{"id": 3, "downloadUrl": "/d"}"#,
            vec![types::File {
                id: FileId(3),
                show_url: None,
                download_url: Some("/d".to_owned()),
            }],
        ),
        (r#"{"0": {"id": 4}}"#, vec![types::File::new(4)]),
    ]);
    rejects::<Multi<Integer>>(&[
        (r#"["1", "x"]"#, r#""x""#),
        (r#"{"0": "1", "a": "2"}"#, r#""a""#),
        (r#"{"a": "1"}"#, r#"{"a":"1"}"#),
        ("true", "true"),
    ]);
    encodes::<Multi<Integer>>(&[(vec![1, 2], "[1,2]"), (vec![], "[]")]);
    encodes::<Multi<Money>>(&[(
        vec![
            types::Money::new(300, "RUB"),
            types::Money::new(dec("1.50"), "USD"),
        ],
        r#"["300|RUB","1.50|USD"]"#,
    )]);
    encodes::<Multi<CrmLink>>(&[(
        vec![types::CrmLink::Deal(DealId(1)), types::CrmLink::Bare(2)],
        r#"["D_1",2]"#,
    )]);
}

#[test]
fn no_filter_delegates() {
    accepts::<NoFilter<Multi<Id<ContactId>>>>(&[(r#"["84", "0"]"#, vec![ContactId(84)])]);
    empties::<NoFilter<Id<ContactId>>>(EMPTY);
    encodes::<NoFilter<Multi<Id<ContactId>>>>(&[(vec![ContactId(84)], "[84]")]);
    let clear = serde_json::to_string(&EncodePatch::<NoFilter<Multi<Id<ContactId>>>>::new(
        &Patch::Clear,
    ))
    .unwrap();
    assert_eq!(clear, "[]");
}

#[test]
fn clearing_writes_the_empty_form() {
    fn clear<C: Codec>() -> String {
        serde_json::to_string(&EncodePatch::<C>::new(&Patch::Clear)).unwrap()
    }
    assert_eq!(clear::<Integer>(), r#""""#);
    assert_eq!(clear::<Text>(), r#""""#);
    assert_eq!(clear::<Money>(), r#""""#);
    assert_eq!(clear::<Date>(), r#""""#);
    assert_eq!(clear::<Multi<Text>>(), "[]");
    assert_eq!(
        serde_json::to_string(&EncodePatch::<Boolean>::new(&Patch::Set(false))).unwrap(),
        "0"
    );
}

#[test]
fn errors_show_arrays_and_objects_shortened() {
    let long: Vec<String> = (0..100).map(|i| format!("\"{i}\"")).collect();
    let json = format!("[{}]", long.join(","));
    let e = decode::<Integer>(&json).unwrap_err();
    assert!(e.contains(r#"array ["0","1","2""#), "{e}");
    assert!(e.contains("(shortened)"), "{e}");
    assert!(e.contains("field was made multiple"), "{e}");
    assert!(e.len() < 500, "{e}");
}

/// Compile-time checks: the generator relies on these capabilities (this fails to compile, not
/// to run, when one is missing).
#[allow(dead_code)]
fn capabilities() {
    fn filterable<C: Filterable>() {}
    fn ordered<C: Ordered>() {}
    fn likeable<C: Likeable>() {}
    ordered::<Integer>();
    ordered::<Id<DealId>>();
    ordered::<Decimal>();
    ordered::<Date>();
    ordered::<DateTime>();
    likeable::<Text>();
    ordered::<Text>();
    filterable::<YesNo>();
    filterable::<Boolean>();
    filterable::<Status>();
    filterable::<Currency>();
    filterable::<Location>();
    filterable::<Money>();
    filterable::<CrmLink>();
    filterable::<Enum<Color>>();
}

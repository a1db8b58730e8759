//! Unit tests of decoding, classification and verification, on the documentation's example
//! bodies (as the portal sends them: PHP forms with percent-encoded brackets).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::json;

use super::form::{decode, percent_decode};
use super::verify::constant_time_eq;
use super::*;

const TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";
const ACCESS: &str = "s6p6eclrvim6da22ft9ch94ekreb52lv";
const REFRESH: &str = "4s386p3q0tr8dy89xvmt96234v3dljg8";
const MEMBER: &str = "a223c6b3710f85df22e9377d6c4f7553";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `key=value` pairs as `http_build_query` writes them (brackets and everything else but
/// unreserved characters percent-encoded, spaces as `+`).
fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// The documentation's example of `event` with `fields` in `data[FIELDS]`, with `ts` and the
/// full OAuth `auth` block (token `token`, portal `member`).
fn body(event: &str, fields: &[(&str, &str)], ts: i64, token: &str, member: &str) -> Vec<u8> {
    let ts = ts.to_string();
    let keys: Vec<String> = fields
        .iter()
        .map(|(k, _)| format!("data[FIELDS][{k}]"))
        .collect();
    let mut pairs: Vec<(&str, &str)> = vec![("event", event), ("event_handler_id", "185")];
    pairs.extend(
        keys.iter()
            .map(String::as_str)
            .zip(fields.iter().map(|f| f.1)),
    );
    pairs.extend([
        ("ts", ts.as_str()),
        ("auth[access_token]", ACCESS),
        ("auth[expires_in]", "3600"),
        ("auth[scope]", "crm"),
        ("auth[domain]", "some-domain.bitrix24.com"),
        ("auth[server_endpoint]", "https://oauth.bitrix.info/rest/"),
        ("auth[status]", "L"),
        (
            "auth[client_endpoint]",
            "https://some-domain.bitrix24.com/rest/",
        ),
        ("auth[member_id]", member),
        ("auth[refresh_token]", REFRESH),
        ("auth[application_token]", token),
    ]);
    form(&pairs)
}

fn deal_add(ts: i64) -> Vec<u8> {
    body("ONCRMDEALADD", &[("ID", "6641")], ts, TOKEN, MEMBER)
}

#[test]
fn the_docs_deal_add_body_decodes_into_a_typed_record_event() {
    let event = parse(&deal_add(1735374081)).unwrap();
    assert_eq!(event.name(), "ONCRMDEALADD");
    assert_eq!(
        event.kind(),
        &EventKind::Record {
            entity: EventEntity::Deal,
            action: RecordAction::Add,
            id: 6641
        }
    );
    assert_eq!(event.handler_id(), Some(185));
    assert_eq!(event.timestamp(), Some(1735374081));
    assert_eq!(event.data(), &json!({"FIELDS": {"ID": "6641"}}));
    let auth = event.auth();
    assert_eq!(auth.domain(), Some("some-domain.bitrix24.com"));
    assert_eq!(auth.member_id(), Some(MEMBER));
    assert_eq!(auth.application_token(), Some(TOKEN));
    assert_eq!(auth.access_token(), Some(ACCESS));
    assert_eq!(auth.refresh_token(), Some(REFRESH));
    assert_eq!(auth.expires_in(), Some(3600));
    assert_eq!(auth.scope(), Some("crm"));
    assert_eq!(auth.status(), Some("L"));
    assert_eq!(
        auth.client_endpoint(),
        Some("https://some-domain.bitrix24.com/rest/")
    );
    assert_eq!(
        auth.server_endpoint(),
        Some("https://oauth.bitrix.info/rest/")
    );
    assert!(!event.kind().is_schema_change());
}

#[test]
fn the_docs_move_dynamic_item_and_user_field_bodies_are_typed() {
    let kind = |name: &str, fields: &[(&str, &str)]| {
        parse(&body(name, fields, 1, TOKEN, MEMBER))
            .unwrap()
            .kind()
            .clone()
    };
    assert_eq!(
        kind(
            "ONCRMDEALMOVETOCATEGORY",
            &[("ID", "6675"), ("CATEGORY_ID", "1"), ("STAGE_ID", "C1:NEW")]
        ),
        EventKind::MovedToCategory {
            entity: EventEntity::Deal,
            id: 6675,
            category_id: Some(1),
            stage_id: Some("C1:NEW".into())
        }
    );
    assert_eq!(
        kind(
            "ONCRMDYNAMICITEMADD",
            &[("ID", "22"), ("ENTITY_TYPE_ID", "1220")]
        ),
        EventKind::Record {
            entity: EventEntity::SmartProcess(1220),
            action: RecordAction::Add,
            id: 22
        }
    );
    assert_eq!(
        kind(
            "ONCRMDYNAMICITEMDELETE",
            &[("ID", "5"), ("ENTITY_TYPE_ID", "31")]
        ),
        EventKind::Record {
            entity: EventEntity::SmartInvoice,
            action: RecordAction::Delete,
            id: 5
        }
    );
    let type_field = kind(
        "ONCRMTYPEUSERFIELDADD",
        &[
            ("ID", "6977"),
            ("ENTITY_ID", "CRM_13"),
            ("FIELD_NAME", "UF_CRM_13_1742999523"),
        ],
    );
    assert_eq!(
        type_field,
        EventKind::UserField {
            owner: UserFieldOwner::SmartProcessType { type_id: Some(13) },
            action: UserFieldAction::Add,
            id: Some(6977),
            entity_id: Some("CRM_13".into()),
            field_name: Some("UF_CRM_13_1742999523".into())
        }
    );
    assert!(type_field.is_schema_change());
    assert_eq!(
        kind(
            "ONCRMDEALUSERFIELDSETENUMVALUES",
            &[
                ("ID", "6947"),
                ("ENTITY_ID", "CRM_DEAL"),
                ("FIELD_NAME", "UF_CRM_1")
            ]
        ),
        EventKind::UserField {
            owner: UserFieldOwner::Entity(EventEntity::Deal),
            action: UserFieldAction::SetEnumValues,
            id: Some(6947),
            entity_id: Some("CRM_DEAL".into()),
            field_name: Some("UF_CRM_1".into())
        }
    );
    let type_add = kind("ONCRMTYPEADD", &[("ID", "45")]);
    assert_eq!(
        type_add,
        EventKind::SmartProcessType {
            action: RecordAction::Add,
            id: Some(45),
            entity_type_id: None
        }
    );
    assert!(type_add.is_schema_change());
}

#[test]
fn every_entity_and_action_is_classified_and_names_round_trip() {
    let entities = [
        EventEntity::Deal,
        EventEntity::Lead,
        EventEntity::Contact,
        EventEntity::Company,
        EventEntity::Quote,
        EventEntity::SmartInvoice,
        EventEntity::SmartProcess(1032),
    ];
    for entity in entities {
        assert_eq!(
            EventEntity::from_entity_type_id(entity.entity_type_id()),
            entity
        );
        for action in [
            RecordAction::Add,
            RecordAction::Update,
            RecordAction::Delete,
        ] {
            let name = EventName::from((entity, action));
            let data = json!({"FIELDS": {"ID": "9", "ENTITY_TYPE_ID": entity.entity_type_id().to_string()}});
            // Names are case-insensitive: the camel-case spelling of the docs is the same event.
            let camel = name.as_str().replace("ONCRM", "onCrm");
            for spelled in [name.as_str(), camel.as_str()] {
                assert_eq!(
                    EventKind::classify(spelled, &data),
                    EventKind::Record {
                        entity,
                        action,
                        id: 9
                    },
                    "{spelled}"
                );
            }
            assert_eq!(EventName::from(camel.as_str()), name);
        }
        let name = EventName::user_field(entity, UserFieldAction::Delete);
        let kind = EventKind::classify(name.as_str(), &json!({"FIELDS": {"ID": "1"}}));
        assert!(
            matches!(
                kind,
                EventKind::UserField {
                    action: UserFieldAction::Delete,
                    ..
                }
            ),
            "{name}: {kind:?}"
        );
    }
    assert_eq!(
        EventName::moved_to_category(EventEntity::Deal).as_str(),
        "ONCRMDEALMOVETOCATEGORY"
    );
    assert_eq!(
        EventName::smart_process_type(RecordAction::Delete).as_str(),
        "ONCRMTYPEDELETE"
    );
}

#[test]
fn unknown_events_and_record_events_without_an_id_are_other_with_data_kept() {
    let event = parse(b"event=ONAPPINSTALL&data%5BVERSION%5D=1&data%5BLANGUAGE_ID%5D=ru").unwrap();
    assert_eq!(event.kind(), &EventKind::Other);
    assert_eq!(event.name(), "ONAPPINSTALL");
    assert_eq!(event.data(), &json!({"VERSION": "1", "LANGUAGE_ID": "ru"}));
    for name in [
        "ONCRMDEALADD",
        "ONCRMDYNAMICITEMADD",
        "ONCRMDEALRECURRINGADD",
        "ONCRMINVOICEADD",
    ] {
        let kind = EventKind::classify(name, &json!({"FIELDS": {"ID": "x"}}));
        assert_eq!(kind, EventKind::Other, "{name}");
    }
}

#[test]
fn a_json_body_is_read_like_the_form() {
    let json_body = json!({
        "event": "ONCRMDEALADD",
        "event_handler_id": "185",
        "data": {"FIELDS": {"ID": "6641"}},
        "ts": "1735374081",
        "auth": {"application_token": TOKEN, "member_id": MEMBER}
    })
    .to_string();
    let from_json = parse(json_body.as_bytes()).unwrap();
    let from_form = parse(&form(&[
        ("event", "ONCRMDEALADD"),
        ("event_handler_id", "185"),
        ("data[FIELDS][ID]", "6641"),
        ("ts", "1735374081"),
        ("auth[application_token]", TOKEN),
        ("auth[member_id]", MEMBER),
    ]))
    .unwrap();
    assert_eq!(from_json, from_form);
    assert!(matches!(
        parse(b"  {\"event\": 1"),
        Err(Rejection::Malformed(_))
    ));
}

#[test]
fn php_form_decoding_follows_parse_str() {
    assert_eq!(percent_decode(b"a+b%20c%5B%zz%4"), "a b c[%zz%4");
    assert_eq!(percent_decode(b"%D0%9F%D1%80%D0%B8"), "При");
    assert_eq!(percent_decode(b"%FF"), "\u{FFFD}");
    let tree = decode(b"a=1&a=2&l[]=x&l[]=y&n[5]=p&n[]=q&s=1&s[k]=v&b[x]=1&b=2&novalue&=skip&c[d")
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(tree),
        json!({
            "a": "2",
            "l": ["x", "y"],
            "n": {"5": "p", "6": "q"},
            "s": {"k": "v"},
            "b": "2",
            "novalue": "",
            "c[d": ""
        })
    );
    let deep = format!("x{}=1", "[a]".repeat(70));
    assert!(decode(deep.as_bytes()).is_err());
    let many = "a=1&".repeat(super::form::MAX_PAIRS + 1);
    assert!(decode(many.as_bytes()).is_err());
}

proptest! {
    #[test]
    fn parse_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
        let _ = Verifier::new(TOKEN).verify(&bytes);
    }

    #[test]
    fn parse_never_panics_on_form_like_text(text in "[\\[\\]=&%+a-c0-9{}\"]{0,200}") {
        let _ = parse(text.as_bytes());
    }
}

#[test]
fn the_verifier_accepts_the_docs_body_once() {
    let verifier = Verifier::new(TOKEN)
        .member_id(MEMBER)
        .domain("SOME-domain.bitrix24.com");
    let body = deal_add(now());
    let event = verifier.verify(&body).unwrap();
    assert_eq!(event.name(), "ONCRMDEALADD");
    assert_eq!(verifier.verify(&body).unwrap_err(), Rejection::Replayed);
    // Another event of the same second is not a replay.
    let other = body_with("ONCRMDEALUPDATE", now(), TOKEN, MEMBER);
    assert!(verifier.verify(&other).is_ok());
}

fn body_with(event: &str, ts: i64, token: &str, member: &str) -> Vec<u8> {
    body(event, &[("ID", "6641")], ts, token, member)
}

#[test]
fn forged_missing_and_foreign_bodies_are_refused() {
    let verifier = Verifier::new(TOKEN).member_id(MEMBER);
    let forged = body_with(
        "ONCRMDEALADD",
        now(),
        "51856fefc120afa4b628cc82d3935ccf",
        MEMBER,
    );
    assert_eq!(verifier.verify(&forged).unwrap_err(), Rejection::WrongToken);
    let short = body_with("ONCRMDEALADD", now(), "5185", MEMBER);
    assert_eq!(verifier.verify(&short).unwrap_err(), Rejection::WrongToken);
    let missing = form(&[("event", "ONCRMDEALADD"), ("ts", "1")]);
    assert_eq!(
        verifier.verify(&missing).unwrap_err(),
        Rejection::MissingToken
    );
    let empty = body_with("ONCRMDEALADD", now(), "", MEMBER);
    assert_eq!(
        verifier.verify(&empty).unwrap_err(),
        Rejection::MissingToken
    );
    let foreign = body_with("ONCRMDEALADD", now(), TOKEN, "someone-else");
    assert_eq!(
        verifier.verify(&foreign).unwrap_err(),
        Rejection::ForeignPortal {
            field: "member_id",
            expected: MEMBER.into(),
            found: "someone-else".into()
        }
    );
    let other_domain = Verifier::new(TOKEN).domain("mine.bitrix24.com");
    assert!(matches!(
        other_domain.verify(&deal_add(now())),
        Err(Rejection::ForeignPortal {
            field: "domain",
            ..
        })
    ));
    assert!(matches!(
        verifier.verify(b"ts=1&auth%5Bapplication_token%5D=x"),
        Err(Rejection::Malformed(_))
    ));
}

#[test]
fn stale_future_and_undated_bodies_are_refused() {
    let verifier = Verifier::new(TOKEN).max_age(Duration::from_secs(60));
    assert_eq!(
        verifier.verify(&deal_add(now() - 120)).unwrap_err(),
        Rejection::Replayed
    );
    assert_eq!(
        verifier.verify(&deal_add(now() + 120)).unwrap_err(),
        Rejection::Replayed
    );
    assert!(verifier.verify(&deal_add(now() - 30)).is_ok());
    let undated = form(&[
        ("event", "ONCRMDEALADD"),
        ("auth[application_token]", TOKEN),
    ]);
    assert!(matches!(
        verifier.verify(&undated),
        Err(Rejection::Malformed(_))
    ));
}

#[test]
fn the_replay_set_is_bounded_and_forgets_the_oldest_first() {
    let verifier = Verifier::new(TOKEN).max_remembered(2);
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            body(
                "ONCRMDEALADD",
                &[("ID", &i.to_string())],
                now(),
                TOKEN,
                MEMBER,
            )
        })
        .collect();
    for b in &bodies {
        verifier.verify(b).unwrap();
    }
    assert_eq!(verifier.remembered(), 2);
    // The first was forgotten to make room for the third; the last two are remembered.
    assert!(verifier.verify(&bodies[0]).is_ok());
    assert_eq!(
        verifier.verify(&bodies[2]).unwrap_err(),
        Rejection::Replayed
    );
}

#[test]
fn entries_older_than_max_age_are_evicted() {
    let verifier = Verifier::new(TOKEN).max_age(Duration::from_secs(1));
    for id in ["1", "2"] {
        verifier
            .verify(&body("ONCRMDEALADD", &[("ID", id)], now(), TOKEN, MEMBER))
            .unwrap();
    }
    assert_eq!(verifier.remembered(), 2);
    std::thread::sleep(Duration::from_millis(1100));
    verifier.verify(&deal_add(now())).unwrap();
    assert_eq!(
        verifier.remembered(),
        1,
        "the two older digests were evicted"
    );
}

#[test]
fn no_token_shows_in_debug_or_display() {
    let verifier = Verifier::new(TOKEN);
    let event = parse(&deal_add(1)).unwrap();
    let rejections = [
        Rejection::WrongToken,
        Rejection::MissingToken,
        Rejection::Replayed,
        verifier
            .verify(&body_with("ONCRMDEALADD", 1, "forged-token-value", MEMBER))
            .unwrap_err(),
    ];
    let mut texts = vec![
        format!("{verifier:?}"),
        format!("{event:?}"),
        format!("{:?}", event.auth()),
    ];
    for r in &rejections {
        texts.push(format!("{r} {r:?}"));
    }
    for text in texts {
        for secret in [TOKEN, ACCESS, REFRESH, "forged-token-value"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    assert!(format!("{event:?}").contains("some-domain.bitrix24.com"));
}

#[test]
fn constant_time_eq_compares_whole_strings() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(constant_time_eq(b"", b""));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"xbc", b"abc"));
    assert!(!constant_time_eq(b"ab", b"abc"));
    assert!(!constant_time_eq(b"abc\0", b"abc"));
    assert!(!constant_time_eq(b"", b"a"));
}

//! A realistic worst case: 2,000 fields (hundreds of user fields of every type, odd codes,
//! an enumeration with 3,000 items, labels with spaces, quotes and HTML entities, `settings` as
//! `[]` or absent, unknown types). The snapshot is built here, deterministically, and kept in
//! `schemas/test/huge/deal.json` so `runtime/tests/generated/huge.rs` can compile it.
//!
//! Its first 400 fields are the 400-field portal of the decode benchmark, kept in
//! `schemas/test/wide400/deal.json`. Refresh both files after changing this builder with
//! `BITRIX_UPDATE_GOLDEN=1 cargo test -p bitrix-codegen --test huge`.

use std::path::Path;

use bitrix_codegen::{EntityInfo, Level, Options, Snapshot};
use serde_json::{Map, Value, json};

const UF_TYPES: &[&str] = &[
    "string",
    "integer",
    "double",
    "boolean",
    "date",
    "datetime",
    "money",
    "url",
    "address",
    "enumeration",
    "file",
    "employee",
    "crm_status",
    "iblock_element",
    "iblock_section",
    "crm",
    "resourcebooking",
    "rest_219_test",
];

fn descriptor(t: &str, multiple: bool, dynamic: bool, title: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("type".into(), json!(t));
    d.insert("isRequired".into(), json!(false));
    d.insert("isReadOnly".into(), json!(false));
    d.insert("isImmutable".into(), json!(false));
    d.insert("isMultiple".into(), json!(multiple));
    d.insert("isDynamic".into(), json!(dynamic));
    d.insert("title".into(), json!(title));
    d
}

fn label(i: usize) -> String {
    match i % 7 {
        0 => format!("Поле номер {i}"),
        1 => format!("\"Кавычки\" и &quot;сущности&quot; {i}"),
        2 => format!("{i} начинается с цифры"),
        3 => "Повторяющаяся подпись".to_owned(),
        4 => format!("<b>HTML</b> &amp; {i}"),
        5 => format!("  пробелы   вокруг {i}  "),
        _ => format!("Mixed Latin и кириллица #{i}"),
    }
}

fn huge_snapshot() -> Snapshot {
    let seed = Snapshot::parse(
        include_str!("../../schemas/seed/deal.json"),
        &EntityInfo::deal(),
    )
    .unwrap();
    let mut fields = seed.fields.clone();
    for id in [128, 130, 153, 1032, 1220] {
        let mut d = descriptor("crm_entity", false, false, &format!("Смарт-процесс {id}"));
        d.insert("settings".into(), json!({"parentEntityTypeId": id}));
        fields.insert(format!("PARENT_ID_{id}"), Value::Object(d));
    }
    // User fields named after standard ones: stripping UF_CRM_ would collide.
    for (code, t) in [
        ("UF_CRM_STAGE_ID", "string"),
        ("UF_CRM_OPPORTUNITY", "string"),
        ("UF_CRM_CLOSEDATE", "datetime"),
        ("UF_CRM_ASF123", "integer"),
        ("UF_CRM_69EE4F347BF80", "url"),
    ] {
        let mut d = descriptor(t, false, true, code);
        d.insert(
            "listLabel".into(),
            json!(code.trim_start_matches("UF_CRM_")),
        );
        fields.insert(code.to_owned(), Value::Object(d));
    }
    // The enumeration with 3,000 items (duplicate and empty labels included).
    let items: Vec<Value> = (0..3000)
        .map(|i| {
            let value = match i % 5 {
                0 => format!("Город {i}"),
                1 => "Другое".to_owned(),
                2 => String::new(),
                3 => format!("Пункт \"{i}\""),
                _ => format!("Склад №{i}"),
            };
            json!({"ID": (10_000 + i * 3).to_string(), "VALUE": value})
        })
        .collect();
    let mut big_enum = descriptor("enumeration", false, true, "UF_CRM_1777984939580");
    big_enum.insert("items".into(), Value::Array(items));
    big_enum.insert(
        "settings".into(),
        json!({"DISPLAY": "UI", "LIST_HEIGHT": 1}),
    );
    big_enum.insert("listLabel".into(), json!("Город доставки"));
    fields.insert("UF_CRM_1777984939580".into(), Value::Object(big_enum));

    let mut i = 0usize;
    while fields.len() < 2000 {
        let t = UF_TYPES[i % UF_TYPES.len()];
        let code = match i % 4 {
            0 => format!("UF_CRM_{}", 1_700_000_000_000u64 + i as u64 * 7919),
            1 => format!("UF_CRM_{:X}", 0x69EE_4F34_0000u64 + i as u64 * 31),
            2 => format!("UF_CRM_7_{}", 1_777_887_301_589u64 + i as u64),
            _ => format!("UF_CRM_F{i}"),
        };
        let mut d = descriptor(t, i % 3 == 0 && t != "boolean", true, &code);
        if t == "enumeration" {
            let items: Vec<Value> = (0..(i % 9))
                .map(|k| json!({"ID": (i * 10 + k).to_string(), "VALUE": label(k)}))
                .collect();
            d.insert("items".into(), Value::Array(items));
        }
        match i % 3 {
            0 => {
                d.insert("settings".into(), json!([]));
            }
            1 => {}
            _ => {
                d.insert("settings".into(), json!({"DEFAULT_VALUE": "", "SIZE": 20}));
            }
        }
        d.insert("listLabel".into(), json!(label(i)));
        d.insert("formLabel".into(), json!(label(i + 1)));
        d.insert("filterLabel".into(), json!(label(i)));
        fields.insert(code, Value::Object(d));
        i += 1;
    }
    Snapshot::new(EntityInfo::deal(), fields).unwrap()
}

#[test]
fn huge_fixture_is_current() {
    let text = huge_snapshot().to_json_pretty();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/test/huge/deal.json");
    if std::env::var_os("BITRIX_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    // A version 1 file holds the same descriptors; it is current when it is written as `text`.
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text
            || Snapshot::parse(&committed, &EntityInfo::deal())
                .is_ok_and(|s| s.to_json_pretty() == text),
        "schemas/test/huge/deal.json is stale: run `BITRIX_UPDATE_GOLDEN=1 cargo test -p bitrix-codegen --test huge`"
    );
}

/// The first 400 fields of the worst case (standard fields first, then the colliding user
/// fields, the 3,000-item enumeration and user fields of every type): the 400-field portal of
/// the decode benchmark (`runtime/benches/decode.rs`), kept in `schemas/test/wide400/deal.json`.
fn wide400_snapshot() -> Snapshot {
    let huge = huge_snapshot();
    let fields: Map<String, Value> = huge
        .fields
        .iter()
        .take(400)
        .map(|(code, d)| (code.clone(), d.clone()))
        .collect();
    Snapshot::new(EntityInfo::deal(), fields).unwrap()
}

#[test]
fn wide400_fixture_is_current() {
    let snapshot = wide400_snapshot();
    assert_eq!(snapshot.fields.len(), 400);
    assert_eq!(
        snapshot.fields.keys().next().map(String::as_str),
        Some("ID")
    );
    let text = snapshot.to_json_pretty();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/test/wide400/deal.json");
    if std::env::var_os("BITRIX_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    // A version 1 file holds the same descriptors; it is current when it is written as `text`.
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text
            || Snapshot::parse(&committed, &EntityInfo::deal())
                .is_ok_and(|s| s.to_json_pretty() == text),
        "schemas/test/wide400/deal.json is stale: run `BITRIX_UPDATE_GOLDEN=1 cargo test -p bitrix-codegen --test huge`"
    );
}

#[test]
fn huge_schema_expands_with_a_warning_per_unknown_type() {
    let snapshot = huge_snapshot();
    assert_eq!(snapshot.fields.len(), 2000);
    let generated = bitrix_codegen::generate(&snapshot, &Options::new("HugeDeal")).unwrap();
    let unknown = snapshot
        .descriptors()
        .filter(|d| d.field_type() == "rest_219_test")
        .count();
    assert!(unknown > 0);
    assert_eq!(generated.warnings.len(), unknown);
    assert!(generated.warnings.iter().all(|w| w.level == Level::Warning));
    let source = bitrix_codegen::render(&generated, "schemas/test/huge/deal.json");
    assert!(source.contains("pub uf_crm_1777984939580:"));
    assert!(source.contains("pub uf_crm_stage_id:"));
    assert!(source.contains("pub stage_id:"));
    syn::parse_file(&source).expect("rendered source parses");
}

#[test]
fn strict_turns_every_unknown_type_into_an_error() {
    let snapshot = huge_snapshot();
    let mut options = Options::new("HugeDeal");
    options.strict = true;
    let errors = bitrix_codegen::generate(&snapshot, &options).unwrap_err();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| e.message.contains("rest_219_test")));
}

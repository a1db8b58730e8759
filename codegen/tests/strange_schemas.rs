//! The generator never panics on a strange schema: seeded random snapshots of every entity on
//! either API, with hostile codes, `upperName`s, types, flags, items and labels, either
//! generate code that parses, or fail with diagnostics that name a field.

use bitrix_codegen::entities::{self, Api};
use bitrix_codegen::{EntityInfo, Level, Options, Snapshot};
use serde_json::{Map, Value, json};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const CODES: &[&str] = &[
    "ID",
    "TITLE",
    "TYPE",
    "type",
    "Self",
    "self",
    "SELF",
    "crate",
    "",
    " ",
    "_",
    "__",
    "1C_ID",
    "UF_CRM_1",
    "UF_CRM_1_",
    "uf_crm_1",
    "UF-CRM-1",
    "UF_CRM_Цена",
    "UF_CRM_ÄÖÜ",
    "日本",
    "a.b",
    "EXTRA",
    "extra",
    "BUILD",
    "new",
    "IS_EMPTY",
    "CLEAR_TITLE",
    "FIELD",
    "PATCH",
    "stageId",
    "PARENT_ID_1220",
    "UF_CRM_STAGE_ID",
    "STAGE_ID",
    "CONTACT_IDS",
    "r#x",
    "ALL",
    "OTHER",
    "UF_CRM_69EE4F347BF80",
    "UF_CRM_7_1777887301589",
    "DealField",
    "A B C",
    "\u{0}",
    "😀",
    "UF_CRM_\r1",
    "UF_\u{202e}X",
    "UF_CRM_TAB\t",
    "PHONE",
    "EMAIL",
    "IM",
    "fm",
    "ufCrm5_1721244482250",
    "ufCrm_1721244482250",
    "parentId153",
    "createdTime",
    "DATE_CREATE",
    "STATUS_ID",
    "COMPANY_TYPE",
];
const TYPES: &[&str] = &[
    "integer",
    "string",
    "char",
    "double",
    "date",
    "datetime",
    "user",
    "crm_status",
    "crm_category",
    "crm_currency",
    "crm_company",
    "crm_contact",
    "crm_lead",
    "crm_quote",
    "location",
    "crm_entity",
    "boolean",
    "money",
    "url",
    "address",
    "enumeration",
    "file",
    "employee",
    "iblock_element",
    "iblock_section",
    "crm",
    "resourcebooking",
    "rest_219_test",
    "",
    "x y",
    "Enumeration",
    "crm_multifield",
];
const TEXTS: &[&str] = &[
    "",
    "Горячий",
    "Холодный звонок",
    "\"quoted\"",
    "&quot;ent&quot;",
    "<b>x</b>",
    "123",
    "Other",
    "Self",
    "Другое",
    "Другое",
    "   ",
    "日本語",
    "a\nb",
    "*_`[]#|",
    "\u{202e}evil\u{202c}",
    "a\rb",
    "\u{2066}isolated\u{2069}",
    "*/ /*",
];

fn flag(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!(true),
        json!(false),
        json!("Y"),
        json!("N"),
        json!(1),
        Value::Null,
        json!([]),
    ])
    .clone()
}

fn descriptor(rng: &mut Rng) -> Value {
    let mut d = Map::new();
    d.insert("type".into(), json!(rng.pick(TYPES)));
    for key in [
        "isRequired",
        "isReadOnly",
        "isImmutable",
        "isMultiple",
        "isDynamic",
        "isDeprecated",
    ] {
        if rng.chance(80) {
            d.insert(key.into(), flag(rng));
        }
    }
    if rng.chance(70) {
        d.insert("title".into(), json!(rng.pick(TEXTS)));
    }
    for key in ["listLabel", "formLabel", "filterLabel", "statusType"] {
        if rng.chance(40) {
            d.insert(key.into(), json!(rng.pick(TEXTS)));
        }
    }
    if rng.chance(50) {
        let n = rng.next() % 6;
        let items: Vec<Value> = (0..n)
            .map(|i| match rng.next() % 4 {
                0 => json!({"ID": i, "VALUE": rng.pick(TEXTS)}),
                1 => json!({"ID": format!("{}", rng.next() % 5), "VALUE": rng.pick(TEXTS)}),
                2 => json!({"VALUE": "no id"}),
                _ => json!("not an object"),
            })
            .collect();
        d.insert("items".into(), Value::Array(items));
    }
    if rng.chance(50) {
        // Item snapshots carry the legacy code; odd ones must not matter either.
        let upper = match rng.next() % 4 {
            0 => json!(rng.pick(CODES)),
            1 => json!(5),
            2 => Value::Null,
            _ => json!(rng.pick(CODES).to_uppercase()),
        };
        d.insert("upperName".into(), upper);
    }
    if rng.chance(30) {
        d.insert(
            "settings".into(),
            rng.pick(&[json!([]), json!({}), json!({"A": [1]})]).clone(),
        );
    }
    Value::Object(d)
}

/// Every entity, on either API: the five legacy ones, the smart invoice, smart processes with
/// odd titles.
fn entity(rng: &mut Rng) -> EntityInfo {
    match rng.next() % 4 {
        0 => EntityInfo::from_row(rng.pick(entities::ENTITIES)),
        1 => EntityInfo::from_row(rng.pick(entities::ENTITIES)).with_api(Api::Item),
        2 => EntityInfo::smart_process(
            (rng.next() % 3000) as u32,
            Some(rng.pick(TEXTS).to_string()),
            Some(rng.next() % 100),
        ),
        _ => EntityInfo::smart_process(1032 + (rng.next() % 4) as u32, None, None),
    }
}

#[test]
fn random_strange_snapshots_never_panic() {
    let mut rng = Rng(0x5EED_B1B1_7124);
    let (mut generated, mut refused) = (0, 0);
    for _ in 0..800 {
        let mut fields = Map::new();
        for _ in 0..(1 + rng.next() % 12) {
            let mut code = rng.pick(CODES).to_string();
            if rng.chance(30) {
                code.push_str(&format!("{}", rng.next() % 100));
            }
            fields.insert(code, descriptor(&mut rng));
        }
        let entity = entity(&mut rng);
        let Ok(snapshot) = Snapshot::new(entity, fields) else {
            refused += 1;
            continue;
        };
        let struct_name = if rng.chance(50) {
            snapshot.entity.default_struct_name()
        } else {
            "Deal".to_owned()
        };
        let mut options = Options::new(struct_name);
        options.strict = rng.chance(20);
        options.api = *rng.pick(&[None, Some(Api::Legacy), Some(Api::Item)]);
        if rng.chance(30) {
            options.renames.field(
                *rng.pick(CODES),
                *rng.pick(&["greeting", "type", "Bad Name", "id", "extra", "x"]),
            );
        }
        if rng.chance(20) {
            options.renames.item(
                *rng.pick(CODES),
                "1",
                *rng.pick(&["Website", "bad", "Self"]),
            );
        }
        match bitrix_codegen::generate(&snapshot, &options) {
            Ok(g) => {
                generated += 1;
                let source = bitrix_codegen::render(&g, "random.json");
                if let Err(e) = syn::parse_file(&source) {
                    panic!(
                        "generated code does not parse: {e}\n{}",
                        snapshot.to_json_pretty()
                    );
                }
                // rustc refuses these in comments (the docs): issue 14 item 6.
                let refused = |c: char| {
                    c == '\r'
                        || ('\u{202A}'..='\u{202E}').contains(&c)
                        || ('\u{2066}'..='\u{2069}').contains(&c)
                };
                assert!(
                    !source.chars().any(refused),
                    "rendered code holds a CR or bidi control:\n{}",
                    snapshot.to_json_pretty()
                );
            }
            Err(diags) => {
                refused += 1;
                assert!(diags.iter().any(|d| d.level == Level::Error));
                assert!(diags.iter().all(|d| !d.message.is_empty()));
            }
        }
    }
    // Both paths must have been exercised, or the generator of cases is broken.
    assert!(
        generated > 20 && refused > 20,
        "generated {generated}, refused {refused}"
    );
}

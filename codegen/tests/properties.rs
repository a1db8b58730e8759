//! Property tests (issue 14): random field codes, labels, item ids and names, struct names and
//! renames (control and bidi characters, Cyrillic, keywords, leading digits, punctuation), of
//! every entity on either API (item snapshots with random `upperName`s), never
//! make the generator panic; it either refuses with error diagnostics or produces tokens that
//! `syn` parses as a file, whose rendering holds no character rustc refuses in a comment.
//!
//! `PROPTEST_CASES` sets the number of cases (default 256 here).

use bitrix_codegen::entities::{self, Api};
use bitrix_codegen::{EntityInfo, Level, Options, Snapshot};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Pieces that random text is made of: the ordinary, and everything that broke something.
const PIECES: &[&str] = &[
    "a", "Z", "_", "__", "1", "9", "UF_CRM_", "ID", "TITLE", "type", "Self", "self", "crate",
    "super", "ALL", "Other", "gen", "r#", "Цена", "Щ", "ё", "日本", "😀", " ", "\t", "\n", "\r",
    "\0", "\u{7}", "\u{85}", "\u{202a}", "\u{202b}", "\u{202c}", "\u{202d}", "\u{202e}",
    "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}", "\u{200f}", "\u{2028}", "-", "!", "*/", "/*",
    "///", "`", "\"", "\\", "&quot;", "<b>", "#", "[", "]", "{", "}", "$", ".",
];

fn text(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..=max_pieces).prop_map(|p| p.concat())
}

/// Mostly names a rename may take (the generator must then produce code), sometimes anything.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&["_1", "_9x", "x_", "greeting", "a1", "id", "self_", "f_1"][..])
            .prop_map(str::to_owned),
        1 => text(3),
    ]
}

fn variant_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&["Website", "All", "ALL", "Other", "V1", "Self_", "X"][..])
            .prop_map(str::to_owned),
        1 => text(2),
    ]
}

fn descriptor() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(
            &[
                "string",
                "integer",
                "enumeration",
                "enumeration",
                "crm_status",
                "file",
                "money",
                "boolean",
                "crm_multifield",
                "x y",
            ][..],
        ),
        any::<[bool; 4]>(),
        text(4),
        prop::option::of(text(4)),
        prop::collection::vec((text(3), text(4)), 0..5),
    )
        .prop_map(
            |(ty, [required, read_only, immutable, multiple], title, label, items)| {
                let mut d = Map::new();
                d.insert("type".into(), json!(ty));
                d.insert("isRequired".into(), json!(required));
                d.insert("isReadOnly".into(), json!(read_only));
                d.insert("isImmutable".into(), json!(immutable));
                d.insert("isMultiple".into(), json!(multiple));
                d.insert("isDynamic".into(), json!(true));
                d.insert("title".into(), json!(title));
                if let Some(label) = label {
                    d.insert("formLabel".into(), json!(label));
                }
                let items: Vec<Value> = items
                    .into_iter()
                    .map(|(id, value)| json!({"ID": id, "VALUE": value}))
                    .collect();
                d.insert("items".into(), Value::Array(items));
                Value::Object(d)
            },
        )
}

fn refused_in_comments(c: char) -> bool {
    c == '\r' || ('\u{202A}'..='\u{202E}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_generator_never_panics_and_its_output_parses(
        fields in prop::collection::vec((text(5), descriptor()), 1..8),
        struct_name in prop_oneof![
            6 => prop::sample::select(&["Deal", "D", "C", "Visit", "R0", "Fn", "A1"][..]).prop_map(str::to_owned),
            1 => text(3),
        ],
        field_renames in prop::collection::vec((any::<prop::sample::Index>(), field_name()), 0..3),
        item_renames in prop::collection::vec((any::<prop::sample::Index>(), text(2), variant_name()), 0..2),
        entity in any::<prop::sample::Index>(),
        title in text(3),
        upper_names in prop::collection::vec(prop::option::of(text(3)), 8),
        api in prop::sample::select(&[None, Some(Api::Legacy), Some(Api::Item)][..]),
    ) {
        // Every entity: the rows (legacy where they have it), on the item API, smart processes.
        let entities: Vec<EntityInfo> = entities::ENTITIES
            .iter()
            .map(EntityInfo::from_row)
            .chain(entities::ENTITIES.iter().map(|r| EntityInfo::from_row(r).with_api(Api::Item)))
            .chain([EntityInfo::smart_process(1032, Some(title), Some(7))])
            .collect();
        let entity = entity.get(&entities).clone();
        let mut fields: Map<String, Value> = fields.into_iter().collect();
        if entity.api == Api::Item {
            for (d, upper) in fields.values_mut().zip(upper_names) {
                if let (Some(d), Some(upper)) = (d.as_object_mut(), upper) {
                    d.insert("upperName".into(), json!(upper));
                }
            }
        }
        let codes: Vec<String> = fields.keys().cloned().collect();
        let Ok(snapshot) = Snapshot::new(entity, fields) else {
            return Ok(());
        };
        let mut options = Options::new(struct_name);
        options.api = api;
        for (code, name) in field_renames {
            options.renames.field(code.get(&codes).clone(), name);
        }
        for (code, item, name) in item_renames {
            options.renames.item(code.get(&codes).clone(), item, name);
        }
        match bitrix_codegen::generate(&snapshot, &options) {
            Ok(generated) => {
                if let Err(e) = syn::parse2::<syn::File>(generated.tokens.clone()) {
                    panic!("tokens do not parse: {e}\n{}", snapshot.to_json_pretty());
                }
                let source = bitrix_codegen::render(&generated, "random\r\u{202e}.json");
                prop_assert!(syn::parse_file(&source).is_ok());
                prop_assert!(!source.chars().any(refused_in_comments));
            }
            Err(diagnostics) => {
                prop_assert!(diagnostics.iter().any(|d| d.level == Level::Error));
                prop_assert!(diagnostics.iter().all(|d| !d.message.is_empty()));
            }
        }
    }
}

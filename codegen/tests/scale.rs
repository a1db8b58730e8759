//! Issue 14 item 6 (scale): the generated code's shape does not deepen with the number of
//! fields. rustc recurses once per operand of `a == a && b == b && ...`, which
//! `#[derive(PartialEq)]` builds over every field: 6,000 fields overflowed rustc's stack. The
//! payload types compare field by field in statements instead.
//!
//! Measured by hand (not run here: too slow for every test run), a test crate with one
//! `#[bitrix_entity]` of mixed field types, debug profile, 2 cores shared with another build:
//! 6,000 fields compile in 59 s at 2.3 GB peak RSS, 10,000 in 123 s at 5.2 GB. Before, 6,000
//! fields made rustc overflow its stack after 4 s.

use bitrix_codegen::{EntityInfo, Options, Snapshot};
use serde_json::{Map, json};

fn wide(n: usize) -> Snapshot {
    let mut fields = Map::new();
    fields.insert("ID".into(), json!({"type": "integer", "isReadOnly": true}));
    for i in 0..n {
        let ty = ["string", "double", "enumeration", "date"][i % 4];
        fields.insert(
            format!("UF_CRM_{i}"),
            json!({"type": ty, "isDynamic": true, "isRequired": i < 2,
                   "items": [{"ID": "1", "VALUE": "Да"}]}),
        );
    }
    Snapshot::new(EntityInfo::deal(), fields).unwrap()
}

/// Derives whose expansion is one expression over every field (or every variant with data).
const DEEP_DERIVES: &[&str] = &["PartialEq", "PartialOrd", "Ord", "Hash"];

#[test]
fn no_struct_derives_a_comparison_over_all_its_fields() {
    let generated = bitrix_codegen::generate(&wide(6000), &Options::new("Deal")).unwrap();
    let file: syn::File = syn::parse2(generated.tokens).unwrap();
    let mut structs = 0;
    let mut check = |items: &[syn::Item]| {
        for item in items {
            let syn::Item::Struct(s) = item else { continue };
            if s.fields.len() < 100 {
                continue;
            }
            structs += 1;
            for attr in s.attrs.iter().filter(|a| a.path().is_ident("derive")) {
                let derives = attr.meta.require_list().unwrap().tokens.to_string();
                for deep in DEEP_DERIVES {
                    assert!(
                        !derives.split(',').any(|d| d.trim() == *deep),
                        "{} ({} fields) derives {deep}: rustc recurses once per field",
                        s.ident,
                        s.fields.len()
                    );
                }
            }
        }
    };
    check(&file.items);
    for item in &file.items {
        if let syn::Item::Mod(m) = item {
            if let Some((_, items)) = &m.content {
                check(items);
            }
        }
    }
    // The read model, the create payload, the builder and the update payload.
    assert_eq!(structs, 4);
}

#[test]
fn generated_size_grows_linearly_in_fields() {
    let size = |n| {
        let generated = bitrix_codegen::generate(&wide(n), &Options::new("Deal")).unwrap();
        generated.tokens.to_string().len() as f64
    };
    let (small, large) = (size(1000), size(4000));
    let ratio = large / small;
    assert!(
        (3.5..4.5).contains(&ratio),
        "4x the fields gave {ratio:.2}x the code"
    );
}

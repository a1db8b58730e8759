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

fn required(n: usize) -> Snapshot {
    let mut fields = Map::new();
    fields.insert("ID".into(), json!({"type": "integer", "isReadOnly": true}));
    for i in 0..n {
        let ty = ["string", "double", "date"][i % 3];
        fields.insert(
            format!("UF_CRM_R{i}"),
            json!({"type": ty, "isDynamic": true, "isRequired": true}),
        );
    }
    Snapshot::new(EntityInfo::deal(), fields).unwrap()
}

fn enumeration(items: usize) -> Snapshot {
    let items: Vec<_> = (0..items)
        .map(|i| json!({"ID": (1000 + i).to_string(), "VALUE": format!("Item {i}")}))
        .collect();
    let mut fields = Map::new();
    fields.insert("ID".into(), json!({"type": "integer", "isReadOnly": true}));
    fields.insert(
        "UF_CRM_BIG".into(),
        json!({"type": "enumeration", "isDynamic": true, "items": items}),
    );
    Snapshot::new(EntityInfo::deal(), fields).unwrap()
}

fn size(snapshot: &Snapshot) -> f64 {
    let generated = bitrix_codegen::generate(snapshot, &Options::new("Deal")).unwrap();
    generated.tokens.to_string().len() as f64
}

/// The required-field typestate used to name every other field's state in each setter: 1,000
/// required fields made 64 MB of code. Above 64 required fields the states are one tree-typed
/// parameter and a setter names only its leaf's path (fields x log2 fields).
#[test]
fn generated_size_grows_linearly_in_required_fields() {
    let (small, large) = (size(&required(250)), size(&required(1000)));
    let ratio = large / small;
    assert!(
        (3.5..4.8).contains(&ratio),
        "4x the required fields gave {ratio:.2}x the code"
    );
    // About 4 KB of tokens per required field (its path into the tree appears in the setter
    // and twice in `build()`); the flat typestate took about 64 KB each at 1,000.
    let per_field = large / 1000.0;
    assert!(
        per_field < 6000.0,
        "{per_field:.0} bytes per required field"
    );
}

/// rustc pays about N for each of N variants named (and arms x variants for a match): a
/// 100,000-item enumeration took minutes. Large enumerations are associated constants over
/// tables, a few constants per item.
#[test]
fn generated_size_grows_linearly_in_enumeration_items() {
    let (small, large) = (size(&enumeration(10_000)), size(&enumeration(100_000)));
    let ratio = large / small;
    assert!(
        (9.0..11.0).contains(&ratio),
        "10x the items gave {ratio:.2}x the code"
    );
}

/// A large enumeration's code names no variant per item and has no match over its items:
/// every match has a handful of arms.
#[test]
fn no_match_of_a_large_enumeration_lists_its_items() {
    let generated = bitrix_codegen::generate(&enumeration(5000), &Options::new("Deal")).unwrap();
    let text = generated.tokens.to_string();
    let arms = text.matches("=>").count();
    assert!(
        arms < 1000,
        "{arms} match arms for a 5,000-item enumeration"
    );
    let file: syn::File = syn::parse2(generated.tokens).unwrap();
    let variants: Vec<usize> = enums(&file.items).map(|e| e.variants.len()).collect();
    assert!(
        variants.iter().all(|n| *n < 100),
        "enums with {variants:?} variants"
    );
}

/// Every enum of the generated file (top level and one module deep).
fn enums(items: &[syn::Item]) -> impl Iterator<Item = &syn::ItemEnum> {
    items.iter().flat_map(|item| match item {
        syn::Item::Enum(e) => vec![e],
        syn::Item::Mod(m) => m
            .content
            .iter()
            .flat_map(|(_, items)| items)
            .filter_map(|i| match i {
                syn::Item::Enum(e) => Some(e),
                _ => None,
            })
            .collect(),
        _ => vec![],
    })
}

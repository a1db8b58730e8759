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
    let mut structs = Vec::new();
    let mut check = |items: &[syn::Item]| {
        for item in items {
            let syn::Item::Struct(s) = item else { continue };
            if s.fields.len() < 100 {
                continue;
            }
            structs.push(s.ident.to_string());
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
    // The read model, the create payload, the update payload, and (6,000 fields is wide) the
    // structs of 256 that hold the builder's optional values.
    let chunks = structs
        .iter()
        .filter(|s| s.starts_with("__NewDealBuilderValues"))
        .count();
    assert_eq!(structs.len() - chunks, 3, "{structs:?}");
    assert_eq!(chunks, 6000_usize.div_ceil(256), "{structs:?}");
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
    // Both above `WIDE_LIMIT` (512) fields and `FLAT_TYPESTATE_LIMIT` (64) required ones, so
    // the two sizes compare one shape of code.
    let (small, large) = (size(&required(600)), size(&required(2400)));
    let ratio = large / small;
    assert!(
        (3.5..4.8).contains(&ratio),
        "4x the required fields gave {ratio:.2}x the code"
    );
    // About 4 KB of tokens per required field (its path into the tree appears in the setter
    // and twice in `build()`); the flat typestate took about 64 KB each at 1,000.
    let per_field = large / 2400.0;
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

/// Every function body (its statements, without the items nested in it) in `items`, with its
/// number of [`branch_points`]; and every enum's and struct's name with its variants or fields and
/// derives.
#[derive(Default)]
struct Shapes {
    bodies: Vec<(String, usize)>,
    enums: Vec<(String, usize)>,
    structs: Vec<(String, usize, Vec<String>)>,
}

/// The places in `stream` where rustc's MIR of the body branches or holds a temporary: calls
/// (a parenthesized group after a name or `>`), `?`, `if` and match arms (`=>`). A struct
/// literal of `None`s or a field path costs none.
fn branch_points(stream: proc_macro2::TokenStream) -> usize {
    use proc_macro2::{Delimiter, TokenTree};
    let mut count = 0;
    let mut previous: Option<TokenTree> = None;
    for tt in stream {
        count += match &tt {
            TokenTree::Group(g) => {
                let call = g.delimiter() == Delimiter::Parenthesis
                    && matches!(&previous, Some(TokenTree::Ident(_)))
                    || matches!(&previous, Some(TokenTree::Punct(p)) if p.as_char() == '>');
                usize::from(call) + branch_points(g.stream())
            }
            TokenTree::Punct(p) if p.as_char() == '?' => 1,
            TokenTree::Punct(p)
                if p.as_char() == '>'
                    && matches!(&previous, Some(TokenTree::Punct(q)) if q.as_char() == '=') =>
            {
                1
            }
            TokenTree::Ident(i) if i == "if" => 1,
            _ => 0,
        };
        previous = Some(tt);
    }
    count
}

impl Shapes {
    fn of(n: usize) -> Shapes {
        let generated = bitrix_codegen::generate(&wide(n), &Options::new("Deal")).unwrap();
        let file: syn::File = syn::parse2(generated.tokens).unwrap();
        let mut shapes = Shapes::default();
        shapes.items(&file.items);
        shapes
    }

    fn body(&mut self, name: String, block: &syn::Block) {
        use quote::ToTokens;
        let mut size = 0;
        for stmt in &block.stmts {
            match stmt {
                syn::Stmt::Item(item) => self.items(std::slice::from_ref(item)),
                other => size += branch_points(other.to_token_stream()),
            }
        }
        self.bodies.push((name, size));
    }

    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            match item {
                syn::Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        self.items(items);
                    }
                }
                syn::Item::Fn(f) => self.body(f.sig.ident.to_string(), &f.block),
                syn::Item::Impl(imp) => {
                    use quote::ToTokens;
                    let ty = imp.self_ty.to_token_stream().to_string();
                    for item in &imp.items {
                        if let syn::ImplItem::Fn(f) = item {
                            self.body(format!("{ty}::{}", f.sig.ident), &f.block);
                        }
                    }
                }
                syn::Item::Const(c) => {
                    if let syn::Expr::Block(b) = &*c.expr {
                        self.body(format!("const {}", c.ident), &b.block);
                    }
                }
                syn::Item::Enum(e) => self.enums.push((e.ident.to_string(), e.variants.len())),
                syn::Item::Struct(s) => {
                    let derives = s
                        .attrs
                        .iter()
                        .filter(|a| a.path().is_ident("derive"))
                        .flat_map(|a| {
                            let list = a.meta.require_list().unwrap().tokens.to_string();
                            list.split(',')
                                .map(|d| d.trim().to_owned())
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    self.structs
                        .push((s.ident.to_string(), s.fields.len(), derives));
                }
                _ => {}
            }
        }
    }

    fn largest_body(&self) -> &(String, usize) {
        self.bodies.iter().max_by_key(|(_, size)| *size).unwrap()
    }

    fn most_variants(&self) -> &(String, usize) {
        self.enums.iter().max_by_key(|(_, n)| *n).unwrap()
    }
}

/// Issue 14 (many fields): rustc's cost of a function body with a statement or match arm per
/// field grows as the square of the fields (borrowck and MIR building), as do a derived `Debug`
/// of an enum with a variant per field (2.6 GB for 10,000) and naming each of its variants,
/// and the derived `Debug`, `Clone` and `Default` of a wide struct: 10,000 fields checked in
/// 62 s at 4.1 GB, 3.3 times 3,000's fields in 4.2 times the time. Above `WIDE_LIMIT` fields
/// no function body and no enum grows with the fields, and no wide struct derives those.
#[test]
fn above_the_wide_limit_no_body_or_enum_grows_with_the_fields() {
    use bitrix_codegen::expand::WIDE_LIMIT;
    let (small, large) = (Shapes::of(1000), Shapes::of(4000));
    let (name, at_1000) = small.largest_body();
    let (name_4000, at_4000) = large.largest_body();
    assert!(
        *at_4000 <= at_1000 + at_1000 / 10,
        "the largest function body grew from {at_1000} branch points ({name}, 1,000 fields) to {at_4000} ({name_4000}, 4,000 fields)"
    );
    let (name, variants) = large.most_variants();
    assert!(
        *variants <= WIDE_LIMIT,
        "{name} has {variants} variants for 4,000 fields"
    );
    for (name, fields, derives) in &large.structs {
        if *fields > WIDE_LIMIT {
            for quadratic in ["Debug", "Clone", "Default"] {
                assert!(
                    !derives.iter().any(|d| d == quadratic),
                    "{name} ({fields} fields) derives {quadratic}"
                );
            }
        }
    }
}

/// Up to `WIDE_LIMIT` fields the field enum keeps a variant per field (exhaustive matches keep
/// compiling) and the structs their derives; one field more and the entity is wide.
#[test]
fn the_wide_shape_starts_above_the_limit() {
    use bitrix_codegen::expand::WIDE_LIMIT;
    // `wide(n)` has `ID` plus n fields.
    let at = Shapes::of(WIDE_LIMIT - 1);
    let field_enum = at.enums.iter().find(|(n, _)| n == "DealField").unwrap();
    assert_eq!(field_enum.1, WIDE_LIMIT);
    let read = at.structs.iter().find(|(n, _, _)| n == "Deal").unwrap();
    assert_eq!(read.2, ["Debug", "Clone", "Default"]);
    let above = Shapes::of(WIDE_LIMIT);
    let field_enum = above.enums.iter().find(|(n, _)| n == "DealField").unwrap();
    assert_eq!(field_enum.1, 1);
    let read = above.structs.iter().find(|(n, _, _)| n == "Deal").unwrap();
    assert!(read.2.is_empty(), "{:?}", read.2);
}

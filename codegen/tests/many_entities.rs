//! Issue 10: deals, leads, contacts, companies and two smart processes expand into one file
//! with their default names, and no two generated items share a name.

use std::collections::BTreeMap;
use std::path::Path;

use bitrix_codegen::{EntityInfo, Options, Snapshot};

fn snapshot(relative: &str) -> Snapshot {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(relative)).unwrap();
    Snapshot::parse(&text, &EntityInfo::deal()).unwrap()
}

/// The names a file's top-level items declare: types, modules, and what `use` re-exports.
fn declared(file: &syn::File) -> Vec<String> {
    fn use_names(tree: &syn::UseTree, out: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => use_names(&p.tree, out),
            syn::UseTree::Name(n) => out.push(n.ident.to_string()),
            syn::UseTree::Rename(r) => out.push(r.rename.to_string()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| use_names(t, out)),
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut names = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Struct(s) => names.push(s.ident.to_string()),
            syn::Item::Enum(e) => names.push(e.ident.to_string()),
            syn::Item::Mod(m) => names.push(m.ident.to_string()),
            syn::Item::Use(u) => use_names(&u.tree, &mut names),
            _ => {}
        }
    }
    names
}

#[test]
fn six_entities_live_in_one_module_without_clashes() {
    let mut second = snapshot("codegen/tests/schemas/smart_process.json");
    second.entity = EntityInfo::smart_process(1290, Some("Договоры поставки".into()), Some(45));
    let snapshots = [
        snapshot("schemas/demo/deal.json"),
        snapshot("codegen/tests/schemas/lead.json"),
        snapshot("codegen/tests/schemas/contact.json"),
        snapshot("codegen/tests/schemas/company.json"),
        snapshot("codegen/tests/schemas/smart_process.json"),
        second,
    ];
    let mut tokens = proc_macro2::TokenStream::new();
    let mut reads = Vec::new();
    for s in &snapshots {
        let name = s.entity.default_struct_name();
        let generated = bitrix_codegen::generate(s, &Options::new(&name))
            .unwrap_or_else(|d| panic!("{name}: {d:?}"));
        tokens.extend(generated.tokens);
        reads.push(name);
    }
    assert_eq!(
        reads,
        [
            "Deal",
            "Lead",
            "Contact",
            "Company",
            "Proekty",
            "DogovoryPostavki"
        ]
    );
    let file: syn::File = syn::parse2(tokens).expect("the six entities parse as one file");
    let names = declared(&file);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &names {
        *seen.entry(n.as_str()).or_default() += 1;
    }
    let clashes: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(clashes.is_empty(), "names declared twice: {clashes:?}");
    for read in &reads {
        let snake = bitrix_codegen::naming::snake_case(read);
        for expected in [
            read.clone(),
            format!("New{read}"),
            format!("New{read}Builder"),
            format!("{read}Patch"),
            format!("{read}Field"),
            format!("{snake}_fields"),
            format!("__bitrix_{snake}"),
        ] {
            assert!(names.contains(&expected), "{expected} is not declared");
        }
    }
}

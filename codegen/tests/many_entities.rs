//! Issue 10: deals, leads, contacts, companies and two smart processes expand into one file
//! with their default names, and no two generated items share a name; every snapshot shape
//! loads and generates for every entity.

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

/// Every snapshot shape of `bitrix-facts.md` (sections 7 and 10) loads and generates for every
/// entity: a raw `crm.*.fields` answer, a bare `result`, a raw `crm.item.fields` answer
/// (`result.fields`, camelCase keys, `upperName`), the same with `useOriginalUfNames=Y` (user
/// fields under their UF_ codes), a version 1 file and a version 2 file of either API.
#[test]
fn every_snapshot_shape_loads_and_generates_for_every_entity() {
    let legacy = r#"{"ID": {"type": "integer", "isReadOnly": true, "title": "ID"},
        "TITLE": {"type": "string", "isRequired": true, "title": "Name"},
        "DATE_CREATE": {"type": "datetime", "isReadOnly": true, "title": "Created"},
        "PHONE": {"type": "crm_multifield", "isMultiple": true, "title": "Phone"},
        "CONTACT_ID": {"type": "crm_contact", "isDeprecated": true, "title": "Contact"},
        "UF_CRM_1721244482250": {"type": "enumeration", "isDynamic": true, "title": "UF_CRM_1721244482250",
            "items": [{"ID": "3476", "VALUE": "Сайт"}], "settings": [], "formLabel": "Канал"},
        "UF_CRM_7_1777887301589": {"type": "rest_219_test", "isDynamic": true, "title": "UF_CRM_7_1777887301589"}}"#;
    let item = r#"{"id": {"type": "integer", "isReadOnly": true, "title": "ID", "upperName": "ID"},
        "title": {"type": "string", "title": "Name", "upperName": "TITLE"},
        "stageId": {"type": "crm_status", "statusType": "DYNAMIC_1032_STAGE_7", "title": "Stage", "upperName": "STAGE_ID"},
        "parentId2": {"type": "crm_entity", "settings": {"parentEntityTypeId": 2}, "title": "Deal", "upperName": "PARENT_ID_2"},
        "fm": {"type": "crm_multifield", "isMultiple": true, "title": "fm", "upperName": "FM"},
        "sourceDescription": {"type": "text", "title": "Source", "upperName": "SOURCE_DESCRIPTION"},
        "ufCrm5_1721244482250": {"type": "string", "isDynamic": true, "title": "UF_CRM_5_1721244482250", "upperName": "UF_CRM_5_1721244482250"}}"#;
    let original = item.replace("\"ufCrm5_1721244482250\"", "\"UF_CRM_5_1721244482250\"");
    let mut entities: Vec<EntityInfo> = bitrix_codegen::entities::ENTITIES
        .iter()
        .map(EntityInfo::from_row)
        .collect();
    entities.push(EntityInfo::smart_process(
        1032,
        Some("Проекты".into()),
        Some(5),
    ));
    entities.push(EntityInfo::smart_process(1040, None, None));
    for entity in &entities {
        let v2 = |api: &str, fields: &str| {
            format!(
                r#"{{"format_version": 2, "entity": {{"name": "{}", "api": "{api}", "method_prefix": "{}",
                    "entity_type_id": {}}}, "fields": {fields}}}"#,
                entity.name, entity.method_prefix, entity.entity_type_id
            )
        };
        let shapes = [
            (
                "raw crm.*.fields",
                format!(r#"{{"result": {legacy}, "time": {{}}}}"#),
            ),
            ("bare result", legacy.to_owned()),
            (
                "raw crm.item.fields",
                format!(r#"{{"result": {{"fields": {item}}}}}"#),
            ),
            (
                "useOriginalUfNames=Y",
                format!(r#"{{"result": {{"fields": {original}}}}}"#),
            ),
            (
                "version 1",
                format!(
                    r#"{{"format_version": 1, "entity": {{"name": "{}", "method_prefix": "{}", "entity_type_id": {}}}, "fields": {legacy}}}"#,
                    entity.name, entity.method_prefix, entity.entity_type_id
                ),
            ),
            ("version 2, legacy", v2("legacy", legacy)),
            ("version 2, item", v2("item", item)),
        ];
        for (shape, text) in shapes {
            let snapshot = Snapshot::parse(&text, entity)
                .unwrap_or_else(|e| panic!("{} {shape}: {e}", entity.name));
            let name = snapshot.entity.default_struct_name();
            let generated = bitrix_codegen::generate(&snapshot, &Options::new(&name))
                .unwrap_or_else(|d| panic!("{} {shape}: {d:?}", entity.name));
            syn::parse2::<syn::File>(generated.tokens)
                .unwrap_or_else(|e| panic!("{} {shape}: {e}", entity.name));
            if shape.contains("item") || shape.contains("Original") {
                let codes: Vec<String> = snapshot
                    .descriptors()
                    .map(|d| d.code.into_owned())
                    .collect();
                assert!(
                    codes.contains(&"UF_CRM_5_1721244482250".to_owned()),
                    "{shape}: {codes:?}"
                );
            }
        }
    }
}

//! Golden files: every committed snapshot rendered to Rust and compared with the checked-in
//! output; the demo and seed portals, and one tiny snapshot per feature in `tests/schemas/`
//! (as typify's `tests/schemas/` does). `runtime/tests/generated/golden.rs` compiles the same
//! files.
//!
//! After an intended change of the generator, refresh them with
//! `BITRIX_UPDATE_GOLDEN=1 cargo test -p bitrix-codegen --test golden`.

use std::path::Path;

use bitrix_codegen::{EntityInfo, Options, Snapshot};

fn check(schema: &str, struct_name: &str, golden: &str) {
    check_with(schema, Some(struct_name), golden, |_| {});
}

/// Renders `schema` (relative to the workspace) with the struct name (default: the entity's)
/// and options changed by `configure`, and compares it with `codegen/tests/golden/{golden}`.
fn check_with(
    schema: &str,
    struct_name: Option<&str>,
    golden: &str,
    configure: impl FnOnce(&mut Options),
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(schema)).unwrap();
    let snapshot = Snapshot::parse(&text, &EntityInfo::deal()).unwrap();
    let struct_name = struct_name
        .map(str::to_owned)
        .unwrap_or_else(|| snapshot.entity.default_struct_name());
    let mut options = Options::new(struct_name);
    options.schema_label = schema.to_owned();
    configure(&mut options);
    let generated = bitrix_codegen::generate(&snapshot, &options).unwrap();
    let rendered = bitrix_codegen::render(&generated, schema);
    let path = root.join("codegen/tests/golden").join(golden);
    if std::env::var_os("BITRIX_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != rendered {
        let first = expected
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(rendered.lines().count()));
        panic!(
            "{golden} differs from the generator's output for {schema} (first difference at line {}).\n\
             If the change is intended, run `BITRIX_UPDATE_GOLDEN=1 cargo test -p bitrix-codegen --test golden` and review the diff.",
            first + 1
        );
    }
}

#[test]
fn demo_deal() {
    check("schemas/demo/deal.json", "Deal", "demo_deal.rs");
}

#[test]
fn seed_deal() {
    check("schemas/seed/deal.json", "SeedDeal", "seed_deal.rs");
}

/// One tiny snapshot per feature, named by the entity's default struct name.
fn feature(name: &str) {
    check_with(
        &format!("codegen/tests/schemas/{name}.json"),
        None,
        &format!("{name}.rs"),
        |_| {},
    );
}

#[test]
fn required_fields() {
    feature("required");
}

#[test]
fn read_only_and_immutable_fields_of_a_lead() {
    feature("read_only");
}

#[test]
fn enumeration() {
    feature("enumeration");
}

#[test]
fn multiple_values() {
    feature("multiple");
}

#[test]
fn unknown_type() {
    feature("unknown_type");
}

#[test]
fn keyword_names() {
    feature("keywords");
}

#[test]
fn renames() {
    check_with(
        "codegen/tests/schemas/renames.json",
        None,
        "renames.rs",
        |options| {
            options.renames.field("UF_CRM_1721244482250", "greeting");
            options
                .renames
                .field("UF_CRM_1721244590123", "sales_channel");
            options
                .renames
                .item("UF_CRM_1721244590123", "3476", "Website");
        },
    );
}

/// Pipelines, stages, a dictionary and currencies recorded in the snapshot (format 3), with a
/// pipeline and a stage renamed through the names file's `items`.
#[test]
fn pipelines() {
    check_with(
        "codegen/tests/schemas/pipelines.json",
        None,
        "pipelines.rs",
        |options| {
            options.renames.item("CATEGORY_ID", "5", "Sales");
            options.renames.item("STAGE_ID", "UC_K3J2LA", "Review");
        },
    );
}

/// Issue 14 item 6: bidi controls (U+202A-E, U+2066-9) in labels and a CR in a field code and
/// an item id made the rendered doc comments fail to compile; they are stripped or replaced
/// by spaces in docs (string literals keep them, escaped).
#[test]
fn hostile_text() {
    feature("hostile_text");
}

/// Issue 10: every entity. The legacy snapshots are the `crm.*.fields` examples of the docs
/// (leads, contacts and companies with their multifields); the item snapshots are
/// `crm.item.fields` answers: a smart invoice (31) and a smart process titled "Проекты".
#[test]
fn lead() {
    feature("lead");
}

#[test]
fn contact_with_multifields() {
    feature("contact");
}

#[test]
fn company() {
    feature("company");
}

#[test]
fn quote() {
    feature("quote");
}

#[test]
fn smart_invoice() {
    feature("smart_invoice");
}

#[test]
fn smart_process() {
    feature("smart_process");
}

/// A legacy entity whose default route is `crm.item.*` (`api = "item"`).
#[test]
fn lead_on_the_item_api() {
    check_with(
        "codegen/tests/schemas/lead.json",
        Some("ItemLead"),
        "lead_item_api.rs",
        |options| options.api = Some(bitrix_codegen::entities::Api::Item),
    );
}

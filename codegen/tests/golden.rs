//! Golden files: every committed snapshot rendered to Rust and compared with the checked-in
//! output. `runtime/tests/golden_compile.rs` compiles the same files.
//!
//! After an intended change of the generator, refresh them with
//! `BITRIX_UPDATE_GOLDEN=1 cargo test -p bitrix-codegen --test golden`.

use std::path::Path;

use bitrix_codegen::{EntityInfo, Options, Snapshot};

fn check(schema: &str, struct_name: &str, golden: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(schema)).unwrap();
    let snapshot = Snapshot::parse(&text, &EntityInfo::deal()).unwrap();
    let mut options = Options::new(struct_name);
    options.schema_label = schema.to_owned();
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

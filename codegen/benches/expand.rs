//! Expansion cost: snapshot parse + model + tokens (what `#[bitrix_entity]` does at compile
//! time), and rendering with prettyplease (what build.rs and the CLI add), for the demo portal
//! (80 fields) and the 2,000-field worst case.
//!
//! `cargo bench -p bitrix-codegen --bench expand`

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use bitrix_codegen::{EntityInfo, Options, Snapshot};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "demo_80_fields",
            include_str!("../../schemas/demo/deal.json"),
        ),
        (
            "huge_2000_fields",
            include_str!("../../schemas/test/huge/deal.json"),
        ),
    ];
    let mut group = c.benchmark_group("expand");
    group.sample_size(10);
    for (name, text) in cases {
        group.bench_function(format!("{name}/parse+generate"), |b| {
            b.iter(|| {
                let snapshot = Snapshot::parse(text, &EntityInfo::deal()).unwrap();
                bitrix_codegen::generate(&snapshot, &Options::new("Deal")).unwrap()
            })
        });
        let snapshot = Snapshot::parse(text, &EntityInfo::deal()).unwrap();
        let generated = bitrix_codegen::generate(&snapshot, &Options::new("Deal")).unwrap();
        group.bench_function(format!("{name}/render"), |b| {
            b.iter(|| bitrix_codegen::render(&generated, "schema.json"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

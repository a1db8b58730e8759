//! Any bytes as a snapshot file: the loader either refuses them with an error or accepts them,
//! and an accepted snapshot generates (or is refused with diagnostics) and renders without a
//! panic; what is rendered parses as a Rust file.
#![no_main]

use bitrix_codegen::{EntityInfo, Options, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(snapshot) = Snapshot::parse(text, &EntityInfo::deal()) else {
        return;
    };
    if let Ok(generated) = bitrix_codegen::generate(&snapshot, &Options::new("Deal")) {
        let rendered = bitrix_codegen::render(&generated, "fuzz.json");
        assert!(
            rendered.starts_with("// @generated"),
            "the rendered file lacks its banner"
        );
    }
});

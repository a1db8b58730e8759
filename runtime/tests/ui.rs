//! Compile-time guarantees (trybuild), in one `TestCases` so every case shares one build:
//! generated entities (`ui/entity/`: read-only, immutable and required fields, macro argument
//! and snapshot errors) and typed list queries (`ui/query/`: filter operators follow the
//! field's kind, values have the field's Rust type, and filters belong to their entity), and
//! projections (`ui/projection/`: unknown field, wrong type, dropped `Option`). Each
//! `fail/` case has a `pass/` mirror that differs only in the mistake.

#[test]
fn ui() {
    // trybuild builds the cases in a scratch crate under target/; schema paths stay relative to
    // this crate.
    // SAFETY: this binary's only test sets it before anything reads the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("BITRIX_MANIFEST_DIR_OVERRIDE", env!("CARGO_MANIFEST_DIR"))
    };
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/entity/pass/*.rs");
    t.pass("tests/ui/query/pass/*.rs");
    t.compile_fail("tests/ui/entity/fail/*.rs");
    t.compile_fail("tests/ui/query/fail/*.rs");
    t.pass("tests/ui/projection/pass/*.rs");
    t.compile_fail("tests/ui/projection/fail/*.rs");
}

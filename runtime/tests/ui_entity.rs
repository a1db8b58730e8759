//! Compile-time guarantees of generated entities (trybuild). Each `fail/` case has a `pass/`
//! mirror that differs only in the mistake.

#[test]
fn ui_entity() {
    // trybuild builds the cases in a scratch crate under target/; schema paths stay relative to
    // this crate.
    // SAFETY: this binary's only test sets it before anything reads the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("BITRIX_MANIFEST_DIR_OVERRIDE", env!("CARGO_MANIFEST_DIR"))
    };
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/entity/pass/*.rs");
    t.compile_fail("tests/ui/entity/fail/*.rs");
}

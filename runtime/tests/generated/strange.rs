//! Issue 14 item 6: struct names that are also names the generated code uses (generic
//! parameters `D`, `A`, `C`, `S`, `V`, the builder's `R0`/`Q0`, the old local `Visit`, the
//! marker and code modules `m`/`f` as types `M`/`F`, `Fn`, whose field `ONCE` makes an enum
//! `FnOnce`) compile, with every kind of field (read-only,
//! immutable, required, enumeration); and a rename to `_9x` (a variant `F9x`) compiles.

#![deny(warnings)]

use bitrix_runtime::{Entity, EntityField};

macro_rules! entity_named {
    ($($module:ident: $name:ident),* $(,)?) => {
        $(
            mod $module {
                use bitrix_runtime::bitrix_entity;

                #[bitrix_entity(schema = "../codegen/tests/schemas/collisions.json")]
                pub struct $name;
            }
        )*
    };
}

entity_named! {
    d: D, a: A, c: C, s: S, v: V, visit: Visit, r0: R0, q0: Q0, m: M, f: F, e: E, de: De,
    record: Record, field_meta: FieldMeta, code: Code, set: Set, fn_: Fn,
}

mod renamed {
    use bitrix_runtime::bitrix_entity;

    #[bitrix_entity(
        schema = "../codegen/tests/schemas/collisions.json",
        rename(TITLE = "_9x", UF_CRM_CHANNEL = "_1")
    )]
    pub struct Deal;
}

#[test]
fn clashing_struct_names_make_working_entities() {
    let built = c::NewC::builder()
        .title("t")
        .uf_crm_amount(1)
        .uf_crm_channel(c::CUfCrmChannel::Sayt)
        .build();
    assert_eq!(built.title, "t");
    let deal: d::D = serde_json::from_value(serde_json::json!({"ID": "3", "TITLE": "x"})).unwrap();
    assert_eq!(deal.id.map(|i| i.0), Some(3));
    assert_eq!(<a::A as Entity>::METHOD_PREFIX, "crm.deal");
    assert_eq!(visit::VisitField::ALL.len(), 7);
    assert!(bitrix_runtime::UpdatePayload::is_empty(&s::SPatch::new()));
}

#[test]
fn renamed_to_underscore_digit_fields_work() {
    let deal = renamed::NewDeal::builder()
        ._9x("t")
        .uf_crm_amount(2)
        ._1(renamed::DealF1::Zvonok)
        .build();
    assert_eq!(deal._9x, "t");
    assert_eq!(
        renamed::DealField::from_code("TITLE"),
        Some(renamed::DealField::F9x)
    );
    assert_eq!(renamed::DealF1::ALL.len(), 2);
}

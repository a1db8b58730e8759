//! The 2,000-field worst-case snapshot (see `codegen/tests/huge.rs`) expands, compiles and
//! decodes. Its unknown-type fields warn at compile time; the warnings are expected here.

#![allow(deprecated)]

use bitrix_runtime::types::{DealId, EnumValue};
use bitrix_runtime::{EntityField, bitrix_entity};
use serde_json::json;

#[bitrix_entity(schema = "../schemas/test/huge/deal.json")]
pub struct HugeDeal;

#[test]
fn huge_entity_decodes_rows_and_keeps_every_field() {
    assert_eq!(HugeDealField::ALL.len(), 2000);
    let row = json!({
        "ID": "7",
        "UF_CRM_1777984939580": "10003",
        "UF_CRM_STAGE_ID": "not the stage",
        "STAGE_ID": "C1:NEW",
        "UF_CRM_CLOSEDATE": "2024-08-30T14:29:00+02:00",
    });
    let deal: HugeDeal = serde_json::from_value(row).unwrap();
    assert_eq!(deal.id, Some(DealId(7)));
    assert_eq!(deal.uf_crm_stage_id.as_deref(), Some("not the stage"));
    assert_eq!(deal.stage_id.as_ref().map(|s| s.as_str()), Some("C1:NEW"));
    let city = deal.uf_crm_1777984939580.unwrap();
    assert_eq!(city.id(), "10003");
    assert_eq!(city.label(), Some("Другое"));
    assert_eq!(HugeDealUfCrm1777984939580::ALL.len(), 3000);
    assert_eq!(
        HugeDealUfCrm1777984939580::from_id("99999999"),
        HugeDealUfCrm1777984939580::Other("99999999".into())
    );
}

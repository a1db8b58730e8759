// Odd codes (keywords, `Self`, a leading digit, Cyrillic, camelCase), enumeration items with
// duplicate, empty and keyword labels, items without ids, flags as strings, an app-defined
// type, two required fields: the generated code compiles and is usable.
#![allow(deprecated)]
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::{EnumValue, NaiveDate};

#[bitrix_entity(schema = "tests/ui/entity/schemas/strange.json")]
pub struct Deal;

fn main() {
    let new = NewDeal::builder()
        .type_("keyword")
        .self_(1)
        .f_1c_id("1C")
        .uf_crm_dates(vec![NaiveDate::from_ymd_opt(2024, 8, 30).unwrap()])
        .uf_crm_enum(DealUfCrmEnum::Drugoe)
        .other(true)
        .all(bitrix_runtime::types::Decimal::ONE)
        .build();
    let _ = (new, DealUfCrmEnum::Drugoe2, DealUfCrmEnum::Item3, DealUfCrmEnum::Self_, DealUfCrmEnum::V123);
    let _ = (DealUfCrmEnum::Other6, DealUfCrmEnum::from_id("9"), DealUfCrmEmptyEnum::from_id("1"));
    let _ = (Deal::TYPE, Deal::SELF, Deal::STAGE_ID, Deal::UF_CRM_TSENA, DealField::Self_);
    let _ = DealPatch::new().stage_id("NEW").uf_crm_tsena(bitrix_runtime::types::Money::new(1, "RUB"));
}

// Mirror of fail/unknown_argument.rs, fail/rename_unknown_field.rs and
// fail/unknown_type_strict.rs: every argument, spelled right.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(
    schema = "../schemas/demo/deal.json",
    rename(UF_CRM_1721244482250 = "greeting", UF_CRM_1721244590123[3476] = "Website"),
    strict,
    entity = "deal"
)]
pub struct Deal;

fn main() {
    let _ = NewDeal::builder().greeting("hi").uf_crm_1721244590123(DealUfCrm1721244590123::Website).build();
}

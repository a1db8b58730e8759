// Mirror of fail/colliding_codes.rs and fail/colliding_rename.rs: a rename tells the codes apart.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "tests/ui/entity/schemas/colliding.json", rename(UF_CRM_Stage = "stage_old"))]
pub struct Deal;

#[bitrix_entity(schema = "../schemas/demo/deal.json", rename(UF_CRM_1721244482250 = "greeting"))]
pub struct DemoDeal;

fn main() {
    let patch = DealPatch::new().uf_crm_stage("a").stage_old("b");
    let demo = DemoDealPatch::new().title("t").greeting("Привет мир!");
    let _ = (patch, demo);
}
